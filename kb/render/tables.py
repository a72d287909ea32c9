"""Tables: column alignment as classes, and a scroll container around each table.

`|--:|` gives `class="align-right"`, not a style attribute: markdown-it writes
`style="text-align:right"`, which the site's Content-Security-Policy (`style-src 'self'`, no
inline styles) makes browsers ignore; kb.css styles the classes instead.

A wide table scrolls sideways inside `<div class="table-scroll" role="region" tabindex="0"
aria-label="Scrollable table">` (the label in the page's language, env["lang"]): keyboard users
can focus it to scroll, screen readers hear what it is, and kb.css shades the edge that has more.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from kb import i18n
from kb.i18n import N_

SCROLL_LABEL = N_("Scrollable table")

ALIGNMENTS = {"text-align:left": "align-left", "text-align:center": "align-center",
              "text-align:right": "align-right"}


def _align_classes(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs:
            style = token.attrs.get("style")
            if isinstance(style, str) and style in ALIGNMENTS:
                del token.attrs["style"]
                token.attrJoin("class", ALIGNMENTS[style])


def _scroll_containers(state: StateCore) -> None:
    # the language apart: a string literal as gettext's first argument would be extracted as a UI string
    lang = state.env.get("lang") or "en"
    label = i18n.gettext(lang, SCROLL_LABEL)
    tokens: list[Token] = []
    for token in state.tokens:
        if token.type == "table_open":
            tokens.append(Token("table_scroll_open", "div", 1, block=True, level=token.level, attrs={
                "class": "table-scroll", "role": "region", "tabindex": "0", "aria-label": label}))
        tokens.append(token)
        if token.type == "table_close":
            tokens.append(Token("table_scroll_close", "div", -1, block=True, level=token.level))
    state.tokens = tokens


def tables_plugin(md: MarkdownIt) -> None:
    md.core.ruler.push("table_align_classes", _align_classes)
    md.core.ruler.push("table_scroll_containers", _scroll_containers)
