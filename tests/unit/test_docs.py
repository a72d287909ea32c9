"""The README stays true: every setting and CLI command is documented, the commands match CI."""

from __future__ import annotations

import re

from kb.cli.main import build_parser
from kb.config import PROJECT_ROOT, SETTINGS

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [spec.env for spec in SETTINGS if f"`{spec.env}`" not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_cli_command_is_documented_in_the_readme() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    missing = [name for name in commands if f"kb {name}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.split("# The README's test command:\n", 1)[1].strip()
    assert command in README
    assert re.search(r"pip install -q -e \.\s*&&.*kb serve", README)
