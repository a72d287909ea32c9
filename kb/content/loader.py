"""Load and validate the content tree: categories.yaml and articles/{lang}/**/{slug}.md.

Every problem of every file is collected as a Problem(path, line, message); an article with a
fatal problem is left out, the rest is served. Link checking needs rendering, so it lives in
kb.content.site, which completes these problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from kb.content.files import file_revision
from kb.content.model import (
    ARTICLE_TYPES,
    CATEGORY_ICONS,
    DEFAULT_CATEGORY_ICON,
    LANG_RE,
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    OWNER_RE,
    SLUG_RE,
    STATUSES,
    VISIBILITIES,
    Article,
    Category,
    ContentSet,
    Problem,
    display_path,
)
from kb.content.scan import Stamp, file_stamp, scan_article_files

CATEGORIES_FILE = "categories.yaml"
REQUIRED_FIELDS = ("id", "title", "summary", "category", "type", "status", "updated")
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + ("tags", "video", "owner", "visibility", "questions"))


# --- categories -----------------------------------------------------------------------------


def load_categories(root: Path, problems: list[Problem]) -> dict[str, Category]:
    path = root / CATEGORIES_FILE
    shown = display_path(root, Path(CATEGORIES_FILE))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(shown, 1, "missing: declare the categories here"))
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, 1, f"cannot read: {exc}"))
        return {}
    try:
        node, data = parse_yaml(text)
    except yaml.YAMLError as exc:
        problems.append(Problem(shown, _yaml_error_line(exc, 0), f"invalid YAML: {_yaml_reason(exc)}"))
        return {}
    if not isinstance(data, dict):
        problems.append(Problem(shown, 1, "must be a mapping of category key to fields"))
        return {}
    lines = _key_lines(node, 0)
    categories: dict[str, Category] = {}
    for key, value in data.items():
        line = lines.get(str(key), 1)
        category = _parse_category(str(key), value, line, shown, problems)
        if category:
            categories[category.key] = category
    for category in categories.values():
        if category.parent and category.parent not in categories:
            problems.append(
                Problem(shown, lines.get(category.key, 1), f"unknown parent category {category.parent!r}")
            )
    for category in categories.values():
        if _has_cycle(category, categories):
            problems.append(Problem(shown, lines.get(category.key, 1), "category is its own ancestor"))
            return {}
    return categories


def _parse_category(
    key: str, value: Any, line: int, shown: str, problems: list[Problem]
) -> Category | None:
    if not SLUG_RE.match(key):
        problems.append(Problem(shown, line, f"category key {key!r} must be lowercase letters, digits and '-'"))
        return None
    if not isinstance(value, dict):
        problems.append(Problem(shown, line, f"category {key!r} must be a mapping"))
        return None
    titles = value.get("title")
    if isinstance(titles, str):
        titles = {"en": titles}
    if not isinstance(titles, dict) or not titles or not all(
        isinstance(t, str) and t.strip() for t in titles.values()
    ):
        problems.append(Problem(shown, line, f"category {key!r} needs a title per language"))
        return None
    descriptions = value.get("description") or {}
    if isinstance(descriptions, str):
        descriptions = {"en": descriptions}
    if not isinstance(descriptions, dict):
        problems.append(Problem(shown, line, f"category {key!r}: description must map language to text"))
        descriptions = {}
    order = value.get("order", 0)
    if not isinstance(order, int) or isinstance(order, bool):
        problems.append(Problem(shown, line, f"category {key!r}: order must be an integer"))
        order = 0
    parent = value.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append(Problem(shown, line, f"category {key!r}: parent must be a category key"))
        parent = None
    icon = value.get("icon", DEFAULT_CATEGORY_ICON)
    if icon not in CATEGORY_ICONS:
        problems.append(Problem(shown, line, f"category {key!r}: unknown icon {str(icon)[:40]!r}; "
                                             f"one of: {', '.join(CATEGORY_ICONS)}"))
        icon = DEFAULT_CATEGORY_ICON
    return Category(
        key=key,
        order=order,
        parent=parent,
        titles={str(k): str(v).strip() for k, v in titles.items()},
        descriptions={str(k): str(v).strip() for k, v in descriptions.items()},
        icon=str(icon),
    )


def _has_cycle(category: Category, categories: dict[str, Category]) -> bool:
    seen = {category.key}
    parent = category.parent
    while parent and parent in categories:
        if parent in seen:
            return True
        seen.add(parent)
        parent = categories[parent].parent
    return False


# --- articles -------------------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[str, int] | None:
    """Return (front matter text, number of the line after the closing ---) or None."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() == "---":
            return "\n".join(lines[1:number]), number + 1
    return None


