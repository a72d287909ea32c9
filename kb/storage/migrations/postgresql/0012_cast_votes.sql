-- A group of votes in one statement (kb.storage.votes.cast_many), so that on PostgreSQL a vote
-- costs its group one round trip between BEGIN and COMMIT instead of a rate-limit call of its
-- own, the upsert and a tally read after the commit: the shared rate-limit hits (kb_rate_hit,
-- 0010), the upsert of the votes the limit admits and the tallies they leave, in the writer's
-- transaction. The hits commit with the votes (a vote refused or rolled back is not counted).
-- Every key of the group is locked first, in one order, and the votes are written in article
-- order, so two nodes' groups wait for each other's commit but do not deadlock (the server
-- would detect it only after deadlock_timeout, a second of the writer lost, and the batch runs
-- again). Answers, in this order: one 'wait' row per refused vote (its index from 1, the
-- seconds to wait), one 'vote' row per stored vote, one 'tally' row per article of the group
-- that has one. SQLite's 0012 changes nothing (one process, limits in memory).
CREATE FUNCTION kb_cast_votes(
    article_ids bigint[], langs text[], slugs text[], visitors text[], helpfuls integer[],
    reasons text[], comments text[], revisions text[], counteds integer[],
    rate_keys text[], rate_votes integer[], max_hits integer, window_seconds double precision)
RETURNS TABLE (r_kind text, r_index integer, r_wait double precision, r_article_id bigint, r_lang text,
               r_visitor text, r_helpful integer, r_reason text, r_comment text, r_revision text,
               r_created_at text, r_updated_at text, r_changes integer, r_yes integer, r_no integer)
LANGUAGE plpgsql AS $$
DECLARE
    k text;
    v integer;
    wait double precision;
    admitted integer[] := '{}';
BEGIN
    FOR k IN SELECT DISTINCT x FROM unnest(rate_keys) AS x ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(k, 0));
    END LOOP;
    FOR v IN 1 .. coalesce(cardinality(article_ids), 0) LOOP
        -- a vote's keys go through kb_rate_hit one vote after another: votes of one group
        -- count against each other as if they had come one at a time (its locks are held already)
        wait := 0;
        IF v = ANY(rate_votes) THEN
            wait := kb_rate_hit(ARRAY(SELECT rate_keys[j] FROM generate_subscripts(rate_keys, 1) AS j
                                      WHERE rate_votes[j] = v), max_hits, window_seconds);
        END IF;
        IF wait > 0 THEN
            r_kind := 'wait'; r_index := v; r_wait := wait;
            RETURN NEXT;
        ELSE
            admitted := admitted || v;
        END IF;
    END LOOP;
    r_kind := NULL; r_index := NULL; r_wait := NULL;
    RETURN QUERY
    INSERT INTO votes AS o (article_id, lang, slug, visitor, helpful, reason, comment, revision, counted)
    SELECT n.article_id, n.lang, n.slug, n.visitor, n.helpful, n.reason, n.comment, n.revision, n.counted
    FROM unnest(article_ids, langs, slugs, visitors, helpfuls, reasons, comments, revisions, counteds)
         WITH ORDINALITY AS n (article_id, lang, slug, visitor, helpful, reason, comment, revision, counted, i)
    WHERE n.i = ANY(admitted)
    ORDER BY n.article_id, n.lang, n.visitor
    ON CONFLICT (visitor, lang, article_id) DO UPDATE SET
        slug = excluded.slug, helpful = excluded.helpful, reason = excluded.reason,
        comment = excluded.comment, revision = excluded.revision, counted = excluded.counted,
        updated_at = kb_now(), changes = o.changes + 1
    RETURNING 'vote', NULL::integer, NULL::double precision, o.article_id, o.lang, o.visitor, o.helpful,
              o.reason, o.comment, o.revision, o.created_at, o.updated_at, o.changes, NULL::integer, NULL::integer;
    -- a new statement: it sees what the votes' triggers did to the tallies
    RETURN QUERY
    SELECT 'tally', NULL::integer, NULL::double precision, t.article_id, t.lang, NULL, NULL::integer, NULL,
           NULL, NULL, NULL, NULL, NULL::integer, t.yes, t.no
    FROM vote_tallies AS t
    WHERE (t.article_id, t.lang) IN (SELECT DISTINCT a, l FROM unnest(article_ids, langs) AS g (a, l));
END
$$;
