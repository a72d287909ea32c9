"""The one MarkdownIt of kb, built once with its plugins, and what a render returns.

Raw HTML is off (it is escaped as text) and markdown-it's link validation drops
javascript:, vbscript: and data: URLs, so article Markdown cannot run script.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from kb.mdplugins.links import links_plugin
from kb.mdplugins.snippets import snippets_plugin

TOC_MIN_HEADINGS = 3

Plugin = Callable[[MarkdownIt], None]

# Order matters only where a plugin reads another's tokens: links run after parsing.
PLUGINS: list[Plugin] = [
    front_matter_plugin,
    lambda md: anchors_plugin(md, min_level=2, max_level=3),
    admon_plugin,
    links_plugin,
    snippets_plugin,
]


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str  # plain text of the body, for search and descriptions
    headings: tuple[Heading, ...]
    problems: tuple[tuple[int, str], ...]  # (line in the source file, message)
    policy_keys: frozenset[str] = frozenset()

    @property
    def toc(self) -> tuple[Heading, ...]:
        return self.headings if len(self.headings) >= TOC_MIN_HEADINGS else ()


@dataclass
class RenderEnv:
    """What plugins may read while rendering one document."""

    resolve: Callable[[str], str | None] | None = None
    policy: Any = None
    lang: str = "en"
    extra: dict[str, Any] = field(default_factory=dict)

    def as_env(self) -> dict[str, Any]:
        return {
            "resolve": self.resolve,
            "policy": self.policy,
            "lang": self.lang,
            "problems": [],
            "policy_keys": set(),
            **self.extra,
        }


def build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    for plugin in PLUGINS:
        md.use(plugin)
    return md


class Renderer:
    def __init__(self) -> None:
        self.md = build_markdown()

    def render(self, source: str, env: RenderEnv | None = None) -> Rendered:
        data = (env or RenderEnv()).as_env()
        tokens = self.md.parse(source, data)
        html = self.md.renderer.render(tokens, self.md.options, data)
        return Rendered(
            html=html,
            text=_plain_text(tokens),
            headings=_headings(tokens),
            problems=tuple(data["problems"]),
            policy_keys=frozenset(data["policy_keys"]),
        )


def _headings(tokens: list[Token]) -> tuple[Heading, ...]:
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h2", "h3") and token.attrGet("id"):
            found.append(Heading(int(token.tag[1]), str(token.attrGet("id")), tokens[index + 1].content))
    return tuple(found)


def _plain_text(tokens: list[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline" and token.children:
            parts.append("".join(c.content for c in token.children if c.type in ("text", "code_inline")))
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
        elif token.meta.get("text"):  # plugins (policy snippets) can expose their text
            parts.append(str(token.meta["text"]))
    return re.sub(r"\s+", " ", " ".join(parts)).strip()
