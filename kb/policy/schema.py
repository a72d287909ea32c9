"""Policy data: the validated document articles show through snippets (kb.render.snippets).

A document is checked against SCHEMA, every problem collected at once as (dotted key, message).
An accepted document is normalised (dates as ISO text, keys sorted) and its version is the hash
of its canonical JSON, so equal data always has the same version whatever its source or layout.
Keys are dotted paths such as `premium.commitment.months`; `Policy.resolve` walks document and
schema together and says what kind of value a key holds, which is how snippets know what to draw.

Sources (the YAML file, the live HTTP service), watching and stored versions live in
kb.policy.live; this module does no I/O except reading the file it is asked to parse.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from kb.content.model import Problem, display_path

POLICY_FILE = "policy.yaml"
DEFAULT_LANG = "en"
KEY_RE = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_-]+)*$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_LANG_RE = re.compile(r"^[a-z]{2}$")
Day_ = date  # Policy has a field named `date`; annotations inside it use this name


class PolicyError(Exception):
    """A document that cannot be accepted; `problems` are (dotted key or '', message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in problems))
        self.problems = problems


# --- the schema ---------------------------------------------------------------------------------
# Each node validates (and normalises) one value and has a `kind` snippets dispatch on.


class Spec:
    kind = "value"

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        raise NotImplementedError


class Text(Spec):
    """Text shown to readers: one string, or a mapping of language -> string with English."""

    kind = "text"

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if isinstance(value, str) and value.strip():
            return {DEFAULT_LANG: value.strip()}
        if isinstance(value, Mapping) and value:
            bad = [str(k) for k in value if not _LANG_RE.match(str(k))]
            if bad:
                problems.append((path, f"languages must be two-letter codes such as en, not {bad[0]!r}"))
                return None
            empty = [str(k) for k, v in value.items() if not isinstance(v, str) or not v.strip()]
            if empty:
                problems.append((path, f"the {empty[0]} text must be non-empty text"))
                return None
            if DEFAULT_LANG not in value:
                problems.append((path, f"needs an English ({DEFAULT_LANG}) text, the fallback for other languages"))
                return None
            return {str(k): str(v).strip() for k, v in value.items()}
        problems.append((path, "must be text, or a mapping of language to text (en: ..., pt: ..., fr: ...)"))
        return None


class Count(Spec):
    """A whole number of some unit (months, hours), shown with its unit."""

    kind = "count"

    def __init__(self, unit: str, minimum: int = 0) -> None:
        self.unit = unit
        self.minimum = minimum

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append((path, f"must be a whole number of {self.unit}, not {value!r}"))
            return None
        if value < self.minimum:
            problems.append((path, f"must be at least {self.minimum}, not {value}"))
            return None
        return value


class Url(Spec):
    kind = "url"

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        parsed = urlparse(value) if isinstance(value, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append((path, f"must be an http(s) address, not {value!r}"))
            return None
        return value


class Day(Spec):
    kind = "date"

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        problems.append((path, f"must be a date like 2026-01-31, not {value!r}"))
        return None


class Languages(Spec):
    """Language codes (shown as language names in the reader's language)."""

    kind = "languages"

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and _LANG_RE.match(v) for v in value
        ):
            problems.append((path, "must be a list of two-letter language codes, e.g. [fr, en]"))
            return None
        return list(value)


class OfferRefs(Spec):
    """Keys of offers in the sibling `offers` mapping (checked once the whole document is read)."""

    kind = "offer_refs"

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append((path, "must be a list of offer keys, e.g. [pro, enterprise]"))
            return None
        return list(value)


class ListOf(Spec):
    kind = "list"

    def __init__(self, item: Spec, *, minimum: int = 1) -> None:
        self.item = item
        self.minimum = minimum

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if not isinstance(value, list):
            problems.append((path, "must be a list"))
            return None
        if len(value) < self.minimum:
            problems.append((path, f"needs at least {self.minimum} entr{'y' if self.minimum == 1 else 'ies'}"))
            return None
        checked = [self.item.check(v, f"{path}.{i + 1}", problems) for i, v in enumerate(value)]
        return None if any(c is None for c in checked) else checked


class Record(Spec):
    """A mapping with known fields; unknown fields are reported (they are usually typos)."""

    def __init__(self, kind: str, fields: dict[str, Spec], optional: frozenset[str] = frozenset()) -> None:
        self.kind = kind
        self.fields = fields
        self.optional = optional

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if not isinstance(value, Mapping):
            problems.append((path or "(document)", "must be a mapping of field: value"))
            return None
        before = len(problems)
        out: dict[str, Any] = {}
        for name, spec in self.fields.items():
            sub = f"{path}.{name}" if path else name
            if value.get(name) in (None, "", [], {}):
                if name not in self.optional:
                    problems.append((sub, "missing"))
                continue
            out[name] = spec.check(value[name], sub, problems)
        for name in value:
            if str(name) not in self.fields:
                sub = f"{path}.{name}" if path else str(name)
                problems.append((sub, f"unknown field (known: {', '.join(self.fields)})"))
        return out if len(problems) == before else None


