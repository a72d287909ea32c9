"""Links between articles are written as relative paths to the other .md file.

A core rule rewrites them (and relative image paths) to site URLs with env["resolve"]; a link
that points nowhere is reported in env["problems"] and rendered as plain text (a reference
link's missing target is reported once, on its definition: kb.render.references).
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token


def is_relative(url: str) -> bool:
    return bool(url) and not url.startswith(("#", "/", "//")) and ":" not in url.split("/")[0]


def _rewrite(state: StateCore) -> None:
    resolve = state.env.get("resolve")
    problems = state.env.setdefault("problems", [])
    if resolve is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        line = (block.map[0] + 1) if block.map else 1
        children: list[Token] = []
        dropped_depth = 0
        for token in block.children:
            if token.type == "link_open":
                href = str(token.attrGet("href") or "")
                if is_relative(href):
                    target = resolve(href)
                    if target is None:
                        if "label" not in token.meta:  # a reference link: reported on its definition
                            problems.append((line, f"link to a missing article or file: {href}"))
                        dropped_depth += 1
                        continue
                    token.attrSet("href", target)
            elif token.type == "link_close" and dropped_depth:
                dropped_depth -= 1
                continue
            elif token.type == "image":
                src = str(token.attrGet("src") or "")
                if is_relative(src):
                    target = resolve(src)
                    if target is None:
                        problems.append((line, f"missing image: {src}"))
                    else:
                        token.attrSet("src", target)
                token.attrSet("loading", "lazy")
            children.append(token)
        block.children = children


def links_plugin(md: MarkdownIt) -> None:
    md.core.ruler.push("kb_links", _rewrite)
