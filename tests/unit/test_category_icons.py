"""Category icons: `icon:` in categories.yaml, checked by the loader, drawn from static/icons.svg."""

from __future__ import annotations

import re
from pathlib import Path

from kb.config import PROJECT_ROOT
from kb.content.loader import load_categories
from kb.content.model import CATEGORY_ICONS, DEFAULT_CATEGORY_ICON, Problem

SPRITE = PROJECT_ROOT / "static" / "icons.svg"


def test_every_allowed_icon_is_a_symbol_of_the_sprite() -> None:
    symbols = set(re.findall(r'<symbol id="icon-([a-z-]+)"', SPRITE.read_text(encoding="utf-8")))
    assert symbols == set(CATEGORY_ICONS)


def _load(tmp_path: Path, text: str) -> tuple[dict[str, str], list[Problem]]:
    (tmp_path / "categories.yaml").write_text(text, encoding="utf-8")
    problems: list[Problem] = []
    categories = load_categories(tmp_path, problems)
    return {key: category.icon for key, category in categories.items()}, problems


def test_the_loader_reads_an_icon_and_defaults_to_a_folder(tmp_path: Path) -> None:
    icons, problems = _load(tmp_path, "billing:\n  title: Billing\n  icon: card\nmisc:\n  title: Misc\n")
    assert problems == []
    assert icons == {"billing": "card", "misc": DEFAULT_CATEGORY_ICON}


def test_an_unknown_icon_is_reported_at_its_category_line(tmp_path: Path) -> None:
    icons, problems = _load(tmp_path, "billing:\n  title: Billing\nmisc:\n  title: Misc\n  icon: rocket\n")
    assert [(p.line, p.message) for p in problems] == [
        (3, "category 'misc': unknown icon 'rocket'; one of: " + ", ".join(CATEGORY_ICONS))]
    assert icons["misc"] == DEFAULT_CATEGORY_ICON  # still shown, with the default icon


def test_the_sample_categories_each_choose_an_icon() -> None:
    problems: list[Problem] = []
    categories = load_categories(PROJECT_ROOT / "articles", problems)
    assert problems == []
    assert all(c.icon != DEFAULT_CATEGORY_ICON for c in categories.values())
