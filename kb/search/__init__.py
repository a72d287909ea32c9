"""Full-text search: every Whoosh call of kb lives in this package."""
