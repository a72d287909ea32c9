-- Analytics: page views, daily pre-aggregates kept exact by triggers, API tokens.
--
-- Reports never scan raw votes, searches or views: they read the *_daily tables, which the
-- triggers below keep up to date inside the same transaction as each raw write (so they are
-- exact, also when a visitor changes a vote). A vote counts on the day it was last cast
-- (updated_at), with its current value. The tables are small: one row per day per article (or
-- per query), so a 90-day report reads ~100,000 rows at most, never millions.

-- Raw article page views: one row per visitor per article per day (the key deduplicates).
CREATE TABLE page_views (
    day TEXT NOT NULL,
    article_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    visitor TEXT NOT NULL,
    PRIMARY KEY (day, article_id, lang, visitor)
) WITHOUT ROWID;

-- Per article and day: views (from page_views) and votes (yes, no, with a comment), in one
-- table so that per-article reports read one row per article per day.
CREATE TABLE article_daily (
    day TEXT NOT NULL,
    article_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    yes INTEGER NOT NULL DEFAULT 0,
    no INTEGER NOT NULL DEFAULT 0,
    comments INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article_id, lang)
) WITHOUT ROWID;
-- Covering, in (article, day) order: per-article reports read it without a sort and without
-- touching the table.
CREATE INDEX article_daily_article ON article_daily (article_id, lang, day, views, yes, no, comments);

-- Why readers answered No, per article and day ('' when they gave no reason).
CREATE TABLE vote_reasons (
    article_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    day TEXT NOT NULL,
    reason TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_id, lang, day, reason)
) WITHOUT ROWID;

-- Votes per article revision (the revision the reader saw), for before/after comparisons.
-- first_vote is when the revision got its first vote, even if that vote changed since.
CREATE TABLE vote_revisions (
    article_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    revision TEXT NOT NULL,
    yes INTEGER NOT NULL DEFAULT 0,
    no INTEGER NOT NULL DEFAULT 0,
    first_vote TEXT NOT NULL,
    PRIMARY KEY (article_id, lang, revision)
) WITHOUT ROWID;

-- category and type are '' when the search had no such filter (NULL would break the key).
CREATE TABLE search_daily (
    day TEXT NOT NULL,
    lang TEXT NOT NULL,
    category TEXT NOT NULL,
    type TEXT NOT NULL,
    query TEXT NOT NULL,
    searches INTEGER NOT NULL DEFAULT 0,
    zero INTEGER NOT NULL DEFAULT 0,
    clicked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, lang, category, type, query)
) WITHOUT ROWID;
-- Covering, in (query, lang) order: long periods group queries by reading it straight through.
CREATE INDEX search_daily_query ON search_daily (query, lang, day, searches, zero, clicked);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used_at TEXT,
    revoked_at TEXT
);

-- Exports read raw rows by time (votes have theirs from 0002), clicks find their search.
CREATE INDEX IF NOT EXISTS searches_created_at ON searches (created_at);
CREATE INDEX IF NOT EXISTS search_clicks_search ON search_clicks (search_id);

-- --- triggers: page views -------------------------------------------------------------------

CREATE TRIGGER page_views_count AFTER INSERT ON page_views BEGIN
    INSERT INTO article_daily (day, article_id, lang, views) VALUES (NEW.day, NEW.article_id, NEW.lang, 1)
    ON CONFLICT (day, article_id, lang) DO UPDATE SET views = views + 1;
END;

-- --- triggers: votes (insert, change, delete) -----------------------------------------------

CREATE TRIGGER votes_count_insert AFTER INSERT ON votes BEGIN
    INSERT INTO article_daily (day, article_id, lang, yes, no, comments)
    VALUES (substr(NEW.updated_at, 1, 10), NEW.article_id, NEW.lang,
            NEW.helpful != 0, NEW.helpful = 0, COALESCE(NEW.comment, '') != '')
    ON CONFLICT (day, article_id, lang) DO UPDATE SET
        yes = yes + excluded.yes, no = no + excluded.no, comments = comments + excluded.comments;
    INSERT INTO vote_reasons (article_id, lang, day, reason, n)
    SELECT NEW.article_id, NEW.lang, substr(NEW.updated_at, 1, 10), COALESCE(NEW.reason, ''), 1
    WHERE NEW.helpful = 0
    ON CONFLICT (article_id, lang, day, reason) DO UPDATE SET n = n + 1;
    INSERT INTO vote_revisions (article_id, lang, revision, yes, no, first_vote)
    VALUES (NEW.article_id, NEW.lang, NEW.revision, NEW.helpful != 0, NEW.helpful = 0, NEW.updated_at)
    ON CONFLICT (article_id, lang, revision) DO UPDATE SET
        yes = yes + excluded.yes, no = no + excluded.no, first_vote = min(first_vote, excluded.first_vote);
END;

