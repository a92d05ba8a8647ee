-- The event store, the case ledger and the daily metrics.
-- Applied by `sinergi db migrate` as sinergi_owner; never edited once released:
-- a change is a new numbered file.

CREATE TABLE events (
    event_id     uuid PRIMARY KEY,
    event_type   text        NOT NULL,
    case_id      text,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    agency       text        NOT NULL,
    unit         text        NOT NULL,
    topic        text        NOT NULL,
    kafka_partition integer  NOT NULL,
    kafka_offset bigint      NOT NULL,
    schema_id    integer     NOT NULL,
    payload      jsonb       NOT NULL
);
COMMENT ON TABLE events IS 'Append-only store of every accepted event (already pseudonymised). An event id is stored once.';
CREATE INDEX events_case_idx ON events (case_id, occurred_at);
CREATE INDEX events_type_idx ON events (event_type, occurred_at);

-- Append-only, for everyone including the owner: history is corrected by new events.
CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

CREATE TABLE cases (
    case_id        text PRIMARY KEY,
    match_kind     text        NOT NULL CHECK (match_kind IN ('strong', 'weak')),
    status         text        NOT NULL,
    sex            text        NOT NULL,
    origin_regency text,
    minor          boolean     NOT NULL,
    interceptions  integer     NOT NULL,
    first_seen     timestamptz,
    last_seen      timestamptz,
    state          jsonb       NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cases IS 'The joint case ledger: one row per person, a projection of the events (rebuildable).';

CREATE TABLE metrics_daily (
    day    date   NOT NULL,
    metric text   NOT NULL,
    labels jsonb  NOT NULL DEFAULT '{}'::jsonb,
    value  bigint NOT NULL,
    PRIMARY KEY (day, metric, labels)
);
COMMENT ON TABLE metrics_daily IS 'Daily counts per metric and label set, updated in the same transaction as the events.';
