-- The physical card lifecycle: dates and channels of both applications, the replacement link, the
-- card PIN, an optimistic version, and each card's history of transitions.

ALTER TABLE cards ADD COLUMN ss_since TEXT;
ALTER TABLE cards ADD COLUMN ss_channel TEXT;
ALTER TABLE cards ADD COLUMN fin_channel TEXT;
ALTER TABLE cards ADD COLUMN status_since TEXT;
ALTER TABLE cards ADD COLUMN replaces TEXT REFERENCES cards (card_no);
-- pin_hash is NULL while the initial PIN (last six digits of the ID number) is in force; otherwise
-- argon2id over an HMAC keyed with the data key (see app/domain/cards/pin.py).
ALTER TABLE cards ADD COLUMN pin_hash TEXT;
ALTER TABLE cards ADD COLUMN pin_change_required INTEGER NOT NULL DEFAULT 1
    CHECK (pin_change_required IN (0, 1));
-- Consecutive wrong entries; 6 locks the PIN until a counter resets it.
ALTER TABLE cards ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0 CHECK (pin_failures >= 0);
ALTER TABLE cards ADD COLUMN pin_locked_at TEXT;
ALTER TABLE cards ADD COLUMN pin_changed_at TEXT;
ALTER TABLE cards ADD COLUMN lifecycle_version INTEGER NOT NULL DEFAULT 0;

-- What the sweep looks for: temporary loss reports to lift, and cards the 300-day rule reaches.
CREATE INDEX cards_temporary_loss ON cards (loss_since) WHERE status = 'normal' AND loss_state = 'temporary';
CREATE INDEX cards_financial_due ON cards (collected_on)
    WHERE status = 'normal' AND loss_state = 'none' AND fin_state = 'inactive';

-- A card's history: one row per transition, written with its audit_log entry. agent is the
-- delegated person (name, masked ID, keyed digest, power-of-attorney reference) or NULL.
CREATE TABLE card_events (
    id             INTEGER PRIMARY KEY,
    card_no        TEXT NOT NULL REFERENCES cards (card_no),
    at             TEXT NOT NULL,
    action         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    agent          TEXT,
    before         TEXT NOT NULL DEFAULT '{}',
    after          TEXT NOT NULL DEFAULT '{}',
    detail         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX card_events_card ON card_events (card_no, id);
CREATE TRIGGER card_events_no_update BEFORE UPDATE ON card_events
BEGIN SELECT RAISE(ABORT, 'card_events is append-only'); END;
CREATE TRIGGER card_events_no_delete BEFORE DELETE ON card_events
BEGIN SELECT RAISE(ABORT, 'card_events is append-only'); END;
