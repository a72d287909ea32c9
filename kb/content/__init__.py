"""Content: the article model and loader, the Site that serves it, the tree watcher, authoring."""
