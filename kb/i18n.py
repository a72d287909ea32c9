"""Languages: negotiation, gettext catalogs (Babel .po files in kb/locale) and formatting."""

from __future__ import annotations

import io
from datetime import date
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def ui_languages() -> tuple[str, ...]:
    """Languages with a complete UI catalog (English is the source language)."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {"en"}))


@cache
def translations(lang: str) -> NullTranslations:
    """Compile the .po catalog in memory: no generated .mo files to keep in sync."""
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a counted message for extraction (babel.cfg's `keywords = N_plural:1,2`); it is
    translated later with `ngettext`, where the language and the count are known."""
    return singular, plural


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def parse_accept_language(header: str) -> list[str]:
    """Language tags ordered by preference (q-values), best first."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(header: str | None, available: tuple[str, ...] | list[str], default: str) -> str:
    """Pick the best of `available` (primary tags like 'pt') for an Accept-Language header."""
    for tag in parse_accept_language(header or ""):
        primary = tag.split("-")[0]
        if primary in available:
            return primary
    return default if default in available or not available else available[0]


@cache
def language_name(lang: str) -> str:
    """The language's own name for itself ('português'), for language switchers."""
    try:
        name = Locale.parse(lang).get_display_name(lang) or lang
    except (UnknownLocaleError, ValueError):
        return lang
    return name[:1].upper() + name[1:]


def format_day(value: date, lang: str) -> str:
    try:
        return format_date(value, format="long", locale=lang)
    except (UnknownLocaleError, ValueError):
        return value.isoformat()


def format_number(value: float, lang: str) -> str:
    try:
        return format_decimal(value, locale=lang)
    except (UnknownLocaleError, ValueError):
        return str(value)
