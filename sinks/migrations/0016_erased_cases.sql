-- An erased person's case, as the ledger shows it (issue 11; docs/erasure.md).
--
-- The truth stays where the erasure wrote it: person_keys.erased_at in the vault (migration
-- 0013), which a rebuild does not touch. The ledger's rows are a fold of the agency topics
-- and stay as they are (a rebuild after an erasure is identical); the read side joins the
-- vault for the date. A case id that names no subject (a pseudonymous case of before the
-- vault) is never erased here. Analysts read the date through the view, never the vault.
--
-- (A deployment that keeps its vault in another database, SINERGI_VAULT_DATABASE, sees
-- no erasure here: it joins its own, empty, person_keys.)

CREATE OR REPLACE VIEW v_cases AS
SELECT c.case_id,
       c.match_kind,
       c.status,
       c.sex,
       c.origin_regency,
       c.minor,
       c.interceptions,
       c.registrations,
       c.placements,
       c.repatriations,
       c.tips,
       c.investigation,
       c.first_seen,
       c.last_seen,
       ARRAY(SELECT jsonb_array_elements_text(c.state -> 'derived' -> 'recruiters')) AS recruiters,
       k.erased_at
FROM cases c
LEFT JOIN person_keys k
       ON k.subject_id = split_part(c.case_id, ':', 2)
      AND k.strength = split_part(c.case_id, ':', 1)
      AND k.erased_at IS NOT NULL;
COMMENT ON VIEW v_cases IS 'One row per person (case id nik:/weak:<subject id>); strong = matched by NIK, weak = by name, birth and origin; erased_at: when the person was erased (their personal fields unreadable, their facts still counted).';
