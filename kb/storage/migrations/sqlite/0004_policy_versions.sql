-- Every policy data version the site accepted (kb.policy_live), in the order it was accepted.
-- A version is the hash of the document's canonical JSON; going back to an older document
-- adds a new row with the same version, so the history shows what was served when.
CREATE TABLE IF NOT EXISTS policy_versions (
    id INTEGER PRIMARY KEY,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    document TEXT NOT NULL,
    changed_keys TEXT NOT NULL DEFAULT '',
    accepted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX IF NOT EXISTS policy_versions_version ON policy_versions (version);
