-- crmkit schema, version 16: uplift models (issue 21).
--
-- crm-score uplift learns, from the treatment and control rows of past
-- campaigns, how much a message changes each customer's chance of
-- converting (or their revenue), and scores every customer. One row per
-- model name; a new fit under the same name replaces it and its scores.
CREATE TABLE IF NOT EXISTS uplift_models (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	campaigns   TEXT NOT NULL CHECK (json_valid(campaigns)), -- ["name", ...]
	outcome     TEXT NOT NULL CHECK (outcome IN ('converted', 'revenue')),
	window      INTEGER NOT NULL,   -- seconds after the message
	currency    TEXT,               -- revenue: the currency counted
	method      TEXT NOT NULL,      -- tlearner or ct (class transformation)
	lambda      REAL NOT NULL,      -- its L2 penalty
	treated     INTEGER NOT NULL,   -- rows learnt from
	controls    INTEGER NOT NULL,
	treated_y   REAL NOT NULL,      -- their conversions (revenue)
	controls_y  REAL NOT NULL,
	qini        REAL,               -- cross-validated normalised Qini coefficient
	-- [{"method","lambda","qini"}]: every candidate of the cross-validation
	candidates  TEXT NOT NULL CHECK (json_valid(candidates)),
	-- [{"name","mean","sd","coef1","coef0"}]: the features and the model
	features    TEXT NOT NULL CHECK (json_valid(features)),
	-- out-of-fold predictions by decile: [{"decile","treated","controls",
	-- "treated_y","controls_y","predicted"}], and the Qini curve
	-- [{"share","qini","random"}]
	deciles     TEXT NOT NULL CHECK (json_valid(deciles)),
	curve       TEXT NOT NULL CHECK (json_valid(curve)),
	customers   INTEGER NOT NULL,   -- scored
	negative    INTEGER NOT NULL,   -- of them with a predicted effect below 0
	fitted_at   TEXT NOT NULL
);

-- Every customer's predicted effect under a model: the difference in the
-- probability of converting within the window (or in revenue, major units)
-- between getting the message and not.
CREATE TABLE IF NOT EXISTS uplift_scores (
	model_id    INTEGER NOT NULL,
	customer_id INTEGER NOT NULL,
	uplift      REAL NOT NULL,
	PRIMARY KEY (model_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uplift_scores_customer ON uplift_scores(customer_id);
