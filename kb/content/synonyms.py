"""Synonyms editors manage: `synonyms.yaml` at the top of the content tree, per language.

```yaml
en:
  equivalent:                       # any member finds what the others find
    - [refund, money back, reimbursement]
  one_way:                          # the key also finds its targets, not the reverse
    emergency: [urgent, outage]
```

Plain data (`Synonyms` per language, `SynonymSet` for the file), the loader (every problem as
`path:line: message`, read from PyYAML's node marks; a bad entry is left out, the rest served),
and the writers: `add_equivalent` (one group, the rest of the file byte-identical) and
`replace_section` (one language's text, for the web editor), both through kb.content.files.
Search applies them at query time (kb.search.synonyms): no re-index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb.content.files import FileChanged, file_revision, replace_if_unchanged
from kb.content.model import LANG_RE, ContentSet, Problem, Synonyms, SynonymSet, normalise_phrase
from kb.i18n import ui_languages

SYNONYMS_FILE = "synonyms.yaml"
SECTIONS = ("equivalent", "one_way")
MAX_PHRASE_CHARS = 100
WRITE_ATTEMPTS = 5  # add_equivalent retries when another writer changed the file meanwhile

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A top-level key of the file, at column 0: where a language's section starts.
_TOP_KEY_RE = re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^\s#:'"][^:#]*?))\s*:(?:\s|$)""")


class _Reader:
    """Walks one file's node tree, collecting the problems of its entries."""

    def __init__(self, shown: str, languages: Collection[str] | None) -> None:
        self.shown = shown
        self.languages = languages
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.shown, node.start_mark.line + 1, message))

    def entries(self, node: yaml.MappingNode, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
        """The key/value pairs of a mapping, with a problem for each key seen twice."""
        seen: dict[str, int] = {}
        kept = []
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            if name in seen:
                self.problem(key, f"duplicate {what} {name!r} (first on line {seen[name]})")
                continue
            seen[name] = key.start_mark.line + 1
            kept.append((key, value))
        return kept

    def phrase(self, node: yaml.Node) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, "a phrase must be text, not a list or a mapping")
            return None
        text = normalise_phrase(str(node.value))
        if not text:
            self.problem(node, "empty phrase")
            return None
        if len(text) > MAX_PHRASE_CHARS:
            self.problem(node, f"phrase longer than {MAX_PHRASE_CHARS} characters")
            return None
        return text

    def phrases(self, node: yaml.Node, what: str) -> list[tuple[yaml.Node, str]]:
        if isinstance(node, yaml.ScalarNode) and node.value and node.style is None and "," not in node.value:
            items: list[yaml.Node] = [node]  # `emergency: urgent`: one target
        elif isinstance(node, yaml.SequenceNode):
            items = list(node.value)
        else:
            self.problem(node, f"{what} must be a list of phrases, like [refund, money back]")
            return []
        found: list[tuple[yaml.Node, str]] = []
        for item in items:
            text = self.phrase(item)
            if text is None:
                continue
            if any(text == other for _, other in found):
                self.problem(item, f"{text!r} is twice in the same list")
                continue
            found.append((item, text))
        return found

    def language(self, node: yaml.Node) -> Synonyms:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return Synonyms()  # `pt:` with nothing under it yet
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "a language holds 'equivalent:' and 'one_way:'")
            return Synonyms()
        groups: list[tuple[str, ...]] = []
        one_way: list[tuple[str, tuple[str, ...]]] = []
        for key, value in self.entries(node, "section"):
            if key.value == "equivalent":
                groups = self.groups(value)
            elif key.value == "one_way":
                one_way = self.expansions(value)
            else:
                self.problem(key, f"unknown section {str(key.value)[:40]!r}; one of: {', '.join(SECTIONS)}")
        return Synonyms(tuple(groups), tuple(one_way))

    def groups(self, node: yaml.Node) -> list[tuple[str, ...]]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, "'equivalent' must be a list of groups, like - [refund, money back]")
            return []
        groups: list[tuple[str, ...]] = []
        member_line: dict[str, int] = {}
        for item in node.value:
            found = self.phrases(item, "a group")
            kept: list[str] = []
            for phrase_node, text in found:
                if text in member_line:
                    self.problem(phrase_node, f"{text!r} is already in the group on line {member_line[text]}")
                    continue
                kept.append(text)
            if len(found) < 2 and isinstance(item, yaml.SequenceNode):
                self.problem(item, "a group needs at least two phrases")
                continue
            if len(kept) >= 2:
                for text in kept:
                    member_line[text] = item.start_mark.line + 1
                groups.append(tuple(kept))
        return groups

    def expansions(self, node: yaml.Node) -> list[tuple[str, tuple[str, ...]]]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "'one_way' must map a phrase to the phrases it also finds")
            return []
        found: list[tuple[str, tuple[str, ...]]] = []
        keys: dict[str, int] = {}
        for key, value in self.entries(node, "one-way key"):
            source = self.phrase(key)
            targets = self.phrases(value, "the targets")
            if source is None:
                continue
            if source in keys:
                self.problem(key, f"duplicate one-way key {source!r} (first on line {keys[source]})")
                continue
            keys[source] = key.start_mark.line + 1
            kept = []
            for target_node, target in targets:
                if target == source:
                    self.problem(target_node, f"one-way key {source!r} is also its own target")
                else:
                    kept.append(target)
            if not targets and isinstance(value, yaml.SequenceNode):
                self.problem(value, f"one-way key {source!r} has no target")
            if kept:
                found.append((source, tuple(kept)))
        return found

    def document(self, node: yaml.Node | None) -> dict[str, Synonyms]:
        if node is None:
            return {}  # empty, or only comments
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "must map each language (en, pt, ...) to its synonyms")
            return {}
        languages: dict[str, Synonyms] = {}
        for key, value in self.entries(node, "language"):
            lang = str(key.value)
            if not LANG_RE.match(lang) or (self.languages is not None and lang not in self.languages):
                known = f"; one of: {', '.join(sorted(self.languages))}" if self.languages else ""
                self.problem(key, f"unknown language {lang[:20]!r}{known}")
                continue
            languages[lang] = self.language(value)
        return languages


