-- crmkit schema, version 4: crm-score's fitted models and the current
-- scores of every customer (issue 4).
--
-- models: one row per model a run of crm-score fitted or computed: rfm,
-- bgnbd (purchase counts and P(alive)) and gamma_gamma (spend). Rows are
-- never updated; scores point at the models that produced them, and older
-- rows stay as the history of fits.
CREATE TABLE models (
	id             INTEGER PRIMARY KEY,
	kind           TEXT NOT NULL CHECK (kind IN ('rfm', 'bgnbd', 'gamma_gamma')),
	params         TEXT NOT NULL CHECK (json_valid(params)), -- {"r": ..., "alpha": ...}
	log_likelihood REAL,            -- total over the customers fitted; NULL for rfm
	customers      INTEGER NOT NULL, -- customers fitted (rfm: scored)
	as_of          TEXT NOT NULL,   -- orders up to this time were used
	data_from      TEXT,            -- the first of those orders
	period         TEXT,            -- time unit of the parameters: day or week
	horizon_days   INTEGER,         -- bgnbd, gamma_gamma: the CLV horizon
	discount       REAL,            -- annual discount rate of the CLV
	currency       TEXT,            -- of the orders used
	converged      INTEGER,         -- 1 or 0; NULL for rfm
	iterations     INTEGER,
	fit_seconds    REAL,
	stats          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(stats)),
	fitted_at      TEXT NOT NULL    -- --now of the run
);

-- scores: one current row per customer with completed orders. The RFM
-- columns come from the latest crm-score rfm, the CLV columns from the
-- latest crm-score clv; a run sets its columns to NULL for the customers
-- it no longer scores, and a row with neither is deleted. Money is in
-- major units of the model's currency.
CREATE TABLE scores (
	customer_id     INTEGER PRIMARY KEY REFERENCES customers(id),
	rfm_model_id    INTEGER REFERENCES models(id),
	recency_days    INTEGER,  -- whole days from the last order to as_of
	frequency       INTEGER,  -- completed orders
	monetary        REAL,     -- their sum
	r               INTEGER,  -- 1..bins, higher is better
	f               INTEGER,
	m               INTEGER,
	rfm             TEXT,     -- "545"
	rfm_segment     TEXT,     -- champions, loyal, ... (crm-score(1))
	clv_model_id    INTEGER REFERENCES models(id), -- the bgnbd model
	spend_model_id  INTEGER REFERENCES models(id), -- the gamma_gamma model
	p_alive         REAL,     -- P(still a customer at as_of)
	churn_risk      REAL,     -- 1 - p_alive
	expected_orders REAL,     -- purchases expected over the horizon
	expected_spend  REAL,     -- expected value of an order
	clv             REAL,     -- discounted expected revenue over the horizon
	updated_at      TEXT NOT NULL
);
