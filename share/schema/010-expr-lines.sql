-- crmkit schema, version 10: indexes for the expression functions over
-- order statuses and order lines (crm-segment(1): orders(status = ...),
-- bought, bought_count, spent, top_category).

-- orders(status = "unpaid") in its IN form (the customers who have such
-- an order: lib/expr_sql.c) reads the orders of one status only. A base
-- migrated by an early 009, which made it, keeps it.
CREATE INDEX IF NOT EXISTS orders_status ON orders(status, customer_id);

-- bought(category = "Shoes") and bought(name = "...") compare without
-- regard to the case of ASCII letters (COLLATE NOCASE), which the binary
-- index products_category of 009 cannot answer.
CREATE INDEX products_category_nocase ON products(category COLLATE NOCASE)
	WHERE category IS NOT NULL;
CREATE INDEX products_name_nocase ON products(name COLLATE NOCASE)
	WHERE name IS NOT NULL;
