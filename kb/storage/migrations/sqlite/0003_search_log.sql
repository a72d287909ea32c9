-- Search log for the product teams: what visitors search for and which result they open.
-- visitor is a keyed hash of the anonymous visitor cookie (kb.web.security.visitor_hash);
-- no IP address is stored. Search ids are issued by the app so that a click can name its
-- search without waiting for the batched write.
CREATE TABLE IF NOT EXISTS searches (
    id INTEGER PRIMARY KEY,
    query TEXT NOT NULL,
    lang TEXT NOT NULL,
    category TEXT,
    type TEXT,
    results INTEGER NOT NULL,
    took_ms REAL NOT NULL,
    visitor TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS searches_created_at ON searches (created_at);
CREATE INDEX IF NOT EXISTS searches_query ON searches (lang, query);

CREATE TABLE IF NOT EXISTS search_clicks (
    id INTEGER PRIMARY KEY,
    search_id INTEGER,
    query TEXT NOT NULL,
    lang TEXT NOT NULL,
    article_id INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    visitor TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS search_clicks_created ON search_clicks (created_at);
CREATE INDEX IF NOT EXISTS search_clicks_search ON search_clicks (search_id);
