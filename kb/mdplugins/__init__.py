"""Markdown extensions of kb: each is a `plugin(md)` function applied once by kb.render.

Per-render data (the article, the link resolver, the policy data, the problem list) travels in
markdown-it's `env`, never in globals; see kb.render.RenderEnv.
"""
