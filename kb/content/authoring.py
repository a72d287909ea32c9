"""`kb new`: scaffold an article file that passes `kb check`, refusing bad values up front."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from kb.content.files import write_atomically
from kb.content.loader import load_categories, next_free_id
from kb.content.model import ARTICLE_TYPES, LANG_RE, SLUG_RE, slugify
from kb.errors import BadRequest, Conflict


def article_text(meta: dict[str, object], body: str) -> str:
    """A new article file: the front matter dumped in field order, then the body."""
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None).strip()
    return f"---\n{front}\n---\n{body.rstrip()}\n"


def scaffold_article(root: Path, *, title: str, lang: str, category: str, type: str = "faq",
                     slug: str | None = None, article_id: int | None = None) -> Path:
    """Write a draft that passes `kb check`; refuse bad values with a clear message."""
    title = title.strip()
    if not title:
        raise BadRequest("the title must not be empty")
    if not LANG_RE.match(lang):
        raise BadRequest(f"language must be a two-letter code such as en, not {lang!r}")
    if type not in ARTICLE_TYPES:
        raise BadRequest(f"type must be one of {', '.join(ARTICLE_TYPES)}")
    categories = load_categories(root, [])
    if category not in categories:
        known = ", ".join(sorted(categories)) or "none declared"
        raise BadRequest(f"unknown category {category!r} (known: {known})")
    slug = slug or slugify(title)
    if not SLUG_RE.match(slug):
        raise BadRequest(f"slug must be lowercase letters, digits and '-', not {slug!r}")
    path = root / lang / category / f"{slug}.md"
    if any(p.stem == slug for p in (root / lang).rglob("*.md")) if (root / lang).is_dir() else False:
        raise Conflict(f"an article with the slug {slug!r} already exists in {lang!r}")
    meta: dict[str, object] = {
        "id": article_id or next_free_id(root),
        "title": title,
        "summary": "One sentence that says what this article answers.",
        "category": category,
        "tags": [],
        "type": type,
        "status": "draft",
        "updated": date.today(),
    }
    if type == "video":
        meta["video"] = "https://example.com/video.mp4"
    body = "## Answer\n\nWrite the answer here.\n" if type != "video" else "Write the video's transcript here.\n"
    write_atomically(path, article_text(meta, body))
    return path
