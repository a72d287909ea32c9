"""Settings: one frozen object built from defaults < environment (KB_*) < command-line flags.

Every setting is declared once in SETTINGS (name, default, help); the README table is tested
against this list so documentation cannot drift from the code.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kb.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def resource_dir(name: str) -> Path:
    """`templates` or `static`: top-level folders of a checkout, installed as kb/<name> by a wheel.

    The packaged copy wins so that an installed kb never serves a stray folder that happens to sit
    next to it in site-packages.
    """
    packaged = Path(__file__).resolve().parent / name
    return packaged if packaged.is_dir() else PROJECT_ROOT / name


@dataclass(frozen=True)
class SettingSpec:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False

    @property
    def env(self) -> str:
        return "KB_" + self.name.upper()


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"must be a positive integer, got {number}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(f"must be a positive number, got {number}")
    return number


def _base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("expected http(s)://host[:port][/path]")
    return value


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _hosts(value: str) -> str:
    """A comma list of host names: `*`, `name`, or `*.domain` (any sub-domain); kept as text."""
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    for name in names:
        if name == "*":
            continue
        bare = name.removeprefix("*.").strip("[]")
        if not bare or "*" in bare or "/" in bare or " " in bare:
            raise ValueError(f"{name!r} is not a host name, `*.domain` or `*`")
        if ":" in bare:  # an IPv6 address; a port is never part of the match
            try:
                ipaddress.IPv6Address(bare)
            except ValueError:
                raise ValueError(f"{name!r}: give the host name without a port") from None
    return ",".join(names)


_DATABASE_SCHEMES = ("postgresql://", "postgres://", "sqlite:///")


def _database(value: str) -> str:
    """A file path, `sqlite:///path` or `postgresql://user:password@host:port/name`."""
    value = value.strip()
    scheme = value.split("://", 1)[0] + "://" if "://" in value else ""
    if scheme and not value.startswith(_DATABASE_SCHEMES):
        raise ValueError("expected a file path, sqlite:///path or postgresql://user:password@host:port/name")
    if value.startswith(("postgresql://", "postgres://")) and not urlsplit(value).path.strip("/"):
        raise ValueError("name the database: postgresql://user:password@host:port/name")
    return value


def _port(value: str) -> int:
    number = int(value)
    if not 0 < number < 65536:
        raise ValueError(f"must be between 1 and 65535, got {number}")
    return number


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("content_dir", "articles", "Folder of Markdown articles, categories.yaml and policy.yaml."),
    SettingSpec("index_dir", "search_index", "Folder of the Whoosh search index (generated)."),
    SettingSpec("data_dir", "data", "Folder for the database and the generated secret key."),
    SettingSpec("database", "", "SQLite database file (default: kb.sqlite3 in the data folder), or a "
                "postgresql://user:password@host:port/name URL shared by several nodes.", _database, secret=True),
    SettingSpec(
        "secret_key", "", "Key that signs cookies; generated and stored in the data folder when unset.",
        secret=True,
    ),
    SettingSpec("host", "127.0.0.1", "Address `kb serve` listens on."),
    SettingSpec("port", 8000, "Port `kb serve` listens on.", _port),
    SettingSpec(
        "base_url", "", "Public URL of the site (for canonical links and feeds); default: the request's.", _base_url,
    ),
    SettingSpec(
        "allowed_hosts", "", "Host names the site answers (comma list, `*` for any); "
        "default: localhost, 127.0.0.1, ::1 and the host of the base URL.", _hosts,
    ),
    SettingSpec("default_lang", "en", "Language used when the visitor's cannot be served."),
    SettingSpec("page_size", 10, "Entries per page on category and search pages.", _positive_int),
    SettingSpec("show_vote_counts", False, "Show \"N of M found this helpful\" under articles.", _bool),
    SettingSpec("vote_rate_limit", 30, "Votes allowed per visitor and per client address per minute.", _positive_int),
    SettingSpec("login_rate_limit", 10, "Login attempts allowed per client address per 15 minutes.", _positive_int),
    SettingSpec("policy_url", "", "Optional HTTP(S) JSON endpoint of the live policy service."),
    SettingSpec("policy_poll_seconds", 30.0, "How often the live policy source is polled.", _positive_float),
    SettingSpec("watch_seconds", 1.0, "How often the content tree is checked for changes.", _positive_float),
    SettingSpec("content_remote", "", "Git URL the content folder is a clone of (several nodes); none: a plain folder."),
    SettingSpec("content_poll_seconds", 5.0, "How often a node fetches KB_CONTENT_REMOTE.", _positive_float),
    SettingSpec("support_url", "mailto:support@example.com", "Where \"contact support\" links point."),
    SettingSpec("review_days", 365, "Days after which an article neither revised nor marked reviewed is flagged.",
                _positive_int),
)

_SPECS = {spec.name: spec for spec in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with load_settings(), which fills every field from SETTINGS."""

    content_dir: Path
    index_dir: Path
    data_dir: Path
    database: Path | str  # a SQLite file, or a PostgreSQL URL (which holds a password: never shown)
    secret_key: str = field(repr=False)
    host: str
    port: int
    base_url: str
    allowed_hosts: str
    default_lang: str
    page_size: int
    show_vote_counts: bool
    vote_rate_limit: int
    login_rate_limit: int
    policy_url: str
    policy_poll_seconds: float
    watch_seconds: float
    content_remote: str
    content_poll_seconds: float
    support_url: str
    review_days: int

    def trusted_hosts(self) -> list[str]:
        """The Host header values to answer; anything else gets a 400, so a forged Host never
        reaches a link the site builds from the request."""
        if self.allowed_hosts:
            hosts = self.allowed_hosts.split(",")
        else:
            hosts = list(LOOPBACK_HOSTS)
            # An address `kb serve` was told to listen on is reachable by that name too.
            if self.host and self.host.strip("[]") not in {"0.0.0.0", "::"}:
                hosts.append(self.host.strip("[]").lower())
            if self.base_url:
                hosts.append((urlsplit(self.base_url).hostname or "").lower())
        # A Host header writes an IPv6 address in brackets ([::1]:8000); so must the list.
        return list(dict.fromkeys(f"[{h}]" if ":" in h and not h.startswith("[") else h for h in hosts if h))