class Named(Spec):
    """A mapping of names (offer keys, code keys) to records of one shape."""

    def __init__(self, kind: str, item: Record) -> None:
        self.kind = kind
        self.item = item

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if not isinstance(value, Mapping) or not value:
            problems.append((path, "must be a non-empty mapping of key: fields"))
            return None
        before = len(problems)
        out = {}
        for name, item in value.items():
            if not isinstance(name, str) or not _NAME_RE.match(name):
                problems.append((f"{path}.{name}", "keys must be lowercase letters, digits, '_' and '-'"))
                continue
            out[name] = self.item.check(item, f"{path}.{name}", problems)
        return out if len(problems) == before else None


OFFER = Record("offer", {"name": Text(), "level": Count("levels", 1), "response_hours": Count("hours", 1)})
CODE = Record("code", {
    "name": Text(), "what": Text(), "who": Text(), "where": ListOf(Text()),
    "not_to_confuse": Text(), "access": Text(),
}, optional=frozenset({"not_to_confuse", "access"}))
SCOPE = Record("scope", {"in": ListOf(Text()), "out": ListOf(Text())})

SCHEMA = Record("document", {
    "updated": Day(),
    "standard": Record("product", {"name": Text(), "cost": Text(), "phone": Text(), "email": Text()}),
    "premium": Record("product", {
        "name": Text(),
        "cost": Text(),
        "benefits": ListOf(Text()),
        "managed_in": Text(),
        "commitment": Record("commitment", {"months": Count("months", 1), "rule": Text()}),
        "refund": Record("refund", {"rule": Text(), "cases": ListOf(Text(), minimum=0)},
                         optional=frozenset({"cases"})),
        "change": Record("change", {"rule": Text()}),
        "response_time": Record("response_time", {"definition": Text()}),
        "offers": Named("offers", OFFER),
        "emergency": Record("emergency", {
            "offers": OfferRefs(), "purpose": Text(), "languages": Languages(),
        }),
        "scope": SCOPE,
        "terms": Record("terms", {"title": Text(), "url": Url()}),
    }),
    "codes": Named("codes", CODE),
}, optional=frozenset({"updated", "standard"}))


def validate(data: Any) -> dict[str, Any]:
    """The normalised document, or PolicyError with every problem found."""
    problems: list[tuple[str, str]] = []
    checked = SCHEMA.check(data, "", problems)
    if checked is not None:
        premium = checked["premium"]
        offers = premium["offers"]
        for index, ref in enumerate(premium["emergency"]["offers"], start=1):
            if ref not in offers:
                problems.append((f"premium.emergency.offers.{index}",
                                 f"unknown offer {ref!r} (one of {', '.join(offers)})"))
        levels = [o["level"] for o in offers.values()]
        if len(set(levels)) != len(levels):
            problems.append(("premium.offers", "two offers share a level; levels order the offers"))
    if problems or checked is None:
        raise PolicyError(problems or [("", "invalid document")])
    return json.loads(canonical_json(checked))


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def version_of(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()[:16]


# --- lookups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    key: str
    kind: str
    value: Any
    spec: Spec


@dataclass(frozen=True)
class Policy:
    """One accepted version of the policy data."""

    data: dict[str, Any]
    version: str
    date: date  # shown as "as of": the document's `updated`, else when the version was accepted
    source: str = ""
    keys: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_data(cls, raw: Any, *, source: str = "", accepted: Day_ | None = None) -> Policy:
        data = validate(raw)
        when = date.fromisoformat(data["updated"]) if "updated" in data else (
            accepted or datetime.now(UTC).date())
        return cls(data=data, version=version_of(data), date=when, source=source,
                   keys=tuple(k for k, _ in _walk(SCHEMA, data, "")))

    def resolve(self, key: str) -> Resolved | None:
        """What `key` holds, or None when the document has no such key."""
        if not KEY_RE.match(key):
            return None
        spec: Spec = SCHEMA
        value: Any = self.data
        for part in key.split("."):
            if isinstance(spec, Record) and part in spec.fields and isinstance(value, dict) and part in value:
                spec, value = spec.fields[part], value[part]
            elif isinstance(spec, Named) and isinstance(value, dict) and part in value:
                spec, value = spec.item, value[part]
            else:
                return None
        return Resolved(key, spec.kind, value, spec)

    def get(self, key: str) -> Any:
        found = self.resolve(key)
        return None if found is None else found.value

    def offers(self) -> list[tuple[str, dict[str, Any]]]:
        """Premium offers from the lowest level to the highest."""
        return sorted(self.data["premium"]["offers"].items(), key=lambda item: item[1]["level"])

    def flat(self) -> dict[str, str]:
        """Every leaf value as `dotted.key[lang]` -> text, for diffs and the CLI."""
        return dict(_flatten(self.data, ""))

    def changed_keys(self, other: Policy | None) -> set[str]:
        """Leaf keys (without the language) whose value differs between the two versions."""
        mine = self.flat()
        theirs = other.flat() if other is not None else {}
        changed = {_strip_lang(k) for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)}
        if other is None or other.date != self.date:
            changed.add("updated")
        return changed

    def to_json(self) -> str:
        return canonical_json(self.data)


