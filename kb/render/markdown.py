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

from kb.policy.document import Policy
from kb.render.alerts import alerts_plugin
from kb.render.comments import comments_plugin
from kb.render.links import links_plugin
from kb.render.references import references_plugin
from kb.render.snippets import snippets_plugin
from kb.render.tables import tables_plugin

TOC_MIN_HEADINGS = 3

Plugin = Callable[[MarkdownIt], None]

# Order matters only where a plugin reads another's tokens: links run after parsing; alerts
# reuse the admonition tokens (so admon comes first).
PLUGINS: list[Plugin] = [
    front_matter_plugin,
    lambda md: anchors_plugin(md, min_level=2, max_level=3),
    admon_plugin,
    alerts_plugin,
    comments_plugin,
    links_plugin,
    references_plugin,
    snippets_plugin,
    tables_plugin,
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
    # What a reader sees as sentences, for search excerpts: one block per line, each ending in
    # punctuation (a heading or a list item would otherwise run into the next block), policy
    # values resolved, code blocks left out (they show syntax, not answers).
    prose: str = ""

    @property
    def toc(self) -> tuple[Heading, ...]:
        return self.headings if len(self.headings) >= TOC_MIN_HEADINGS else ()

    def nested(self, prefix: str, below: int = 2) -> str:
        """The HTML to show inside a page under a heading of level `below` (stacked FAQs).

        Every id (and every in-page link and aria reference to one) gets `prefix`, so several
        articles on one page never repeat an id; headings move one level below `below`.
        """
        return nest_html(self.html, prefix, below)


@dataclass
class RenderEnv:
    """What plugins may read while rendering one document."""

    resolve: Callable[[str], str | None] | None = None
    policy: Policy | None = None  # the version to show (the Site's PolicyHolder's); None: unavailable
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
            prose=prose_text(tokens),
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


def _inline_text(children: list[Token]) -> str:
    # A line break is a word boundary: without the space, "`bzip2`.\nMore" indexes "bzip2.more".
    return "".join(" " if c.type in ("softbreak", "hardbreak") else c.content
                   for c in children if c.type in ("text", "code_inline", "softbreak", "hardbreak"))


def _plain_text(tokens: list[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline" and token.children:
            parts.append(_inline_text(token.children))
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
        elif token.meta.get("text"):  # plugins (policy snippets) can expose their text
            parts.append(str(token.meta["text"]))
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


_END_PUNCTUATION = tuple(".!?:;…")


def sentence(text: str) -> str:
    """`text` with its white space collapsed and a full stop added where it has no end
    punctuation, so that blocks joined in an excerpt still read as separate sentences."""
    text = " ".join(text.split())
    return text if not text or text.endswith(_END_PUNCTUATION) else text + "."


def prose_text(tokens: list[Token]) -> str:
    """Rendered.prose: every block of text on its own line; a table row is one line, its
    cells separated by semicolons."""
    lines: list[str] = []
    row: list[str] | None = None
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            lines.append(sentence("; ".join(cell for cell in row if cell)))
            row = None
        elif token.type == "inline" and token.children:
            text = " ".join(_inline_text(token.children).split())
            if row is not None:
                row.append(text.rstrip(".;"))
            else:
                lines.append(sentence(text))
        elif token.meta.get("prose"):  # policy snippets give their blocks as lines
            lines.extend(sentence(line) for line in str(token.meta["prose"]).splitlines())
    return "\n".join(line for line in lines if line)


# The renderer escapes raw HTML, and attribute values are quoted with every " escaped, so in its
# output `<h2`, ` id="` and ` href="#` only ever occur as real tags and attributes.
_HEADING_TAG_RE = re.compile(r"<(/?)h([1-6])(?=[\s>])")
_ID_ATTR_RE = re.compile(r'(?<=\s)(id|for|aria-labelledby|aria-describedby|aria-controls|href)="([^"]*)"')


def nest_html(html: str, prefix: str, below: int = 2) -> str:
    """Prefix the ids of rendered HTML and shift its headings below a heading of level `below`."""

    def heading(match: re.Match[str]) -> str:
        level = min(6, max(int(match.group(2)), below) + 1)
        return f"<{match.group(1)}h{level}"

    def attribute(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if name == "href":
            if not value.startswith("#") or value == "#":
                return match.group(0)
            return f'href="#{prefix}{value[1:]}"'
        return f'{name}="{" ".join(prefix + part for part in value.split())}"'

    return _ID_ATTR_RE.sub(attribute, _HEADING_TAG_RE.sub(heading, html))
