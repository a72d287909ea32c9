"""Tests of the core: content, rendering, policy, storage, analytics, CLI, docs, layers."""
