-- The family service (亲情服务): a holder invites a relative (single-use code, only its digest kept,
-- valid 24 hours); the relative's acceptance makes a one-way link: the holder may show the
-- relative's e-card. At most eight live links per holder: each takes a slot 1..8, unique among the
-- holder's live links, and a holder and relative have one live link at a time. Racing acceptances
-- are decided by these indexes, on every process alike.
CREATE TABLE family_invitations (
    code_hash        TEXT PRIMARY KEY,
    holder_sign_no   TEXT NOT NULL REFERENCES ecards (sign_no),
    relation         TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    accepted_at      TEXT,
    accepted_by      TEXT REFERENCES ecards (sign_no)
);
CREATE INDEX family_invitations_expiry ON family_invitations (expires_at) WHERE accepted_at IS NULL;

CREATE TABLE family_links (
    id               TEXT PRIMARY KEY,
    holder_sign_no   TEXT NOT NULL REFERENCES ecards (sign_no),
    relative_sign_no TEXT NOT NULL REFERENCES ecards (sign_no),
    relation         TEXT NOT NULL,
    slot             INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 8),
    invitation       TEXT NOT NULL UNIQUE REFERENCES family_invitations (code_hash),
    client_id        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    ended_at         TEXT,
    ended_by         TEXT,
    end_reason       TEXT
);
CREATE UNIQUE INDEX family_links_live_slot ON family_links (holder_sign_no, slot) WHERE ended_at IS NULL;
CREATE UNIQUE INDEX family_links_live_pair ON family_links (holder_sign_no, relative_sign_no)
    WHERE ended_at IS NULL;
CREATE INDEX family_links_live_relative ON family_links (relative_sign_no) WHERE ended_at IS NULL;

-- A QR code a holder shows of a relative's e-card names the holder.
ALTER TABLE qrcodes ADD COLUMN presented_by TEXT REFERENCES ecards (sign_no);

-- The other person of a family event, masked as at the time (张*, 440305********123X).
ALTER TABLE ecard_usage ADD COLUMN family_member_name TEXT;
ALTER TABLE ecard_usage ADD COLUMN family_member_id_number TEXT;
