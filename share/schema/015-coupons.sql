-- crmkit schema: promo codes (issue 17). Pools of codes, one code bound to
-- one outbox row in crm-send's claim transaction, and the orders that
-- redeemed them (crm-import orders, column promo_code).
--
-- IF NOT EXISTS: the file is applied once, by its place among the schema
-- files, which a merge of branches may change.

-- A pool: codes imported from a file (pattern NULL) or generated from a
-- pattern such as WB-XXXX-XXXX (lib/coupon_gen.c), code number next_n
-- being the next one to generate.
CREATE TABLE IF NOT EXISTS coupon_pools (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	pattern    TEXT,
	next_n     INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL
);

-- A code, unique across every pool. It is free while assigned_at is
-- NULL; crm-send sets message_id and assigned_at in the transaction that
-- claims the row, and a code is never assigned again (an erasure clears
-- message_id, not assigned_at). redeemed_at: the first order with it.
CREATE TABLE IF NOT EXISTS coupons (
	id          INTEGER PRIMARY KEY,
	pool_id     INTEGER NOT NULL REFERENCES coupon_pools(id),
	code        TEXT NOT NULL UNIQUE,
	n           INTEGER,            -- generated codes: the code's number
	message_id  INTEGER UNIQUE REFERENCES messages(id),
	assigned_at TEXT,
	redeemed_at TEXT,
	imported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS coupons_free ON coupons(pool_id, id) WHERE assigned_at IS NULL;

-- Orders imported with a promo_code: the code as written, and the code it
-- names (NULL: unknown).
CREATE TABLE IF NOT EXISTS coupon_redemptions (
	order_id  INTEGER PRIMARY KEY REFERENCES orders(id) ON DELETE CASCADE,
	code      TEXT NOT NULL,
	coupon_id INTEGER REFERENCES coupons(id)
);
CREATE INDEX IF NOT EXISTS coupon_redemptions_coupon ON coupon_redemptions(coupon_id);
