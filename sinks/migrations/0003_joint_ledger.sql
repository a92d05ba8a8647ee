-- The joint ledger across agencies: recruiters, groups, investigations, alerts for
-- police and their acknowledgements, and the outbox of what the hub publishes.

ALTER TABLE cases
    ADD COLUMN placements    integer NOT NULL DEFAULT 0,
    ADD COLUMN registrations integer NOT NULL DEFAULT 0,
    ADD COLUMN repatriations integer NOT NULL DEFAULT 0,
    ADD COLUMN tips          integer NOT NULL DEFAULT 0,
    ADD COLUMN investigation text    NOT NULL DEFAULT 'NONE';
CREATE INDEX cases_status_idx ON cases (status);

CREATE TABLE recruiters (
    recruiter_ref  text PRIMARY KEY,
    people         integer     NOT NULL,
    interceptions  integer     NOT NULL,
    tips           integer     NOT NULL,
    groups         integer     NOT NULL,
    investigations integer     NOT NULL,
    suspect_status text,
    first_seen     timestamptz,
    last_seen      timestamptz,
    state          jsonb       NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE recruiters IS 'Recruiter (calo) pseudonyms and the cases, groups and investigations they appear in.';

CREATE TABLE groups (
    group_key  text PRIMARY KEY,
    people     integer     NOT NULL,
    first_seen timestamptz,
    last_seen  timestamptz,
    state      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE groups IS 'People intercepted together: <post>/<group reference>.';

CREATE TABLE investigations (
    investigation_ref text PRIMARY KEY,
    stage             text        NOT NULL,
    offence           text,
    people            integer     NOT NULL,
    opened_at         timestamptz,
    prosecuted_at     timestamptz,
    prosecutor_office text,
    state             jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
    alert_id        uuid PRIMARY KEY,
    source          text        NOT NULL,
    rule            text        NOT NULL,
    severity        text        NOT NULL,
    case_ids        text[]      NOT NULL,
    recruiter_ref   text,
    group_ref       text,
    cause_event_ids text[]      NOT NULL,
    summary         text        NOT NULL,
    triggered_at    timestamptz NOT NULL,
    withdrawn_at    timestamptz,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE alerts IS 'Alerts for police, a projection of the ledger: what each entity''s rules say now. An alert id is stable, so it is raised (published) once; a late fact that ends the situation withdraws it.';
COMMENT ON COLUMN alerts.source IS 'The ledger entity whose rules raised it (case:..., recruiter:..., group:...).';
CREATE INDEX alerts_triggered_idx ON alerts (triggered_at);
CREATE INDEX alerts_source_idx ON alerts (source);

CREATE TABLE alert_acks (
    alert_id        uuid PRIMARY KEY,
    event_id        uuid        NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    unit            text        NOT NULL,
    officer_ref     text        NOT NULL,
    action          text        NOT NULL
);
COMMENT ON TABLE alert_acks IS 'The first acknowledgement of each alert (kept even if it arrives before the alert).';

CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    topic      text        NOT NULL,
    key        bytea       NOT NULL,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE outbox IS 'Messages of committed batches not yet published (alerts, case changes).';

-- Read side ------------------------------------------------------------------------------

DROP VIEW v_cases;
CREATE VIEW v_cases AS
SELECT case_id,
       match_kind,
       status,
       sex,
       origin_regency,
       minor,
       interceptions,
       registrations,
       placements,
       repatriations,
       tips,
       investigation,
       first_seen,
       last_seen,
       ARRAY(SELECT jsonb_array_elements_text(state -> 'derived' -> 'recruiters')) AS recruiters
FROM cases;
COMMENT ON VIEW v_cases IS 'One row per person (pseudonymous case id); strong = matched by NIK, weak = by name, birth and origin.';

CREATE VIEW v_recruiters AS
SELECT recruiter_ref, people, interceptions, tips, groups, investigations, suspect_status,
       first_seen, last_seen,
       ARRAY(SELECT jsonb_array_elements_text(state -> 'derived' -> 'case_ids')) AS case_ids
FROM recruiters;
COMMENT ON VIEW v_recruiters IS 'Recruiters (pseudonymous) and the people linked to them.';

CREATE VIEW v_groups AS
SELECT group_key, split_part(group_key, '/', 1) AS post, people, first_seen, last_seen
FROM groups;

CREATE VIEW v_investigations AS
SELECT investigation_ref, stage, offence, people, opened_at, prosecuted_at, prosecutor_office
FROM investigations;

CREATE VIEW v_alerts AS
SELECT a.alert_id, a.rule, a.severity, a.summary, a.case_ids, a.recruiter_ref, a.group_ref,
       a.cause_event_ids, a.triggered_at, a.raised_at, a.withdrawn_at,
       k.acknowledged_at, k.unit AS acknowledged_by, k.action,
       k.acknowledged_at - a.raised_at AS time_to_acknowledge
FROM alerts a
LEFT JOIN alert_acks k USING (alert_id);
COMMENT ON VIEW v_alerts IS 'Alerts for police with their first acknowledgement and the time it took.';

CREATE VIEW v_alerts_daily AS
SELECT day, rule, sum(raised)::bigint AS raised, sum(acknowledged)::bigint AS acknowledged
FROM (
    SELECT triggered_at::date AS day, rule, 1 AS raised, 0 AS acknowledged FROM alerts
    UNION ALL
    SELECT k.acknowledged_at::date, a.rule, 0, 1
    FROM alert_acks k JOIN alerts a USING (alert_id)
) daily
GROUP BY day, rule;
COMMENT ON VIEW v_alerts_daily IS 'Alerts raised (by the day the situation arose) and acknowledged, per day and rule.';

CREATE VIEW v_interceptions_daily AS
SELECT day, labels ->> 'post' AS post, value AS interceptions
FROM metrics_daily
WHERE metric = 'sinergi_interceptions_total';

GRANT SELECT, INSERT, UPDATE ON recruiters, groups, investigations, alert_acks TO sinergi_processor;
GRANT SELECT, INSERT, UPDATE ON alerts TO sinergi_processor;
-- FOR UPDATE (the relay locks the rows it sends) needs UPDATE.
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO sinergi_processor;
GRANT USAGE ON SEQUENCE outbox_id_seq TO sinergi_processor;
GRANT SELECT ON v_cases, v_recruiters, v_groups, v_investigations, v_alerts, v_alerts_daily,
    v_interceptions_daily TO sinergi_analyst;
-- The processor serves /metrics from the daily table and the alerts.
GRANT SELECT ON v_alerts TO sinergi_processor;
