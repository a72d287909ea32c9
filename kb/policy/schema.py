"""The policy document's schema: what a valid document is, and its version.

A document is checked against SCHEMA, every problem collected at once as (dotted key, message).
An accepted document is normalised (dates as ISO text, keys sorted) and its version is the hash
of its canonical JSON, so equal data always has the same version whatever its source or layout.
Each node of the schema also knows how to step into its value (`child`, `names`), which is how
kb.policy.document resolves dotted keys and says what kind of value a key holds.

This module does no I/O: reading policy.yaml or the live service is kb.policy.sources'.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

from kb.content.model import LANG_RE

DEFAULT_LANG = "en"
KEY_RE = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_-]+)*$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class PolicyError(Exception):
    """A document that cannot be accepted; `problems` are (dotted key or '', message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in problems))
        self.problems = problems


# --- the schema ---------------------------------------------------------------------------------
# Each node validates (and normalises) one value and has a `kind` snippets dispatch on.


class Spec:
    kind = "value"
    unit = ""  # what a count counts (months, hours); snippets pick the words by it

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        raise NotImplementedError

    def child(self, name: str, value: Any) -> tuple[Spec, Any] | None:
        """The schema and value of `name` inside `value`, None when there is no such part."""
        return None

    def names(self, value: Any) -> list[str]:
        """The parts of `value` that have their own key, in document order."""
        return []


class Text(Spec):
    """Text shown to readers: one string, or a mapping of language -> string with English."""

    kind = "text"

    def check(self, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
        if isinstance(value, str) and value.strip():
            return {DEFAULT_LANG: value.strip()}
        if isinstance(value, Mapping) and value:
            bad = [str(k) for k in value if not LANG_RE.match(str(k))]
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
            isinstance(v, str) and LANG_RE.match(v) for v in value
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

    def child(self, name: str, value: Any) -> tuple[Spec, Any] | None:
        if name in self.fields and isinstance(value, dict) and name in value:
            return self.fields[name], value[name]
        return None

    def names(self, value: Any) -> list[str]:
        return [name for name in self.fields if isinstance(value, dict) and name in value]


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

    def child(self, name: str, value: Any) -> tuple[Spec, Any] | None:
        if isinstance(value, dict) and name in value:
            return self.item, value[name]
        return None

    def names(self, value: Any) -> list[str]:
        return list(value) if isinstance(value, dict) else []


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
    normalised: dict[str, Any] = json.loads(canonical_json(checked))  # dates as text, keys sorted
    return normalised


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def version_of(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()[:16]


def walk(spec: Spec, value: Any, path: str = "") -> Iterator[tuple[str, Spec]]:
    """Every key of a validated document with its schema, parents before their parts."""
    if path:
        yield path, spec
    for name in spec.names(value):
        found = spec.child(name, value)
        if found is not None:
            yield from walk(found[0], found[1], f"{path}.{name}" if path else name)
