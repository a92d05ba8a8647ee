-- A case's facts as the ledger holds them, for the case pages (`sinergi ledger case`, the
-- browser's case and group pages). They read v_case_timeline, the append-only events:
-- a record retracted (a duplicate, the wrong person) still showed on the case, and a
-- corrected one with its first content; the README says a corrected record is replaced
-- and a retracted one absent. This view reads the ledger's own facts, as v_report_cases
-- and v_deaths_daily do: each fact's event id, time, type, unit, and its detail (codes
-- and references, never a person's fields; a recruiter's contact only as the vault's
-- reference).

CREATE VIEW v_case_facts AS
SELECT c.case_id,
       (f ->> 'event_id')::uuid AS event_id,
       (f ->> 'occurred_at')::timestamptz AS occurred_at,
       f ->> 'event_type' AS event_type,
       f ->> 'unit' AS unit,
       (f -> 'detail') - 'case_id' AS detail
FROM cases c, jsonb_array_elements(c.state -> 'facts') AS f;
COMMENT ON VIEW v_case_facts IS 'Every fact of a case as the ledger holds it after corrections and retractions: what happened, when, who said so (codes; a recruiter contact only as its vault reference).';

GRANT SELECT ON v_case_facts TO sinergi_analyst;
