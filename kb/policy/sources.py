"""Where policy versions come from: the content tree's policy.yaml and a live HTTP service.

`parse_yaml` and `parse_json` turn a source's text into a Policy or a PolicyError;
`file_problems` places an invalid file's problems on their lines (path:line: message, like
articles'), and `load_file` reads the tree's policy.yaml once (kb check, kb index, start-up).
FileSource and HttpSource are what the live service (kb.policy.live) watches: each answers
only what is new, as a Fetched version or the reason there is none; deciding is the service's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from kb.content.model import Problem, display_path
from kb.policy.document import Policy
from kb.policy.schema import PolicyError

if TYPE_CHECKING:
    import httpx

POLICY_FILE = "policy.yaml"
# libyaml's parser when PyYAML has it (as kb.content.loader): a start-up reads a 17 kB policy.yaml
# in ~2 ms of CPU instead of ~18; same values, the same problem marks.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, *, source: str, accepted: date | None = None) -> Policy:
    """Parse policy.yaml; PolicyError problems carry the dotted key (or 'line N')."""
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise PolicyError([(where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}")]) from None
    return Policy.from_data(raw, source=source, accepted=accepted)


def parse_json(body: bytes, *, source: str, accepted: date | None = None) -> Policy:
    try:
        raw = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PolicyError([("", f"invalid JSON: {exc}")]) from None
    if isinstance(raw, dict) and {"version", "values"} <= set(raw):  # another kb's /api/v1/policies
        raw = raw["values"]
    return Policy.from_data(raw, source=source, accepted=accepted)


def key_lines(text: str) -> dict[str, int]:
    """Dotted key -> 1-based line in a YAML text (list items are numbered from 1)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def visit(current: yaml.Node, path: str) -> None:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                sub = f"{path}.{key_node.value}" if path else str(key_node.value)
                lines[sub] = key_node.start_mark.line + 1
                visit(value_node, sub)
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value, start=1):
                sub = f"{path}.{index}"
                lines[sub] = item.start_mark.line + 1
                visit(item, sub)

    if node is not None:
        visit(node, "")
    return lines


def file_problems(root: Path, text: str, error: PolicyError) -> list[Problem]:
    """An invalid policy.yaml's problems as path:line: message, like articles'."""
    shown = display_path(root, Path(POLICY_FILE))
    lines = key_lines(text)
    found = []
    for key, message in error.problems:
        if key.startswith("line "):
            found.append(Problem(shown, int(key[5:]), message))
            continue
        line = 1
        parts = key.split(".") if key else []
        while parts:  # the closest key that exists in the file
            candidate = ".".join(parts)
            if candidate in lines:
                line = lines[candidate]
                break
            parts.pop()
        found.append(Problem(shown, line, f"{key}: {message}" if key else message))
    return sorted(found)


def load_file(root: Path) -> tuple[Policy | None, list[Problem]]:
    """The content tree's policy.yaml: (policy, []) or (None, problems); no file is no problem."""
    path = root / POLICY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(display_path(root, Path(POLICY_FILE)), 1, f"cannot read: {exc}")]
    try:
        return parse_yaml(text, source=POLICY_FILE), []
    except PolicyError as exc:
        return None, file_problems(root, text, exc)


# --- live sources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """A source's answer: a valid version, or why there is none (`refused`: the data is invalid,
    `failed`: the source could not be read). `etag` comes with versions from the HTTP source."""

    source: str
    policy: Policy | None = None
    refused: str = ""
    failed: str = ""
    etag: str | None = None


class FileSource:
    """policy.yaml, parsed again only when its mtime and size, then its content hash, change."""

    def __init__(self, content_dir: Path) -> None:
        self.content_dir = content_dir
        self.path = content_dir / POLICY_FILE
        self._stamp: tuple[int, int] | None = None
        self._hash: str | None = None

    def fetch(self, *, again: bool = False) -> Fetched | None:
        """The file's version when it changed since the last call (or `again`), else None."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            removed = self._stamp is not None
            self._stamp = None
            return Fetched(POLICY_FILE, failed=f"{self.path} was removed") if removed else None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp and not again:
            return None
        self._stamp = stamp
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            return Fetched(POLICY_FILE, failed=f"cannot read {self.path}: {exc.strerror}")
        digest = hashlib.sha256(data).hexdigest()
        if digest == self._hash and not again:
            return None
        self._hash = digest
        text = data.decode("utf-8", errors="replace")
        try:
            return Fetched(POLICY_FILE, policy=parse_yaml(text, source=POLICY_FILE))
        except PolicyError as exc:
            problems = file_problems(self.content_dir, text, exc)
            return Fetched(POLICY_FILE, refused="; ".join(str(p) for p in problems))

    def remember(self) -> None:
        """Take the file as it is now as seen (it was read at start-up)."""
        with contextlib.suppress(OSError):
            stat = self.path.stat()
            self._stamp = (stat.st_mtime_ns, stat.st_size)
            self._hash = hashlib.sha256(self.path.read_bytes()).hexdigest()


class HttpSource:
    """A live policy service (KB_POLICY_URL; another kb's /api/v1/policies will do), asked with
    If-None-Match so an unchanged version costs a 304."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.etag: str | None = None  # set by the caller once it served (or already had) a version
        self._client: httpx.AsyncClient | None = None

    def open(self) -> None:
        import httpx  # here, not at the top: every Site reads this module, few sites poll a URL

        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True,
                                         headers={"Accept": "application/json"})

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self) -> Fetched | None:
        """The service's version, or None when it answered 304 (unchanged)."""
        import httpx

        assert self._client is not None, "open() first"
        headers = {"If-None-Match": self.etag} if self.etag else {}
        try:
            response = await self._client.get(self.url, headers=headers)
        except httpx.HTTPError as exc:
            return Fetched(self.url, failed=f"policy source {self.url} unreachable ({type(exc).__name__}: {exc})")
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            return Fetched(self.url, failed=f"policy source {self.url} answered {response.status_code}")
        try:
            policy = parse_json(response.content, source=self.url)
        except PolicyError as exc:
            return Fetched(self.url, refused=str(exc))
        return Fetched(self.url, policy=policy, etag=response.headers.get("etag"))
