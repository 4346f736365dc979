-- crmkit schema, version 8: what comes back to the return path
-- (crm-import bounces) and the one suppression rule (crm.7 SUPPRESSION).

-- Every message crm-import bounces read, once (by the SHA-256 of its
-- bytes), with what was decided about it and why. Nothing is ever deleted
-- from a mailbox: origin says where the message is, and raw holds it when
-- it is nowhere else (read from standard input, as an MTA's pipe hands it
-- over) or when it was quarantined (so that a person can look at it).
CREATE TABLE inbound (
	id          INTEGER PRIMARY KEY,
	digest      TEXT NOT NULL UNIQUE, -- SHA-256 of the bytes: read once
	received_at TEXT NOT NULL,        -- when crm-import read it
	origin      TEXT NOT NULL,        -- "mbox PATH at byte N", "maildir PATH",
	                                  -- "file PATH", "stdin"
	raw         BLOB,                 -- the message (stdin, quarantined)
	kind        TEXT NOT NULL,        -- none autoreply hard soft policy
	                                  -- complaint delayed unknown
	status      TEXT,                 -- RFC 3463 "5.1.1"
	diagnostic  TEXT,                 -- the remote's reply
	address     TEXT,                 -- the recipient it is about
	outbox_id   INTEGER REFERENCES messages(id),
	customer_id INTEGER REFERENCES customers(id),
	decision    TEXT NOT NULL CHECK (decision IN ('applied', 'recorded', 'ignored',
	                'quarantined')),
	reason      TEXT NOT NULL
);
CREATE INDEX inbound_customer ON inbound(customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX inbound_outbox ON inbound(outbox_id) WHERE outbox_id IS NOT NULL;
CREATE INDEX inbound_quarantined ON inbound(id) WHERE decision = 'quarantined';
-- erasure finds the reports about an address that matched no customer
CREATE INDEX inbound_unmatched ON inbound(address) WHERE customer_id IS NULL;

-- where an address suppression came from ("smtp", "bounces", "import",
-- "hook:NAME", "erase") and the status code that decided it
ALTER TABLE address_suppressions ADD COLUMN source TEXT;
ALTER TABLE address_suppressions ADD COLUMN status TEXT;
