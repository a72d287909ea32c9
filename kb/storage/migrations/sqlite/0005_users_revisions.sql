-- Accounts of the people who edit (admin, editor) or read analytics (analyst).
-- session_version grows on logout, disable, role or password change: older session cookies die.
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'analyst')),
    disabled INTEGER NOT NULL DEFAULT 0,
    session_version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Every version of an article the web editor saw or wrote: who, when, why, the full text.
-- action: create, save, draft (pending text, file untouched), review, publish, unpublish,
-- delete, restore, external (a change made outside the editor, recorded when next edited).
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    slug TEXT NOT NULL,
    path TEXT NOT NULL,
    revision TEXT NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS revisions_article ON revisions (lang, article_id, id);

-- The pending draft of an article: text waiting for review or publication while the file
-- (the live version) stays as it is. text is NULL when the file itself is the draft and only
-- the review request is recorded. base_revision is the file revision the text started from.
CREATE TABLE IF NOT EXISTS pending_edits (
    lang TEXT NOT NULL,
    article_id INTEGER NOT NULL,
    slug TEXT NOT NULL,
    text TEXT,
    base_revision TEXT NOT NULL,
    review INTEGER NOT NULL DEFAULT 0,
    author TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (lang, article_id)
);