CREATE TRIGGER votes_count_update AFTER UPDATE ON votes BEGIN
    UPDATE article_daily SET
        yes = yes - (OLD.helpful != 0), no = no - (OLD.helpful = 0),
        comments = comments - (COALESCE(OLD.comment, '') != '')
    WHERE day = substr(OLD.updated_at, 1, 10) AND article_id = OLD.article_id AND lang = OLD.lang;
    UPDATE vote_reasons SET n = n - 1
    WHERE OLD.helpful = 0 AND article_id = OLD.article_id AND lang = OLD.lang
      AND day = substr(OLD.updated_at, 1, 10) AND reason = COALESCE(OLD.reason, '');
    UPDATE vote_revisions SET yes = yes - (OLD.helpful != 0), no = no - (OLD.helpful = 0)
    WHERE article_id = OLD.article_id AND lang = OLD.lang AND revision = OLD.revision;
    INSERT INTO article_daily (day, article_id, lang, yes, no, comments)
    VALUES (substr(NEW.updated_at, 1, 10), NEW.article_id, NEW.lang,
            NEW.helpful != 0, NEW.helpful = 0, COALESCE(NEW.comment, '') != '')
    ON CONFLICT (day, article_id, lang) DO UPDATE SET
        yes = yes + excluded.yes, no = no + excluded.no, comments = comments + excluded.comments;
    INSERT INTO vote_reasons (article_id, lang, day, reason, n)
    SELECT NEW.article_id, NEW.lang, substr(NEW.updated_at, 1, 10), COALESCE(NEW.reason, ''), 1
    WHERE NEW.helpful = 0
    ON CONFLICT (article_id, lang, day, reason) DO UPDATE SET n = n + 1;
    INSERT INTO vote_revisions (article_id, lang, revision, yes, no, first_vote)
    VALUES (NEW.article_id, NEW.lang, NEW.revision, NEW.helpful != 0, NEW.helpful = 0, NEW.updated_at)
    ON CONFLICT (article_id, lang, revision) DO UPDATE SET
        yes = yes + excluded.yes, no = no + excluded.no, first_vote = min(first_vote, excluded.first_vote);
END;

CREATE TRIGGER votes_count_delete AFTER DELETE ON votes BEGIN
    UPDATE article_daily SET
        yes = yes - (OLD.helpful != 0), no = no - (OLD.helpful = 0),
        comments = comments - (COALESCE(OLD.comment, '') != '')
    WHERE day = substr(OLD.updated_at, 1, 10) AND article_id = OLD.article_id AND lang = OLD.lang;
    UPDATE vote_reasons SET n = n - 1
    WHERE OLD.helpful = 0 AND article_id = OLD.article_id AND lang = OLD.lang
      AND day = substr(OLD.updated_at, 1, 10) AND reason = COALESCE(OLD.reason, '');
    UPDATE vote_revisions SET yes = yes - (OLD.helpful != 0), no = no - (OLD.helpful = 0)
    WHERE article_id = OLD.article_id AND lang = OLD.lang AND revision = OLD.revision;
END;

-- --- triggers: searches and result clicks ---------------------------------------------------

CREATE TRIGGER searches_count AFTER INSERT ON searches BEGIN
    INSERT INTO search_daily (day, lang, category, type, query, searches, zero, clicked)
    VALUES (substr(NEW.created_at, 1, 10), NEW.lang, COALESCE(NEW.category, ''), COALESCE(NEW.type, ''),
            NEW.query, 1, NEW.results = 0, 0)
    ON CONFLICT (day, lang, category, type, query) DO UPDATE SET
        searches = searches + 1, zero = zero + excluded.zero;
END;

-- A search counts as clicked once, however many of its results were opened; the click is
-- credited to the day and filters of its search when it is known.
CREATE TRIGGER search_clicks_count AFTER INSERT ON search_clicks
WHEN NEW.search_id IS NULL
  OR NOT EXISTS (SELECT 1 FROM search_clicks WHERE search_id = NEW.search_id AND id != NEW.id)
BEGIN
    INSERT INTO search_daily (day, lang, category, type, query, searches, zero, clicked)
    SELECT COALESCE(substr(s.created_at, 1, 10), substr(NEW.created_at, 1, 10)),
           COALESCE(s.lang, NEW.lang), COALESCE(s.category, ''), COALESCE(s.type, ''),
           COALESCE(s.query, NEW.query), 0, 0, 1
    FROM (SELECT 1) LEFT JOIN searches AS s ON s.id = NEW.search_id
    WHERE true
    ON CONFLICT (day, lang, category, type, query) DO UPDATE SET clicked = clicked + 1;
END;

-- --- aggregates of rows written before this migration ---------------------------------------

INSERT INTO article_daily (day, article_id, lang, yes, no, comments)
SELECT substr(updated_at, 1, 10), article_id, lang,
       sum(helpful != 0), sum(helpful = 0), sum(COALESCE(comment, '') != '')
FROM votes GROUP BY 1, 2, 3;

INSERT INTO vote_reasons (article_id, lang, day, reason, n)
SELECT article_id, lang, substr(updated_at, 1, 10), COALESCE(reason, ''), count(*)
FROM votes WHERE helpful = 0 GROUP BY 1, 2, 3, 4;

INSERT INTO vote_revisions (article_id, lang, revision, yes, no, first_vote)
SELECT article_id, lang, revision, sum(helpful != 0), sum(helpful = 0), min(updated_at)
FROM votes GROUP BY 1, 2, 3;

INSERT INTO search_daily (day, lang, category, type, query, searches, zero, clicked)
SELECT substr(created_at, 1, 10), lang, COALESCE(category, ''), COALESCE(type, ''), query,
       count(*), sum(results = 0), 0
FROM searches GROUP BY 1, 2, 3, 4, 5;

UPDATE search_daily SET clicked = (
    SELECT count(DISTINCT COALESCE(c.search_id, -c.id)) FROM search_clicks AS c
    LEFT JOIN searches AS s ON s.id = c.search_id
    WHERE COALESCE(substr(s.created_at, 1, 10), substr(c.created_at, 1, 10)) = search_daily.day
      AND COALESCE(s.lang, c.lang) = search_daily.lang
      AND COALESCE(s.category, '') = search_daily.category
      AND COALESCE(s.type, '') = search_daily.type
      AND COALESCE(s.query, c.query) = search_daily.query
) WHERE EXISTS (SELECT 1 FROM search_clicks);
