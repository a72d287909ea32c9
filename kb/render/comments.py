"""HTML comments (`<!-- an editor's note -->`) are notes for editors: readers never see them.

Raw HTML is off, so markdown-it would show a comment as escaped text and, having no HTML block
rule, read the lines after it as the same paragraph: reference definitions (`[01]: url`) right
below a comment stopped being definitions. Two rules drop comments instead:

- a block rule for a comment that starts a line and ends a line (it may span lines, blank ones
  included, as CommonMark's HTML block of type 2); it can interrupt a paragraph, like that block;
- an inline rule for a comment inside running text.

A `<!--` that is never closed is left as text (hiding the rest of the file would lose content),
and so is a comment that opens inside a paragraph and closes after a blank line (the paragraph
ends first). Whatever `<!--` is left in the text is reported in env["problems"], so `kb check`
points at every comment a reader would see.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
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
            return False  # shown as text, and reported by _report_visible
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


def _report_visible(state: StateCore) -> None:
    problems = state.env.setdefault("problems", [])
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        line = (block.map[0] + 1) if block.map else 1
        for child in block.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "text" and OPEN in child.content:  # an escaped `\<!--` is text_special
                problems.append((line, ("HTML comment shown as text: '<!--' without '-->' before the "
                                        "end of its paragraph (start it on its own line, or close it)")))


def comments_plugin(md: MarkdownIt) -> None:
    md.block.ruler.before("html_block", "html_comment", _block_rule,
                          {"alt": ["paragraph", "reference", "blockquote"]})
    md.inline.ruler.before("html_inline", "html_comment", _inline_rule)
    # Before text_join, which would merge escaped characters into the text.
    md.core.ruler.after("inline", "kb_visible_comments", _report_visible)
