"""Reference-style links (`[text][01]` with a line `[01]: other-article.md`) that do not work.

Two problems a reader would see and `kb check` reports (env["problems"], line of the file):

- a reference link whose definition is missing: markdown-it leaves `[text][nope]` as literal
  text, so it is found in the text tokens after inline parsing;
- a definition whose relative target does not exist (an article or file that is not there).
  It is reported once, on the definition's line; kb.render.links then drops every link that
  uses it (plain text) without repeating the report on each line that uses it.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from markdown_it.rules_core import StateCore

from kb.render.links import is_relative

# `[text][label]` and `[text][]` left as text; not after a word character, so `rows[i][j]` in
# running text is not taken for a link.
LITERAL_RE = re.compile(r"(?<![\w\]])\[([^\[\]\n]+)\]\[([^\[\]\n]*)\]")
DEFINITION_RE = re.compile(r"\[((?:[^\]\\]|\\.)+)\]:")
BARRIER = "\x00"  # stands for anything that is not plain text (code, escapes, emphasis marks)


def _missing_definitions(state: StateCore) -> None:
    references = state.env.get("references") or {}
    problems = state.env.setdefault("problems", [])
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        line = (block.map[0] + 1) if block.map else 1
        # Lines of the paragraph, as text runs; escapes (`\[`) are not text, so they never match.
        runs: list[tuple[int, str]] = []
        current: list[str] = []
        for child in block.children:
            if child.type == "text":
                current.append(child.content)
            else:
                current.append(BARRIER)
                if child.type in ("softbreak", "hardbreak"):
                    runs.append((line, "".join(current)))
                    current, line = [], line + 1
        runs.append((line, "".join(current)))
        for number, text in runs:
            for match in LITERAL_RE.finditer(text):
                label = match.group(2) or match.group(1)
                if normalizeReference(label) not in references:
                    problems.append((number, (f"reference link {match.group(0)} has no definition: "
                                              f"add a line '[{label}]: target' or fix the label")))


def _missing_targets(state: StateCore) -> None:
    resolve = state.env.get("resolve")
    if resolve is None:
        return
    problems = state.env.setdefault("problems", [])
    lines = state.src.split("\n")
    for label, definition in (state.env.get("references") or {}).items():
        href = str(definition.get("href") or "")
        if is_relative(href) and resolve(href) is None:
            index = definition["map"][0] if definition.get("map") else 0
            # The label as the editor wrote it (references are keyed by its upper-cased form).
            written = DEFINITION_RE.search(lines[index]) if index < len(lines) else None
            shown = written.group(1) if written else label
            problems.append((index + 1, f"link definition [{shown}] points to a missing article or file: {href}"))


def references_plugin(md: MarkdownIt) -> None:
    # Reference links carry their label (token.meta["label"]), so kb.render.links can tell
    # them from inline links.
    md.options["store_labels"] = True
    # Before text_join, which would merge escaped brackets into the text.
    md.core.ruler.after("inline", "kb_reference_labels", _missing_definitions)
    md.core.ruler.after("inline", "kb_reference_targets", _missing_targets)
