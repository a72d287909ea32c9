-- Synonym candidates kept at write time (issue 13): SQLite's 0011 says why and how. The same
-- table and indexes; kb_reformulations_refresh is SQLite's reformulation_refresh, and the
-- triggers call it in the same cases.
--
-- Across nodes: each trigger reads what is committed (and its own transaction's writes). A
-- visitor's search and the click on their next search, committed at the same instant by two
-- nodes, would each miss the other; a person takes seconds between the two, a write batch
-- milliseconds.
CREATE TABLE reformulations (
    failed_id BIGINT NOT NULL,
    clicked_id BIGINT NOT NULL,
    lang TEXT NOT NULL,
    visitor TEXT NOT NULL,
    first_query TEXT NOT NULL,
    second_query TEXT NOT NULL,
    clicked_at TEXT NOT NULL,
    prev_at TEXT,
    PRIMARY KEY (clicked_id, first_query)
);
CREATE INDEX reformulations_period ON reformulations (clicked_at, lang, first_query, second_query)
    INCLUDE (prev_at);
CREATE INDEX reformulations_visitor ON reformulations (visitor, lang, clicked_at);

CREATE FUNCTION kb_reformulations_refresh(p_visitor text, p_lang text, p_since text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reformulations AS r WHERE r.visitor = p_visitor AND r.lang = p_lang AND r.clicked_at >= p_since;
    INSERT INTO reformulations AS r (failed_id, clicked_id, lang, visitor, first_query, second_query, clicked_at)
    SELECT min(f.id), c.id, c.lang, c.visitor, f.query, c.query, c.created_at
    FROM searches AS c JOIN searches AS f
      ON f.visitor = c.visitor AND f.lang = c.lang
     AND f.created_at >= to_char((c.created_at)::timestamptz AT TIME ZONE 'UTC' - interval '300 seconds',
                                 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
     AND f.created_at <= c.created_at
     AND (f.created_at, f.id) < (c.created_at, c.id)
    WHERE c.visitor = p_visitor AND c.lang = p_lang AND c.created_at >= p_since
      AND EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = c.id)
      AND (f.results = 0 OR NOT EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = f.id))
      AND substr(c.query, 1, length(f.query)) <> f.query
      AND substr(f.query, 1, length(c.query)) <> c.query
      AND NOT EXISTS (
        SELECT 1 FROM searches AS t
        WHERE t.visitor = f.visitor AND t.lang = f.lang
          AND t.created_at >= to_char((f.created_at)::timestamptz AT TIME ZONE 'UTC' - interval '300 seconds',
                                      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
          AND t.created_at <= c.created_at
          AND length(t.query) > length(f.query) AND substr(t.query, 1, length(f.query)) = f.query)
      AND NOT EXISTS (
        SELECT 1 FROM searches AS e
        WHERE e.visitor = f.visitor AND e.lang = f.lang
          AND e.created_at >= f.created_at AND e.created_at <= c.created_at
          AND (e.created_at, e.id) > (f.created_at, f.id) AND (e.created_at, e.id) < (c.created_at, c.id)
          AND EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = e.id))
    GROUP BY c.id, c.lang, c.visitor, f.query, c.query, c.created_at
    -- another node recomputing the same visitor at the same time wrote the same pair
    ON CONFLICT (clicked_id, first_query) DO NOTHING;
    UPDATE reformulations SET prev_at = (
        SELECT max(p.clicked_at) FROM reformulations AS p
        WHERE p.visitor = reformulations.visitor AND p.lang = reformulations.lang
          AND p.first_query = reformulations.first_query AND p.second_query = reformulations.second_query
          AND (p.clicked_at, p.clicked_id) < (reformulations.clicked_at, reformulations.clicked_id))
    WHERE visitor = p_visitor AND lang = p_lang AND clicked_at >= p_since;
END
$$;

-- Does the visitor have an opened search in this language at this time or later?
CREATE FUNCTION kb_reformulations_after(p_visitor text, p_lang text, p_since text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM searches AS c WHERE c.visitor = p_visitor AND c.lang = p_lang
                   AND c.created_at >= p_since AND EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = c.id))
$$;

CREATE FUNCTION kb_searches_reformulations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM kb_reformulations_refresh(OLD.visitor, OLD.lang, OLD.created_at);
        PERFORM kb_reformulations_refresh(NEW.visitor, NEW.lang, NEW.created_at);
    ELSIF TG_OP = 'DELETE' THEN
        IF kb_reformulations_after(OLD.visitor, OLD.lang, OLD.created_at) THEN
            PERFORM kb_reformulations_refresh(OLD.visitor, OLD.lang, OLD.created_at);
        END IF;
    ELSIF kb_reformulations_after(NEW.visitor, NEW.lang, NEW.created_at) THEN
        PERFORM kb_reformulations_refresh(NEW.visitor, NEW.lang, NEW.created_at);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER searches_reformulations AFTER INSERT OR DELETE ON searches
FOR EACH ROW EXECUTE FUNCTION kb_searches_reformulations();
CREATE TRIGGER searches_reformulations_update AFTER UPDATE OF query, lang, results, visitor, created_at ON searches
FOR EACH ROW EXECUTE FUNCTION kb_searches_reformulations();

-- A search's first click makes it opened; its last click deleted, it is no longer opened.
CREATE FUNCTION kb_search_clicks_reformulations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s record;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.search_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM search_clicks WHERE search_id = OLD.search_id) THEN
        FOR s IN SELECT visitor, lang, created_at FROM searches WHERE id = OLD.search_id LOOP
            PERFORM kb_reformulations_refresh(s.visitor, s.lang, s.created_at);
        END LOOP;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.search_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM search_clicks WHERE search_id = NEW.search_id AND id <> NEW.id) THEN
        FOR s IN SELECT visitor, lang, created_at FROM searches WHERE id = NEW.search_id LOOP
            PERFORM kb_reformulations_refresh(s.visitor, s.lang, s.created_at);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER search_clicks_reformulations AFTER INSERT OR DELETE ON search_clicks
FOR EACH ROW EXECUTE FUNCTION kb_search_clicks_reformulations();
CREATE TRIGGER search_clicks_reformulations_update AFTER UPDATE OF search_id ON search_clicks
FOR EACH ROW WHEN (OLD.search_id IS DISTINCT FROM NEW.search_id)
EXECUTE FUNCTION kb_search_clicks_reformulations();

-- The log written so far: every visitor and language with an opened search, from the start.
SELECT kb_reformulations_refresh(v.visitor, v.lang, '')
FROM (SELECT DISTINCT s.visitor, s.lang FROM search_clicks AS k JOIN searches AS s ON s.id = k.search_id) AS v;
