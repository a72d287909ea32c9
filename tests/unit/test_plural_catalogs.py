"""A message that counts something is translated with ngettext, in every plural form each
language's catalog declares (pt, fr, it and es have three: one, many, other; de has two)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from kb.config import PROJECT_ROOT
from kb.i18n import ui_languages
from tests.conftest import catalog_tests

# What a counted message calls its number (ngettext's num, or count in kb's N_plural messages).
COUNTED = re.compile(r"%\((num|count)\)[sd]")


def extracted(pot: Path) -> Catalog:
    with pot.open("rb") as handle:
        return read_po(handle)


@catalog_tests
def test_every_counted_message_has_a_plural_form_in_every_catalog(messages_pot: Path) -> None:
    messages = list(extracted(messages_pot))
    singular = sorted(m.id for m in messages if isinstance(m.id, str) and COUNTED.search(m.id))
    assert not singular, f"counted messages built without ngettext / N_plural: {singular}"
    plural = {m.id[0]: m.id[1] for m in messages if isinstance(m.id, tuple)}
    assert "%(count)s broken link; line %(line)s: %(problem)s" in plural  # N_plural in kb/health is extracted
    for lang in (lang for lang in ui_languages() if lang != "en"):
        path = PROJECT_ROOT / "kb" / "locale" / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for one, other in plural.items():
            entry = catalog.get((one, other)) or catalog.get(one)
            assert entry is not None, f"{lang}: {one!r} is missing"
            assert isinstance(entry.id, tuple) and entry.id[1] == other, f"{lang}: {one!r} is not a plural entry"
            forms = entry.string
            assert isinstance(forms, tuple) and len(forms) == catalog.num_plurals and all(forms), \
                f"{lang}: {one!r} needs {catalog.num_plurals} forms, has {forms!r}"
