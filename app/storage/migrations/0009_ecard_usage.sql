-- The e-card's usage history, written in the transaction of each event (QR verification, claim,
-- channel link and unlink) and read by the holder newest first.
CREATE TABLE ecard_usage (
    id          INTEGER PRIMARY KEY,
    sign_no     TEXT NOT NULL REFERENCES ecards (sign_no),
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    party_name  TEXT NOT NULL,
    party_kind  TEXT NOT NULL
);
CREATE INDEX ecard_usage_newest ON ecard_usage (sign_no, at DESC, id DESC);
