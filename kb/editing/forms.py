"""The editor's forms: what a browser posts, cleaned, and the article file it describes.

A form is text as typed. Going from a file to a form and back gives the same file, byte for
byte, because the form text of a file is cleaned the way a posted form is, and only the fields a
form changes are patched into the file (kb.editing.frontmatter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from kb.content.authoring import article_text
from kb.content.model import LANG_RE, MAX_QUESTION_CHARS, MAX_QUESTIONS, check_filters
from kb.content.site import Site
from kb.editing.frontmatter import patch_article, split_text
from kb.errors import BadRequest

MAX_FIELD = 2_000
MAX_BODY = 1_000_000
MAX_QUESTIONS_FIELD = 2 * MAX_QUESTIONS * (MAX_QUESTION_CHARS + 1)  # more is refused; a little more, checked
# The statuses the article list shows: a file's draft/published, plus what the editor keeps.
STATUSES = ("draft", "review", "pending", "published")
_FORM_FIELDS = ("lang", "slug", "title", "summary", "category", "tags", "type", "updated", "video",
                "visibility", "questions", "body", "message", "base_revision", "base_pending", "translation_of")


@dataclass
class ArticleForm:
    """What the editor form posts; everything is text as typed."""

    lang: str = ""
    slug: str = ""
    title: str = ""
    summary: str = ""
    category: str = ""
    tags: str = ""
    type: str = "faq"
    updated: str = ""
    video: str = ""
    visibility: str = "public"
    questions: str = ""  # one per line
    body: str = ""
    message: str = ""
    base_revision: str = ""
    base_pending: str = ""
    translation_of: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ArticleForm:
        values: dict[str, str] = {}
        for name in _FORM_FIELDS:
            raw = data.get(name, "")
            if not isinstance(raw, str):
                raise BadRequest(f"{name} must be text")
            limit = {"body": MAX_BODY, "questions": MAX_QUESTIONS_FIELD}.get(name, MAX_FIELD)
            if len(raw) > limit:
                raise BadRequest(f"{name} is too long (at most {limit} characters)")
            values[name] = _newlines(raw)
            if name != "body":
                values[name] = values[name].strip()
        return cls(**values)

    @classmethod
    def from_text(cls, text: str, *, lang: str, slug: str) -> ArticleForm:
        """The form for a file, with text cleaned as `from_mapping` cleans what a browser posts, so
        a form posted back unchanged compares equal, field by field, to the file it came from."""
        meta, body = split_text(text)
        tags = meta.get("tags") or []
        questions = meta.get("questions") or []
        updated = meta.get("updated", "")
        values = {
            "title": str(meta.get("title") or ""), "summary": str(meta.get("summary") or ""),
            "category": str(meta.get("category") or ""),
            "tags": ", ".join(str(t) for t in tags) if isinstance(tags, list) else str(tags),
            "type": str(meta.get("type") or "faq"),
            "updated": updated.isoformat() if isinstance(updated, date) else str(updated or ""),
            "video": str(meta.get("video") or ""),
            "visibility": str(meta.get("visibility") or "public"),
            "questions": "\n".join(str(q) for q in questions) if isinstance(questions, list) else str(questions),
        }
        return cls(lang=lang, slug=slug, body=_newlines(body),
                   **{name: _newlines(value).strip() for name, value in values.items()})

    def meta(self, article_id: object, status: object) -> dict[str, object]:
        """The front matter fields this form describes."""
        updated: object = self.updated
        try:
            updated = date.fromisoformat(self.updated)
        except ValueError:
            pass  # kept as typed: the check reports it like `kb check` does
        meta: dict[str, object] = {
            "id": article_id, "title": self.title, "summary": self.summary, "category": self.category,
            "tags": [t.strip().lower() for t in self.tags.split(",") if t.strip()],
            "type": self.type, "status": status, "updated": updated or None,
        }
        if self.type == "video" or self.video:
            meta["video"] = self.video
        questions = [q.strip() for q in self.questions.split("\n") if q.strip()]
        if questions:  # written only when there are some: files without keep their lines
            meta["questions"] = questions
        # Public is the default: written only when it is not, so public files keep their lines.
        if self.visibility not in ("", "public"):
            meta["visibility"] = self.visibility
        return meta

    def text(self, article_id: int, status: str, base: str | None = None) -> str:
        """The whole file this form describes, front matter included.

        With `base` (the file the form was opened from, or the article a translation starts
        from), only what the form changes is rewritten: a field is changed when its value differs
        from what the same form fields give for `base`, so untouched fields keep their lines
        byte for byte (quotes, comments, wrapping), and an unchanged form gives back `base`.
        """
        meta = self.meta(article_id, status)
        if base is None:
            return article_text(meta, self.body)
        raw, _ = split_text(base)
        before = ArticleForm.from_text(base, lang=self.lang, slug=self.slug).meta(raw.get("id"), raw.get("status"))
        if not self.visibility:  # a post without the field keeps the file's visibility as it is
            before.pop("visibility", None)
            meta.pop("visibility", None)
        changes = {k: v for k, v in meta.items() if k not in before or not _same(before[k], v)}
        removed = [k for k in before if k not in meta]
        return patch_article(base, changes, removed, self.body)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _same(a: object, b: object) -> bool:
    """Equal and of the same type all the way down (1 is not True, '1' is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@dataclass
class ListFilter:
    """The filters of the article list, as the query string gives them ('' is "any")."""

    lang: str = ""
    category: str = ""
    status: str = ""
    type: str = ""
    q: str = ""

    def check(self, site: Site) -> ListFilter:
        if self.lang and not LANG_RE.match(self.lang):
            raise BadRequest("lang must be a two-letter code")
        check_filters(site.content.categories, self.category or None, self.type or None)
        if self.status and self.status not in STATUSES:
            raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
        self.q = self.q[:200]
        return self