_PATHS = {"content_dir", "index_dir", "data_dir"}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    create_secret: bool = True,
) -> Settings:
    """Resolve every setting; raise ConfigError naming each bad value at once."""
    environ = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(overrides) - set(_SPECS)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in SETTINGS:
        raw: Any = spec.default
        source = "default"
        if spec.env in environ:
            raw, source = environ[spec.env], spec.env
        if spec.name in overrides:
            raw, source = overrides[spec.name], f"--{spec.name.replace('_', '-')}"
        try:
            value = spec.parse(raw) if isinstance(raw, str) else raw
        except ValueError as exc:
            shown = "(hidden)" if spec.secret else repr(raw)
            problems.append(f"{source}: invalid value {shown}: {exc}")
            continue
        values[spec.name] = value
    if problems:
        raise ConfigError("; ".join(problems))
    for name in _PATHS:
        values[name] = Path(values[name]) if values[name] else None
    database = values["database"]
    if not database:
        values["database"] = values["data_dir"] / "kb.sqlite3"
    elif isinstance(database, str) and not database.startswith(("postgresql://", "postgres://")):
        values["database"] = Path(database.removeprefix("sqlite:///"))
    if not values["secret_key"]:
        values["secret_key"] = _stored_secret(values["data_dir"]) if create_secret else "unset"
    return Settings(**values)


def _stored_secret(data_dir: Path) -> str:
    """Read the generated key, or create it (owner-only file) on first run."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot store the secret key in {path}: {exc.strerror}") from exc
