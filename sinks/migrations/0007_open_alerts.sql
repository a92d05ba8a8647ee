-- Alert lifecycle (issue 9): an alert is open while it holds (not withdrawn) and no
-- police unit has acknowledged it. One definition, in v_alert_status, which the command
-- line (`alerts list`, `ledger summary`), v_alerts_daily and the metrics page all use:
-- before this, an alert withdrawn by a late fact still counted as open when it was only
-- unacknowledged.
--
-- The status is its own view over the tables rather than a column of v_alerts, so this
-- migration does not redefine v_alerts and stays independent of other changes to it.

CREATE VIEW v_alert_status AS
SELECT a.alert_id,
       CASE
           WHEN a.withdrawn_at IS NOT NULL THEN 'withdrawn'
           WHEN k.alert_id IS NOT NULL THEN 'acknowledged'
           ELSE 'open'
       END AS status
FROM alerts a
LEFT JOIN alert_acks k USING (alert_id);
COMMENT ON VIEW v_alert_status IS 'Where each alert stands: open (holds and is not acknowledged), acknowledged (holds, a police unit acknowledged it), withdrawn (a later fact ended it, whether acknowledged or not).';

-- Same columns in the same order; two added at the end.
CREATE OR REPLACE VIEW v_alerts_daily AS
SELECT day, rule,
       sum(raised)::bigint AS raised,
       sum(acknowledged)::bigint AS acknowledged,
       sum(withdrawn)::bigint AS withdrawn,
       sum(open)::bigint AS open
FROM (
    SELECT a.triggered_at::date AS day, a.rule, 1 AS raised, 0 AS acknowledged,
           0 AS withdrawn, CASE WHEN s.status = 'open' THEN 1 ELSE 0 END AS open
    FROM alerts a JOIN v_alert_status s USING (alert_id)
    UNION ALL
    SELECT k.acknowledged_at::date, a.rule, 0, 1, 0, 0
    FROM alert_acks k JOIN alerts a USING (alert_id)
    UNION ALL
    SELECT a.withdrawn_at::date, a.rule, 0, 0, 1, 0
    FROM alerts a
    WHERE a.withdrawn_at IS NOT NULL
) daily
GROUP BY day, rule;
COMMENT ON VIEW v_alerts_daily IS 'Per day and rule: alerts raised (by the day the situation arose), acknowledged (by the day of the acknowledgement), withdrawn (by the day the hub withdrew them), and open: of the alerts raised that day, those that still hold and are not acknowledged.';
COMMENT ON COLUMN v_alerts_daily.open IS 'Of the alerts raised that day, how many are open now: holding (not withdrawn) and not acknowledged.';

GRANT SELECT ON v_alert_status, v_alerts_daily TO sinergi_analyst;
-- The processor serves sinergi_alerts_open on /metrics with the same definition.
GRANT SELECT ON v_alert_status TO sinergi_processor;
