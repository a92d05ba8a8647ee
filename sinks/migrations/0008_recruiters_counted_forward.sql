-- Recruiters counted forward (issue 8): a busy recruiter's whole timeline was kept in its
-- state and derived again whenever a batch touched it, so each batch cost more as
-- history grew. Its facts now live here, one row each; the processor loads only those
-- within the rules' reach of a batch's new facts. Its distinct people, groups and
-- police files are kept as links, so its counts move forward without its history.

CREATE TABLE recruiter_facts (
    recruiter_ref text        NOT NULL,
    event_id      text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    fact          jsonb       NOT NULL,
    PRIMARY KEY (recruiter_ref, event_id)
);
COMMENT ON TABLE recruiter_facts IS 'Each recruiter''s facts (links only: cases, groups, tips, police files), loaded by time window; a projection like the entities.';
CREATE INDEX recruiter_facts_time_idx ON recruiter_facts (recruiter_ref, occurred_at);

CREATE TABLE recruiter_members (
    recruiter_ref text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('case', 'group', 'investigation')),
    member        text NOT NULL,
    PRIMARY KEY (recruiter_ref, kind, member)
);
COMMENT ON TABLE recruiter_members IS 'The cases, groups and police files each recruiter is linked to (its counts are these).';

-- Where a window rule's situation began (RECRUITER_NETWORK): a later batch that cannot
-- reach back to it leaves the alert as it is.
ALTER TABLE alerts ADD COLUMN since timestamptz;

-- Existing timelines move out of the recruiters' states.
INSERT INTO recruiter_facts (recruiter_ref, event_id, occurred_at, fact)
SELECT r.recruiter_ref, f ->> 'event_id', (f ->> 'occurred_at')::timestamptz, f
FROM recruiters r, jsonb_array_elements(r.state -> 'facts') AS f
ON CONFLICT DO NOTHING;

INSERT INTO recruiter_members (recruiter_ref, kind, member)
SELECT recruiter_ref, 'case', f.fact -> 'detail' ->> 'case_id' FROM recruiter_facts f
WHERE f.fact -> 'detail' ->> 'case_id' IS NOT NULL
UNION
SELECT recruiter_ref, 'case', c FROM recruiter_facts f,
       jsonb_array_elements_text(coalesce(f.fact -> 'detail' -> 'case_ids', '[]'::jsonb)) AS c
UNION
SELECT recruiter_ref, 'group', (f.fact -> 'detail' ->> 'post') || '/' || (f.fact -> 'detail' ->> 'group')
FROM recruiter_facts f WHERE f.fact -> 'detail' ->> 'group' IS NOT NULL
UNION
SELECT recruiter_ref, 'investigation', f.fact -> 'detail' ->> 'investigation'
FROM recruiter_facts f WHERE f.fact -> 'detail' ->> 'investigation' IS NOT NULL
ON CONFLICT DO NOTHING;

UPDATE recruiters r SET state = jsonb_build_object(
    'kind', 'recruiter',
    'key', r.recruiter_ref,
    'facts', '[]'::jsonb,
    'derived', (r.state -> 'derived') - 'case_ids' || jsonb_build_object(
        'people', (SELECT count(*) FROM recruiter_members m
                   WHERE m.recruiter_ref = r.recruiter_ref AND m.kind = 'case'),
        'groups', (SELECT count(*) FROM recruiter_members m
                   WHERE m.recruiter_ref = r.recruiter_ref AND m.kind = 'group'),
        'investigations', (SELECT count(*) FROM recruiter_members m
                           WHERE m.recruiter_ref = r.recruiter_ref AND m.kind = 'investigation'),
        'suspect_at', (SELECT jsonb_build_array(f.fact ->> 'occurred_at', f.event_id)
                       FROM recruiter_facts f
                       WHERE f.recruiter_ref = r.recruiter_ref
                         AND f.fact ->> 'event_type' = 'SuspectIdentified'
                       ORDER BY f.occurred_at DESC, f.event_id DESC LIMIT 1)
    )
)
WHERE r.state -> 'facts' <> '[]'::jsonb OR r.state -> 'derived' ? 'case_ids';

-- The analysts' view keeps its columns: the people now come from the links.
CREATE OR REPLACE VIEW v_recruiters AS
SELECT recruiter_ref, people, interceptions, tips, groups, investigations, suspect_status,
       first_seen, last_seen,
       ARRAY(SELECT m.member FROM recruiter_members m
             WHERE m.recruiter_ref = r.recruiter_ref AND m.kind = 'case'
             ORDER BY m.member) AS case_ids
FROM recruiters r;

GRANT SELECT, INSERT, DELETE ON recruiter_facts, recruiter_members TO sinergi_processor;
