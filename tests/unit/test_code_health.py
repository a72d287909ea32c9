"""The code stays readable: lint and strict types pass, and no module or class outgrows one job."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kb

# A group is sent to a worker before the other tests (tests/conftest.py), so ruff and a cold mypy
# (~14 s of CPU in a fresh clone, which has no .mypy_cache) run at the start of the run, beside
# the other workers' tests, instead of being its tail.
pytestmark = pytest.mark.xdist_group("code_health")

ROOT = Path(kb.__file__).resolve().parent.parent
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 250


def kb_modules() -> list[Path]:
    return sorted((ROOT / "kb").rglob("*.py"))


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True,
                          check=False)


def test_ruff_finds_nothing_in_the_package_tests_and_benchmarks() -> None:
    result = run("ruff", "check", "kb", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_type_checks_with_mypy_strict() -> None:
    result = run("mypy", "--strict", "kb")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_is_over_500_lines() -> None:
    long = {str(path.relative_to(ROOT)): count for path in kb_modules()
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}, "split these modules by concern"


def test_no_class_is_over_250_lines() -> None:
    long: dict[str, int] = {}
    for path in kb_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = size
    assert long == {}, "split these classes by job"


def test_the_size_checks_see_every_module() -> None:
    names = {path.relative_to(ROOT / "kb").as_posix() for path in kb_modules()}
    assert {"web/app.py", "search/index.py", "editing/editor.py", "content/site.py"} <= names
