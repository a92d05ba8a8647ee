-- The browser application (issue 10): officers who log in, the audit of what they did,
-- and push notifications of alerts with their delivery log.
--
-- Its own role, sinergi_web, writes these tables and nothing else; it reads the ledger
-- as the analyst does (through the views). The role is made by the superuser at set-up
-- (sinergi.bootstrap.ensure_web_role, before the migrations), since sinergi_owner may
-- not create roles; sinergi_web_grants() gives it its rights and is called again by the
-- set-up, so a database migrated before the role existed gets them too.

CREATE TABLE officers (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    unit          text        NOT NULL,
    officer_code  text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    failed_logins integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    last_login_at timestamptz
);
COMMENT ON TABLE officers IS 'Officers of the browser application, each bound to one member unit. password_hash is argon2id; officer_code is the staff code the desks publish (a pseudonym, never a name).';

CREATE TABLE web_audit (
    seq          bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    username     text,
    unit         text,
    officer_code text,
    action       text        NOT NULL,
    target       text,
    outcome      text        NOT NULL,
    detail       text
);
COMMENT ON TABLE web_audit IS 'Who did what in the browser application: log-ins, records published (event ids), acknowledgements, sealed contacts opened. Targets are ids and codes, never personal data.';
CREATE INDEX web_audit_at_idx ON web_audit (at);
CREATE TRIGGER web_audit_append_only BEFORE UPDATE OR DELETE ON web_audit
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER web_audit_no_truncate BEFORE TRUNCATE ON web_audit
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

CREATE TABLE notification_channels (
    channel_id   text PRIMARY KEY CHECK (channel_id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    unit         text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('webhook', 'email')),
    target       text        NOT NULL,
    min_severity text        NOT NULL CHECK (min_severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    since        timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz
);
COMMENT ON TABLE notification_channels IS 'Where a police unit is told of new alerts: a signed webhook (its key in SINERGI_HOME/secrets/webhooks) or an e-mail address; alerts raised since the channel was made, of at least min_severity.';

CREATE TABLE notification_deliveries (
    alert_id        uuid        NOT NULL,
    channel_id      text        NOT NULL REFERENCES notification_channels,
    status          text        NOT NULL CHECK (status IN ('pending', 'delivered', 'withdrawn')),
    alert_raised_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (alert_id, channel_id)
);
COMMENT ON TABLE notification_deliveries IS 'One notification per alert and channel (the alert id is the idempotency key): pending until a delivery succeeds, retried with capped backoff; withdrawn when the alert was withdrawn before it could be delivered.';
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (status, next_attempt_at);

CREATE TABLE notification_attempts (
    seq        bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    alert_id   uuid        NOT NULL,
    channel_id text        NOT NULL,
    attempt    integer     NOT NULL,
    outcome    text        NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    detail     text
);
COMMENT ON TABLE notification_attempts IS 'The delivery log: every attempt, its outcome and the HTTP status or error class (never the message).';
CREATE TRIGGER notification_attempts_append_only BEFORE UPDATE OR DELETE ON notification_attempts
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();

CREATE VIEW v_web_audit AS
SELECT seq, at, username, unit, officer_code, action, target, outcome, detail FROM web_audit;
COMMENT ON VIEW v_web_audit IS 'Who did what in the browser application.';

CREATE FUNCTION sinergi_web_grants() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sinergi_web') THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO sinergi_web', current_schema());
    GRANT SELECT, INSERT, UPDATE ON officers, notification_channels, notification_deliveries
        TO sinergi_web;
    GRANT SELECT, INSERT ON web_audit, notification_attempts TO sinergi_web;
    GRANT USAGE ON SEQUENCE web_audit_seq_seq, notification_attempts_seq_seq TO sinergi_web;
END $$;
COMMENT ON FUNCTION sinergi_web_grants() IS 'Gives sinergi_web its rights when the role exists (called by this migration and again at set-up).';

SELECT sinergi_web_grants();
GRANT SELECT ON v_web_audit TO sinergi_analyst;
