-- posrisk schema v5: the income the ledger's events paid into or took out of the wallets
-- (GET /fapi/v1/income), one row per entry, written by the same commit as the ledger row it
-- comes from. tran_id = the ledger row's seq × 10 + the entry's index in its event, so it
-- names the row for good. An operator fill's realized PnL is not in its ledger body (the
-- engine computes it from the account before it), so SQL cannot fill this table from an
-- existing ledger: the meta key income_rebuild asks the next start to replay the ledger
-- and write what is missing.
CREATE TABLE income (
    tran_id      INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    time         INTEGER NOT NULL,
    symbol       TEXT NOT NULL,
    income_type  TEXT NOT NULL,
    income       TEXT NOT NULL,
    asset        TEXT NOT NULL,
    trade_id     TEXT NOT NULL
);
CREATE INDEX income_time ON income(account_id, time, tran_id);
CREATE INDEX income_type_time ON income(account_id, income_type, time, tran_id);

INSERT INTO meta (key, value) SELECT 'income_rebuild', '1' WHERE EXISTS (SELECT 1 FROM ledger);
