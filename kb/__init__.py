"""kb: a self-hosted knowledge base and FAQ site."""
