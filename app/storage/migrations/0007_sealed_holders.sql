-- The card holder's personal data leaves plaintext: name, birth date, gender, ethnicity, phone,
-- address and postcode are sealed together (AES-GCM under the data key) in holder_sealed, and the
-- stored masked ID number (region and last four characters, which with the birth date made all 18)
-- is gone: the mask shown to clients is computed from the sealed ID number.
--
-- SQL cannot seal, so the plaintext moves to cards_holder_legacy here, and the server seals it into
-- holder_sealed and drops that table when it next starts with the data key
-- (app/storage/repositories/holders.py, `seal_legacy_holders`).
ALTER TABLE cards ADD COLUMN holder_sealed BLOB;
CREATE TABLE cards_holder_legacy AS
    SELECT card_no, id_digest, name, birth_date, gender, ethnicity, phone, address, postcode FROM cards;
ALTER TABLE cards DROP COLUMN id_masked;
ALTER TABLE cards DROP COLUMN name;
ALTER TABLE cards DROP COLUMN birth_date;
ALTER TABLE cards DROP COLUMN gender;
ALTER TABLE cards DROP COLUMN ethnicity;
ALTER TABLE cards DROP COLUMN phone;
ALTER TABLE cards DROP COLUMN address;
ALTER TABLE cards DROP COLUMN postcode;