def text_in(value: Mapping[str, str], lang: str) -> str:
    return value.get(lang) or value[DEFAULT_LANG]


def localize(value: Any, lang: str) -> Any:
    """The document with every text reduced to `lang` (for the API's ?lang=)."""
    if isinstance(value, dict):
        if value and all(_LANG_RE.match(k) for k in value) and DEFAULT_LANG in value \
                and all(isinstance(v, str) for v in value.values()):
            return text_in(value, lang)
        return {k: localize(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [localize(v, lang) for v in value]
    return value


def keys_overlap(used: str, changed: str) -> bool:
    """A snippet showing `used` is affected when `changed` is it, inside it or contains it."""
    return used == changed or changed.startswith(used + ".") or used.startswith(changed + ".")


def _walk(spec: Spec, value: Any, path: str) -> Iterator[tuple[str, Spec]]:
    if path:
        yield path, spec
    if isinstance(spec, Record) and isinstance(value, dict):
        for name, sub in spec.fields.items():
            if name in value:
                yield from _walk(sub, value[name], f"{path}.{name}" if path else name)
    elif isinstance(spec, Named) and isinstance(value, dict):
        for name, item in value.items():
            yield from _walk(spec.item, item, f"{path}.{name}")


def _flatten(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if value and all(_LANG_RE.match(k) for k in value) and all(isinstance(v, str) for v in value.values()):
            for lang, text in sorted(value.items()):
                yield f"{path}[{lang}]", text
            return
        for name, sub in value.items():
            yield from _flatten(sub, f"{path}.{name}" if path else name)
    elif isinstance(value, list):
        for index, sub in enumerate(value, start=1):
            yield from _flatten(sub, f"{path}.{index}")
    else:
        yield path, json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _strip_lang(flat_key: str) -> str:
    return flat_key.split("[", 1)[0]


# --- parsing sources ----------------------------------------------------------------------------


def parse_yaml(text: str, *, source: str, accepted: date | None = None) -> Policy:
    """Parse policy.yaml; PolicyError problems carry the dotted key (or 'line N')."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise PolicyError([(where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}")]) from None
    return Policy.from_data(raw, source=source, accepted=accepted)


def parse_json(body: bytes, *, source: str, accepted: date | None = None) -> Policy:
    try:
        raw = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PolicyError([("", f"invalid JSON: {exc}")]) from None
    if isinstance(raw, dict) and {"version", "values"} <= set(raw):  # another kb's /api/v1/policies
        raw = raw["values"]
    return Policy.from_data(raw, source=source, accepted=accepted)


def key_lines(text: str) -> dict[str, int]:
    """Dotted key -> 1-based line in a YAML text (list items are numbered from 1)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def visit(current: yaml.Node, path: str) -> None:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                sub = f"{path}.{key_node.value}" if path else str(key_node.value)
                lines[sub] = key_node.start_mark.line + 1
                visit(value_node, sub)
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value, start=1):
                sub = f"{path}.{index}"
                lines[sub] = item.start_mark.line + 1
                visit(item, sub)

    if node is not None:
        visit(node, "")
    return lines


def file_problems(root: Path, text: str, error: PolicyError) -> list[Problem]:
    """An invalid policy.yaml's problems as path:line: message, like articles'."""
    shown = display_path(root, Path(POLICY_FILE))
    lines = key_lines(text)
    found = []
    for key, message in error.problems:
        if key.startswith("line "):
            found.append(Problem(shown, int(key[5:]), message))
            continue
        line = 1
        parts = key.split(".") if key else []
        while parts:  # the closest key that exists in the file
            candidate = ".".join(parts)
            if candidate in lines:
                line = lines[candidate]
                break
            parts.pop()
        found.append(Problem(shown, line, f"{key}: {message}" if key else message))
    return sorted(found)


def load_file(root: Path) -> tuple[Policy | None, list[Problem]]:
    """The content tree's policy.yaml: (policy, []) or (None, problems); no file is no problem."""
    path = root / POLICY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(display_path(root, Path(POLICY_FILE)), 1, f"cannot read: {exc}")]
    try:
        return parse_yaml(text, source=POLICY_FILE), []
    except PolicyError as exc:
        return None, file_problems(root, text, exc)
