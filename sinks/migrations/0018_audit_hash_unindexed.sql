-- The audit trail's entry hashes are no longer indexed (issue 8: flat as history grows).
--
-- `hash UNIQUE` (0004) kept a B-tree of every entry's SHA-256. Hashes are random, so each
-- insert landed on a random leaf of an index as large as the history: measured on a
-- 600,000-entry trail it cost 10-13 µs per audited message, and it grows with the trail.
-- It guarded nothing that is not guarded otherwise: one writer appends to a chain at a
-- time (an advisory lock per chain, taken in sorted order), every entry covers the hash
-- before it, and `sinergi audit verify` walks each chain by seq and recomputes every
-- hash, so a duplicated, forked or edited entry is reported there. Nothing looks an entry
-- up by its hash.

ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_key;
