"""Policy: one accepted version of the policy data, and what the site asks of it.

Keys are dotted paths such as `premium.commitment.months`; `Policy.resolve` walks document and
schema together and says what kind of value a key holds, which is how snippets
(kb.render.snippets) know what to draw. `localize` reduces texts to one language (the API's
?lang=), `flat` and `changed_keys` compare versions (the CLI's diff, the live service's
announcements of affected articles).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from kb.content.model import LANG_RE
from kb.policy.schema import (
    DEFAULT_LANG,
    KEY_RE,
    SCHEMA,
    Spec,
    canonical_json,
    validate,
    version_of,
    walk,
)

Day_ = date  # Policy has a field named `date`; annotations inside it use this name


@dataclass(frozen=True)
class Resolved:
    """What a key holds: its kind (text, count, offers, ...), its value and its schema."""

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
                   keys=tuple(k for k, _ in walk(SCHEMA, data)))

    @classmethod
    def from_stored(cls, document: str, *, source: str, accepted_at: str) -> Policy:
        """A version as kb.storage.policy keeps it: canonical JSON, accepted at 'YYYY-MM-DD ...'.
        Raises PolicyError when today's schema no longer accepts it."""
        return cls.from_data(json.loads(document), source=source, accepted=accepted_day(accepted_at))

    def resolve(self, key: str) -> Resolved | None:
        """What `key` holds, or None when the document has no such key."""
        if not KEY_RE.match(key):
            return None
        spec: Spec = SCHEMA
        value: Any = self.data
        for part in key.split("."):
            found = spec.child(part, value)
            if found is None:
                return None
            spec, value = found
        return Resolved(key, spec.kind, value, spec)

    def get(self, key: str) -> Any:
        found = self.resolve(key)
        return None if found is None else found.value

    def offers(self) -> list[tuple[str, dict[str, Any]]]:
        """Premium offers from the lowest level to the highest."""
        return sorted(self.data["premium"]["offers"].items(), key=lambda item: item[1]["level"])

    def offer_name(self, key: str) -> dict[str, str]:
        """The texts of one premium offer's name (validation made sure referenced offers exist)."""
        name: dict[str, str] = self.data["premium"]["offers"][key]["name"]
        return name

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


def accepted_day(timestamp: str) -> date:
    """The day of a stored acceptance time (SQLite's 'YYYY-MM-DD HH:MM:SS')."""
    return date.fromisoformat(timestamp[:10])


def text_in(value: Mapping[str, str], lang: str) -> str:
    return value.get(lang) or value[DEFAULT_LANG]


def localize(value: Any, lang: str) -> Any:
    """The document with every text reduced to `lang` (for the API's ?lang=)."""
    if isinstance(value, dict):
        if value and all(LANG_RE.match(k) for k in value) and DEFAULT_LANG in value \
                and all(isinstance(v, str) for v in value.values()):
            return text_in(value, lang)
        return {k: localize(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [localize(v, lang) for v in value]
    return value


def keys_overlap(used: str, changed: str) -> bool:
    """A snippet showing `used` is affected when `changed` is it, inside it or contains it."""
    return used == changed or changed.startswith(used + ".") or used.startswith(changed + ".")


def _flatten(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if value and all(LANG_RE.match(k) for k in value) and all(isinstance(v, str) for v in value.values()):
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
