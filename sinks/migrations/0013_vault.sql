-- The vault of people (issue 11, crypto-shredding; processors/vault.py, docs/erasure.md).
--
-- A person is a random subject id here; their personal fields (pseudonyms, birth date,
-- a recruiter's contact as written) are kept only under their own data key (DEK), and
-- the DEK only wrapped by the hub's key-encryption key, which is not in the database.
-- Erasing a person deletes the wrapped DEK, the lookup and the fields: the facts stay,
-- countable under the subject id. Which message carried which subject is kept for ever,
-- so a rebuild, a redelivery or a second worker finds the same subject again.
--
-- Written by the processor (intake) and the administrator (erasure, retention); never
-- read by analysts: the ledger's views name subjects, never pseudonyms.

CREATE TABLE person_keys (
    subject_id  text        PRIMARY KEY CHECK (subject_id ~ '^[0-9a-f]{32}$'),
    strength    text        NOT NULL CHECK (strength IN ('nik', 'weak')),
    lookup      bytea       UNIQUE,
    wrapped_dek bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz,
    erasure_ref text        CHECK (erasure_ref !~ '[0-9]{16}'),
    CHECK ((erased_at IS NULL) = (wrapped_dek IS NOT NULL)),
    CHECK (erased_at IS NULL OR lookup IS NULL)
);
COMMENT ON TABLE person_keys IS 'One row per person the hub knows: a random subject id, the HMAC of their pseudonym under a hub-only key (lookup), their data key wrapped by the hub KEK. Erasure sets wrapped_dek and lookup to NULL. Back it up apart, with a short retention: an erasure then reaches every backup.';

CREATE TABLE person_facts (
    carrier_id  text        PRIMARY KEY,
    subject_id  text        NOT NULL REFERENCES person_keys (subject_id),
    event_type  text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    fields      bytea,
    kept_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE person_facts IS 'Which message (its event id, a correction''s own id) carried which subject, and the personal fields it carried, under the subject''s data key (NULL once erased).';
CREATE INDEX person_facts_subject_idx ON person_facts (subject_id);

-- An erased person stays erased: the key and lookup never come back.
CREATE FUNCTION person_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a person''s row is kept (erasure deletes its key, not the row)';
    END IF;
    IF OLD.erased_at IS NOT NULL AND (NEW.wrapped_dek IS NOT NULL OR NEW.lookup IS NOT NULL
                                      OR NEW.erased_at IS DISTINCT FROM OLD.erased_at) THEN
        RAISE EXCEPTION 'person % is erased', OLD.subject_id;
    END IF;
    IF NEW.subject_id <> OLD.subject_id OR NEW.strength <> OLD.strength THEN
        RAISE EXCEPTION 'a subject id does not change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER person_keys_kept BEFORE UPDATE OR DELETE ON person_keys
    FOR EACH ROW EXECUTE FUNCTION person_keys_guard();

GRANT SELECT, INSERT ON person_keys, person_facts TO sinergi_processor;
