"""Patching an article file's front matter: a change rewrites only the lines it changes.

The web editor keeps every byte nobody asked to change (field order, quoting, comments, blank
lines, line ends, a missing final newline), so a save shows in `git diff` as the fields edited.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

_BREAK = re.compile(r"(\r\n|\r|\n)")
_STR_TAG = "tag:yaml.org,2002:str"
_INLINE_COMMENT = re.compile(r"[ \t]+#[^\r\n]*")
_BLANK_LINE = re.compile(r"[ \t]*(\r\n|\r|\n)")
BLOCK_LISTS = frozenset({"questions"})  # a new list of these is written one item per line


@dataclass(frozen=True)
class Layout:
    """An article file cut into its exact pieces: head + front + close + body == the text."""

    head: str  # the opening '---' line, with its line end
    front: str  # the YAML between the '---' lines, each line with its line end
    close: str  # the closing '---' line, with its line end ('' when the file ends there)
    body: str
    eol: str  # the file's line-end style, taken from its first line


def layout(text: str) -> Layout | None:
    """The pieces of a file with front matter (the rule of kb.content.loader.split_front_matter)."""
    first, newline, _ = text.partition("\n")
    if not newline or first.rstrip() != "---":
        return None
    eol = "\r\n" if first.endswith("\r") else "\n"
    start = offset = len(first) + 1
    while offset <= len(text):
        end = text.find("\n", offset)
        line_end = len(text) if end < 0 else end
        if text[offset:line_end].rstrip() == "---":
            after = len(text) if end < 0 else end + 1
            return Layout(text[:start], text[start:offset], text[offset:after], text[after:], eol)
        if end < 0:
            return None
        offset = end + 1
    return None


def patch_article(original: str, changes: Mapping[str, object], removed: Collection[str] = (),
                  body: str | None = None) -> str:
    """`original` with the front matter fields in `changes` rewritten (appended when new), those
    in `removed` dropped and, when given, the body replaced (`body` uses '\\n' line ends).

    Every byte nobody asked to change stays: field order, quoting, comments, blank lines, line
    ends (LF, CRLF or mixed) and a missing final newline. Each field is located by the line span
    of its YAML nodes, so only the changed fields' lines are written anew. Whatever the span
    method cannot do safely (a flow-style or indented mapping, odd YAML) falls back to dumping
    the whole front matter, never to a wrong file.
    """
    parts = layout(original)
    if parts is None:  # no front matter yet: give it one, keep the text as the body
        eol = "\r\n" if original.partition("\n")[0].endswith("\r") and "\n" in original else "\n"
        meta = {k: v for k, v in changes.items() if k not in removed}
        new_body = original if body is None else merge_lines(original, body, eol)
        return f"---{eol}{_to_eol(_dump(meta), eol)}---{eol}{new_body}"
    front = _patch_front(parts.front, changes, removed, parts.eol)
    close, new_body = parts.close, parts.body
    if body is not None:
        new_body = merge_lines(parts.body, body, parts.eol)
        if new_body and not close.endswith("\n"):
            close += parts.eol
    return parts.head + front + close + new_body


def merge_lines(old: str, new: str, eol: str) -> str:
    """`new` (a text with any line ends), written with the line ends of `old` wherever its lines
    are unchanged and `eol` on lines that are new; so a text equal to `old` but for its line
    ends gives back `old`, byte for byte."""
    pieces = _BREAK.split(old)
    old_lines, old_ends = pieces[0::2], [*pieces[1::2], ""]
    new_lines = _BREAK.split(new)[0::2]
    if old_lines == new_lines:
        return old
    ends = [eol] * len(new_lines)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, _, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(j2 - j1):
                ends[j1 + k] = old_ends[i1 + k] or eol
    ends[-1] = ""  # what follows the last line is exactly what `new` ends with
    return "".join(line + end for line, end in zip(new_lines, ends, strict=True))


@dataclass(frozen=True)
class _Entry:
    key: str | None  # None: a key that is not text (kept as it is)
    start: int  # character offsets in the front matter, whole lines
    end: int
    value: yaml.Node
    value_end: int  # where the value's text ends (an inline comment may follow)


def _patch_front(front: str, changes: Mapping[str, object], removed: Collection[str], eol: str) -> str:
    if not changes and not removed:
        return front
    try:
        old = yaml.safe_load(front)
        entries = _entries(front)
    except yaml.YAMLError:
        old, entries = None, None
    old = {} if old is None and entries == [] else old
    if not isinstance(old, dict):
        return _to_eol(_dump(_expected({}, changes, removed)), eol)
    expected = _expected(old, changes, removed)
    if entries is not None:
        patched = _patch_spans(front, entries, changes, removed, eol)
        try:
            if (yaml.safe_load(patched) or {}) == expected:
                return patched
        except yaml.YAMLError:
            pass  # the safety net below writes a front matter that surely parses
    return _to_eol(_dump(expected), eol)


def _expected(old: Mapping[Any, object], changes: Mapping[str, object], removed: Collection[str]) -> dict[Any, object]:
    merged = {**old, **changes}
    return {k: v for k, v in merged.items() if k not in removed}


def _entries(front: str) -> list[_Entry] | None:
    """The top-level fields with the whole lines they span; None when the mapping is not a plain
    block mapping at column 0 (the only shape whose lines can be swapped one field at a time)."""
    root = yaml.compose(front, Loader=yaml.SafeLoader)
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    entries: list[_Entry] = []
    previous_end = 0
    for key_node, value_node in root.value:
        if key_node.start_mark.column != 0:
            return None
        start = front.rfind("\n", 0, key_node.start_mark.index) + 1
        value_end = max(key_node.end_mark.index, _last_index(value_node))
        line_end = front.find("\n", max(value_end - 1, start))
        end = len(front) if line_end < 0 else line_end + 1
        # A block scalar's end mark lies past the blank lines that follow it: leave those outside.
        while True:
            line_start = front.rfind("\n", start, end - 1) + 1
            if line_start <= start or not _BLANK_LINE.fullmatch(front, line_start, end):
                break
            end = line_start
        if start < previous_end:
            return None
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG else None
        entries.append(_Entry(key, start, end, value_node, value_end))
        previous_end = end
    return entries


def _last_index(node: yaml.Node) -> int:
    """Where the text of a value ends: a block collection's own end mark lies after the comments
    that follow it, so take the end of its last item instead."""
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _last_index(node.value[-1])
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        key, value = node.value[-1]
        return max(_last_index(key), _last_index(value))
    return int(node.end_mark.index)


def _patch_spans(front: str, entries: list[_Entry], changes: Mapping[str, object], removed: Collection[str],
                 eol: str) -> str:
    last_of = {e.key: e for e in entries if e.key is not None}
    out: list[str] = []
    position = 0
    for entry in entries:
        out.append(front[position:entry.start])
        position = entry.end
        key = entry.key
        if key is not None and (key in removed or (key in changes and last_of[key] is not entry)):
            continue  # dropped, or an earlier duplicate of a key that is rewritten below
        if key is None or key not in changes:
            out.append(front[entry.start:entry.end])
            continue
        text = _dump_entry(key, changes[key], entry.value)
        line = front[entry.start:entry.end]
        comment = _INLINE_COMMENT.match(front, entry.value_end)
        if comment and "\n" not in line.rstrip("\r\n") and text.count("\n") == 1:
            text = text[:-1] + comment.group() + "\n"  # keep `title: X  # why` comments
        out.append(_to_eol(text, eol))
    out.append(front[position:])
    for key, value in changes.items():
        if key not in last_of and key not in removed:
            out.append(_to_eol(_dump_entry(key, value, None), eol))
    return "".join(out)


def _dump_entry(key: object, value: object, like: yaml.Node | None) -> str:
    """`key: value` on one line where YAML allows, in the style of the value it replaces: a block
    list stays a block list, a quoted text stays quoted the same way."""
    stream = io.StringIO()
    dumper = yaml.SafeDumper(stream, allow_unicode=True, default_flow_style=None, sort_keys=False,
                             width=_NO_WRAP, line_break="\n")
    try:
        dumper.open()
        node = dumper.represent_data({key: value})
        assert isinstance(node, yaml.MappingNode)  # a dict is represented as a mapping
        node.flow_style = False  # `key: value`, not `{key: value}`
        value_node = node.value[0][1]
        block = (not like.flow_style) if isinstance(like, yaml.SequenceNode) else (like is None and key in BLOCK_LISTS)
        if block and isinstance(value_node, yaml.SequenceNode):
            value_node.flow_style = False
        if (isinstance(like, yaml.ScalarNode) and like.style in ("'", '"') and isinstance(value_node, yaml.ScalarNode)
                and value_node.tag == _STR_TAG):
            value_node.style = like.style  # the emitter falls back to '"' where "'" cannot say it
        dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def _dump(meta: Mapping[Any, object]) -> str:
    return "".join(_dump_entry(key, value, None) for key, value in meta.items())


def _to_eol(text: str, eol: str) -> str:
    return text if eol == "\n" else text.replace("\n", eol)


_NO_WRAP = 1_000_000_000  # a changed field stays on one line: no re-wrapping in the next diff


def split_text(text: str) -> tuple[dict[str, Any], str]:
    """(front matter as a mapping, body) of an article file; ({}, text) when it has none."""
    parts = layout(text)
    if parts is None:
        return {}, text
    try:
        meta = yaml.safe_load(parts.front)
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), parts.body


def set_status(text: str, status: str) -> str:
    """Change only the status line of the front matter, keeping the rest of the file as it is."""
    return patch_article(text, {"status": status})
