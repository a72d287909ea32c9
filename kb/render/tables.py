"""Table column alignment as classes: `|--:|` gives `class="align-right"`, not a style attribute.

markdown-it writes `style="text-align:right"`, which the site's Content-Security-Policy
(`style-src 'self'`, no inline styles) makes browsers ignore; kb.css styles the classes instead.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

ALIGNMENTS = {"text-align:left": "align-left", "text-align:center": "align-center",
              "text-align:right": "align-right"}


def _align_classes(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs:
            style = token.attrs.get("style")
            if isinstance(style, str) and style in ALIGNMENTS:
                del token.attrs["style"]
                token.attrJoin("class", ALIGNMENTS[style])


def tables_plugin(md: MarkdownIt) -> None:
    md.core.ruler.push("table_align_classes", _align_classes)
