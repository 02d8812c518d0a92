-- posrisk schema v6: GET /fapi/v1/income filtered by symbol (alone or with incomeType)
-- reads by index, in time order, as it does unfiltered or by type: without these, a symbol
-- the account has few or no rows of made SQLite look up every row of the window.
CREATE INDEX income_symbol_time ON income(account_id, symbol, time, tran_id);
CREATE INDEX income_symbol_type_time ON income(account_id, symbol, income_type, time, tran_id);
