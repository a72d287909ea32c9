-- Synonym candidates kept at write time (issue 13). Reading them from the raw log cost one scan
-- of the period's opened searches per report (4.9 s at 330,000 searches in 30 days); the
-- pairs are now kept here, exact in the transaction of each search-log write, and a report is
-- an indexed aggregate of the period's rows (kb.storage.reformulations).
--
-- One row per (failed search, opened search) pair of kb.storage.reformulations' definition,
-- for the 300-second window (kb.storage.reformulations.WINDOW_SECONDS): a search of a visitor
-- in a language that found nothing or whose results nobody opened, then at most 300 s later
-- the first search of theirs whose result was opened; typing steps and prefixes left out.
-- Every pair of a visitor and language depends only on that visitor's searches and clicks in
-- that language, and a change at time T (a search written, deleted or changed; a search's
-- first click written or its last one deleted) can only change pairs whose opened search is
-- at T or later. So each such write recomputes the pairs of that visitor and language from T
-- on (reformulation_refresh): a failed search that gets its click later stops being a failure
-- at once, a search written late (an import) joins its pairs, and the table always equals the
-- definition read from the log. The log is written in time order, so in practice the
-- recomputation reads the visitor's last few searches through searches_visitor (0009).
CREATE TABLE reformulations (
    failed_id INTEGER NOT NULL,  -- the search that found nothing or was not opened (searches.id)
    clicked_id INTEGER NOT NULL,  -- the visitor's next search whose result was opened
    lang TEXT NOT NULL,
    visitor TEXT NOT NULL,
    first_query TEXT NOT NULL,  -- the failed search's query, as logged
    second_query TEXT NOT NULL,  -- the opened search's query
    clicked_at TEXT NOT NULL,  -- the opened search's created_at: a report's period applies to it
    -- clicked_at of this visitor's previous row of the same pair (NULL: none): a report counts a
    -- visitor once, at their first row of the period, without count(DISTINCT visitor)
    prev_at TEXT,
    PRIMARY KEY (clicked_id, first_query)  -- one row per opened search and failed query: count(*)
);
-- A report: the period's rows, grouped by pair, read from the index alone.
CREATE INDEX reformulations_period ON reformulations (clicked_at, lang, first_query, second_query, prev_at);
-- A recomputation: this visitor's pairs in this language from a time on.
CREATE INDEX reformulations_visitor ON reformulations (visitor, lang, clicked_at);

-- SQLite has no stored procedures: inserting (visitor, lang, since) into this empty view runs
-- the recomputation below (an INSTEAD OF trigger), which the triggers of the log share.
CREATE VIEW reformulation_refresh AS SELECT '' AS visitor, '' AS lang, '' AS since WHERE 0;

CREATE TRIGGER reformulation_refresh_run INSTEAD OF INSERT ON reformulation_refresh BEGIN
    DELETE FROM reformulations WHERE visitor = NEW.visitor AND lang = NEW.lang AND clicked_at >= NEW.since;
    INSERT INTO reformulations (failed_id, clicked_id, lang, visitor, first_query, second_query, clicked_at)
    SELECT min(f.id), c.id, c.lang, c.visitor, f.query, c.query, c.created_at
    FROM searches AS c JOIN searches AS f
      ON f.visitor = c.visitor AND f.lang = c.lang
     AND f.created_at >= strftime('%Y-%m-%dT%H:%M:%fZ', c.created_at, '-300 seconds') AND f.created_at <= c.created_at
     AND (f.created_at, f.id) < (c.created_at, c.id)
    WHERE c.visitor = NEW.visitor AND c.lang = NEW.lang AND c.created_at >= NEW.since
      AND EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = c.id)
      AND (f.results = 0 OR NOT EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = f.id))
      AND substr(c.query, 1, length(f.query)) <> f.query
      AND substr(f.query, 1, length(c.query)) <> c.query
      AND NOT EXISTS (
        SELECT 1 FROM searches AS t
        WHERE t.visitor = f.visitor AND t.lang = f.lang
          AND t.created_at >= strftime('%Y-%m-%dT%H:%M:%fZ', f.created_at, '-300 seconds')
          AND t.created_at <= c.created_at
          AND length(t.query) > length(f.query) AND substr(t.query, 1, length(f.query)) = f.query)
      AND NOT EXISTS (
        SELECT 1 FROM searches AS e
        WHERE e.visitor = f.visitor AND e.lang = f.lang
          AND e.created_at >= f.created_at AND e.created_at <= c.created_at
          AND (e.created_at, e.id) > (f.created_at, f.id) AND (e.created_at, e.id) < (c.created_at, c.id)
          AND EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = e.id))
    GROUP BY c.id, c.lang, c.visitor, f.query, c.query, c.created_at;
    UPDATE reformulations SET prev_at = (
        SELECT max(p.clicked_at) FROM reformulations AS p
        WHERE p.visitor = reformulations.visitor AND p.lang = reformulations.lang
          AND p.first_query = reformulations.first_query AND p.second_query = reformulations.second_query
          AND (p.clicked_at, p.clicked_id) < (reformulations.clicked_at, reformulations.clicked_id))
    WHERE visitor = NEW.visitor AND lang = NEW.lang AND clicked_at >= NEW.since;
