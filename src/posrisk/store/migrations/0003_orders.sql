-- posrisk schema v3: the orders, trades and algo orders of the ledger's order events,
-- indexed for the order queries. The ledger stays the truth: each row is kept by the same
-- commit as the event it comes from (an order as its latest event left it; a trade with
-- the whole event that made it), and the existing order events are indexed here.
CREATE TABLE orders (
    order_id         INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    client_order_id  TEXT NOT NULL,
    symbol           TEXT NOT NULL,
    status           TEXT NOT NULL,
    time             INTEGER NOT NULL,
    update_time      INTEGER NOT NULL,
    body             TEXT NOT NULL
);
CREATE INDEX orders_symbol ON orders(account_id, symbol, order_id);
CREATE INDEX orders_client ON orders(account_id, client_order_id);
CREATE INDEX orders_time ON orders(account_id, symbol, time);

CREATE TABLE trades (
    trade_id    INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    order_id    INTEGER NOT NULL,
    symbol      TEXT NOT NULL,
    time        INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX trades_symbol ON trades(account_id, symbol, trade_id);
CREATE INDEX trades_time ON trades(account_id, symbol, time);

CREATE TABLE algo_orders (
    algo_id         INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    client_algo_id  TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    status          TEXT NOT NULL,
    create_time     INTEGER NOT NULL,
    update_time     INTEGER NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX algo_orders_symbol ON algo_orders(account_id, symbol, algo_id);
CREATE INDEX algo_orders_client ON algo_orders(account_id, client_algo_id);
CREATE INDEX algo_orders_time ON algo_orders(account_id, symbol, create_time);

-- Each order as its latest event left it, each trade, each algo order as its latest left
-- it (fields holding their defaults are left out of the bodies: NEW, 0).
INSERT INTO orders (order_id, account_id, client_order_id, symbol, status, time, update_time, body)
SELECT json_extract(l.body, '$.order.orderId'), l.account_id,
       json_extract(l.body, '$.order.clientOrderId'), json_extract(l.body, '$.order.symbol'),
       COALESCE(json_extract(l.body, '$.order.status'), 'NEW'),
       COALESCE(json_extract(l.body, '$.order.time'), 0),
       COALESCE(json_extract(l.body, '$.order.updateTime'), 0),
       json_extract(l.body, '$.order')
FROM ledger l
WHERE l.kind = 'order' AND NOT EXISTS (
    SELECT 1 FROM ledger n WHERE n.kind = 'order' AND n.seq > l.seq
    AND json_extract(n.body, '$.order.orderId') = json_extract(l.body, '$.order.orderId'));

INSERT INTO trades (trade_id, account_id, order_id, symbol, time, body)
SELECT json_extract(body, '$.trade.id'), account_id, json_extract(body, '$.order.orderId'),
       json_extract(body, '$.order.symbol'), time, body
FROM ledger
WHERE kind = 'order' AND json_extract(body, '$.trade') IS NOT NULL;

INSERT INTO algo_orders (algo_id, account_id, client_algo_id, symbol, status, create_time,
                         update_time, body)
SELECT json_extract(l.body, '$.algoId'), l.account_id, json_extract(l.body, '$.clientAlgoId'),
       json_extract(l.body, '$.symbol'), COALESCE(json_extract(l.body, '$.algoStatus'), 'NEW'),
       COALESCE(json_extract(l.body, '$.createTime'), 0),
       COALESCE(json_extract(l.body, '$.updateTime'), 0), l.body
FROM ledger l
WHERE l.kind = 'algo' AND NOT EXISTS (
    SELECT 1 FROM ledger n WHERE n.kind = 'algo' AND n.seq > l.seq
    AND json_extract(n.body, '$.algoId') = json_extract(l.body, '$.algoId'));
