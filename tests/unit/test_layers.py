"""The layers stay apart: the core of kb knows nothing of the web (issue 11, item 5).

Only kb.web speaks Starlette (requests, cookies, responses, its thread pool) and nothing but the
web layer imports kb.web, so the core can be driven by the CLI, a test or another front end.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kb

KB = Path(kb.__file__).resolve().parent


def _imports(path: Path, package: str = "") -> list[tuple[int, str]]:
    """(line, module) of every import in a file; relative imports are resolved from `package`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found += [(node.lineno, module)]
    return sorted(found)


def _package(path: Path) -> str:
    return ".".join(("kb", *path.relative_to(KB).parent.parts))


def _core_modules() -> list[Path]:
    return [path for path in sorted(KB.rglob("*.py")) if path.relative_to(KB).parts[0] not in {"web", "cli"}]


def _offenders(forbidden: str) -> list[str]:
    return [f"{path.relative_to(KB.parent)}:{line}: imports {module}"
            for path in _core_modules() for line, module in _imports(path, _package(path))
            if module == forbidden or module.startswith(forbidden + ".")]


def test_the_core_modules_are_found() -> None:
    names = {path.relative_to(KB).as_posix() for path in _core_modules()}
    assert {"auth.py", "content/watch.py", "feedback.py"} <= names
    assert not any(name.startswith(("web/", "cli/")) for name in names)


def test_no_core_module_imports_starlette() -> None:
    """Threads are asyncio.to_thread, sessions and cookies live in kb.web.sessions."""
    assert _offenders("starlette") == []


def test_no_core_module_imports_the_web_layer() -> None:
    assert _offenders("kb.web") == []


def test_the_import_scan_sees_from_imports_and_plain_imports(tmp_path: Path) -> None:
    """The scan above would pass on anything if it missed an import form."""
    source = tmp_path / "sample.py"
    source.write_text("import starlette.requests\nfrom starlette.responses import Response\n"
                      "if True:\n    from kb.web import app\nfrom ..web import services\n")
    assert _imports(source, "kb.content") == [
        (1, "starlette.requests"), (2, "starlette.responses"), (4, "kb.web"), (5, "kb.web")]
