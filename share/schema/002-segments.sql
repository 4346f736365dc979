-- crmkit schema, version 2: saved segments and their tracked membership
-- (crm-segment --save, -s, --track, --entered, --exited).

CREATE TABLE segments (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	expr        TEXT NOT NULL,       -- the expression as the user wrote it
	description TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
);

-- One row per tracked run (crm-segment -s NAME --track): when it ran (its
-- --now) and what changed.
CREATE TABLE segment_runs (
	id         INTEGER PRIMARY KEY,
	segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
	run_at     TEXT NOT NULL,
	expr       TEXT NOT NULL,        -- the expression this run evaluated
	members    INTEGER NOT NULL,
	entered    INTEGER NOT NULL,
	exited     INTEGER NOT NULL
);
CREATE INDEX segment_runs_segment ON segment_runs(segment_id, run_at);

-- Membership history: a row per stay in the segment. exited_at is NULL
-- while the customer is still a member; someone who leaves and comes back
-- has two rows.
CREATE TABLE segment_members (
	segment_id  INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	entered_at  TEXT NOT NULL,
	entered_run INTEGER NOT NULL REFERENCES segment_runs(id) ON DELETE CASCADE,
	exited_at   TEXT,
	exited_run  INTEGER REFERENCES segment_runs(id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX segment_members_current
	ON segment_members(segment_id, customer_id) WHERE exited_at IS NULL;
CREATE INDEX segment_members_customer ON segment_members(customer_id);
CREATE INDEX segment_members_entered ON segment_members(entered_run);
CREATE INDEX segment_members_exited ON segment_members(exited_run) WHERE exited_run IS NOT NULL;
