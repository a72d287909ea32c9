"""Every UI string is translatable, and the shipped catalogs are complete."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from kb.config import PROJECT_ROOT
from kb.i18n import negotiate, parse_accept_language, ui_languages
from tests.conftest import catalog_tests


def test_accept_language_is_ordered_by_quality() -> None:
    assert parse_accept_language("fr;q=0.5, pt-BR, en;q=0.8, *;q=0.1") == ["pt-br", "en", "fr"]
    assert negotiate("de, fr;q=0.9", ("en", "fr"), "en") == "fr"
    assert negotiate("", ("en", "fr"), "en") == "en"
    assert negotiate("garbage;;;q=x", ("pt",), "en") == "pt"


SHIPPED = ("en", "pt", "fr", "de", "it", "es")


def test_catalogs_exist_for_the_six_languages_of_the_site() -> None:
    assert set(ui_languages()) >= set(SHIPPED)


def test_accept_language_picks_each_shipped_language() -> None:
    for lang in SHIPPED:
        assert negotiate(f"{lang}-CH, en;q=0.5", SHIPPED, "en") == lang
    assert negotiate("ru, es-MX;q=0.8, de;q=0.7", SHIPPED, "en") == "es"


@catalog_tests
def test_catalogs_hold_every_string_of_the_code_and_templates_translated(messages_pot: Path) -> None:
    with messages_pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    # every catalog on disk, not a fixed list: a language added later is held to the same rule
    checked = [lang for lang in ui_languages() if lang != "en"]
    assert set(checked) >= set(SHIPPED) - {"en"}
    for lang in checked:
        path = PROJECT_ROOT / "kb" / "locale" / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        translated = {
            (m.id if isinstance(m.id, str) else m.id[0]) for m in catalog
            if m.id and m.string and (isinstance(m.string, str) or all(m.string)) and not m.fuzzy
        }
        missing = sorted(wanted - translated)
        assert not missing, f"{lang}: untranslated UI strings: {missing}"
