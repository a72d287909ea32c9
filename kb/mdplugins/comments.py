"""HTML comments (`<!-- an editor's note -->`) are notes for editors: readers never see them.

Raw HTML is off, so markdown-it would show a comment as escaped text and, having no HTML block
rule, read the lines after it as the same paragraph: reference definitions (`[01]: url`) right
below a comment stopped being definitions. Two rules drop comments instead:

- a block rule for a comment that starts a line and ends a line (it may span lines, blank ones
  included, as CommonMark's HTML block of type 2); it can interrupt a paragraph, like that block;
- an inline rule for a comment inside running text.

A `<!--` that is never closed is left as text (hiding the rest of the file would lose content)
and reported in env["problems"], so `kb check` points at it.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

OPEN = "<!--"
CLOSE = "-->"
# CommonMark also counts `<!-->` and `<!--->` as (empty) comments.
INLINE_RE = re.compile(r"<!--(?:-?>|[\s\S]*?-->)")


def _line(state: StateBlock, number: int) -> str:
    return state.src[state.bMarks[number] + state.tShift[number]:state.eMarks[number]]


def _end_of_close(text: str, first: bool) -> int:
    """Where the comment's close ends in `text` (its first line when `first`), or -1."""
    if first:
        for short in ("<!-->", "<!--->"):
            if text.startswith(short):
                return len(short)
        found = text.find(CLOSE, len(OPEN))
    else:
        found = text.find(CLOSE)
    return found + len(CLOSE) if found >= 0 else -1


def _block_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.is_code_block(start):
        return False
    text = _line(state, start)
    if not text.startswith(OPEN):
        return False
    number, after = start, _end_of_close(text, True)
    while after < 0:
        number += 1
        # A comment inside a block quote or list item ends where that container ends.
        if number >= end or (state.sCount[number] < state.blkIndent and not state.isEmpty(number)):
            if not silent:
                state.env.setdefault("problems", []).append(
                    (start + 1, "HTML comment is never closed: '<!--' without '-->' (it is shown as text)"))
            return False
        text = _line(state, number)
        after = _end_of_close(text, False)
    # Text after the comment on its last line belongs to readers: leave that case to the
    # paragraph and the inline rule, which keep it.
    if text[after:].strip():
        return False
    if not silent:
        state.line = number + 1
    return True


def _inline_rule(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith(OPEN, state.pos):
        return False
    match = INLINE_RE.match(state.src, state.pos, state.posMax)
    if match is None:
        return False
    state.pos = match.end()
    return True


def comments_plugin(md: MarkdownIt) -> None:
    md.block.ruler.before("html_block", "html_comment", _block_rule,
                          {"alt": ["paragraph", "reference", "blockquote"]})
    md.inline.ruler.before("html_inline", "html_comment", _inline_rule)
