"""Known-item relevance on real text: kb's search against SQLite FTS5 on the tldr-pages corpus.

    python bench/relevance.py [--limit 1200] [--langs en,pt,fr,de,es,it] [--seed 1]
                              [--workdir DIR [--reuse]] [--misses N]

The corpus (../shared/corpora/tldr-pages, six languages; see its README) is converted into kb
articles in a temporary folder: one article per page, the title is the command (`# tar`), the
summary the first description line, the body the rest of the page; the category is the
platform. kb's index and an SQLite FTS5 table (bm25, the fields and weights of bench/search.py,
every word required) are built on the same documents, and both get the same queries.

Queries, per language (a fixed-seed sample of at most --limit pages):
- verbatim: the page's first description line, whole (lowercase, no punctuation). Descriptions
  shared by several commands ("This command is an alias of ...") are left out, since no single
  page is the answer;
- typed: the same line as a person types it into a help center's search box (issue 13): the
  first 3-5 content words (no stop words: Snowball's lists, not kb's), in a quarter of the
  queries one word in its other number (plural/singular by each language's simple rules), in
  12% one typo (a neighbouring key, a dropped, doubled or swapped letter) in a word of 5
  letters or more. The rates and their sources are given next to TYPED_WORDS below; each
  page's query is seeded by its slug, so it does not change with --limit;
- no typo: the typed queries without their typos (how much of kb's lead the typos make);
- title: the command name as typed.
The relevant result is that page; any platform's copy of the same command counts. Prints top-1
and MRR@10 per language and kind for kb and FTS5, kb's lead in top-1 points, and the goal of
issue 13 beside it: kb's top-1 at least 10 points above FTS5's on description queries (verbatim
and typed are both shown, so that neither form can be picked to flatter kb), at least 0.99 on
titles. Skips cleanly when the corpus is absent. --misses N prints kb's typed misses.
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
from functools import cache
from pathlib import Path

import yaml
from whoosh.lang import stopwords_for_language

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.content.model import slugify
from kb.content.site import Site
from kb.search.analysis import fold
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
    """A line as typed in a search box: lowercase, punctuation as spaces (a hyphen inside a word stays)."""
    text = re.sub(r"[^\w\s-]", " ", text.lower())
    text = re.sub(r"(?<!\w)-+|-+(?!\w)", " ", text)
    return " ".join(text.split())


# --- the "typed" query: a description as a person types it into a help center's search box ----
# The rates, and where they come from (loosely; none of these studies is of help centers):
# - people type a few words, not a sentence: web queries average 2.2-2.4 words (Jansen, Spink and
#   Saracevic 2000; Spink et al. 2001), a task put to a site's search box a little more. A typed
#   query keeps the first TYPED_WORDS content words of the description, stop words left out
#   (fair to FTS5, which would require them);
# - FORM_RATE of the queries have one word in its other number (plural/singular): people do not
#   copy the article's inflection. No log study gives the figure; a quarter is our assumption;
# - TYPO_RATE of the queries have one misspelt word: 10-15% of web queries hold a misspelling
#   (Cucerzan and Brill 2004). The typo is in a word of 5 letters or more, never its first
#   letter (wrong in ~7% of misspellings: Pollock and Zamora 1983), and is one of Damerau's
#   (1964) single errors, which make ~80% of misspellings: a neighbouring key, a dropped
#   letter, a doubled letter, two letters swapped.
TYPED_WORDS = (3, 5)  # content words kept, uniformly
FORM_RATE = 0.25
TYPO_RATE = 0.12
TYPO_MIN_LETTERS = 5
_LAYOUTS = {"de": ("qwertzuiop", "asdfghjkl", "yxcvbnm"), "fr": ("azertyuiop", "qsdfghjklm", "wxcvbn")}
_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours(lang: str) -> dict[str, str]:
    """Keys next to each letter on the language's usual keyboard (rows staggered to the right)."""
    rows = _LAYOUTS.get(lang, _QWERTY)
    near: dict[str, str] = {}
    for r, row in enumerate(rows):
        for i, key in enumerate(row):
            keys = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            if r > 0:
                keys += [rows[r - 1][j] for j in (i, i + 1) if j < len(rows[r - 1])]
            if r + 1 < len(rows):
                keys += [rows[r + 1][j] for j in (i - 1, i) if 0 <= j < len(rows[r + 1])]
            near[key] = "".join(keys)
    return near


