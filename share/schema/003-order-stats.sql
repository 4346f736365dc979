-- crmkit schema, version 3: what makes segment queries fast on a large base
-- (crm-segment, issue 3).
--
-- order_stats: per customer, the completed orders (status not refunded,
-- cancelled or returned) summed up: their number, revenue in thousandths
-- of the major unit (amount times the currency's factor: cents times 10,
-- yen times 1000, fils times 1), and the first and last order time.
-- A customer without completed orders has no row. crm-import keeps it up
-- to date in the same transaction as the orders it writes (so a killed
-- import leaves both as they were); the migration fills it (lib/db.c).
-- Expressions use a row only for a "now" at or after its last_order_at:
-- with an earlier --now the customer has orders the row must not count,
-- and the metric is computed from the orders themselves.
CREATE TABLE order_stats (
	customer_id    INTEGER PRIMARY KEY REFERENCES customers(id),
	orders         INTEGER NOT NULL,
	revenue        INTEGER NOT NULL, -- thousandths of the major unit
	first_order_at TEXT NOT NULL,
	last_order_at  TEXT NOT NULL
);

-- The order metrics over a window (orders(90d), revenue(365d)) and the
-- fallbacks read a customer's orders in time order: the index carries
-- status, amount and currency so that no table row is read.
DROP INDEX orders_customer;
CREATE INDEX orders_customer ON orders(customer_id, ordered_at, status, amount, currency);

-- event("cart_add", 2d): the events of one type in a time range.
CREATE INDEX events_type ON events(type, occurred_at, customer_id);
