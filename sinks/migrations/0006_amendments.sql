-- Corrections, retractions and the alert lifecycle (issue 9).

-- Which version of an agency's record the ledger holds, once the record was amended
-- (processors/amendments.py): the record itself or its latest correction, or retracted.
CREATE TABLE fact_versions (
    root_event_id    uuid PRIMARY KEY,
    record_type      text        NOT NULL,
    record_unit      text        NOT NULL,
    head_event_id    uuid        NOT NULL,
    head_recorded_at timestamptz,
    retracted_by     uuid,
    refs             text[]      NOT NULL,
    cells            jsonb       NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE fact_versions IS 'Amended records: the version that holds (the record, or its latest RecordCorrected), or the RecordRetracted that took it out; with the entities and metric cells the holding version is folded into. Rows exist only for records that were amended.';

-- Alerts resting on the absence of a fact (never registered) wait a grace period on
-- the hub's clock before police are told; while they wait they are here, not in alerts.
CREATE TABLE alerts_held (
    alert_id   uuid PRIMARY KEY,
    source     text        NOT NULL,
    due_at     timestamptz NOT NULL,
    alert      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE alerts_held IS 'Alerts that hold but wait for their grace period (SINERGI_ALERT_GRACE_HOURS) to pass, so that other agencies'' late facts can end them before police are told. Raised by the processor''s timer when due.';
CREATE INDEX alerts_held_due_idx ON alerts_held (due_at);
CREATE INDEX alerts_held_source_idx ON alerts_held (source);

GRANT SELECT, INSERT, UPDATE ON fact_versions TO sinergi_processor;
GRANT SELECT, INSERT, UPDATE, DELETE ON alerts_held TO sinergi_processor;
-- A retracted record can leave an entity without any fact: it is removed.
GRANT DELETE ON cases, recruiters, groups, investigations TO sinergi_processor;
