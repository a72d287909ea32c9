"""Templates: compiled once per process, whatever the number of apps and languages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from kb.web.templating import StaticAssets, Templates


def templates_over(folder: Path) -> Templates:
    return Templates(folder, StaticAssets(folder), {}, lambda request: {})


def test_a_template_is_compiled_once_for_every_app_and_language_and_again_when_its_file_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str | None] = []
    compile_for_real = jinja2.Environment.compile

    def counted(self: jinja2.Environment, source: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(name)
        return compile_for_real(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    page = tmp_path / "page.html"
    page.write_text('<p>{{ _("Search") }} {{ word }}</p>', encoding="utf-8")

    first, second = templates_over(tmp_path), templates_over(tmp_path)
    assert first.render_string("en", "page.html", {"word": "<b>"}) == "<p>Search &lt;b&gt;</p>"
    assert first.render_string("fr", "page.html", {"word": "a"}) == "<p>Rechercher a</p>"
    assert second.render_string("de", "page.html", {"word": "b"}) == "<p>Suchen b</p>"
    assert compiled == ["page.html"]

    page.write_text("<p>{{ word }}!</p>", encoding="utf-8")
    assert templates_over(tmp_path).render_string("en", "page.html", {"word": "c"}) == "<p>c!</p>"
    assert compiled == ["page.html", "page.html"]