def other_form(word: str, lang: str) -> str | None:
    """The word in its other number, by the simple rules of the language (None when unsure)."""
    if not word.isalpha() or len(word) < 4:
        return None
    vowels = "aeiouàáâãéêíóôõú"
    if lang == "en":
        if word.endswith("ies"):
            return word[:-3] + "y"
        if word.endswith(("sses", "xes", "ches", "shes")):
            return word[:-2]
        if word.endswith("s"):
            return None if word.endswith(("ss", "us", "is")) else word[:-1]
        if word.endswith("y") and word[-2] not in vowels:
            return word[:-1] + "ies"
        return word + ("es" if word.endswith(("x", "ch", "sh")) else "s")
    if lang in ("pt", "es"):  # arquivo <-> arquivos, página <-> páginas
        if word.endswith(("os", "as")):
            return word[:-1]
        return word + "s" if word[-1] in "oa" else None
    if lang == "it":  # comando -> comandi, pagina -> pagine
        return word[:-1] + {"o": "i", "a": "e"}[word[-1]] if word[-1] in "oa" else None
    if lang == "fr":  # fichier <-> fichiers
        if word.endswith("s"):
            return None if word.endswith("ss") else word[:-1]
        return None if word[-1] in "xz" else word + "s"
    if lang == "de":  # Seite <-> Seiten, Datei <-> Dateien, Verbindung <-> Verbindungen
        for singular, plural in (("ung", "ungen"), ("ei", "eien"), ("e", "en")):
            if word.endswith(plural):
                return word[: -len(plural)] + singular
            if word.endswith(singular):
                return word[: -len(singular)] + plural
    return None


def misspelt(word: str, rng: random.Random, near: dict[str, str]) -> str:
    """One of Damerau's single errors, never in the first letter."""
    i = rng.randrange(1, len(word))
    kind = rng.choice(("key", "drop", "double", "swap"))
    if kind == "key" and near.get(word[i]):
        return word[:i] + rng.choice(near[word[i]]) + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap" and i + 1 < len(word) and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:]  # dropped (also what a key or swap falls back to)


@cache
def snowball_stops(lang: str) -> frozenset[str]:
    """Snowball's stop words (as Whoosh ships them), folded: what a person leaves out. Not kb's
    list, so that a change of kb's list does not change the queries it is measured with."""
    return frozenset(fold(w) for w in stopwords_for_language(lang))


def typed_words(description: str, lang: str, seed: str) -> list[str]:
    """The first few content words of the description: what a person starts typing."""
    rng = random.Random(seed)
    stops = snowball_stops(lang)
    words = [w for w in typed(description).split() if fold(w) not in stops] or typed(description).split()
    return words[: rng.randint(*TYPED_WORDS)]


def typed_query(description: str, lang: str, seed: str, typos: bool = True) -> str:
    """The description as a person types it: the first few content words, sometimes another form
    of one word, sometimes one typo (never with `typos` False; the rest is the same). The same
    page and seed always give the same query."""
    words = typed_words(description, lang, seed)
    rng = random.Random(f"{seed}:changes")
    if rng.random() < FORM_RATE:
        options = [i for i, w in enumerate(words) if other_form(w, lang)]
        if options:
            i = rng.choice(options)
            words[i] = other_form(words[i], lang) or words[i]
    if typos and rng.random() < TYPO_RATE:
        options = [i for i, w in enumerate(words) if len(w) >= TYPO_MIN_LETTERS and w.isalpha()]
        if options:
            i = rng.choice(options)
            words[i] = misspelt(words[i], rng, _neighbours(lang))
    return " ".join(words)


def convert(corpus: Path, out: Path, langs: list[str], write: bool = True) -> dict[str, list[Page]]:
    """Write the pages of `langs` as kb articles under `out` (unless `write` is False: they are
    there from a previous run); returns the pages per language."""
    if write:
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
            found.append(Page(lang, slug, title, description))
            if not write:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n"
                              + body, encoding="utf-8")
        pages[lang] = found
    if not write:
        return pages
    categories = {p: {"order": i, "parent": None, "title": {"en": p}} for i, p in enumerate(sorted(platforms))}
    (out / "categories.yaml").write_text(yaml.safe_dump(categories), encoding="utf-8")
    return pages


class Fts:
    """The baseline: SQLite FTS5 (porter, unicode61 without diacritics), every word required,
    ranked by bm25 with kb's section weights."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.db = sqlite3.connect(path)
        if not create:
            return
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


GOAL_POINTS = 0.10  # kb's top-1 at least 10 points above FTS5's, on description queries
GOAL_TITLE = 0.99  # kb's top-1 on title queries


def goal(kind: str, kb1: float, fts1: float) -> tuple[str, bool]:
    """The goal of a row, and whether it is met."""
    if kind == "title":
        return f"kb >= {GOAL_TITLE:.2f}", kb1 >= GOAL_TITLE
    return f"kb-FTS5 >= +{GOAL_POINTS * 100:.0f}", kb1 - fts1 >= GOAL_POINTS - 1e-9


def queries_of(pages: list[Page], lang: str, limit: int, seed: int) -> dict[str, list[tuple[str, set[str]]]]:
    """(query, relevant slugs) per kind. Verbatim and typed queries come from the same pages: those
    whose description, whole and cut to its first words, is no other command's ("This command is
    an alias of `docker container rm`" and "... of `docker container ls`" both start "command alias
    docker container": no single page is the answer)."""
    rng = random.Random(f"{seed}:{lang}")
    by_command: dict[str, set[str]] = {}
    commands_of: dict[str, set[str]] = {}
    for page in pages:
        by_command.setdefault(page.command.lower(), set()).add(page.slug)
        for form in (typed(page.description), " ".join(typed_words(page.description, lang, _seed(seed, page)))):
            commands_of.setdefault(form, set()).add(page.command.lower())
    described = [p for p in pages if typed(p.description) and len(commands_of[typed(p.description)]) == 1
                 and len(commands_of[" ".join(typed_words(p.description, lang, _seed(seed, p)))]) == 1]
    sample = rng.sample(described, min(limit, len(described)))
    titles = sorted(by_command)
    title_sample = rng.sample(titles, min(limit, len(titles)))
    return {
        "verbatim": [(typed(p.description), by_command[p.command.lower()]) for p in sample],
        "typed": [(typed_query(p.description, lang, _seed(seed, p)), by_command[p.command.lower()]) for p in sample],
        "no typo": [(typed_query(p.description, lang, _seed(seed, p), typos=False), by_command[p.command.lower()])
                    for p in sample],
        "title": [(t, by_command[t]) for t in title_sample],
    }


