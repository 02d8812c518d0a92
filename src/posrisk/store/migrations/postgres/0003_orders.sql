-- posrisk schema v3 for PostgreSQL (as SQLite's 0003_orders.sql): the orders, trades and
-- algo orders of the ledger's order events, indexed for the order queries. The ledger stays
-- the truth: each row is kept by the same commit as the event it comes from (an order as its
-- latest event left it; a trade with the whole event that made it), and the existing order
-- events are indexed here.
CREATE TABLE orders (
    order_id         BIGINT PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    client_order_id  TEXT NOT NULL,
    symbol           TEXT NOT NULL,
    status           TEXT NOT NULL,
    time             BIGINT NOT NULL,
    update_time      BIGINT NOT NULL,
    body             TEXT NOT NULL
);
CREATE INDEX orders_symbol ON orders(account_id, symbol, order_id);
CREATE INDEX orders_client ON orders(account_id, client_order_id);
CREATE INDEX orders_time ON orders(account_id, symbol, time);

CREATE TABLE trades (
    trade_id    BIGINT PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    order_id    BIGINT NOT NULL,
    symbol      TEXT NOT NULL,
    time        BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX trades_symbol ON trades(account_id, symbol, trade_id);
CREATE INDEX trades_time ON trades(account_id, symbol, time);

CREATE TABLE algo_orders (
    algo_id         BIGINT PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    client_algo_id  TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    status          TEXT NOT NULL,
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX algo_orders_symbol ON algo_orders(account_id, symbol, algo_id);
CREATE INDEX algo_orders_client ON algo_orders(account_id, client_algo_id);
CREATE INDEX algo_orders_time ON algo_orders(account_id, symbol, create_time);

-- Each order as its latest event left it, each trade, each algo order as its latest left
-- it (fields holding their defaults are left out of the bodies: NEW, 0).
INSERT INTO orders (order_id, account_id, client_order_id, symbol, status, time, update_time, body)
SELECT (l.body::json #>> '{order,orderId}')::bigint, l.account_id,
       (l.body::json #>> '{order,clientOrderId}'), (l.body::json #>> '{order,symbol}'),
       COALESCE((l.body::json #>> '{order,status}'), 'NEW'),
       COALESCE((l.body::json #>> '{order,time}')::bigint, 0),
       COALESCE((l.body::json #>> '{order,updateTime}')::bigint, 0),
       (l.body::json #>> '{order}')
FROM ledger l
WHERE l.kind = 'order' AND NOT EXISTS (
    SELECT 1 FROM ledger n WHERE n.kind = 'order' AND n.seq > l.seq
    AND (n.body::json #>> '{order,orderId}')::bigint = (l.body::json #>> '{order,orderId}')::bigint);

INSERT INTO trades (trade_id, account_id, order_id, symbol, time, body)
SELECT (body::json #>> '{trade,id}')::bigint, account_id, (body::json #>> '{order,orderId}')::bigint,
       (body::json #>> '{order,symbol}'), time, body
FROM ledger
WHERE kind = 'order' AND (body::json #>> '{trade}') IS NOT NULL;

INSERT INTO algo_orders (algo_id, account_id, client_algo_id, symbol, status, create_time,
                         update_time, body)
SELECT (l.body::json #>> '{algoId}')::bigint, l.account_id, (l.body::json #>> '{clientAlgoId}'),
       (l.body::json #>> '{symbol}'), COALESCE((l.body::json #>> '{algoStatus}'), 'NEW'),
       COALESCE((l.body::json #>> '{createTime}')::bigint, 0),
       COALESCE((l.body::json #>> '{updateTime}')::bigint, 0), l.body
FROM ledger l
WHERE l.kind = 'algo' AND NOT EXISTS (
    SELECT 1 FROM ledger n WHERE n.kind = 'algo' AND n.seq > l.seq
    AND (n.body::json #>> '{algoId}')::bigint = (l.body::json #>> '{algoId}')::bigint);
