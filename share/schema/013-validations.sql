-- crmkit schema, version 13: holdout validations (issue 16).
--
-- crm-score clv --holdout-end fits a model on the orders up to as_of and
-- compares its predictions with the repeat purchases made up to
-- holdout_end; the scores stay as they were, and the comparison is kept
-- here for crm-report holdout and the HTML page. One row per run.
CREATE TABLE validations (
	id           INTEGER PRIMARY KEY,
	model        TEXT NOT NULL,  -- bgnbd, mbgnbd, pareto, nbd, bgnbd_constant_dropout
	params       TEXT NOT NULL CHECK (json_valid(params)), -- as models.params
	currency     TEXT,
	period       TEXT NOT NULL,  -- week or day: the tracking curve's step
	as_of        TEXT NOT NULL,  -- end of the calibration period
	holdout_end  TEXT NOT NULL,
	customers    INTEGER NOT NULL,
	actual       INTEGER NOT NULL, -- repeat purchase days in the holdout
	predicted    REAL,           -- the model's expectation of them
	mae          REAL,           -- per customer: mean absolute error
	correlation  REAL,           -- per customer: actual against predicted
	-- [{"repeat_purchases":"0".."7+","customers","actual","predicted"}]
	calibration  TEXT NOT NULL CHECK (json_valid(calibration)),
	-- [{"period","end":"YYYY-MM-DD","actual","predicted"}]: cumulative
	-- repeat purchase days of the cohort, from the first purchase
	tracking     TEXT NOT NULL CHECK (json_valid(tracking)),
	validated_at TEXT NOT NULL
);
