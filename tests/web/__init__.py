"""Tests through the real app (TestClient or a served process), a real database and index."""
