-- crmkit schema, version 11: exchange rates (crm-import rates), so that
-- crm-score can put the orders of several currencies into one.
--
-- rate: how many units of the base currency (meta "base_currency", set
-- by the first crm-import rates) one unit of currency is worth, from the
-- day valid_from (UTC, "YYYY-MM-DD") to the day before the currency's next
-- row.
CREATE TABLE exchange_rates (
	currency   TEXT NOT NULL,
	valid_from TEXT NOT NULL,
	rate       REAL NOT NULL CHECK (rate > 0),
	PRIMARY KEY (currency, valid_from)
) WITHOUT ROWID;
