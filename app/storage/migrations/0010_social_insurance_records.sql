-- Social insurance records, loaded by `ecard records import` and read by the holder. They belong to
-- the person (person: the keyed digest of the ID number, as cards.id_digest), not to a card, and
-- hold no ID number in clear. Amounts are integer fen.
CREATE TABLE contributions (
    person         TEXT NOT NULL,
    insurance      TEXT NOT NULL,
    period         TEXT NOT NULL,   -- YYYY-MM
    base           INTEGER NOT NULL,
    employer       INTEGER NOT NULL,
    personal       INTEGER NOT NULL,
    paid_on        TEXT NOT NULL,
    employer_name  TEXT NOT NULL,
    PRIMARY KEY (person, insurance, period)
);
CREATE INDEX contributions_by_period ON contributions (person, period DESC);

-- One movement of the medical individual account; entry_key digests (date, amount, balance, place),
-- so the same entry loaded twice is one row; id keeps the order of loading within a day.
CREATE TABLE medical_account_entries (
    id         INTEGER PRIMARY KEY,
    person     TEXT NOT NULL,
    entry_key  TEXT NOT NULL,
    on_date    TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    balance    INTEGER NOT NULL,
    place      TEXT NOT NULL,
    UNIQUE (person, entry_key)
);
CREATE INDEX medical_account_newest ON medical_account_entries (person, on_date DESC, id DESC);
