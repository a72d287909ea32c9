"""The web editor's use cases: forms, checks, conflict-checked saves, history."""
