-- posrisk schema v1: the ledger. State is the fold of `ledger` in seq order per account.
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    api_key     TEXT PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    kind        TEXT NOT NULL CHECK (kind IN ('hmac', 'ed25519', 'rsa')),
    -- HMAC: the shared secret (needed to verify); Ed25519/RSA: the public key PEM.
    secret      TEXT,
    public_key  TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE ledger (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    time        INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX ledger_account ON ledger(account_id, seq);

CREATE TABLE marks (
    symbol      TEXT PRIMARY KEY,
    price       TEXT NOT NULL,
    time        INTEGER NOT NULL
);

CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
