-- Never lose an acknowledged event (issue 7): one audit hash chain per topic partition,
-- the content hash of every stored event (an honest re-send is recognised by it), and
-- the indexes `sinergi audit verify` needs to prove the audit covers every offset.

ALTER TABLE events ADD COLUMN content_sha256 text;
COMMENT ON COLUMN events.content_sha256 IS 'SHA-256 of what the event says, without when it was recorded: the same id from the same unit with the same content is already_recorded (a desk retrying, a file imported again); anything else under a known id is a replay.';

-- Entries written before this migration keep chain NULL: one global chain, verified as before.
ALTER TABLE audit_log ADD COLUMN chain text;
COMMENT ON COLUMN audit_log.chain IS '<topic>/<partition>: each partition''s entries form their own hash chain (NULL: the single chain written before 0005).';
CREATE INDEX audit_log_chain_idx ON audit_log (chain, seq);
CREATE INDEX audit_log_position_idx ON audit_log (topic, kafka_partition, kafka_offset);

CREATE OR REPLACE VIEW v_audit_log AS
SELECT seq, logged_at, topic, kafka_partition, kafka_offset, outcome, event_id, event_type,
       signer, recorded_at, reason, hash, chain
FROM audit_log;
