-- posrisk schema v4: one row per funding settlement of a symbol at a funding time. The
-- first gateway to claim it writes the rate and mark every gateway then settles with;
-- finished_at is set once every account holding the symbol has been settled (until then
-- another gateway, or a restarted one, may resume it). The fees themselves stay ledger
-- events; this table is also the history GET /fapi/v1/fundingRate answers.
CREATE TABLE funding_settlements (
    symbol        TEXT NOT NULL,
    funding_time  INTEGER NOT NULL,
    rate          TEXT NOT NULL,
    mark          TEXT NOT NULL,
    claimed_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    PRIMARY KEY (symbol, funding_time)
);
CREATE INDEX funding_settlements_time ON funding_settlements(funding_time, symbol);
