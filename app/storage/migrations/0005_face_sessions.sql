-- Face verification: liveness sessions, per-frame figures kept only until the verdict, and the
-- card-photo templates computed once per photo.

CREATE TABLE card_templates (
    card_no        TEXT PRIMARY KEY REFERENCES cards (card_no),
    photo_sha256   TEXT NOT NULL,
    model          TEXT NOT NULL,
    template       BLOB NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE face_sessions (
    id                 TEXT PRIMARY KEY,
    account_id         INTEGER NOT NULL REFERENCES accounts (id),
    client_id          TEXT NOT NULL REFERENCES channels (client_id),
    realname_id        TEXT NOT NULL REFERENCES realname_checks (id),
    card_no            TEXT NOT NULL REFERENCES cards (card_no),
    person             TEXT NOT NULL,
    actions            TEXT NOT NULL,
    nonce              TEXT NOT NULL,
    biometric_consent_at TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    frame_count        INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'deciding', 'passed', 'failed')),
    reason             TEXT,
    completed_at       TEXT
);
CREATE INDEX face_sessions_account ON face_sessions (account_id, status, completed_at);

-- Figures of each uploaded frame (landmark geometry, quality, an aligned face crop): sensitive,
-- deleted when the verdict is recorded.
CREATE TABLE face_frames (
    session_id     TEXT NOT NULL REFERENCES face_sessions (id),
    seq            INTEGER NOT NULL,
    analysis       BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- Raw frames, sealed, kept only when ECARD_FACE_AUDIT_FRAMES is on.
CREATE TABLE face_audit_frames (
    session_id     TEXT NOT NULL REFERENCES face_sessions (id),
    seq            INTEGER NOT NULL,
    image_sealed   BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
);
