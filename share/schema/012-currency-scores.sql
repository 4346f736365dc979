-- crmkit schema, version 12: scores kept per currency (issue 16).
--
-- A run of crm-score scores the orders of one currency (--currency, the
-- only one, or the base currency of crm-import rates). currency_scores
-- keeps every currency's scores of a customer, one row per customer and
-- currency: a run writes and clears the rows of its own currency only, so
-- that scoring EUR never removes a customer's RUB scores. The columns are
-- those of scores; money is in major units of the row's currency.
--
-- scores stays one row per customer (what expressions, segments and
-- templates read): the scores of the currency scored last, as before.
CREATE TABLE currency_scores (
	customer_id     INTEGER NOT NULL REFERENCES customers(id),
	currency        TEXT NOT NULL,  -- of the models of this row
	rfm_model_id    INTEGER REFERENCES models(id),
	recency_days    INTEGER,
	frequency       INTEGER,
	monetary        REAL,
	r               INTEGER,
	f               INTEGER,
	m               INTEGER,
	rfm             TEXT,
	rfm_segment     TEXT,
	clv_model_id    INTEGER REFERENCES models(id),
	spend_model_id  INTEGER REFERENCES models(id),
	p_alive         REAL,
	churn_risk      REAL,
	expected_orders REAL,
	expected_spend  REAL,
	clv             REAL,
	updated_at      TEXT NOT NULL,
	PRIMARY KEY (customer_id, currency)
) WITHOUT ROWID;

-- the scores already there, each part under its model's currency
INSERT INTO currency_scores (customer_id, currency, rfm_model_id, recency_days,
	frequency, monetary, r, f, m, rfm, rfm_segment, updated_at)
SELECT s.customer_id, coalesce(m.currency, ''), s.rfm_model_id, s.recency_days,
	s.frequency, s.monetary, s.r, s.f, s.m, s.rfm, s.rfm_segment, s.updated_at
FROM scores s JOIN models m ON m.id = s.rfm_model_id;

INSERT INTO currency_scores (customer_id, currency, clv_model_id, spend_model_id,
	p_alive, churn_risk, expected_orders, expected_spend, clv, updated_at)
SELECT s.customer_id, coalesce(m.currency, ''), s.clv_model_id, s.spend_model_id,
	s.p_alive, s.churn_risk, s.expected_orders, s.expected_spend, s.clv, s.updated_at
FROM scores s JOIN models m ON m.id = s.clv_model_id WHERE true
ON CONFLICT (customer_id, currency) DO UPDATE SET clv_model_id = excluded.clv_model_id,
	spend_model_id = excluded.spend_model_id, p_alive = excluded.p_alive,
	churn_risk = excluded.churn_risk, expected_orders = excluded.expected_orders,
	expected_spend = excluded.expected_spend, clv = excluded.clv;
