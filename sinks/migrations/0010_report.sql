-- The public accountability report and the CTDC-style export (issue 11): what they need
-- of the ledger that the analysts' views did not give, as views of counts and bands.
-- No case id, no recruiter, no date of birth, no exact age leaves these views.
--
-- Days are the hub's days, as metrics_daily counts them: the date of the event's time in
-- UTC (processors/metrics.py), so the report's months add up across views.

-- Interceptions by day, post and route, from the ledger's own facts (so corrections and
-- retractions are followed, as in metrics_daily, which has no route).
CREATE VIEW v_report_interceptions_daily AS
SELECT ((f ->> 'occurred_at')::timestamptz AT TIME ZONE 'UTC')::date AS day,
       f -> 'detail' ->> 'post' AS post,
       coalesce(f -> 'detail' ->> 'route', 'unknown') AS route,
       count(*)::bigint AS interceptions
FROM cases c, jsonb_array_elements(c.state -> 'facts') AS f
WHERE f ->> 'event_type' = 'InterceptionRecorded'
GROUP BY 1, 2, 3;
COMMENT ON VIEW v_report_interceptions_daily IS 'Interceptions per day (UTC date, as metrics_daily), post and route, as the ledger holds them after corrections and retractions.';

-- One row per case, with what the CTDC export may use, already generalised: the year it
-- was registered (first seen), sex, the CTDC age band at registration (age by the day in
-- Kupang, processors/person_rules.py), what the agencies know of it, and, for trafficking
-- victims, the country of exploitation (the country they were repatriated from).
CREATE VIEW v_report_cases AS
WITH person AS (
    SELECT c.*,
           CASE
               WHEN c.state -> 'derived' ->> 'birth_date' IS NOT NULL THEN
                   date_part('year', age((c.first_seen AT TIME ZONE 'Asia/Makassar')::date,
                                         (c.state -> 'derived' ->> 'birth_date')::date))::int
               ELSE (c.state -> 'derived' ->> 'estimated_age')::int
           END AS age
    FROM cases c
)
SELECT extract(year FROM p.first_seen AT TIME ZONE 'UTC')::int AS year_registered,
       p.sex,
       CASE
           WHEN p.age IS NULL OR p.age < 0 THEN NULL
           WHEN p.age <= 8 THEN '0--8'
           WHEN p.age <= 17 THEN '9--17'
           WHEN p.age <= 20 THEN '18--20'
           WHEN p.age <= 23 THEN '21--23'
           WHEN p.age <= 26 THEN '24--26'
           WHEN p.age <= 29 THEN '27--29'
           WHEN p.age <= 38 THEN '30--38'
           WHEN p.age <= 47 THEN '39--47'
           ELSE '48+'
       END AS age_band,
       p.interceptions > 0 AS intercepted,
       p.tips > 0 AS tipped,
       p.investigation <> 'NONE' AS investigated,
       EXISTS (SELECT 1 FROM jsonb_array_elements(p.state -> 'facts') AS f
               WHERE f ->> 'event_type' = 'RepatriationRecorded'
                 AND f -> 'detail' ->> 'procedural' <> 'PROCEDURAL') AS repatriated_non_procedural,
       EXISTS (SELECT 1 FROM jsonb_array_elements(p.state -> 'facts') AS f
               WHERE f ->> 'event_type' = 'RepatriationRecorded'
                 AND f -> 'detail' ->> 'kind' = 'TRAFFICKING_VICTIM') AS trafficking_victim,
       (SELECT f -> 'detail' ->> 'sector' FROM jsonb_array_elements(p.state -> 'facts') AS f
        WHERE coalesce(f -> 'detail' ->> 'sector', 'UNKNOWN') <> 'UNKNOWN'
        ORDER BY f ->> 'event_type' = 'PlacementRegistered' DESC,
                 (f ->> 'occurred_at')::timestamptz DESC
        LIMIT 1) AS sector,
       (SELECT f -> 'detail' ->> 'country' FROM jsonb_array_elements(p.state -> 'facts') AS f
        WHERE f ->> 'event_type' = 'RepatriationRecorded'
          AND f -> 'detail' ->> 'kind' = 'TRAFFICKING_VICTIM'
        ORDER BY (f ->> 'occurred_at')::timestamptz DESC
        LIMIT 1) AS exploitation_country
FROM person p
WHERE p.first_seen IS NOT NULL;
COMMENT ON VIEW v_report_cases IS 'One row per case (no id): year registered, sex, CTDC age band, what the agencies know (intercepted, tip, police file, non-procedural repatriation, trafficking victim), sector and country of exploitation. For the k-anonymised CTDC export.';

GRANT SELECT ON v_report_interceptions_daily, v_report_cases TO sinergi_analyst;
