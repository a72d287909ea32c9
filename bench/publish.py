"""Live publishing from the web editor (issue: publishing for content editors).

Publishes a change to an article N times through /admin and measures, for each, the time until
(1) the article page shows it and (2) the site's search finds it. The goal is both within 2 s.
The baseline is a plain GET of the same article page, measured in the same run.

    python bench/publish.py [--rounds 20] [--content articles]
"""

from __future__ import annotations

import argparse
import html as html_lib
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from kb.config import PROJECT_ROOT, load_settings
from kb.web.app import create_app

PASSWORD = "bench password 123"
ARTICLE = "/admin/articles/en/how-to-search"
PAGE = "/en/articles/how-to-search"


def field(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0)) if tag else None
    return value.group(1) if value else ""


def form(client: TestClient) -> dict[str, str]:
    html = client.get(ARTICLE).text
    body = re.search(r'<textarea id="f-body"[^>]*>\n(.*?)</textarea>', html, re.DOTALL)
    values = {name: field(html, name) for name in
              ("csrf_token", "base_revision", "base_pending", "lang", "slug", "existing", "title", "tags",
               "updated", "video")}
    values.update(summary=re.search(r'<textarea id="f-summary"[^>]*>\n(.*?)</textarea>', html, re.DOTALL).group(1),  # type: ignore[union-attr]
                  body=body.group(1) if body else "", type="tutorial",
                  category="using-the-help-center")
    return {k: html_lib.unescape(v) for k, v in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--content", type=Path, default=PROJECT_ROOT / "articles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(args.content, root / "articles")
        settings = load_settings({"content_dir": root / "articles", "index_dir": root / "index",
                                  "data_dir": root / "data", "allowed_hosts": "*"}, environ={})
        app = create_app(settings)
        with TestClient(app, follow_redirects=False) as client:
            client.portal.call(app.state.kb.auth.add_user, "bench", PASSWORD, "editor")  # type: ignore[union-attr]
            token = field(client.get("/admin/login").text, "csrf_token")
            client.post("/admin/login", data={"csrf_token": token, "name": "bench", "password": PASSWORD})
            baseline = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                client.get(PAGE)
                baseline.append(time.perf_counter() - started)
            saves, pages, searches = [], [], []
            for number in range(args.rounds):
                word = f"benchword{number}x"
                values = form(client)
                values["body"] = values["body"].rstrip() + f"\n\nMarker {word}.\n"
                started = time.perf_counter()
                response = client.post(ARTICLE, data={**values, "action": "publish"})
                assert response.status_code == 303, (response.status_code, re.findall(r"<li>Line[^<]*</li>|role=\"alert\">[^<]*", response.text))
                saves.append(time.perf_counter() - started)
                while word not in client.get(PAGE).text:
                    time.sleep(0.005)
                pages.append(time.perf_counter() - started)
                while word not in client.get(f"/en/search?q={word}").text:
                    if time.perf_counter() - started > 10:
                        raise SystemExit(f"search did not find {word} within 10 s")
                    time.sleep(0.005)
                searches.append(time.perf_counter() - started)
    articles = len(list((args.content).rglob("*.md")))

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:7.1f} ms, max {max(values) * 1000:7.1f} ms"

    print(f"{args.rounds} publishes of one article in a tree of {articles} files")
    print(f"baseline: GET the article page         {ms(baseline)}")
    print(f"publish POST (write, history, reload)  {ms(saves)}")
    print(f"publish -> page shows the change       {ms(pages)}")
    print(f"publish -> search finds the change     {ms(searches)}")
    print(f"ratio: publish-to-search / page GET    {statistics.median(searches) / statistics.median(baseline):.1f}x")
    print(f"goal: within 2000 ms -> {'met' if max(pages + searches) < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
