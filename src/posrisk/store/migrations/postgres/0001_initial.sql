-- posrisk schema v1 for PostgreSQL: the same tables as SQLite's 0001_initial.sql.
CREATE TABLE accounts (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    api_key     TEXT PRIMARY KEY,
    -- creation order (SQLite's rowid)
    seq         BIGSERIAL,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    kind        TEXT NOT NULL CHECK (kind IN ('hmac', 'ed25519', 'rsa')),
    secret      TEXT,
    public_key  TEXT,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE ledger (
    seq         BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    time        BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX ledger_account ON ledger(account_id, seq);

CREATE TABLE marks (
    symbol      TEXT PRIMARY KEY,
    price       TEXT NOT NULL,
    time        BIGINT NOT NULL
);

CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
