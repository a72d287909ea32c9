-- Content health (kb.health) reads, for every article at once, when its file last changed and
-- when an editor last marked it reviewed (a revision with action 'reviewed', kept in the
-- history). This covering index answers that from the index alone, never reading the texts.
CREATE INDEX IF NOT EXISTS revisions_health ON revisions (lang, article_id, action, created_at);
