-- What analysts see: views over the ledger, and who may do what.
-- The roles are created by `sinergi stack up` (deploy/postgres.py).

CREATE VIEW v_cases AS
SELECT case_id,
       match_kind,
       status,
       sex,
       origin_regency,
       minor,
       interceptions,
       first_seen,
       last_seen,
       ARRAY(SELECT jsonb_array_elements_text(state -> 'recruiters')) AS recruiters
FROM cases;
COMMENT ON VIEW v_cases IS 'One row per person (pseudonymous case id); strong = matched by NIK, weak = by name, birth and origin.';

CREATE VIEW v_case_timeline AS
SELECT e.case_id,
       e.occurred_at,
       e.event_type,
       e.agency,
       e.unit,
       e.event_id,
       e.payload - 'envelope' - 'person' AS facts
FROM events e
WHERE e.case_id IS NOT NULL;
COMMENT ON VIEW v_case_timeline IS 'Every fact about a case, in the order it happened.';

CREATE VIEW v_metrics_daily AS
SELECT day, metric, labels, value FROM metrics_daily;

CREATE VIEW v_interceptions_by_post AS
SELECT labels ->> 'post' AS post, day, value AS interceptions
FROM metrics_daily
WHERE metric = 'sinergi_interceptions_total';

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO sinergi_processor, sinergi_analyst;
GRANT SELECT, INSERT ON events TO sinergi_processor;
GRANT SELECT, INSERT, UPDATE ON cases, metrics_daily TO sinergi_processor;
GRANT SELECT ON v_cases, v_case_timeline, v_metrics_daily, v_interceptions_by_post
    TO sinergi_analyst;
-- The processor serves the metrics page from the daily table.
GRANT SELECT ON v_metrics_daily TO sinergi_processor;
