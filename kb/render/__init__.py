"""Rendering: the one MarkdownIt instance and its plugins.

Each extension is a `plugin(md)` function in its own module, applied once by
kb.render.markdown. Per-render data (the article, the link resolver, the policy data, the problem
list) travels in markdown-it's `env`, never in globals; see kb.render.markdown.RenderEnv.
"""
