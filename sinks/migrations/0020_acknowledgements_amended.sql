-- Acknowledgements can be retracted and corrected like any record (issue: corrections
-- and withdrawals). `alert_acks` keeps the first acknowledgement of each alert, which
-- every view reads; to find the next one when the first is taken back, every
-- acknowledgement the ledger holds is kept here, one row per record (its root id: a
-- correction keeps its record's id, and may name another alert).

CREATE TABLE alert_ack_facts (
    event_id        uuid PRIMARY KEY,
    alert_id        uuid        NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    unit            text        NOT NULL,
    officer_ref     text        NOT NULL,
    action          text        NOT NULL
);
CREATE INDEX alert_ack_facts_alert_idx ON alert_ack_facts (alert_id);
COMMENT ON TABLE alert_ack_facts IS 'Every acknowledgement the ledger holds (retracted ones removed, corrected ones as corrected); alert_acks holds the first of each alert.';

-- The acknowledgements kept before: the first of each alert (a later one of the same
-- alert was not kept; `sinergi ledger rebuild` finds them all again).
INSERT INTO alert_ack_facts (event_id, alert_id, acknowledged_at, unit, officer_ref, action)
SELECT event_id, alert_id, acknowledged_at, unit, officer_ref, action FROM alert_acks
ON CONFLICT (event_id) DO NOTHING;

GRANT SELECT, INSERT, UPDATE, DELETE ON alert_ack_facts TO sinergi_processor;
GRANT DELETE ON alert_acks TO sinergi_processor;