def parse_article(root: Path, relative: Path, data: bytes, categories: dict[str, Category],
                  problems: list[Problem]) -> Article | None:
    """Parse one file; append its problems; return None when it cannot be served."""
    shown = display_path(root, relative)
    before = len(problems)

    def problem(line: int, message: str) -> None:
        problems.append(Problem(shown, line, message))

    parts = relative.parts
    if len(parts) < 2 or not LANG_RE.match(parts[0]):
        problem(1, "articles must be inside a language folder such as en/ or pt/")
        return None
    lang, slug = parts[0], relative.stem
    if not SLUG_RE.match(slug):
        problem(1, f"file name {relative.name!r} must be a slug: lowercase letters, digits and '-'")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem(1, f"not valid UTF-8 (byte {exc.start})")
        return None
    split = split_front_matter(text)
    if split is None:
        problem(1, "missing front matter: the file must start with a '---' line and close it with '---'")
        return None
    front_text, _ = split
    try:
        node, meta = parse_yaml(front_text)
    except yaml.YAMLError as exc:
        problem(_yaml_error_line(exc, 1), f"invalid YAML in front matter: {_yaml_reason(exc)}")
        return None
    if not isinstance(meta, dict):
        problem(2, "front matter must be a mapping of field: value")
        return None
    lines = _key_lines(node, 1)
    fields = _validate_fields(meta, lines, categories, problem)
    if len(problems) > before or fields is None:
        return None
    return Article(
        lang=lang, slug=slug, file=relative.as_posix(), source=text, revision=file_revision(data), **fields
    )


