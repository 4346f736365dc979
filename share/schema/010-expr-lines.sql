-- crmkit schema, version 10: indexes for the expression functions over
-- order lines (crm-segment(1): bought, bought_count, spent).
-- bought(category = "Shoes") and bought(name = "...") compare without
-- regard to the case of ASCII letters (COLLATE NOCASE), which the binary
-- index products_category of 009 cannot answer.
-- (orders(status = "...") needs no index of its own: orders_customer holds
-- the status, and its IN form reads that index through, once.)
CREATE INDEX products_category_nocase ON products(category COLLATE NOCASE)
	WHERE category IS NOT NULL;
CREATE INDEX products_name_nocase ON products(name COLLATE NOCASE)
	WHERE name IS NOT NULL;
