-- An erasure request withdrawn before it is carried out (issue 11; sinks/erasure.py).
--
-- A request may be mistaken (the wrong case chosen, a request made twice), the person may
-- withdraw it, or the hub may have to keep the data for now (a legal hold: the person's
-- facts are evidence in an investigation or prosecution). Another administrator, or the
-- one who asked, withdraws it with a reason code; it then leaves the pending list and can
-- no longer be confirmed. A request carried out cannot be withdrawn: an erasure is final.
-- Append-only, like the requests and confirmations; no free column takes a NIK.

CREATE TABLE erasure_withdrawals (
    request_id   uuid        PRIMARY KEY REFERENCES erasure_requests (request_id),
    withdrawn_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_by text        NOT NULL CHECK (withdrawn_by !~ '[0-9]{16}'),
    db_role      text        NOT NULL DEFAULT session_user,
    reason_code  text        NOT NULL CHECK (reason_code IN ('MISTAKEN', 'DUPLICATE',
                             'SUBJECT_WITHDREW', 'LEGAL_HOLD'))
);
COMMENT ON TABLE erasure_withdrawals IS 'Each erasure request withdrawn before it was carried out: who, when, why (a code). Append-only.';
CREATE TRIGGER erasure_withdrawals_append_only BEFORE UPDATE OR DELETE ON erasure_withdrawals
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER erasure_withdrawals_no_truncate BEFORE TRUNCATE ON erasure_withdrawals
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- Withdrawn or carried out, never both (the commands check first; these hold for anyone
-- going round them). Both lock the request's row, so two administrators at once are
-- ordered: the second is refused.
CREATE FUNCTION erasure_withdrawals_not_confirmed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM erasure_requests WHERE request_id = NEW.request_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM erasure_confirmations WHERE request_id = NEW.request_id) THEN
        RAISE EXCEPTION 'erasure request % was carried out: an erasure is not withdrawn',
            NEW.request_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER erasure_withdrawals_not_confirmed BEFORE INSERT ON erasure_withdrawals
    FOR EACH ROW EXECUTE FUNCTION erasure_withdrawals_not_confirmed();

CREATE FUNCTION erasure_confirmations_not_withdrawn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM erasure_requests WHERE request_id = NEW.request_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM erasure_withdrawals WHERE request_id = NEW.request_id) THEN
        RAISE EXCEPTION 'erasure request % was withdrawn: it cannot be carried out',
            NEW.request_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER erasure_confirmations_not_withdrawn BEFORE INSERT ON erasure_confirmations
    FOR EACH ROW EXECUTE FUNCTION erasure_confirmations_not_withdrawn();

CREATE OR REPLACE VIEW erasure_pending AS
SELECT r.* FROM erasure_requests r
WHERE NOT EXISTS (SELECT 1 FROM erasure_confirmations c WHERE c.request_id = r.request_id)
  AND NOT EXISTS (SELECT 1 FROM erasure_withdrawals w WHERE w.request_id = r.request_id);
COMMENT ON VIEW erasure_pending IS 'Erasure requests no administrator has confirmed or withdrawn yet.';
