-- Synonym candidates (kb.analytics.candidates) pair a visitor's failed search with the search
-- of theirs whose result was opened a few minutes later: this index answers "this visitor's
-- searches in this language between two times" as a range.
CREATE INDEX searches_visitor ON searches (visitor, lang, created_at);

-- A candidate an editor dismissed stays hidden (in both directions). Queries are stored as
-- the search log holds them (normalised, lower case).
CREATE TABLE synonym_dismissals (
    lang TEXT NOT NULL,
    first_query TEXT NOT NULL,
    second_query TEXT NOT NULL,
    dismissed_by TEXT NOT NULL,
    dismissed_at TEXT NOT NULL DEFAULT kb_now(),
    PRIMARY KEY (lang, first_query, second_query)
);
