"""The `kb` command's wiring: every command has the common flags and a handler, start-up stays
light, `python -m kb.cli` runs it, and a KBError becomes `kb: error: ...` with status 2."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from kb.cli.main import build_parser, main

COMMON_FLAGS = {"--content-dir", "--index-dir", "--data-dir", "--database"}


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every runnable command ('user add', 'check'...), by its words after `kb`."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(commands(sub, f"{prefix} {name}".strip()))
    return found or {prefix: parser}


def test_every_command_takes_the_common_flags_and_runs_a_handler() -> None:
    found = commands(build_parser())
    assert set(found) == {
        "serve", "check", "new", "health", "index", "policy show", "policy history", "policy diff",
        "user add", "user list", "user set-role", "user disable", "user enable", "user password",
        "analytics export", "token create", "token list", "token revoke", "db migrate", "db copy"}
    for name, parser in found.items():
        flags = {flag for action in parser._actions for flag in action.option_strings}
        assert COMMON_FLAGS <= flags, name
        assert callable(parser.get_default("func")), name


def test_building_the_parser_and_parsing_check_loads_none_of_the_core() -> None:
    # A fresh interpreter: this test process has long imported everything. (Parsing a `kb user`
    # command does load kb.auth: its roles are the argument's choices.)
    heavy = ("argon2", "aiosqlite", "uvicorn", "starlette", "whoosh", "jinja2", "markdown_it",
             "tqdm", "kb.auth", "kb.storage", "kb.web", "kb.search", "kb.content", "kb.policy",
             "kb.analytics", "kb.tokens")
    code = ("import sys; from kb.cli.main import build_parser; "
            "build_parser().parse_args(['check']); "
            f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_python_m_kb_cli_reports_an_error_with_status_2_and_creates_no_database(
        tmp_path: Path) -> None:
    database = tmp_path / "kb.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "kb.cli", "policy", "diff", "abc", "file", "--content-dir",
         str(tmp_path), "--data-dir", str(tmp_path), "--database", str(database)],
        check=False, capture_output=True, text=True, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "kb: error: 'abc': give at least 4 characters of a version\n"
    assert not database.exists()


def test_user_roles_are_the_roles_of_the_accounts(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    from kb.auth import ROLES

    for role in ROLES:
        assert build_parser().parse_args(["user", "set-role", "ann", role]).role == role
    with pytest.raises(SystemExit) as stopped:
        main(["user", "add", "ann", "--role", "owner", "--database", str(tmp_path / "kb.sqlite3")])
    assert stopped.value.code == 2
    choices = ", ".join(repr(role) for role in ROLES)
    assert f"argument --role: invalid choice: 'owner' (choose from {choices})" in capsys.readouterr().err
