"""GitHub alerts (`> [!NOTE]` ...) render as the site's callouts, like `!!! note` admonitions.

Documentation imported from GitHub writes callouts as a block quote whose first line is only
`[!NOTE]`, `[!TIP]`, `[!IMPORTANT]`, `[!WARNING]` or `[!CAUTION]` (any case). A core rule, run
between block and inline parsing, turns such a block quote into the tokens of kb's admonitions
(kb.render uses mdit_py_plugins.admon), so both give the same HTML and the same CSS applies:

    <div class="admonition note"><p class="admonition-title">Note</p>...</div>

The default title of an alert, and of an admonition written without a title (`!!! note`), is in
the page's language (env["lang"]).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from kb import i18n
from kb.i18n import N_

TITLES = {
    "note": N_("Note"),
    "tip": N_("Tip"),
    "important": N_("Important"),
    "warning": N_("Warning"),
    "caution": N_("Caution"),
}
MARKER_RE = re.compile(r"^\[!(" + "|".join(TITLES) + r")\][ \t]*(?:\n|$)", re.IGNORECASE)


def _matching_close(tokens: list[Token], start: int) -> int:
    opening = tokens[start]
    for index in range(start + 1, len(tokens)):
        token = tokens[index]
        if token.type == "blockquote_close" and token.level == opening.level:
            return index
    raise ValueError("unbalanced block quote")  # markdown-it always closes what it opens


def _title_tokens(kind: str, title: str, opening: Token) -> list[Token]:
    line = [opening.map[0], opening.map[0] + 1] if opening.map else None
    head = Token("admonition_title_open", "p", 1, attrs={"class": "admonition-title"},
                 block=True, level=opening.level + 1, markup=f"> [!{kind.upper()}]", map=line)
    text = Token("inline", "", 0, content=title, children=[], block=True, level=opening.level + 2,
                 map=line)
    tail = Token("admonition_title_close", "p", -1, block=True, level=opening.level + 1)
    return [head, text, tail]


def _alert(state: StateCore, start: int, lang: str) -> bool:
    """Turn the block quote opened at tokens[start] into an admonition if it is an alert."""
    tokens = state.tokens
    if start + 2 >= len(tokens) or tokens[start + 1].type != "paragraph_open":
        return False
    inline = tokens[start + 2]
    match = MARKER_RE.match(inline.content)
    if match is None:
        return False
    kind = match.group(1).lower()
    close = _matching_close(tokens, start)
    opening, closing = tokens[start], tokens[close]
    opening.type, opening.tag, opening.markup = "admonition_open", "div", "> [!"
    opening.attrs = {"class": f"admonition {kind}"}
    opening.meta = {"tag": kind}
    closing.type, closing.tag = "admonition_close", "div"
    rest = inline.content[match.end():]
    if rest.strip():
        inline.content = rest
        if inline.map:  # the text now starts one line lower: snippets count lines from here
            inline.map = [inline.map[0] + 1, inline.map[1]]
        tokens[start + 1:start + 1] = _title_tokens(kind, i18n.gettext(lang, TITLES[kind]), opening)
    else:  # the marker was the whole first paragraph: drop it
        tokens[start + 1:start + 4] = _title_tokens(kind, i18n.gettext(lang, TITLES[kind]), opening)
    return True


def _translate_admonition_title(token: Token, title: Token, lang: str) -> None:
    """`!!! note` without a title gets "Note" from mdit_py_plugins: say it in the page's language."""
    tag = str(token.meta.get("tag", ""))
    if tag in TITLES and token.info.strip().lower() == tag:
        title.content = i18n.gettext(lang, TITLES[tag])


def _rewrite(state: StateCore) -> None:
    lang = state.env.get("lang") or "en"
    index = 0
    while index < len(state.tokens):
        token = state.tokens[index]
        if token.type == "blockquote_open":
            _alert(state, index, lang)
        elif (token.type == "admonition_open" and index + 2 < len(state.tokens)
              and state.tokens[index + 1].type == "admonition_title_open"):
            _translate_admonition_title(token, state.tokens[index + 2], lang)
        index += 1


def alerts_plugin(md: MarkdownIt) -> None:
    md.core.ruler.after("block", "kb_alerts", _rewrite)
