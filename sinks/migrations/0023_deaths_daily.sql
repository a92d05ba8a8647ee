-- Deaths by day and country, for the operations dashboard (sinergi/web/dashboard.py).
--
-- metrics_daily counts deaths by procedural status only (sinergi_deaths_total), and the
-- dashboard had read them by country from v_case_timeline, the append-only events: a
-- death retracted as a duplicate, or corrected to a sick worker who came home alive, was
-- still counted there. This view reads the ledger's own facts, as v_report_cases does, so
-- corrections and retractions are followed. Days are the hub's days (the UTC date of the
-- event's time, as metrics_daily and v_report_interceptions_daily count them). Counts
-- only: no case id, no person.
CREATE VIEW v_deaths_daily AS
SELECT ((f ->> 'occurred_at')::timestamptz AT TIME ZONE 'UTC')::date AS day,
       f -> 'detail' ->> 'country' AS country,
       count(*)::bigint AS deaths
FROM cases c, jsonb_array_elements(c.state -> 'facts') AS f
WHERE f ->> 'event_type' = 'RepatriationRecorded'
  AND f -> 'detail' ->> 'kind' = 'DECEASED'
GROUP BY 1, 2;
COMMENT ON VIEW v_deaths_daily IS 'Deceased migrant workers repatriated, per day (UTC date, as metrics_daily) and country returned from, as the ledger holds them after corrections and retractions.';

GRANT SELECT ON v_deaths_daily TO sinergi_analyst;
