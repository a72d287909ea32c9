-- Honest analytics: a forged click or a bot's vote must not move any rate.
--
-- Votes: `counted` is 0 for a vote cast by a crawler or a scripted client (kb.analytics.is_bot,
-- the filter page views already use). The vote is still stored, so the visitor sees and can
-- change it, and re-counting later is a query away; but no tally, no report aggregate and no
-- "most helpful" ranking includes it. The triggers of 0002 and 0006 are replaced by ones that
-- add a vote while it is counted and take it away when it stops being counted.
--
-- Clicks: a click is only written for a search recorded for the same visitor (kb.storage.
-- searchlog.record_click), once per (search, result). The trigger below counts a search as
-- clicked only through such a click, and the aggregates are rebuilt from the clicks that
-- qualify, so a search_daily row can never show more clicked searches than searches.

ALTER TABLE votes ADD COLUMN counted INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1));

-- --- vote tallies (0002) ----------------------------------------------------------------------

DROP TRIGGER votes_tally_insert;
DROP TRIGGER votes_tally_update;
DROP TRIGGER votes_tally_delete;

CREATE TRIGGER votes_tally_insert AFTER INSERT ON votes WHEN NEW.counted BEGIN
    INSERT INTO vote_tallies (article_id, lang, yes, no)
    VALUES (NEW.article_id, NEW.lang, NEW.helpful, 1 - NEW.helpful)
    ON CONFLICT (article_id, lang) DO UPDATE SET yes = yes + excluded.yes, no = no + excluded.no;
END;

CREATE TRIGGER votes_tally_update AFTER UPDATE OF helpful, article_id, lang, counted ON votes BEGIN
    UPDATE vote_tallies SET yes = yes - OLD.helpful, no = no - (1 - OLD.helpful)
    WHERE OLD.counted AND article_id = OLD.article_id AND lang = OLD.lang;
    INSERT INTO vote_tallies (article_id, lang, yes, no)
    SELECT NEW.article_id, NEW.lang, NEW.helpful, 1 - NEW.helpful WHERE NEW.counted
    ON CONFLICT (article_id, lang) DO UPDATE SET yes = yes + excluded.yes, no = no + excluded.no;
END;

CREATE TRIGGER votes_tally_delete AFTER DELETE ON votes WHEN OLD.counted BEGIN
    UPDATE vote_tallies SET yes = yes - OLD.helpful, no = no - (1 - OLD.helpful)
    WHERE article_id = OLD.article_id AND lang = OLD.lang;
END;

-- --- report aggregates of votes (0006) ----------------------------------------------------------

DROP TRIGGER votes_count_insert;
DROP TRIGGER votes_count_update;
DROP TRIGGER votes_count_delete;

CREATE TRIGGER votes_count_insert AFTER INSERT ON votes WHEN NEW.counted BEGIN
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
    WHERE OLD.counted AND day = substr(OLD.updated_at, 1, 10) AND article_id = OLD.article_id
      AND lang = OLD.lang;
    UPDATE vote_reasons SET n = n - 1
    WHERE OLD.counted AND OLD.helpful = 0 AND article_id = OLD.article_id AND lang = OLD.lang
      AND day = substr(OLD.updated_at, 1, 10) AND reason = COALESCE(OLD.reason, '');
    UPDATE vote_revisions SET yes = yes - (OLD.helpful != 0), no = no - (OLD.helpful = 0)
    WHERE OLD.counted AND article_id = OLD.article_id AND lang = OLD.lang AND revision = OLD.revision;
    INSERT INTO article_daily (day, article_id, lang, yes, no, comments)
    SELECT substr(NEW.updated_at, 1, 10), NEW.article_id, NEW.lang,
           NEW.helpful != 0, NEW.helpful = 0, COALESCE(NEW.comment, '') != ''
    WHERE NEW.counted
    ON CONFLICT (day, article_id, lang) DO UPDATE SET
        yes = yes + excluded.yes, no = no + excluded.no, comments = comments + excluded.comments;
    INSERT INTO vote_reasons (article_id, lang, day, reason, n)
    SELECT NEW.article_id, NEW.lang, substr(NEW.updated_at, 1, 10), COALESCE(NEW.reason, ''), 1
    WHERE NEW.counted AND NEW.helpful = 0
    ON CONFLICT (article_id, lang, day, reason) DO UPDATE SET n = n + 1;
    INSERT INTO vote_revisions (article_id, lang, revision, yes, no, first_vote)
    SELECT NEW.article_id, NEW.lang, NEW.revision, NEW.helpful != 0, NEW.helpful = 0, NEW.updated_at
    WHERE NEW.counted
    ON CONFLICT (article_id, lang, revision) DO UPDATE SET
        yes = yes + excluded.yes, no = no + excluded.no, first_vote = min(first_vote, excluded.first_vote);
END;

CREATE TRIGGER votes_count_delete AFTER DELETE ON votes WHEN OLD.counted BEGIN
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

-- --- search clicks (0003, 0006) -----------------------------------------------------------------

-- Repeated clicks on the same result of the same search: keep the first.
DELETE FROM search_clicks WHERE search_id IS NOT NULL AND id NOT IN (
    SELECT min(id) FROM search_clicks WHERE search_id IS NOT NULL GROUP BY search_id, article_id);
CREATE UNIQUE INDEX search_clicks_once ON search_clicks (search_id, article_id);

DROP TRIGGER search_clicks_count;

-- A search counts as clicked once, through the first click of its own visitor; clicks without
-- a search (older rows, forged links) stay in the raw log but count nowhere.
CREATE TRIGGER search_clicks_count AFTER INSERT ON search_clicks
WHEN NEW.search_id IS NOT NULL
  AND EXISTS (SELECT 1 FROM searches WHERE id = NEW.search_id AND visitor = NEW.visitor)
  AND NOT EXISTS (SELECT 1 FROM search_clicks WHERE search_id = NEW.search_id AND id != NEW.id)
BEGIN
    INSERT INTO search_daily (day, lang, category, type, query, searches, zero, clicked)
    SELECT substr(s.created_at, 1, 10), s.lang, COALESCE(s.category, ''), COALESCE(s.type, ''),
           s.query, 0, 0, 1
    FROM searches AS s WHERE s.id = NEW.search_id
    ON CONFLICT (day, lang, category, type, query) DO UPDATE SET clicked = clicked + 1;
END;

-- Recount: clicked searches of each row, from qualifying clicks only.
UPDATE search_daily SET clicked = (
    SELECT count(*) FROM searches AS s
    WHERE substr(s.created_at, 1, 10) = search_daily.day AND s.lang = search_daily.lang
      AND COALESCE(s.category, '') = search_daily.category AND COALESCE(s.type, '') = search_daily.type
      AND s.query = search_daily.query
      AND EXISTS (SELECT 1 FROM search_clicks AS c WHERE c.search_id = s.id AND c.visitor = s.visitor)
) WHERE clicked != 0;
DELETE FROM search_daily WHERE searches = 0 AND zero = 0 AND clicked = 0;
