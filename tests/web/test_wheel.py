"""A normal install serves pages: build the wheel, install it outside the checkout, run `kb serve`.

This is the test `.ci/run` relies on to smoke-test the wheel. It builds with pip as a user would
(`pip wheel .`), so it needs the package index the README's install command already needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kb.config import PROJECT_ROOT
from tests.conftest import SAMPLE_CONTENT, free_port

# One worker builds and installs the wheel once for the three tests (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("wheel")

SOURCES = ("pyproject.toml", "README.md", "kb", "templates", "static")
START_TIMEOUT = 90.0


def _checkout_files() -> set[str]:
    """What the wheel must hold, named as installed: kb/… as is, templates/ and static/ under kb/."""
    wanted: set[str] = set()
    for top in ("kb", "templates", "static"):
        for path in (PROJECT_ROOT / top).rglob("*"):
            relative = path.relative_to(PROJECT_ROOT)
            if not path.is_file() or "__pycache__" in relative.parts or path.name.startswith("."):
                continue
            if top == "kb" and path.suffix not in {".py", ".sql", ".po"}:
                continue  # kb/locale/messages.pot is a working file of the translators, not read
            wanted.add(relative.as_posix() if top == "kb" else f"kb/{relative.as_posix()}")
    return wanted


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy so that setuptools' build/ and egg-info never touch the shared checkout.
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        origin = PROJECT_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=ignore)
        else:
            shutil.copy2(origin, source / name)
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
                   check=True, capture_output=True, cwd=root)
    (built,) = dist.glob("kb-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment outside the checkout with the wheel and its dependencies."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The project's pip installs into the new environment; dependencies come from the package
    # index like any user's install, so a dependency missing from pyproject.toml fails here.
    # --no-compile: byte-compiling every module of every dependency took half the install's
    # CPU (~7 s); `kb serve` compiles the few hundred it imports.
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                             "--no-compile", str(wheel)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return venv


def test_the_wheel_holds_every_module_template_asset_catalog_and_migration(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = sorted(_checkout_files() - names)
    assert not missing, f"missing from {wheel.name}: {missing}"
    assert "kb/templates/base.html" in names and "kb/static/css/kb.css" in names
    assert not any(name.startswith(("templates/", "static/", "articles/", "tests/")) for name in names)


def test_kb_is_imported_from_the_new_environment(installed: Path) -> None:
    found = subprocess.run([str(installed / "bin" / "python"), "-c", "import kb; print(kb.__file__)"],
                           capture_output=True, text=True, check=True, cwd=installed).stdout.strip()
    assert Path(found).is_relative_to(installed), found
    assert not Path(found).is_relative_to(PROJECT_ROOT)


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kb serve` started from an empty folder against a copy of the sample content."""
    work = tmp_path_factory.mktemp("empty")
    content = tmp_path_factory.mktemp("content") / "articles"
    shutil.copytree(SAMPLE_CONTENT, content)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_") and k != "PYTHONPATH"}
    log_path = work.parent / f"{work.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(installed / "bin" / "kb"), "serve", "--content-dir", str(content), "--port", str(port)],
            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"kb serve exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"kb serve did not answer in {START_TIMEOUT:.0f} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_an_installed_kb_serves_pages_assets_and_the_admin(served: str, installed: Path) -> None:
    with httpx.Client(base_url=served, timeout=10) as http:
        home = http.get("/en/")
        assert home.status_code == 200, home.text[:500]
        assert "<html" in home.text

        article_path = re.search(r'href="(/en/articles/[^"#?]+)"', home.text)
        assert article_path, "the home page links no article"
        article = http.get(article_path[1])
        assert article.status_code == 200
        assert '<article' in article.text

        asset = re.search(r'(/static/(css/kb\.css)\?v=[0-9a-f]{12})"', home.text)
        assert asset, "the home page has no hashed stylesheet URL"
        static = http.get(asset[1])
        assert static.status_code == 200
        (shipped,) = installed.glob(f"lib/python*/site-packages/kb/static/{asset[2]}")
        assert static.content == shipped.read_bytes()
        assert "immutable" in static.headers["cache-control"]

        login = http.get("/admin/login")
        assert login.status_code == 200
        assert 'type="password"' in login.text

        # The installed server also sends the security headers and refuses unknown hosts.
        assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
        assert login.headers["cache-control"] == "no-store"
        forged = http.get("/sitemap.xml", headers={"host": "evil.example"})
        assert forged.status_code == 400 and "evil.example" not in forged.text
