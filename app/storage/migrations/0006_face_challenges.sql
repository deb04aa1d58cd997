-- Face sessions that guide the user and cannot be re-rolled, and the light challenge.

-- How a channel's face sessions prove liveness (opt-in to the light challenge).
ALTER TABLE channels ADD COLUMN face_challenge TEXT NOT NULL DEFAULT 'actions'
    CHECK (face_challenge IN ('actions', 'light', 'actions+light'));

-- The server-chosen colour sequence of a light session (JSON), NULL without one.
ALTER TABLE face_sessions ADD COLUMN light TEXT;
CREATE INDEX face_sessions_person ON face_sessions (person, status, expires_at);

-- One open session per real-name check: a second start returns it instead of a new challenge.
-- Older databases may hold several; all but the newest are closed as expired first.
UPDATE face_sessions SET status = 'failed', reason = 'expired'
 WHERE status = 'open'
   AND rowid NOT IN (SELECT max(rowid) FROM face_sessions WHERE status = 'open' GROUP BY realname_id);
CREATE UNIQUE INDEX face_sessions_one_open ON face_sessions (realname_id) WHERE status = 'open';

-- Per frame: the figures without face crops (for live guidance on later uploads), and the capture
-- time the client reports for the light challenge (ms since the first colour was shown).
ALTER TABLE face_frames ADD COLUMN figures BLOB;
ALTER TABLE face_frames ADD COLUMN captured_at_ms INTEGER;