END;

-- A search written (or deleted) changes pairs only if the visitor has an opened search in
-- that language at its time or later: in time order, none but possibly itself.
CREATE TRIGGER searches_reformulations_insert AFTER INSERT ON searches
WHEN EXISTS (SELECT 1 FROM searches AS c WHERE c.visitor = NEW.visitor AND c.lang = NEW.lang
             AND c.created_at >= NEW.created_at AND EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = c.id))
BEGIN
    INSERT INTO reformulation_refresh (visitor, lang, since) VALUES (NEW.visitor, NEW.lang, NEW.created_at);
END;

CREATE TRIGGER searches_reformulations_delete AFTER DELETE ON searches
WHEN EXISTS (SELECT 1 FROM searches AS c WHERE c.visitor = OLD.visitor AND c.lang = OLD.lang
             AND c.created_at >= OLD.created_at AND EXISTS (SELECT 1 FROM search_clicks AS k WHERE k.search_id = c.id))
BEGIN
    INSERT INTO reformulation_refresh (visitor, lang, since) VALUES (OLD.visitor, OLD.lang, OLD.created_at);
END;

CREATE TRIGGER searches_reformulations_update AFTER UPDATE OF query, lang, results, visitor, created_at ON searches
BEGIN
    INSERT INTO reformulation_refresh (visitor, lang, since) VALUES (OLD.visitor, OLD.lang, OLD.created_at);
    INSERT INTO reformulation_refresh (visitor, lang, since) VALUES (NEW.visitor, NEW.lang, NEW.created_at);
END;

-- A search's first click makes it opened; a later click of the same search changes nothing.
CREATE TRIGGER search_clicks_reformulations_insert AFTER INSERT ON search_clicks
WHEN NEW.search_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM search_clicks WHERE search_id = NEW.search_id AND id != NEW.id)
BEGIN
    INSERT INTO reformulation_refresh (visitor, lang, since)
    SELECT visitor, lang, created_at FROM searches WHERE id = NEW.search_id;
END;

-- Its last click deleted, a search is no longer opened.
CREATE TRIGGER search_clicks_reformulations_delete AFTER DELETE ON search_clicks
WHEN OLD.search_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM search_clicks WHERE search_id = OLD.search_id)
BEGIN
    INSERT INTO reformulation_refresh (visitor, lang, since)
    SELECT visitor, lang, created_at FROM searches WHERE id = OLD.search_id;
END;

CREATE TRIGGER search_clicks_reformulations_update AFTER UPDATE OF search_id ON search_clicks
WHEN OLD.search_id IS NOT NEW.search_id
BEGIN
    INSERT INTO reformulation_refresh (visitor, lang, since)
    SELECT visitor, lang, created_at FROM searches
    WHERE id = OLD.search_id AND NOT EXISTS (SELECT 1 FROM search_clicks WHERE search_id = OLD.search_id);
    INSERT INTO reformulation_refresh (visitor, lang, since)
    SELECT visitor, lang, created_at FROM searches
    WHERE id = NEW.search_id AND NOT EXISTS (SELECT 1 FROM search_clicks WHERE search_id = NEW.search_id
                                                                           AND id != NEW.id);
END;

-- The log written so far: every visitor and language with an opened search, from the start.
INSERT INTO reformulation_refresh (visitor, lang, since)
SELECT DISTINCT s.visitor, s.lang, '' FROM search_clicks AS k JOIN searches AS s ON s.id = k.search_id;
