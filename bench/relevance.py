"""Known-item relevance on real text: kb's search against SQLite FTS5 on the tldr-pages corpus.

    python bench/relevance.py [--limit 1200] [--langs en,pt,fr,de,es,it] [--seed 1] [--workdir DIR]

The corpus (../shared/corpora/tldr-pages, six languages; see its README) is converted into kb
articles in a temporary folder: one article per page, the title is the command (`# tar`), the
summary the first description line, the body the rest of the page; the category is the
platform. kb's index and an SQLite FTS5 table (bm25, the fields and weights of bench/search.py)
are built on the same documents.

Queries, per language (a fixed-seed sample of at most --limit pages):
- description: the page's first description line as a person would type it (lowercase, no
  punctuation); descriptions shared by several commands ("This command is an alias of ...")
  are left out, since no single page is the answer;
- title: the command name as typed (kb only, and FTS5 for comparison).
The relevant result is that page; any platform's copy of the same command counts. Prints top-1
and MRR@10 per language for kb and FTS5. Skips cleanly when the corpus is absent.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.content.model import slugify
from kb.content.site import Site
from kb.search.index import SearchIndex
from kb.search.query import parse_query

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "tldr-pages"
FOLDERS = {"en": "pages", "pt": "pages.pt_BR", "fr": "pages.fr", "de": "pages.de", "es": "pages.es",
           "it": "pages.it"}
FTS_WEIGHTS = (6.0, 3.0, 3.0, 2.0, 1.0)  # title, headings, tags, summary, body (as kb.search)
TOP = 10


@dataclass(frozen=True)
class Page:
    lang: str
    slug: str
    command: str  # the title: "tar", "git-get-tar-commit-id", "c++"
    description: str  # the first description line


def _markdown_text(line: str) -> str:
    """A description line without its Markdown: `code` -> code, <https://...> dropped."""
    line = re.sub(r"<https?://[^>]*>", " ", line)
    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
    return line.replace("`", "").strip()


def typed(text: str) -> str:
    """What a person types: lowercase, punctuation as spaces (a hyphen inside a word stays)."""
    text = re.sub(r"[^\w\s-]", " ", text.lower())
    text = re.sub(r"(?<!\w)-+|-+(?!\w)", " ", text)
    return " ".join(text.split())


def convert(corpus: Path, out: Path, langs: list[str]) -> dict[str, list[Page]]:
    """Write the pages of `langs` as kb articles under `out`; returns the pages per language."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    platforms: set[str] = set()
    pages: dict[str, list[Page]] = {}
    for lang in langs:
        root = corpus / FOLDERS[lang]
        used: set[str] = set()
        found: list[Page] = []
        for number, path in enumerate(sorted(root.glob("*/*.md")), start=1):
            platform = slugify(path.parent.name)
            lines = path.read_text(encoding="utf-8").splitlines()
            title = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), path.stem)
            quoted = [ln[1:].strip() for ln in lines if ln.startswith(">")]
            if not quoted:
                continue
            description = _markdown_text(quoted[0])
            rest = [ln for ln in lines if not ln.startswith(("# ", ">"))]
            body = "\n".join(quoted[1:]) + "\n" + "\n".join(rest)
            slug = base = slugify(path.stem)[:60]
            if slug in used:
                slug = f"{base}-{platform}"[:90]
            suffix = 2
            while slug in used:
                slug, suffix = f"{base}-{platform}-{suffix}"[:99], suffix + 1
            used.add(slug)
            platforms.add(platform)
            meta = {"id": number, "title": title, "summary": description, "category": platform,
                    "tags": [], "type": "faq", "status": "published", "updated": "2026-08-22"}
            target = out / lang / platform / f"{slug}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n"
                              + body, encoding="utf-8")
            found.append(Page(lang, slug, title, description))
        pages[lang] = found
    categories = {p: {"order": i, "parent": None, "title": {"en": p}} for i, p in enumerate(sorted(platforms))}
    (out / "categories.yaml").write_text(yaml.safe_dump(categories), encoding="utf-8")
    return pages


class Fts:
    """The baseline: SQLite FTS5 (porter, unicode61 without diacritics), every word required,
    ranked by bm25 with kb's section weights."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(title, headings, tags, summary, body, "
            "lang UNINDEXED, slug UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')")

    def build(self, site: Site) -> None:
        def rows():  # type: ignore[no-untyped-def]
            for a in site.published():
                rendered = site.rendered(a)
                yield (a.title, " ".join(h.text for h in rendered.headings), " ".join(a.tags), a.summary,
                       rendered.text, a.lang, a.slug)

        with self.db:
            self.db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)", rows())

    def search(self, lang: str, q: str) -> list[str]:
        words = re.findall(r"\w+", q.lower())
        if not words:
            return []
        match = " ".join(f'"{w}"' for w in words)
        weights = ", ".join(str(w) for w in FTS_WEIGHTS)
        return [r[0] for r in self.db.execute(
            f"SELECT slug FROM docs WHERE docs MATCH ? AND lang = ? ORDER BY bm25(docs, {weights}) LIMIT {TOP}",
            (match, lang))]