def _seed(seed: int, page: Page) -> str:
    return f"{seed}:{page.lang}:{page.slug}"


def build(args: argparse.Namespace, langs: list[str], workdir: Path) -> tuple[dict[str, list[Page]], SearchIndex, Fts]:
    """Convert the corpus and build both indexes (or, with --reuse, open what --workdir holds)."""
    started = time.perf_counter()
    pages = convert(args.corpus, workdir / "articles", langs, write=not args.reuse)
    site = Site(workdir / "articles")
    site.load()
    print(f"{len(site.published())} articles in {', '.join(langs)} converted and loaded in "
          f"{time.perf_counter() - started:.0f} s ({workdir})")
    index = SearchIndex(workdir / "index")
    fts_path = workdir / "fts.sqlite3"
    if args.reuse and index.open() and fts_path.exists():
        print("kb and FTS5 indexes reused (--reuse)\n")
        return pages, index, Fts(fts_path, create=False)
    started = time.perf_counter()
    index.rebuild(site)
    print(f"kb index built in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    fts_path.unlink(missing_ok=True)
    fts = Fts(fts_path)
    fts.build(site)
    print(f"FTS5 index built in {time.perf_counter() - started:.0f} s\n")
    return pages, index, fts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=1200, help="queries per language and kind (default 1200)")
    parser.add_argument("--langs", default=",".join(FOLDERS), help="comma-separated (default all six)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--workdir", type=Path, default=None, help="where to put articles and indexes")
    parser.add_argument("--reuse", action="store_true",
                        help="search the articles and indexes a previous run left in --workdir (same --langs)")
    parser.add_argument("--misses", type=int, default=0, help="print up to N typed queries kb ranks wrong, per language")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not args.corpus.is_dir():
        print(f"skipped: the tldr-pages corpus is not in {args.corpus} (see ../shared/corpora/README.md)")
        return
    langs = [lang.strip() for lang in args.langs.split(",") if lang.strip()]
    unknown = [lang for lang in langs if lang not in FOLDERS]
    if unknown:
        parser.error(f"unknown language(s) {', '.join(unknown)}; choose from {', '.join(FOLDERS)}")
    if args.reuse and args.workdir is None:
        parser.error("--reuse needs --workdir")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-bench-relevance-"))
    workdir.mkdir(parents=True, exist_ok=True)
    pages, index, fts = build(args, langs, workdir)

    print(f"{'lang':<5}{'kind':<10}{'queries':>8}   {'kb top-1':>9}{'kb MRR':>8}   {'FTS5 top-1':>10}"
          f"{'FTS5 MRR':>9}   {'kb-FTS5':>8}   {'goal':<17}{'met':<4}{'kb ms/q':>8}")
    misses: list[str] = []
    for lang in langs:
        for kind, queries in queries_of(pages[lang], lang, args.limit, args.seed).items():
            relevant = [good for _, good in queries]
            started = time.perf_counter()
            kb_ranked = [[h.slug for h in index.search(lang, parse_query(q), limit=TOP).hits] for q, _ in queries]
            kb_ms = (time.perf_counter() - started) * 1000 / max(len(queries), 1)
            fts_ranked = [fts.search(lang, q) for q, _ in queries]
            kb1, kbm = score(kb_ranked, relevant)
            f1, fm = score(fts_ranked, relevant)
            target, met = goal(kind, kb1, f1)
            print(f"{lang:<5}{kind:<10}{len(queries):>8}   {kb1:>9.3f}{kbm:>8.3f}   {f1:>10.3f}{fm:>9.3f}"
                  f"   {(kb1 - f1) * 100:>+8.1f}   {target:<17}{'yes' if met else 'no':<4}{kb_ms:>8.1f}", flush=True)
            if kind == "typed" and args.misses:
                wrong = [(q, good, got) for (q, good), got in zip(queries, kb_ranked, strict=True)
                         if not got or got[0] not in good]
                misses += [f"{lang}  {q!r}: wanted {'/'.join(sorted(good))}, kb {got[:3]}"
                           for q, good, got in wrong[: args.misses]]
    if misses:
        print("\nkb's typed misses:\n" + "\n".join(misses))
    index.close()
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
