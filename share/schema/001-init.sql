-- crmkit schema, migration 1. Applied automatically by every program that
-- writes (PRAGMA user_version tells which migrations a file has).
-- Times are UTC text in SQLite's datetime() form "YYYY-MM-DD HH:MM:SS", so
-- they compare as strings and work with SQLite's date functions. Money is
-- INTEGER minor units with an ISO 4217 currency code.

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE customers (
	id          INTEGER PRIMARY KEY,
	external_id TEXT UNIQUE,
	email       TEXT,
	phone       TEXT,
	first_name  TEXT,
	last_name   TEXT,
	birthday    TEXT,            -- YYYY-MM-DD
	city        TEXT,
	country     TEXT,            -- ISO 3166 alpha-2
	timezone    TEXT,            -- IANA name
	created_at  TEXT,
	updated_at  TEXT NOT NULL,
	attrs       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),
	is_stub     INTEGER NOT NULL DEFAULT 0,
	erased_at   TEXT             -- set when the person was erased
);
-- One customer per address: a message goes to one person, never twice.
CREATE UNIQUE INDEX customers_email ON customers(email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX customers_phone ON customers(phone) WHERE phone IS NOT NULL;

CREATE TABLE orders (
	id          INTEGER PRIMARY KEY,
	external_id TEXT NOT NULL UNIQUE, -- the order id, or "~" and a content key
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	ordered_at  TEXT NOT NULL,
	amount      INTEGER NOT NULL,     -- minor units
	currency    TEXT NOT NULL,
	status      TEXT NOT NULL DEFAULT 'completed',
	attrs       TEXT CHECK (attrs IS NULL OR json_valid(attrs))
);
CREATE INDEX orders_customer ON orders(customer_id, ordered_at);

CREATE TABLE events (
	id          INTEGER PRIMARY KEY,
	external_id TEXT NOT NULL UNIQUE, -- the event id, or "~" and a content key
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	type        TEXT NOT NULL,
	occurred_at TEXT NOT NULL,
	campaign    TEXT,
	message_id  TEXT,
	props       TEXT CHECK (props IS NULL OR json_valid(props))
);
CREATE INDEX events_customer ON events(customer_id, type, occurred_at);
CREATE INDEX events_campaign ON events(campaign, type) WHERE campaign IS NOT NULL;

-- Consent history: append-only; the latest row per channel is in force.
CREATE TABLE consents (
	id          INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	channel     TEXT NOT NULL,
	granted     INTEGER NOT NULL CHECK (granted IN (0, 1)),
	recorded_at TEXT NOT NULL,
	source      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX consents_key
	ON consents(customer_id, channel, recorded_at, granted, source);

-- Keyed hashes (HMAC-SHA256) of the identifiers of erased people, so that
-- re-importing an old list flags them instead of bringing them back.
CREATE TABLE suppressions (
	hash       TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,        -- email, phone, external_id
	reason     TEXT NOT NULL,        -- erased
	created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE VIEW consent_current AS
	SELECT c.customer_id, c.channel, c.granted, c.recorded_at, c.source
	FROM consents c
	WHERE c.id = (SELECT c2.id FROM consents c2
		      WHERE c2.customer_id = c.customer_id AND c2.channel = c.channel
		      ORDER BY c2.recorded_at DESC, c2.id DESC LIMIT 1);
