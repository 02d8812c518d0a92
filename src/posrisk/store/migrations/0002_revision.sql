-- posrisk schema v2: one revision number per committed change of accounts, keys or the
-- ledger. Gateways sharing one database catch up with exactly the rows newer than the
-- revision they hold, and a writer holding an older revision is told it is stale.
CREATE TABLE revision (n INTEGER NOT NULL);
INSERT INTO revision VALUES (0);
ALTER TABLE accounts ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
CREATE INDEX accounts_revision ON accounts(revision);
CREATE INDEX api_keys_revision ON api_keys(revision);
CREATE INDEX ledger_revision ON ledger(revision);
