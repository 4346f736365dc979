-- crmkit schema, version 9: shop data as shops export it (issue 15):
-- what each order counts as, refunds, order lines and products.

-- What an order counts as, decided by crm-import from its status and
-- amount with the lists of crm.conf [orders] (crm.7 ORDERS):
--    1  a purchase: counted in orders, revenue, RFM and CLV
--    0  kept but not counted (pending, on-hold, unpaid, failed, void, a
--       whole order refunded or cancelled: a status of the refund list
--       with an amount >= 0)
--   -1  a refund: a negative amount (a refund or credit row, a return
--       line), whatever its status; it reduces revenue, never counts as
--       an order
-- An order written by other means (sqlite3, a script) without it gets the
-- default lists' answer from the trigger below.
ALTER TABLE orders ADD COLUMN purchase INTEGER;
UPDATE orders SET purchase = CASE
	WHEN amount < 0 THEN -1
	WHEN lower(status) IN ('', 'completed', 'complete', 'paid', 'shipped',
		'delivered', 'processing', 'invoiced', 'approved', 'fulfilled',
		'partially_refunded', 'partially_paid') THEN 1
	ELSE 0 END;
CREATE TRIGGER orders_purchase AFTER INSERT ON orders WHEN NEW.purchase IS NULL
BEGIN
	UPDATE orders SET purchase = CASE
		WHEN NEW.amount < 0 THEN -1
		WHEN lower(NEW.status) IN ('', 'completed', 'complete', 'paid', 'shipped',
			'delivered', 'processing', 'invoiced', 'approved', 'fulfilled',
			'partially_refunded', 'partially_paid') THEN 1
		ELSE 0 END
	WHERE id = NEW.id;
END;

-- The order metrics read a customer's orders through this index alone.
DROP INDEX orders_customer;
CREATE INDEX orders_customer
	ON orders(customer_id, ordered_at, purchase, amount, currency, status);

-- order_stats (003) over purchases and refunds: orders counts the
-- purchases, revenue sums purchases and refunds, first_order_at and
-- last_order_at are the first and last purchase (null for a customer with
-- refunds only), last_at the latest row counted: the row holds for a now at
-- or after it. Filled again by the migration (lib/db.c).
DROP TABLE order_stats;
CREATE TABLE order_stats (
	customer_id    INTEGER PRIMARY KEY REFERENCES customers(id),
	orders         INTEGER NOT NULL,
	revenue        INTEGER NOT NULL, -- thousandths of the major unit
	first_order_at TEXT,
	last_order_at  TEXT,
	last_at        TEXT NOT NULL
);

-- Other ids of a customer: exports that give each order its own customer
-- id (Olist's customer_id) and the person another (customer_unique_id).
-- crm-import customers with a column mapped to alias records them; an
-- order, event or consent whose customer id is no customer's external id
-- but an alias belongs to that customer.
CREATE TABLE customer_aliases (
	alias       TEXT PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers(id)
) WITHOUT ROWID;
CREATE INDEX customer_aliases_customer ON customer_aliases(customer_id);

-- Products: the latest name and category crm-import saw for a SKU.
CREATE TABLE products (
	id         INTEGER PRIMARY KEY,
	sku        TEXT NOT NULL UNIQUE,
	name       TEXT,
	category   TEXT,
	updated_at TEXT NOT NULL  -- the time of the order line that named it
);
CREATE INDEX products_category ON products(category) WHERE category IS NOT NULL;

-- Order lines (crm-import lines): an order's amount is the sum of its
-- lines. A negative quantity is a return against the order.
CREATE TABLE order_lines (
	id         INTEGER PRIMARY KEY,
	order_id   INTEGER NOT NULL REFERENCES orders(id),
	line       INTEGER NOT NULL,  -- 1, 2, ... in the order of the file
	product_id INTEGER NOT NULL REFERENCES products(id),
	quantity   REAL NOT NULL,
	unit_price INTEGER NOT NULL,  -- minor units of the order's currency
	amount     INTEGER NOT NULL,  -- quantity * unit_price, rounded
	UNIQUE (order_id, line)
);
CREATE INDEX order_lines_product ON order_lines(product_id, order_id);