def score(ranked: list[list[str]], relevant: list[set[str]]) -> tuple[float, float]:
    """(top-1, MRR@10) of ranked slug lists against the relevant slugs of each query."""
    top1 = mrr = 0.0
    for slugs, good in zip(ranked, relevant, strict=True):
        for rank, slug in enumerate(slugs[:TOP], start=1):
            if slug in good:
                top1 += rank == 1
                mrr += 1 / rank
                break
    n = max(len(ranked), 1)
    return top1 / n, mrr / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=1200, help="queries per language and kind (default 1200)")
    parser.add_argument("--langs", default=",".join(FOLDERS), help="comma-separated (default all six)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--workdir", type=Path, default=None, help="where to put articles and indexes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not args.corpus.is_dir():
        print(f"skipped: the tldr-pages corpus is not in {args.corpus} (see ../shared/corpora/README.md)")
        return
    langs = [lang.strip() for lang in args.langs.split(",") if lang.strip()]
    unknown = [lang for lang in langs if lang not in FOLDERS]
    if unknown:
        parser.error(f"unknown language(s) {', '.join(unknown)}; choose from {', '.join(FOLDERS)}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-bench-relevance-"))
    workdir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    pages = convert(args.corpus, workdir / "articles", langs)
    site = Site(workdir / "articles")
    site.load()
    count = len(site.published())
    print(f"{count} articles in {', '.join(langs)} converted and loaded in {time.perf_counter() - started:.0f} s"
          f" ({workdir})")
    started = time.perf_counter()
    index = SearchIndex(workdir / "index")
    index.rebuild(site)
    print(f"kb index built in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    (workdir / "fts.sqlite3").unlink(missing_ok=True)
    fts = Fts(workdir / "fts.sqlite3")
    fts.build(site)
    print(f"FTS5 index built in {time.perf_counter() - started:.0f} s\n")

    rng = random.Random(args.seed)
    print(f"{'lang':<5}{'kind':<13}{'queries':>8}   {'kb top-1':>9}{'kb MRR':>8}   {'FTS5 top-1':>10}"
          f"{'FTS5 MRR':>9}   {'kb ms/q':>7}")
    for lang in langs:
        by_command: dict[str, set[str]] = {}
        commands_of: dict[str, set[str]] = {}
        for page in pages[lang]:
            by_command.setdefault(page.command.lower(), set()).add(page.slug)
            commands_of.setdefault(typed(page.description), set()).add(page.command.lower())
        described = [p for p in pages[lang] if typed(p.description) and len(commands_of[typed(p.description)]) == 1]
        sample = rng.sample(described, min(args.limit, len(described)))
        titles = sorted(by_command)
        title_sample = rng.sample(titles, min(args.limit, len(titles)))
        kinds = {
            "description": [(typed(p.description), by_command[p.command.lower()]) for p in sample],
            "title": [(t, by_command[t]) for t in title_sample],
        }
        for kind, queries in kinds.items():
            relevant = [good for _, good in queries]
            started = time.perf_counter()
            kb_ranked = [[h.slug for h in index.search(lang, parse_query(q), limit=TOP).hits] for q, _ in queries]
            kb_ms = (time.perf_counter() - started) * 1000 / max(len(queries), 1)
            fts_ranked = [fts.search(lang, q) for q, _ in queries]
            kb1, kbm = score(kb_ranked, relevant)
            f1, fm = score(fts_ranked, relevant)
            print(f"{lang:<5}{kind:<13}{len(queries):>8}   {kb1:>9.3f}{kbm:>8.3f}   {f1:>10.3f}{fm:>9.3f}"
                  f"   {kb_ms:>7.1f}", flush=True)
    index.close()
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
