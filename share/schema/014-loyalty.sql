-- crmkit schema, version 14: the loyalty ledger of crm-loyalty (issue 17).
--
-- loyalty_ledger is append-only: every change of a member's points is a
-- row, never updated; crm-loyalty run adds the rows its rules give, each
-- under a key that names its cause ("earn:ORDER", "expire:LOT", ...), so
-- that a second run, or a run after a crash, adds nothing twice. Only
-- crm-import erase deletes rows, of an erased customer.
--
--   points > 0: a lot (earn, welcome, birthday, event, adjust, return: the
--               points paid with an order that no longer counts), usable from
--               available_at (pending before) until expires_at
--   points < 0: reverse (a refund), expire (what a lot had left at its
--               expiry), burn (points paid with an order: orders.points_used),
--               redeem (a reward of loyalty_rewards), adjust
CREATE TABLE loyalty_ledger (
	id           INTEGER PRIMARY KEY,
	customer_id  INTEGER NOT NULL REFERENCES customers(id),
	key          TEXT NOT NULL,   -- unique (the index below)
	kind         TEXT NOT NULL CHECK (kind IN ('earn', 'reverse', 'expire', 'welcome',
	                                           'birthday', 'event', 'adjust', 'burn',
	                                           'redeem', 'return')),
	points       INTEGER NOT NULL CHECK (points <> 0),
	occurred_at  TEXT NOT NULL,   -- when it counts: the order's, event's, run's time
	available_at TEXT,            -- lots: pending until then
	expires_at   TEXT,            -- lots: what is left of it expires then
	order_id     INTEGER,         -- earn, reverse and burn: orders.id
	lot_id       INTEGER,         -- expire: the lot; reverse: the earn it takes back
	reason       TEXT,
	created_at   TEXT NOT NULL    -- the run's --now
);
-- (a first run builds these two after its rows: lib/loyalty.c keeps
-- their text too)
CREATE UNIQUE INDEX loyalty_ledger_key ON loyalty_ledger(key);
CREATE INDEX loyalty_ledger_customer ON loyalty_ledger(customer_id, occurred_at);

CREATE TRIGGER loyalty_ledger_no_update BEFORE UPDATE ON loyalty_ledger
BEGIN
	SELECT RAISE(ABORT, 'loyalty_ledger is append-only');
END;
CREATE TRIGGER loyalty_ledger_no_delete BEFORE DELETE ON loyalty_ledger
WHEN (SELECT erased_at FROM customers WHERE id = OLD.customer_id) IS NULL
BEGIN
	SELECT RAISE(ABORT, 'loyalty_ledger is append-only (crm-import erase removes a person''s rows)');
END;

-- Each member's account as of the last run, computed from the ledger by
-- replaying it (FIFO lots): rebuilt by every run for the members it
-- touches. Expressions and reports read it.
CREATE TABLE loyalty_accounts (
	customer_id  INTEGER PRIMARY KEY REFERENCES customers(id),
	points       INTEGER NOT NULL,  -- available now (negative: a debt)
	pending      INTEGER NOT NULL,  -- earned, not yet available
	earned       INTEGER NOT NULL,  -- every lot ever
	spent        INTEGER NOT NULL,  -- taken by reverse and negative adjust
	expired      INTEGER NOT NULL,
	tier         TEXT,              -- NULL: the base level
	tier_since   TEXT,
	spend_12m    REAL,              -- the tier's measure, in major units
	updated_at   TEXT NOT NULL
);

-- The lots with points left, for points_expiring(D) and the liability.
CREATE TABLE loyalty_lots (
	lot_id       INTEGER PRIMARY KEY,  -- loyalty_ledger.id
	customer_id  INTEGER NOT NULL REFERENCES customers(id),
	remaining    INTEGER NOT NULL,
	available_at TEXT,
	expires_at   TEXT
);
CREATE INDEX loyalty_lots_customer ON loyalty_lots(customer_id, expires_at);

-- Tier changes, append-only like the ledger (keyed by customer and time).
CREATE TABLE loyalty_tiers (
	customer_id  INTEGER NOT NULL REFERENCES customers(id),
	since        TEXT NOT NULL,
	tier         TEXT,              -- NULL: back to the base level
	reason       TEXT NOT NULL,     -- upgrade, downgrade
	spend_12m    REAL NOT NULL,
	created_at   TEXT NOT NULL,
	PRIMARY KEY (customer_id, since)
) WITHOUT ROWID;

-- The customers one of whose orders came to count otherwise (a purchase
-- refunded later, a pending order paid) or to use other points since the
-- last run (the trigger at the end): crm-loyalty
-- replays them even when nothing else of theirs is new, and empties the
-- table. Inserts need no trigger: a run finds new orders by their ids.
CREATE TABLE loyalty_dirty (customer_id INTEGER PRIMARY KEY);

-- Points paid with an order (crm-import orders, a points_used column):
-- crm-loyalty run writes them as a burn row at the order's time.
ALTER TABLE orders ADD COLUMN points_used INTEGER CHECK (points_used IS NULL OR points_used > 0);

-- The reward catalogue (crm-import rewards): what a member can take for
-- points (crm-loyalty redeem); stock NULL: no limit.
CREATE TABLE loyalty_rewards (
	id          INTEGER PRIMARY KEY,
	external_id TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL,
	cost        INTEGER NOT NULL CHECK (cost > 0),
	stock       INTEGER CHECK (stock IS NULL OR stock >= 0),
	updated_at  TEXT NOT NULL
);

CREATE TRIGGER loyalty_orders_changed
AFTER UPDATE OF purchase, customer_id, points_used ON orders
WHEN OLD.purchase IS NOT NEW.purchase OR OLD.customer_id <> NEW.customer_id
	OR OLD.points_used IS NOT NEW.points_used
BEGIN
	INSERT OR IGNORE INTO loyalty_dirty VALUES (OLD.customer_id);
	INSERT OR IGNORE INTO loyalty_dirty VALUES (NEW.customer_id);
END;
