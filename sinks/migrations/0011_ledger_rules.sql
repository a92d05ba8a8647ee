-- The rules' settings the live processor derives the ledger with (thresholds, ages, the
-- alerts' grace period), written when it starts: a rebuild derives with the same ones,
-- so that "identical" compares histories, not configurations.
CREATE TABLE ledger_rules (
    name       text PRIMARY KEY,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ledger_rules IS 'The rules'' settings (SINERGI_ALERT_*, SINERGI_MIN_MIGRANT_WORK_AGE) the live processor last started with; sinergi ledger rebuild derives with these.';

GRANT SELECT, INSERT, UPDATE ON ledger_rules TO sinergi_processor;