def _validate_fields(meta: dict[str, Any], lines: dict[str, int], categories: dict[str, Category],
                     problem: Callable[[int, str], None]) -> dict[str, Any] | None:
    def line_of(name: str) -> int:
        return lines.get(name, 1)

    for name in REQUIRED_FIELDS:
        if meta.get(name) in (None, ""):
            problem(1, f"missing required field {name!r}")
    for name in meta:
        if str(name) not in KNOWN_FIELDS:
            problem(line_of(str(name)), f"unknown field {name!r}")
    article_id = meta.get("id")
    if article_id is not None and (not isinstance(article_id, int) or isinstance(article_id, bool) or article_id <= 0):
        problem(line_of("id"), "id must be a positive integer")
    for name in ("title", "summary"):
        value = meta.get(name)
        if value is not None and not isinstance(value, str):
            problem(line_of(name), f"{name} must be text")
    category = meta.get("category")
    if category is not None and category not in categories:
        problem(line_of("category"), f"unknown category {category!r} (declare it in {CATEGORIES_FILE})")
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str | int) for t in tags):
        problem(line_of("tags"), "tags must be a list of words")
        tags = []
    questions = _questions(meta.get("questions"), line_of("questions"), problem)
    kind = meta.get("type")
    if kind is not None and kind not in ARTICLE_TYPES:
        problem(line_of("type"), f"type must be one of {', '.join(ARTICLE_TYPES)}, not {kind!r}")
    status = meta.get("status")
    if status is not None and status not in STATUSES:
        problem(line_of("status"), f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    visibility = meta.get("visibility")
    if visibility is None:
        visibility = "public"  # the default: only what is marked internal is hidden
    elif visibility not in VISIBILITIES:
        problem(line_of("visibility"),
                f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    owner = meta.get("owner")
    if owner is not None and (not isinstance(owner, str) or not OWNER_RE.match(owner)):
        problem(line_of("owner"), "owner must be an account name (1 to 64 letters, digits, '.', '_', '@' or '-')")
    updated = meta.get("updated")
    if isinstance(updated, str):
        try:
            updated = date.fromisoformat(updated)
        except ValueError:
            problem(line_of("updated"), f"updated must be a date like 2026-01-31, not {updated!r}")
    elif updated is not None and not isinstance(updated, date):
        problem(line_of("updated"), "updated must be a date like 2026-01-31")
    video = meta.get("video")
    if kind == "video":
        if not video:
            problem(1, "a video article needs a 'video' field with the video's URL")
        elif not isinstance(video, str) or not re.match(r"^(https?://|/)\S+$", video):
            problem(line_of("video"), "video must be an http(s) URL or a site path")
    elif video:
        problem(line_of("video"), "only articles of type 'video' have a video")
    try:
        return {
            "id": int(article_id),  # type: ignore[arg-type]
            "title": str(meta["title"]).strip(),
            "summary": str(meta["summary"]).strip(),
            "category": str(category),
            "tags": tuple(str(t).strip().lower() for t in tags),
            "type": str(kind),
            "status": str(status),
            "updated": updated if isinstance(updated, date) else date.min,
            "video": str(video) if kind == "video" and video else None,
            "owner": str(owner) if owner else None,
            "visibility": str(visibility),
            "questions": questions,
        }
    except (KeyError, TypeError, ValueError):
        return None


def _questions(value: Any, line: int, problem: Callable[[int, str], None]) -> tuple[str, ...]:
    """`questions:`, a list of the phrasings customers use (none when the field is absent)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(q, str) and q.strip() for q in value):
        problem(line, "questions must be a list of questions, each a non-empty text")
        return ()
    if len(value) > MAX_QUESTIONS:
        problem(line, f"questions: at most {MAX_QUESTIONS}, not {len(value)}")
    for number, question in enumerate(value, start=1):
        if len(question) > MAX_QUESTION_CHARS:
            problem(line, f"question {number} is {len(question)} characters long "
                          f"(at most {MAX_QUESTION_CHARS})")
    return tuple(" ".join(q.split()) for q in value)


@dataclass
class ParseCache:
    """Parsed files by (inode, mtime, size), so a reload re-reads only the files that changed.

    Valid only for one set of categories: a change to categories.yaml re-validates every file.
    kb.content.stored keeps it across restarts (a start then parses only what changed).
    """

    categories: dict[str, Category] | None = None
    # By file ('/'-separated, relative to the content folder: Article.file).
    files: dict[str, tuple[Stamp, Article | None, tuple[Problem, ...]]] = field(default_factory=dict)
    parsed: int = 0  # files parsed (not found in the cache) since the last save or restore
    # The addresses of the last load and how many files it refused for a clash (update_content).
    addresses: Addresses | None = None
    clashes: int = 0
    snapshot: Snapshot | None = None  # the last full load's result, while no file has changed

    def parse(self, root: Path, file: str, categories: dict[str, Category],
              stamp: Stamp | None = None) -> tuple[Article | None, list[Problem]]:
        """The article and problems of `file` (a key of `files`); `stamp`, when the caller just
        took it, saves a stat."""
        problems: list[Problem] = []
        try:
            if stamp is None:
                stat = (root / file).stat()
                stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            cached = self.files.get(file)
            if cached is not None and cached[0] == stamp:
                return cached[1], list(cached[2])
            data = (root / file).read_bytes()
        except OSError as exc:
            return None, [Problem(display_path(root, Path(file)), 1, f"cannot read: {exc.strerror}")]
        article = parse_article(root, Path(file), data, categories, problems)
        self.files[file] = (stamp, article, tuple(problems))
        self.parsed += 1
        return article, problems


@dataclass
class Addresses:
    """The two rules that make an article addressable: one slug (its URL) and one id (what ties
    its translations together) per language. The loader and the web editor both apply them here.
    """

    root: Path
    slugs: dict[tuple[str, str], Article] = field(default_factory=dict)
    ids: dict[tuple[str, int], Article] = field(default_factory=dict)

    @classmethod
    def of(cls, content: ContentSet) -> Addresses:
        addresses = cls(content.root)
        for article in content.articles.values():
            addresses.add(article)
        return addresses

    def add(self, article: Article) -> None:
        self.slugs[article.key] = article
        self.ids[(article.lang, article.id)] = article

    def remove(self, article: Article) -> None:
        if self.slugs.get(article.key) is article:
            del self.slugs[article.key]
        if self.ids.get((article.lang, article.id)) is article:
            del self.ids[(article.lang, article.id)]

    def clash(self, lang: str, slug: str, article_id: int, *,
              replacing: Path | None = None) -> tuple[int, str] | None:
        """(line, message) when another file than `replacing` (relative, the file being rewritten)
        already has this slug or this id in this language."""
        other = self.slugs.get((lang, slug))
        if other is not None and other.path != replacing:
            return 1, f"duplicate slug {slug!r}: also {self.root / other.path}"
        other = self.ids.get((lang, article_id))
        if other is not None and other.path != replacing:
            return 2, f"duplicate id {article_id}: already used in {lang!r} by {self.root / other.path}"
        return None


@dataclass
class Snapshot:
    """What a full load_content gave for the files at `stamps`, given again as it is while no
    file changed (a start at 50,000 articles skips going over every file: ~0.35 s), and kept
    across restarts with the parse cache. `derived` is what the site derived from `articles`
    (its catalog, ~0.25 s more), kept with them."""

    stamps: dict[str, Stamp]
    articles: dict[tuple[str, str], Article]
    problems: list[Problem]  # the files' (categories.yaml's are read again each time)
    addresses: Addresses
    clashes: int
    derived: Any = None


def take_snapshot(cache: ParseCache, content: ContentSet) -> ContentSet:
    """`content` (categories read) with the cache's snapshot's articles, problems and addresses."""
    kept = cache.snapshot
    assert kept is not None
    content.articles = kept.articles  # never changed in place: a reload makes a new one
    content.problems = sorted(content.problems + kept.problems)
    cache.addresses, cache.clashes = kept.addresses, kept.clashes
    return content


def load_content(root: Path, cache: ParseCache | None = None,
                 changed: Collection[Path] | None = None, *, scanned: dict[str, Stamp] | None = None) -> ContentSet:
    """Read the whole tree; never raises for bad content, only reports it.

    With `changed` (relative paths of .md files created, modified or deleted, as a file watcher
    reports them), only those are looked at again: every other file is taken from `cache` as
    it was. The result is the same as a full load's. `scanned`: the tree's scan, made already."""
    content = ContentSet(root=root)
    if not root.is_dir():
        content.problems.append(Problem(str(root), 1, "content folder does not exist"))
        return content
    content.categories = load_categories(root, content.problems)
    if cache is None:
        cache = ParseCache()
    if cache.categories != content.categories:
        cache.categories, cache.files, cache.snapshot = content.categories, {}, None
        changed = None  # every file is parsed again: list them all
    if changed is None:
        stamps: dict[str, Stamp | None] = dict(scan_article_files(root) if scanned is None else scanned)
        if cache.snapshot is not None and cache.snapshot.stamps == stamps:  # not a file changed since
            return take_snapshot(cache, content)
    else:
        stamps = {file: entry[0] for file, entry in cache.files.items()}
        for relative in changed:
            stamps[relative.as_posix()] = file_stamp(root / relative)
    addresses = Addresses(root)
    cache.addresses, cache.clashes, cache.snapshot = None, 0, None
    categories_problems = len(content.problems)
    seen: set[str] = set()
    for file in sorted(stamps, key=_parts):
        stamp = stamps[file]
        if stamp is None:  # deleted since
            continue
        seen.add(file)
        article, problems = cache.parse(root, file, content.categories, stamp)
        content.problems.extend(problems)
        if article is None:
            continue
        clash = addresses.clash(article.lang, article.slug, article.id)
        if clash is not None:
            content.problems.append(Problem(display_path(root, article.path), *clash))
            cache.clashes += 1
            continue
        addresses.add(article)
        content.articles[article.key] = article
    for gone in set(cache.files) - seen:
        del cache.files[gone]
    if changed is None:
        # The stamps the cache holds (equal ones): stored once, not twice, with it.
        cache.snapshot = Snapshot({file: entry[0] for file, entry in cache.files.items()}, content.articles,
                                  content.problems[categories_problems:], addresses, cache.clashes)
    content.problems.sort()
    cache.addresses = addresses
    return content


def _parts(file: str) -> list[str]:
    """The order files are read in: their Paths' (which file of two claiming a slug wins)."""
    return file.split("/")


def next_free_id(root: Path) -> int:
    """One more than the highest id of any file, valid or not, so `kb new` never collides."""
    highest = 0
    for relative in scan_article_files(root):  # the files a load reads, linked folders too
        try:
            split = split_front_matter((root / relative).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if split:
            match = re.search(r"^id:\s*(\d+)\s*$", split[0], re.MULTILINE)
            if match:
                highest = max(highest, int(match.group(1)))
    return highest + 1


# --- YAML helpers ---------------------------------------------------------------------------

# libyaml's parser when it is there: loading the tree is mostly YAML parsing.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree gives line numbers, the same tree gives the data."""
    node = yaml.compose(text, Loader=_YAML_LOADER)
    if node is None:
        return None, None
    return node, yaml.constructor.SafeConstructor().construct_document(node)


def _key_lines(node: yaml.Node | None, offset: int) -> dict[str, int]:
    """Map each top-level key to its 1-based line in the file (offset = lines before the YAML)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): key.start_mark.line + 1 + offset for key, _ in node.value}


def _yaml_error_line(exc: yaml.YAMLError, offset: int) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return (mark.line + 1 + offset) if mark is not None else 1 + offset


def _yaml_reason(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).strip()