def parse_synonyms(text: str, shown: str, languages: Collection[str] | None = None) -> tuple[SynonymSet, list[Problem]]:
    """The synonyms of a file's text and its problems; `languages` are the ones allowed (None: any
    two-letter code). Never raises for bad content."""
    reader = _Reader(shown, languages)
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        reason = str(getattr(exc, "problem", None) or exc).strip()
        line = mark.line + 1 if mark is not None else 1
        return SynonymSet(revision=file_revision(text.encode())), [Problem(shown, line, f"invalid YAML: {reason}")]
    found = reader.document(node)
    return SynonymSet(found, file_revision(text.encode("utf-8"))), sorted(reader.problems)


def read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None


def load_synonyms(root: Path, languages: Collection[str] | None = None) -> tuple[SynonymSet, list[Problem]]:
    """`root/synonyms.yaml`: a missing file is no synonyms, and no problem."""
    path = root / SYNONYMS_FILE
    shown = str(path)
    try:
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        return SynonymSet(), [Problem(shown, 1, f"cannot read: {exc}")]
    if text is None:
        return SynonymSet(), []
    return parse_synonyms(text, shown, languages)


# --- writing -------------------------------------------------------------------------------


class SynonymsRefused(ValueError):
    """The change cannot be written: the message says why (for a 422 or a CLI message)."""


def _flow(value: Any) -> str:
    """A phrase or a list of phrases as one line of YAML flow style, quoted where needed."""
    dumped: str = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30)
    return dumped.removesuffix("\n...\n").strip()


