"""Checking and previewing a form: the file it gives, with every problem `kb check` would report.

The same rules as the loader's, applied to one file before it is written: the front matter
fields (kb.content.loader.parse_article), one slug and one id per language
(kb.content.loader.Addresses), and links and policy snippets (the Site's renderer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kb.content.loader import Addresses, parse_article
from kb.content.model import LANG_RE, SLUG_RE, Article, Problem, slugify
from kb.content.site import Site
from kb.editing.forms import ArticleForm
from kb.errors import BadRequest


@dataclass(frozen=True)
class Checked:
    """A form turned into file text, with every problem `kb check` would report for it."""

    text: str
    article: Article | None  # None when the text cannot be served (fatal problems)
    problems: tuple[tuple[int, str], ...]
    html: str = ""
    plain: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def allows(self, action: str) -> bool:
        """Drafts may be saved with warnings (a broken link); publishing needs no problem at all."""
        return self.article is not None and (action != "publish" or self.ok)


@dataclass
class Checker:
    site: Site
    default_lang: str = "en"

    def check(self, form: ArticleForm, *, existing: Article | None = None, status: str = "draft",
              article_id: int | None = None, render: bool = True, base_text: str | None = None) -> Checked:
        """Every problem `kb check` would report for this form's file, plus duplicates.

        `base_text`: the version of `existing` the form was opened from, when the site may have
        loaded a newer one since (the form's text is patched from it)."""
        problems: list[tuple[int, str]] = []
        fatal = False  # problems that leave no safe file name to write to
        categories = self.site.content.categories
        if existing is not None:
            relative, lang, slug, article_id = existing.path, existing.lang, existing.slug, existing.id
        else:
            lang, slug = form.lang, form.slug or slugify(form.title)
            if not LANG_RE.match(lang):
                problems.append((1, "the language must be a two-letter code such as en"))
                lang, fatal = self.default_lang, True
            if not SLUG_RE.match(slug):
                problems.append((1, "the slug must be lowercase letters, digits and '-' (at most 100)"))
                slug, fatal = "new-article", True
            folder = form.category if form.category in categories else "new"
            relative = Path(lang) / folder / f"{slug}.md"
            if article_id is None:
                article_id = self.translation_id(form) or self._next_id_guess()
        text = form.text(article_id, status, base_text if base_text is not None else self._base_text(form, existing))
        found: list[Problem] = []
        article = parse_article(self.site.content_dir, relative, text.encode("utf-8"), categories, found)
        problems.extend((p.line, p.message) for p in found)
        clash = Addresses.of(self.site.content).clash(
            lang, slug, article_id, replacing=existing.path if existing is not None else None)
        if clash is not None:
            problems.append(clash)
            fatal = True
        if fatal:
            article = None
        html = plain = ""
        if render:
            target = article or _stub(relative, lang, slug, text)
            rendered = self.site.render_source(text, target)
            problems.extend(rendered.problems)
            html, plain = rendered.html, rendered.text
        return Checked(text=text, article=article, problems=tuple(sorted(set(problems))), html=html, plain=plain)

    def translation_id(self, form: ArticleForm) -> int | None:
        """The id a new translation shares with the article it translates (None: not one)."""
        if not form.translation_of:
            return None
        try:
            wanted = int(form.translation_of)
        except ValueError:
            raise BadRequest("translation_of must be an article id") from None
        if not any(a.id == wanted for a in self.site.content.articles.values()):
            raise BadRequest(f"no article has the id {wanted}")
        return wanted

    def _base_text(self, form: ArticleForm, existing: Article | None) -> str | None:
        """The file a form's text is patched from: the article's own file, or for a new
        translation the article it translates (its default-language version when there is one),
        so the copied front matter keeps its formatting too."""
        if existing is not None:
            return existing.source
        if not form.translation_of:
            return None
        sources = sorted((a for a in self.site.content.articles.values() if str(a.id) == form.translation_of),
                         key=lambda a: (a.lang != self.default_lang, a.lang))
        return sources[0].source if sources else None

    def _next_id_guess(self) -> int:
        """For a preview: `create` takes the next free id of the files when it writes."""
        return max((a.id for a in self.site.content.articles.values()), default=0) + 1


def _stub(relative: Path, lang: str, slug: str, text: str) -> Article:
    """An article to render a text that cannot be served yet, so its preview still shows."""
    return Article(id=0, lang=lang, slug=slug, title="", summary="", category="", tags=(), type="faq",
                   status="draft", updated=date.min, video=None, file=relative.as_posix(), source=text, revision="")
