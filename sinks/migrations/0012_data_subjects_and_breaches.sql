-- Data subjects and breaches (issue 11, UU 27/2022): every export of a person's data
-- (their right of access) is recorded, and a suspected breach starts the 3 x 24 hour
-- notification clock, kept here so that no restart resets it.
--
-- Written by the administrator (sinergi_owner: `sinergi person export`, `sinergi audit
-- verify|watch|close`); the processor reads the clock for /metrics.

CREATE TABLE person_exports (
    seq         bigserial PRIMARY KEY,
    exported_at timestamptz NOT NULL DEFAULT now(),
    case_id     text        NOT NULL CHECK (case_id ~ '^(nik|weak):[0-9a-f]{32}$'),
    exported_by text        NOT NULL CHECK (exported_by !~ '[0-9]{16}'),
    db_role     text        NOT NULL DEFAULT session_user,
    request_ref text        CHECK (request_ref !~ '[0-9]{16}'),
    events      integer     NOT NULL,
    alerts      integer     NOT NULL
);
COMMENT ON TABLE person_exports IS 'Each export of everything the hub holds about one person (sinergi person export): who, when, which case (the pseudonym, never the NIK), under which request, how much. Append-only.';
CREATE INDEX person_exports_case_idx ON person_exports (case_id);
CREATE TRIGGER person_exports_append_only BEFORE UPDATE OR DELETE ON person_exports
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER person_exports_no_truncate BEFORE TRUNCATE ON person_exports
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

CREATE TABLE breach_suspicions (
    suspicion_id      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    kind              text        NOT NULL CHECK (kind IN ('audit_failed', 'acl_denied')),
    subject           text        NOT NULL,
    detected_at       timestamptz NOT NULL DEFAULT now(),
    first_evidence_at timestamptz,
    last_seen_at      timestamptz NOT NULL DEFAULT now(),
    occurrences       bigint      NOT NULL DEFAULT 1,
    detail            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    closed_at         timestamptz,
    closed_by         text,
    close_note        text,
    notified          boolean,
    CHECK ((closed_at IS NULL) = (close_note IS NULL))
);
COMMENT ON TABLE breach_suspicions IS 'Suspected personal data breaches: the audit trail failing its check, or Kafka denying a member an operation outside the ACL matrix. The 3 x 24 hour clock of UU 27/2022 Pasal 46 runs from detected_at; one open suspicion per kind and subject (a check, or a principal), later evidence counted into it. Closed by an administrator with a note, never deleted.';
COMMENT ON COLUMN breach_suspicions.subject IS 'What it is about: the check that failed (chains, coverage, dead_letters) or the Kafka principal denied (User:<member>). Never personal data.';
COMMENT ON COLUMN breach_suspicions.first_evidence_at IS 'The time of the earliest evidence (a denial''s time in the broker''s log), which may be before the hub noticed it.';
CREATE UNIQUE INDEX breach_suspicions_one_open ON breach_suspicions (kind, subject)
    WHERE closed_at IS NULL;

-- The clock cannot be reset or a suspicion made to vanish: no delete, detected_at and
-- kind never change, a closed suspicion stays closed.
CREATE FUNCTION breach_suspicions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'breach suspicions are kept: % refused', TG_OP;
    END IF;
    IF OLD.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'breach suspicion % is closed', OLD.suspicion_id;
    END IF;
    IF NEW.detected_at <> OLD.detected_at OR NEW.kind <> OLD.kind
       OR NEW.subject <> OLD.subject OR NEW.suspicion_id <> OLD.suspicion_id THEN
        RAISE EXCEPTION 'a breach suspicion''s clock and subject do not change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER breach_suspicions_kept BEFORE UPDATE OR DELETE ON breach_suspicions
    FOR EACH ROW EXECUTE FUNCTION breach_suspicions_guard();
CREATE TRIGGER breach_suspicions_no_truncate BEFORE TRUNCATE ON breach_suspicions
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- What the watch checked, when, and how far it read each authorizer log.
CREATE TABLE breach_watch (
    source       text        PRIMARY KEY,
    check_name   text        NOT NULL CHECK (check_name IN ('audit_verify', 'authorizer_log')),
    checked_at   timestamptz NOT NULL,
    succeeded_at timestamptz,
    outcome      text        NOT NULL CHECK (outcome IN ('ok', 'suspected', 'unavailable')),
    position     jsonb       NOT NULL DEFAULT '{}'::jsonb
);
COMMENT ON TABLE breach_watch IS 'The breach watch''s checks (sinergi audit watch, sinergi audit verify): when each last ran and last succeeded, and, for each Kafka authorizer log, how far it was read (inode and offset).';

CREATE VIEW v_breach_suspicions AS
SELECT suspicion_id, kind, subject, detected_at,
       detected_at + interval '72 hours' AS notify_by,
       first_evidence_at, last_seen_at, occurrences, detail,
       closed_at, closed_by, close_note, notified
FROM breach_suspicions;
COMMENT ON VIEW v_breach_suspicions IS 'Suspected breaches with their notification deadline (detected + 3 x 24 hours, UU 27/2022 Pasal 46).';

GRANT SELECT ON breach_suspicions, breach_watch TO sinergi_processor;
GRANT SELECT ON v_breach_suspicions TO sinergi_analyst;