def _line_end(text: str, index: int) -> int:
    """The index just after the newline ending the line that holds `index` (or len(text))."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _append_item(text: str, sequence: yaml.SequenceNode, item: str) -> str:
    """`text` with `item` (flow YAML) appended to `sequence`, block or flow style."""
    if sequence.flow_style:
        close = sequence.end_mark.index - 1  # the "]"
        return text[:close] + (", " if sequence.value else "") + item + text[close:]
    last = sequence.value[-1]
    # A block collection ends where the next token starts (column 0 of a later line).
    at = last.end_mark.index if last.end_mark.column == 0 else _line_end(text, last.end_mark.index)
    line = " " * sequence.start_mark.column + "- " + item + "\n"
    if at > 0 and not text[:at].endswith("\n"):
        line = "\n" + line
    return text[:at] + line + text[at:]


def _after_value(text: str, key: yaml.Node, value: yaml.Node) -> int:
    """Where to insert lines after a block value (or after its key when it is empty)."""
    end = value.end_mark
    if isinstance(value, yaml.ScalarNode) and not value.value:
        return _line_end(text, key.end_mark.index)
    return end.index if end.column == 0 else _line_end(text, end.index)


def _with_group(text: str, lang: str, phrases: list[str]) -> str | None:
    """The file's text with `phrases` added as a group of `lang` (None: nothing to add)."""
    node = yaml.compose(text, Loader=_YAML_LOADER) if text.strip() else None
    group = _flow(phrases)
    block = f"  equivalent:\n    - {group}\n"
    if node is None:
        return text + ("" if not text or text.endswith("\n") else "\n") + f"{lang}:\n{block}"
    if not isinstance(node, yaml.MappingNode) or node.flow_style:
        raise SynonymsRefused(f"{SYNONYMS_FILE} is not a block mapping of languages: edit it by hand")
    entries = {str(k.value): (k, v) for k, v in node.value}
    if lang not in entries:
        at = node.end_mark.index if node.end_mark.column == 0 else _line_end(text, node.end_mark.index)
        prefix = "" if at == 0 or text[:at].endswith("\n") else "\n"
        return text[:at] + prefix + f"{lang}:\n{block}" + text[at:]
    key, value = entries[lang]
    indent = " " * (key.start_mark.column + 2)
    if isinstance(value, yaml.ScalarNode) and not value.value:
        at = _line_end(text, key.end_mark.index)
        return text[:at] + f"{indent}equivalent:\n{indent}  - {group}\n" + text[at:]
    if not isinstance(value, yaml.MappingNode) or value.flow_style:
        raise SynonymsRefused(f"{lang!r} in {SYNONYMS_FILE} is not a block mapping: edit it by hand")
    sections = {str(k.value): (k, v) for k, v in value.value}
    if "equivalent" not in sections:
        at = _after_value(text, key, value)
        indent = " " * value.start_mark.column
        return text[:at] + f"{indent}equivalent:\n{indent}  - {group}\n" + text[at:]
    section_key, groups = sections["equivalent"]
    if isinstance(groups, yaml.ScalarNode) and not groups.value:
        at = _line_end(text, section_key.end_mark.index)
        return text[:at] + f"{indent}  - {group}\n" + text[at:]
    if not isinstance(groups, yaml.SequenceNode):
        raise SynonymsRefused(f"'equivalent' of {lang!r} is not a list: edit it by hand")
    wanted = [normalise_phrase(p) for p in phrases]
    overlapping = [g for g in groups.value if isinstance(g, yaml.SequenceNode)
                   and {normalise_phrase(str(getattr(m, "value", ""))) for m in g.value} & set(wanted)]
    if len(overlapping) > 1:
        raise SynonymsRefused("these phrases are already in two different groups")
    if overlapping:  # join the group that has one of them
        existing = overlapping[0]
        members = {normalise_phrase(str(getattr(m, "value", ""))) for m in existing.value}
        new = [p for p in phrases if normalise_phrase(p) not in members]
        if not new:
            return None
        for phrase in new:
            text = _append_item(text, existing, _flow(phrase))
            existing = _reparse_group(text, lang, existing.start_mark.line)
        return text
    return _append_item(text, groups, group)


def _reparse_group(text: str, lang: str, line: int) -> yaml.SequenceNode:
    """The group starting on `line` of `lang`, in the text as it is now."""
    node = yaml.compose(text, Loader=_YAML_LOADER)
    assert isinstance(node, yaml.MappingNode)  # it was one a moment ago: only we changed it
    value = {str(k.value): v for k, v in node.value}[lang]
    groups = {str(k.value): v for k, v in value.value}["equivalent"]
    found: yaml.SequenceNode = next(g for g in groups.value if g.start_mark.line == line)
    return found


def add_equivalent(path: Path, lang: str, phrases: Sequence[str], *, lock: Path) -> bool:
    """Add a group of equivalent `phrases` to `lang` in the synonyms file at `path`.

    When one phrase is already in a group, the others join that group. The rest of the file
    (comments, other languages, other groups) stays byte for byte. The write goes through
    kb.content.files.replace_if_unchanged under `lock` (the editors' lock file,
    `Workspace.lock_file`): a file changed meanwhile by another writer is read again.
    Returns False when every phrase was already there. Raises SynonymsRefused (a phrase is
    empty, fewer than two phrases, they span two groups, the result would not load cleanly).
    Callers reload the Site afterwards (or let the watcher do it).
    """
    if not LANG_RE.match(lang):
        raise SynonymsRefused(f"unknown language {lang[:20]!r}")
    cleaned = list(dict.fromkeys(" ".join(unicodedata.normalize("NFKC", p).split()) for p in phrases))
    if any(not p or len(p) > MAX_PHRASE_CHARS for p in cleaned):
        raise SynonymsRefused(f"a phrase must have 1 to {MAX_PHRASE_CHARS} characters")
    if len({normalise_phrase(p) for p in cleaned}) < 2:
        raise SynonymsRefused("a group needs at least two different phrases")
    for _ in range(WRITE_ATTEMPTS):
        text = read_text(path)
        before = text or ""
        try:
            changed = _with_group(before, lang, cleaned)
        except yaml.YAMLError as exc:
            raise SynonymsRefused(f"{SYNONYMS_FILE} is not valid YAML now: fix it first ({exc})") from None
        if changed is None:
            return False
        _, problems = parse_synonyms(changed, str(path))
        _, problems_before = parse_synonyms(before, str(path))
        if len(problems) > len(problems_before):
            raise SynonymsRefused(f"the group would not load: {problems[0]}")
        expected = file_revision(text.encode("utf-8")) if text is not None else None
        try:
            replace_if_unchanged(path, changed, expected, lock)
        except FileChanged:
            continue
        return True
    raise SynonymsRefused(f"{SYNONYMS_FILE} keeps changing: try again")


