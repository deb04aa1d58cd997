-- When the holder cancelled the e-card from an app: such an e-card is not reissued by a later
-- replacement of its card (only a new claim issues a new one).
ALTER TABLE ecards ADD COLUMN cancelled_at TEXT;
