-- When an alert last changed, for the notifier: a correction that moves an alert to
-- another person's case changes the regencies it concerns, and the Polres of the new
-- regency must be told too (the one told first already was). v_alerts gains the column
-- at its end (the same columns in the same order before it); an index serves the
-- notifier's read of the alerts changed in the last minutes.

CREATE OR REPLACE VIEW v_alerts AS
SELECT a.alert_id, a.rule, a.severity, a.summary, a.case_ids, a.recruiter_ref, a.group_ref,
       a.cause_event_ids, a.triggered_at, a.raised_at, a.withdrawn_at,
       k.acknowledged_at, k.unit AS acknowledged_by, k.action,
       k.acknowledged_at - a.raised_at AS time_to_acknowledge,
       a.updated_at
FROM alerts a
LEFT JOIN alert_acks k USING (alert_id);
COMMENT ON COLUMN v_alerts.updated_at IS 'When the hub last changed the alert (raised, moved with its record, rewritten, withdrawn).';

CREATE INDEX alerts_updated_at_idx ON alerts (updated_at);
