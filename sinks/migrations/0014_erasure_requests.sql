-- Erasure (issue 11, crypto-shredding; sinergi/erasure.py, docs/erasure.md): who asked
-- for a person's erasure, why, and who carried it out; and the vault's guards erasure
-- needs.
--
-- A request names the person by case id (nik:/weak:<subject id>, a random id: never a
-- NIK or a pseudonym) and a reason code. A second administrator confirms it; the
-- confirmation is recorded in the same transaction as the vault's erasure and the
-- PersonErased the hub publishes (an outbox row). Retention (`sinergi person retention
-- --apply`) records a request and its confirmation at once, naming the policy that
-- decided (the digest of deploy/retention.yaml) instead of a second administrator.
-- Both tables are append-only, and no free column takes a 16-digit number (a NIK).
--
-- Written by the administrator (sinergi_owner); nobody else reads them.

CREATE TABLE erasure_requests (
    request_id   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    requested_at timestamptz NOT NULL DEFAULT now(),
    case_id      text        NOT NULL CHECK (case_id ~ '^(nik|weak):[0-9a-f]{32}$'),
    reason_code  text        NOT NULL CHECK (reason_code IN ('SUBJECT_REQUEST',
                             'CONSENT_WITHDRAWN', 'COURT_ORDER', 'UNLAWFUL_PROCESSING',
                             'RETENTION')),
    requested_by text        NOT NULL CHECK (requested_by !~ '[0-9]{16}'),
    db_role      text        NOT NULL DEFAULT session_user,
    -- RETENTION only: the sha256 of the retention policy that made it due.
    policy       text        CHECK (policy ~ '^[0-9a-f]{64}$'),
    CHECK ((reason_code = 'RETENTION') = (policy IS NOT NULL))
);
COMMENT ON TABLE erasure_requests IS 'Each request to erase a person (sinergi person erase, sinergi person retention --apply): which case, why (a code), who asked, when; for RETENTION, the digest of the policy that decided. Append-only.';
CREATE INDEX erasure_requests_case_idx ON erasure_requests (case_id);
CREATE TRIGGER erasure_requests_append_only BEFORE UPDATE OR DELETE ON erasure_requests
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER erasure_requests_no_truncate BEFORE TRUNCATE ON erasure_requests
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

CREATE TABLE erasure_confirmations (
    request_id     uuid        PRIMARY KEY REFERENCES erasure_requests (request_id),
    confirmed_at   timestamptz NOT NULL DEFAULT now(),
    confirmed_by   text        NOT NULL CHECK (confirmed_by !~ '[0-9]{16}'),
    db_role        text        NOT NULL DEFAULT session_user,
    facts_shredded integer     NOT NULL CHECK (facts_shredded >= 0),
    event_id       uuid        NOT NULL UNIQUE  -- the PersonErased the hub published
);
COMMENT ON TABLE erasure_confirmations IS 'Each erasure carried out: the request it met, who confirmed it (a second administrator; for RETENTION the one who applied the policy), when, how many facts were shredded, and the PersonErased event published. Append-only.';
CREATE TRIGGER erasure_confirmations_append_only BEFORE UPDATE OR DELETE
    ON erasure_confirmations FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER erasure_confirmations_no_truncate BEFORE TRUNCATE ON erasure_confirmations
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- Four eyes: the administrator who asked is never the one who confirms, unless the
-- policy decided (RETENTION).
CREATE FUNCTION erasure_confirmations_four_eyes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    asked erasure_requests%ROWTYPE;
BEGIN
    SELECT * INTO asked FROM erasure_requests WHERE request_id = NEW.request_id;
    IF asked.policy IS NULL AND lower(btrim(asked.requested_by)) = lower(btrim(NEW.confirmed_by))
    THEN
        RAISE EXCEPTION 'an erasure is confirmed by another administrator than the one who asked';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER erasure_confirmations_four_eyes BEFORE INSERT ON erasure_confirmations
    FOR EACH ROW EXECUTE FUNCTION erasure_confirmations_four_eyes();

CREATE VIEW erasure_pending AS
SELECT r.* FROM erasure_requests r
WHERE NOT EXISTS (SELECT 1 FROM erasure_confirmations c WHERE c.request_id = r.request_id);
COMMENT ON VIEW erasure_pending IS 'Erasure requests no administrator has confirmed yet.';

-- --- the vault's guards (migration 0013's tables) ---------------------------------------------

-- A fact is never kept for an erased person: an intake that found the person just before
-- an erasure committed fails and is tried again (it then finds no one: a new subject).
-- The row lock orders it with the erasure's UPDATE of person_keys, which runs first: either
-- the erasure waits for the fact (and shreds it too), or the fact sees the erasure.
CREATE FUNCTION person_facts_not_erased() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM person_keys
    WHERE subject_id = NEW.subject_id AND erased_at IS NULL FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % is erased: no fact is kept for them', NEW.subject_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER person_facts_not_erased BEFORE INSERT ON person_facts
    FOR EACH ROW EXECUTE FUNCTION person_facts_not_erased();
-- A fact's subject, event and time do not change; only its fields go (erasure).
CREATE FUNCTION person_facts_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a person''s fact is kept (erasure deletes its fields, not the row)';
    END IF;
    IF NEW.fields IS NOT NULL OR NEW.carrier_id <> OLD.carrier_id
       OR NEW.subject_id <> OLD.subject_id OR NEW.event_type <> OLD.event_type
       OR NEW.occurred_at <> OLD.occurred_at THEN
        RAISE EXCEPTION 'a person''s fact changes only by losing its fields (erasure)';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER person_facts_kept BEFORE UPDATE OR DELETE ON person_facts
    FOR EACH ROW EXECUTE FUNCTION person_facts_kept();

-- Who a pseudonym's lookup (the HMAC under the hub-only key) names, for whoever may look
-- one up without reading the vault: the analyst's `ledger case NIK` and the browser's
-- case search, which hold the lookup key on the hub's machine. One lookup in, one subject
-- out; the table itself (data keys, fields) stays closed to them.
CREATE FUNCTION person_subject(wanted bytea)
RETURNS TABLE (subject_id text, strength text) LANGUAGE sql STABLE
SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT k.subject_id, k.strength FROM person_keys k WHERE k.lookup = wanted
$$;
REVOKE ALL ON FUNCTION person_subject(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION person_subject(bytea) TO sinergi_processor, sinergi_analyst;
