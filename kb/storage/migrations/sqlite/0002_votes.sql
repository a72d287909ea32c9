-- "Was this article helpful?" votes: one row per (visitor, language, article); voting again
-- updates the row. `visitor` is a keyed hash of the anonymous cookie id, never the id itself.
-- `revision` is the article's content revision when the current vote was cast, so votes can
-- be compared before and after an edit. `changes` counts how often the visitor changed it.
CREATE TABLE votes (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    slug TEXT NOT NULL,
    visitor TEXT NOT NULL,
    helpful INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    reason TEXT,
    comment TEXT,
    revision TEXT NOT NULL,
    changes INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The one-vote-per-visitor rule; also serves "this visitor's votes on these articles".
CREATE UNIQUE INDEX votes_visitor_article ON votes (visitor, lang, article_id);
-- Per-article reports (votes and comments of one article over time).
CREATE INDEX votes_article ON votes (article_id, lang, updated_at);
-- Time-range reports across the site.
CREATE INDEX votes_updated_at ON votes (updated_at);

-- Running yes/no counts per article, kept by triggers in the same transaction as the vote, so
-- tallies, the home page's "most helpful" list and the API never count rows on the hot path.
CREATE TABLE vote_tallies (
    article_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    yes INTEGER NOT NULL DEFAULT 0,
    no INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_id, lang)
) WITHOUT ROWID;

CREATE TRIGGER votes_tally_insert AFTER INSERT ON votes BEGIN
    INSERT INTO vote_tallies (article_id, lang, yes, no)
    VALUES (NEW.article_id, NEW.lang, NEW.helpful, 1 - NEW.helpful)
    ON CONFLICT (article_id, lang) DO UPDATE SET yes = yes + excluded.yes, no = no + excluded.no;
END;

CREATE TRIGGER votes_tally_update AFTER UPDATE OF helpful, article_id, lang ON votes BEGIN
    UPDATE vote_tallies SET yes = yes - OLD.helpful, no = no - (1 - OLD.helpful)
    WHERE article_id = OLD.article_id AND lang = OLD.lang;
    INSERT INTO vote_tallies (article_id, lang, yes, no)
    VALUES (NEW.article_id, NEW.lang, NEW.helpful, 1 - NEW.helpful)
    ON CONFLICT (article_id, lang) DO UPDATE SET yes = yes + excluded.yes, no = no + excluded.no;
END;

CREATE TRIGGER votes_tally_delete AFTER DELETE ON votes BEGIN
    UPDATE vote_tallies SET yes = yes - OLD.helpful, no = no - (1 - OLD.helpful)
    WHERE article_id = OLD.article_id AND lang = OLD.lang;
END;
