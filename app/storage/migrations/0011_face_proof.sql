-- A passed face session is spent on one act of the holder (report the card lost, unlock, cancel
-- the e-card, accept a family link): what it was spent on, so that a retry of the same act is
-- recognised and any other act refused.
ALTER TABLE face_sessions ADD COLUMN spent_on TEXT;
ALTER TABLE face_sessions ADD COLUMN spent_at TEXT;