# --- one language's section, for the web editor ------------------------------------------------


@dataclass(frozen=True)
class Section:
    """The lines of one language in the file: [start, end) are 0-based line numbers of its body
    (after the `lang:` line); `text` is that body dedented, as the editor shows it."""

    lang: str
    key_line: int  # -1: not in the file
    start: int
    end: int
    text: str
    indent: int


def _top_keys(lines: list[str]) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(lines):
        match = _TOP_KEY_RE.match(line)
        if match:
            found.append((number, next(g for g in match.groups() if g is not None).strip()))
    return found


def section(text: str, lang: str) -> Section:
    """The section of `lang` (line-based, so it works on a file that does not parse)."""
    lines = text.splitlines(keepends=True)
    keys = _top_keys(lines)
    for index, (number, name) in enumerate(keys):
        if name != lang:
            continue
        end = keys[index + 1][0] if index + 1 < len(keys) else len(lines)
        while end > number + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1  # blank lines and column-0 comments before the next language stay outside
        body = lines[number + 1:end]
        inline = lines[number].split(":", 1)[1].strip() if ":" in lines[number] else ""
        if inline and not inline.startswith("#"):  # `en: {equivalent: ...}`: shown as block YAML
            data = yaml.safe_load(lines[number].split(":", 1)[1]) or {}
            return Section(lang, number, number + 1, end, yaml.safe_dump(data, allow_unicode=True, sort_keys=False), 2)
        indents = [len(line) - len(line.lstrip(" ")) for line in body if line.strip() and not line.lstrip().startswith("#")]
        indent = min(indents) if indents else 2
        dedented = "".join(line[min(indent, len(line) - len(line.lstrip(" "))):] for line in body)
        return Section(lang, number, number + 1, end, dedented, indent)
    return Section(lang, -1, len(lines), len(lines), "", 2)


def replace_section(text: str, lang: str, body: str) -> tuple[str, int]:
    """The file's text with `lang`'s section replaced by `body` (dedented YAML, as typed), and the
    0-based line where the body starts in the new text (to map problems back to the form)."""
    found = section(text, lang)
    body = body.replace("\r\n", "\n")
    indented = "".join((" " * found.indent + line) if line.strip() else line.lstrip(" ")
                       for line in body.splitlines(keepends=True))
    if indented and not indented.endswith("\n"):
        indented += "\n"
    lines = text.splitlines(keepends=True)
    if found.key_line < 0:
        if not indented.strip():
            return text, len(lines)
        head = "".join(lines)
        if head and not head.endswith("\n"):
            head += "\n"
        return head + f"{lang}:\n" + indented, head.count("\n") + 1
    key = lines[found.key_line]
    if ":" in key and key.split(":", 1)[1].strip() and not key.split(":", 1)[1].strip().startswith("#"):
        key = f"{lang}:\n"
    new = lines[:found.key_line] + [key] + [indented] + lines[found.end:]
    return "".join(new), found.key_line + 1


def save_section(path: Path, lang: str, body: str, expected: str | None, *, lock: Path,
                 languages: Collection[str] | None = None) -> tuple[str, list[Problem], int]:
    """Replace `lang`'s section if the file's revision is still `expected` (None: absent) and the
    result has no problem. Returns (new text, problems, first line of the body): nothing is
    written when there are problems. Raises FileChanged (kb.content.files) on a conflict."""
    current = read_text(path)
    changed, first = replace_section(current or "", lang, body)
    _, problems = parse_synonyms(changed, str(path), languages)
    if not problems:
        replace_if_unchanged(path, changed, expected, lock)
    return changed, problems, first


def load_into(content: ContentSet) -> None:
    """Give a loaded content tree its synonyms; their problems join the content's."""
    content.synonyms, problems = load_synonyms(content.root, known_languages(content.root, ui_languages()))
    content.problems = sorted(content.problems + problems)


def known_languages(root: Path, extra: Iterable[str] = ()) -> frozenset[str]:
    """The languages synonyms may be given for: the content's language folders and `extra`."""
    try:
        folders = {p.name for p in root.iterdir() if p.is_dir() and LANG_RE.match(p.name)}
    except OSError:
        folders = set()
    return frozenset(folders | set(extra))
