"""Content: the article model, its loader and checks, the Site that serves it, the tree watcher,
`kb new`'s scaffold (authoring) and the one safe file write every writer uses (files)."""
