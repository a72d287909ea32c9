"""A watcher's reload of the files it names updates the loaded site in place (time proportional
to the change): it must leave the site exactly as a full load of the tree would."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import kb.content.site as site_module
from kb.content import update
from kb.content.site import Change, Site
from tests.conftest import ContentTree

LANGS = ("en", "fr")
TITLES = ["Router lights", "Modem setup", "Refunds", "Invoices", "Password reset", "Get it"]


def _state(site: Site) -> dict[str, Any]:
    catalog = site._catalog

    def keys(lists: dict[str | None, list[Any]]) -> dict[str | None, list[Any]]:
        return {lang: [a.key for a in listed] for lang, listed in lists.items()}

    return {
        "articles": [(key, a.revision) for key, a in site.content.articles.items()],
        "problems": site.content.problems,
        "languages": site.languages,
        "published": keys(catalog.published),
        "staff": keys(catalog.staff),
        "versions": {i: {lang: a.key for lang, a in v.items()} for i, v in catalog.versions.items()},
        "counts": catalog.counts,
        "internal": catalog.internal_counts,
        "by_path": {path: a.key for path, a in catalog.by_path.items()},
    }


def _write(tree: ContentTree, rng: random.Random, lang: str, number: int) -> Path:
    """An article with random fields; now and then one with a problem."""
    slug = f"page-{number}"
    if rng.random() < 0.1:
        path = tree.root / lang / "billing" / f"{slug}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\ntitle: [unclosed\n---\nBroken.", encoding="utf-8")
        return path
    return tree.add(lang, slug, folder="billing", id=number, title=rng.choice(TITLES),
                    updated=f"2026-01-{rng.randint(1, 3):02d}", status=rng.choice(["published", "published", "draft"]),
                    visibility=rng.choice(["public", "public", "internal"]),
                    category=rng.choice(["billing", "accounts", "refunds"]),
                    body=f"See [the other](page-{rng.randint(1, 12)}.md). {rng.random()}")


def test_a_reload_of_named_files_leaves_the_site_as_a_full_load_would(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    in_place: list[bool] = []

    def counted(*args: Any) -> Any:
        found = update.update_content(*args)
        in_place.append(found is not None)
        return found

    monkeypatch.setattr(site_module, "update_content", counted)  # counts; changes nothing
    rng = random.Random(5)
    tree = ContentTree(tmp_path / "articles")
    for number in range(1, 13):
        for lang in LANGS:
            _write(tree, rng, lang, number)
    site = Site(tree.root)
    site.load()
    changes: list[Change] = []
    site.on_change(changes.append)
    for step in range(60):
        lang, number = rng.choice(LANGS), rng.randint(1, 14)
        path = tree.root / lang / "billing" / f"page-{number}.md"
        if path.exists() and rng.random() < 0.2:
            path.unlink()
        elif rng.random() < 0.05:  # another file with the same slug: a clash, decided by a full load
            path = tree.add(lang, f"page-{number}", folder="accounts", id=90 + number, category="accounts")
        else:
            path = _write(tree, rng, lang, number)
        before = {key: a.revision for key, a in site.content.articles.items()}
        site.load(frozenset({path.relative_to(tree.root)}))
        full = Site(tree.root)
        full.load()
        assert _state(site) == _state(full), step
        after = {key: a.revision for key, a in site.content.articles.items()}
        expected = Change(frozenset(k for k, r in after.items() if before.get(k) != r),
                          frozenset(before.keys() - after.keys()), everything=False)
        if expected:
            assert changes[-1].changed == expected.changed and changes[-1].removed == expected.removed, step
        if rng.random() < 0.1:  # clean up a clash now and then, so the fast path comes back
            for extra in (tree.root / lang / "accounts").glob("*.md") if (tree.root / lang / "accounts").is_dir() else []:
                extra.unlink()
            site.load()
    assert sum(in_place) >= 30  # most reloads took the fast path
