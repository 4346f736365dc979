-- crmkit schema, version 5: crm-send's campaigns and outbox.

CREATE TABLE campaigns (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	channel    TEXT NOT NULL,
	created_at TEXT NOT NULL,
	settings   TEXT CHECK (settings IS NULL OR json_valid(settings)) -- first run's options
);

-- The outbox: one row per campaign and customer, ever. A row is planned,
-- then claimed (status transmitting, under BEGIN IMMEDIATE, after the
-- policy checks), then recorded in a final state. A row still transmitting
-- when its process is gone becomes in_doubt and is re-sent only by
-- --resend-in-doubt, with the same message_id (Message-ID or
-- Idempotency-Key).
CREATE TABLE messages (
	id            INTEGER PRIMARY KEY,
	campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
	customer_id   INTEGER NOT NULL REFERENCES customers(id),
	channel       TEXT NOT NULL,
	grp           TEXT NOT NULL CHECK (grp IN ('treatment', 'control')),
	variant       TEXT,
	status        TEXT NOT NULL CHECK (status IN ('planned', 'transmitting', 'sent',
	                'control', 'suppressed', 'deferred', 'bounced', 'failed', 'in_doubt')),
	reason        TEXT,              -- why suppressed, deferred, bounced, failed
	address       TEXT,              -- where it went (e-mail, phone, chat id)
	message_id    TEXT NOT NULL UNIQUE,
	provider_id   TEXT,              -- the provider's id, or the SMTP reply
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at       TEXT,              -- deferred: not before this time
	claimed_by    TEXT,              -- host:pid:start of the claiming process
	planned_at    TEXT NOT NULL,
	sent_at       TEXT,              -- handed over (sent), or when it was tried
	updated_at    TEXT NOT NULL,
	UNIQUE (campaign_id, customer_id)
);
CREATE INDEX messages_status ON messages(campaign_id, status);
CREATE INDEX messages_customer ON messages(customer_id, channel, sent_at);

-- Addresses that must not be used again (a hard bounce, a complaint), as
-- keyed hashes like the erasure suppressions, so that the table holds no
-- addresses itself.
CREATE TABLE address_suppressions (
	hash       TEXT PRIMARY KEY,     -- HMAC-SHA256 of "channel:address"
	channel    TEXT NOT NULL,
	reason     TEXT NOT NULL,        -- bounced, complained
	created_at TEXT NOT NULL,
	message_id TEXT                  -- the message that bounced
) WITHOUT ROWID;
