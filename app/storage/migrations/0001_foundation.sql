-- Foundation: channels, accounts, SMS codes, tokens, consent, the card registry, real-name checks,
-- rate-limit counters and the append-only audit log. Times are RFC 3339 UTC text.

CREATE TABLE channels (
    client_id      TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('app', 'miniprogram', 'relying_party', 'counter')),
    secret_hash    TEXT,
    redirect_uris  TEXT NOT NULL DEFAULT '[]',
    scopes         TEXT NOT NULL DEFAULT '[]',
    created_at     TEXT NOT NULL
);

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    phone          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE sms_codes (
    id             INTEGER PRIMARY KEY,
    phone          TEXT NOT NULL,
    code_hash      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    consumed_at    TEXT
);
CREATE INDEX sms_codes_phone ON sms_codes (phone, created_at);

-- What the development SMS sender "sent"; read through GET /v1/dev/outbox in ECARD_ENV=dev.
CREATE TABLE sms_outbox (
    id             INTEGER PRIMARY KEY,
    phone          TEXT NOT NULL,
    body           TEXT NOT NULL,
    sent_at        TEXT NOT NULL
);
CREATE INDEX sms_outbox_phone ON sms_outbox (phone, id);

-- Opaque bearer tokens, stored as SHA-256 digests. kind: user (account login), access and refresh
-- (issued to a channel, for a user or for the channel itself).
CREATE TABLE tokens (
    token_hash     TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('user', 'user_refresh', 'access', 'refresh')),
    account_id     INTEGER REFERENCES accounts (id),
    client_id      TEXT REFERENCES channels (client_id),
    scopes         TEXT NOT NULL DEFAULT '[]',
    grant_id       TEXT,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT
);
CREATE INDEX tokens_grant ON tokens (grant_id);

-- The authorization prompt shown to a user, and the decision taken on it.
CREATE TABLE consents (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES channels (client_id),
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    state          TEXT,
    code_challenge TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    account_id     INTEGER REFERENCES accounts (id),
    decision       TEXT CHECK (decision IN ('allow', 'deny')),
    decided_at     TEXT
);

-- A grant is one authorization code and everything issued from it (refresh rotations included), so
-- that a replayed code can revoke the whole family.
CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL UNIQUE,
    consent_id     TEXT NOT NULL REFERENCES consents (id),
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    client_id      TEXT NOT NULL REFERENCES channels (client_id),
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT
);

-- Physical social security cards. The ID number is kept sealed (AES-GCM) and found through a keyed
-- digest; the photo is sealed too. aab301 is the 6-digit code of the issuing region.
CREATE TABLE cards (
    card_no        TEXT PRIMARY KEY,
    id_digest      TEXT NOT NULL,
    id_sealed      BLOB NOT NULL,
    id_masked      TEXT NOT NULL,
    name           TEXT NOT NULL,
    aab301         TEXT NOT NULL,
    birth_date     TEXT NOT NULL,
    gender         TEXT NOT NULL CHECK (gender IN ('male', 'female')),
    ethnicity      TEXT,
    phone          TEXT,
    address        TEXT,
    postcode       TEXT,
    bank           TEXT,
    collected_on   TEXT,
    ss_state       TEXT NOT NULL CHECK (ss_state IN ('inactive', 'active')),
    fin_state      TEXT NOT NULL CHECK (fin_state IN ('inactive', 'active')),
    fin_since      TEXT,
    loss_state     TEXT NOT NULL DEFAULT 'none'
                   CHECK (loss_state IN ('none', 'temporary', 'formal', 'overdue')),
    loss_since     TEXT,
    status         TEXT NOT NULL DEFAULT 'normal'
                   CHECK (status IN ('normal', 'replaced', 'cancelled')),
    replaced_by    TEXT REFERENCES cards (card_no),
    photo_sealed   BLOB,
    photo_sha256   TEXT,
    record_digest  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX cards_id_digest ON cards (id_digest);

CREATE TABLE realname_checks (
    id             TEXT PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    client_id      TEXT NOT NULL REFERENCES channels (client_id),
    card_no        TEXT NOT NULL REFERENCES cards (card_no),
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);

-- Fixed-window counters: bucket names the limited thing (e.g. realname:account:42), window its
-- period (e.g. the UTC date).
CREATE TABLE rate_counters (
    bucket         TEXT NOT NULL,
    window         TEXT NOT NULL,
    count          INTEGER NOT NULL,
    PRIMARY KEY (bucket, window)
);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,
    action         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    subject        TEXT,
    detail         TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
