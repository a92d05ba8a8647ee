-- Who published what and when: the hash-chained audit trail, and signature headers on
-- what the hub itself publishes.

CREATE TABLE audit_log (
    seq             bigserial PRIMARY KEY,
    logged_at       timestamptz NOT NULL DEFAULT now(),
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    outcome         text        NOT NULL,
    payload_sha256  text        NOT NULL,
    event_id        text,
    event_type      text,
    signer          text,
    recorded_at     text,
    reason          text,
    prev_hash       text        NOT NULL,
    hash            text        NOT NULL UNIQUE
);
COMMENT ON TABLE audit_log IS 'Every message received, whatever became of it, hash-chained: each hash covers the previous hash and the entry (sinergi audit verify).';

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

ALTER TABLE outbox ADD COLUMN headers jsonb NOT NULL DEFAULT '[]'::jsonb;

-- Recruiter contacts of an alert's causes, sealed for police: the hub cannot read them.
ALTER TABLE alerts ADD COLUMN sealed_contacts text[] NOT NULL DEFAULT '{}';

CREATE VIEW v_audit_log AS
SELECT seq, logged_at, topic, kafka_partition, kafka_offset, outcome, event_id, event_type,
       signer, recorded_at, reason, hash
FROM audit_log;
COMMENT ON VIEW v_audit_log IS 'Who published what and when (no payloads, no personal data).';

GRANT SELECT, INSERT ON audit_log TO sinergi_processor;
GRANT USAGE ON SEQUENCE audit_log_seq_seq TO sinergi_processor;
GRANT SELECT ON v_audit_log TO sinergi_analyst;
