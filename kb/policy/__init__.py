"""Policy data: schema (validation), document (the Policy value), sources (policy.yaml and the
live service), holder (the version served now, one per app) and live (PolicyService, which
accepts or refuses each new version and sets it on the holder)."""
