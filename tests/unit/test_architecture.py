"""ARCHITECTURE.md and docs/internals.md name the code a reader follows: every `kb.` name they
give still exists (a rename or a move that forgets the docs fails here)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "ARCHITECTURE.md", ROOT / "docs" / "internals.md"]
NAME = re.compile(r"`(kb(?:\.\w+)+)")


def resolves(name: str) -> bool:
    """`kb.a.b.C.d`: the longest importable module, then attributes."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_kb_name_in_the_architecture_docs_exists(doc: Path) -> None:
    names = sorted(set(NAME.findall(doc.read_text(encoding="utf-8"))))
    assert len(names) > 20, f"{doc.name} names almost nothing of the code"
    missing = [name for name in names if not resolves(name)]
    assert not missing, f"{doc.name} names code that does not exist: {missing}"


def test_the_overview_fits_on_one_page() -> None:
    words = len((ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").split())
    assert words <= 1_000, f"ARCHITECTURE.md has {words} words: the detail belongs in docs/internals.md"
