-- Electronic cards (电子社保卡), the channels that hold them, their status lists and the single-use
-- QR codes (亮码) shown from them. Times are RFC 3339 UTC text.

-- A status list (IETF Token Status List): `size` entries of 2 bits. The entries themselves are the
-- states of the e-cards that hold an index in it; `revision` moves whenever one of them changes, so
-- that a signed copy can be cached until then.
CREATE TABLE status_lists (
    id             INTEGER PRIMARY KEY,
    size           INTEGER NOT NULL,
    revision       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- One row per issued e-card. person is the keyed digest of the holder's ID number (cards.id_digest);
-- a person has at most one e-card that is not invalid. status_idx is drawn at random and, since rows
-- are never deleted, never handed out twice.
CREATE TABLE ecards (
    sign_no        TEXT PRIMARY KEY,
    person         TEXT NOT NULL,
    card_no        TEXT NOT NULL REFERENCES cards (card_no),
    state          TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'invalid')),
    sign_level     INTEGER NOT NULL CHECK (sign_level IN (1, 2)),
    status_list    INTEGER NOT NULL REFERENCES status_lists (id),
    status_idx     INTEGER NOT NULL,
    issued_at      TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    state_since    TEXT NOT NULL,
    replaced_by    TEXT REFERENCES ecards (sign_no),
    UNIQUE (status_list, status_idx)
);
CREATE UNIQUE INDEX ecards_one_live_per_person ON ecards (person) WHERE state <> 'invalid';
CREATE INDEX ecards_card ON ecards (card_no);

-- Which channel holds which e-card for which account. Unlinking deletes the row.
CREATE TABLE ecard_channels (
    sign_no        TEXT NOT NULL REFERENCES ecards (sign_no),
    client_id      TEXT NOT NULL REFERENCES channels (client_id),
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    linked_at      TEXT NOT NULL,
    PRIMARY KEY (sign_no, client_id, account_id)
);
CREATE INDEX ecard_channels_holder ON ecard_channels (account_id, client_id);

-- Dynamic QR codes: only the SHA-256 of the code is kept. used_at is set once, by the one
-- verification that wins.
CREATE TABLE qrcodes (
    code_hash      TEXT PRIMARY KEY,
    sign_no        TEXT NOT NULL REFERENCES ecards (sign_no),
    client_id      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    used_by        TEXT
);
CREATE INDEX qrcodes_expiry ON qrcodes (expires_at);
