"""Policy data: the validated document, its lookups, and the live source that updates it."""
