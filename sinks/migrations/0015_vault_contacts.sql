-- A recruiter's contact, as the person reported it, under the person's data key (issue 11).
--
-- A desk seals the contact for police and then, like the person, to the hub's intake key;
-- the hub keeps the police-sealed contact here, encrypted under the person's DEK, and the
-- ledger and the alerts hold only a reference to it ('vault:<event id>'). Police open a
-- contact through person_contact(): one message's contact in, still sealed for police,
-- with the wrapped DEK that opens the outer layer (the KEK stays on the hub's machine).
-- Erasing the person deletes the DEK and the contact with the fields.

ALTER TABLE person_facts ADD COLUMN contact bytea;
COMMENT ON COLUMN person_facts.contact IS
    'The recruiter''s contact the person reported, sealed for police, under the person''s DEK.';

-- A fact's subject, event and time do not change; only its fields and contact go (erasure).
CREATE OR REPLACE FUNCTION person_facts_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a person''s fact is kept (erasure deletes its fields, not the row)';
    END IF;
    IF NEW.fields IS NOT NULL OR NEW.contact IS NOT NULL OR NEW.carrier_id <> OLD.carrier_id
       OR NEW.subject_id <> OLD.subject_id OR NEW.event_type <> OLD.event_type
       OR NEW.occurred_at <> OLD.occurred_at THEN
        RAISE EXCEPTION 'a person''s fact changes only by losing its fields (erasure)';
    END IF;
    RETURN NEW;
END $$;

-- One message's contact for whoever opens contacts for police (the browser's police
-- pages, `sinergi alerts follow --reveal`): no row when the vault never saw the message;
-- a NULL contact when it carried none or its person is erased.
CREATE FUNCTION person_contact(carrier text)
RETURNS TABLE (subject_id text, strength text, wrapped_dek bytea, contact bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT k.subject_id, k.strength, k.wrapped_dek, f.contact
    FROM person_facts f JOIN person_keys k USING (subject_id)
    WHERE f.carrier_id = carrier
$$;
REVOKE ALL ON FUNCTION person_contact(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION person_contact(text) TO sinergi_processor, sinergi_analyst;
