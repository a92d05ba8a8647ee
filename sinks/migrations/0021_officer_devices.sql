-- Browsers an officer logged in from (OWASP's "device cookies"). Five wrong passwords in a
-- row lock an officer out for 15 minutes; with that lockout alone, anyone who knows or
-- guesses an officer's name could keep them out of the browser application by failing on
-- purpose every quarter of an hour, during the very incident police need it for. A
-- successful log-in now leaves the browser a random token (its SHA-256 kept here): from
-- that browser, attempts are counted and locked out on its own row, so failures from
-- elsewhere lock out only browsers the officer never logged in from.

CREATE TABLE officer_devices (
    token_sha256  text PRIMARY KEY,
    username      text        NOT NULL REFERENCES officers (username) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL,
    failed_logins integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz
);
CREATE INDEX officer_devices_username_idx ON officer_devices (username, last_used_at);
COMMENT ON TABLE officer_devices IS 'Browsers each officer logged in from: the SHA-256 of the token their cookie holds (never the token), with a failure counter and lockout of their own. Trusted for 90 days after their last log-in; a new password forgets them all.';

CREATE OR REPLACE FUNCTION sinergi_web_grants() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sinergi_web') THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO sinergi_web', current_schema());
    GRANT SELECT, INSERT, UPDATE ON officers, notification_channels, notification_deliveries
        TO sinergi_web;
    GRANT SELECT, INSERT, UPDATE, DELETE ON officer_devices TO sinergi_web;
    GRANT SELECT, INSERT ON web_audit, notification_attempts TO sinergi_web;
    GRANT USAGE ON SEQUENCE web_audit_seq_seq, notification_attempts_seq_seq TO sinergi_web;
END $$;
COMMENT ON FUNCTION sinergi_web_grants() IS 'Gives sinergi_web its rights when the role exists (called by the migrations that add its tables and again at set-up).';

SELECT sinergi_web_grants();
