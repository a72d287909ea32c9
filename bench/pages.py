"""Article pages vs a static file, both through the same ASGI app (issue: site foundation).

Prints requests per second for each and the ratio; the goal is an article page at >= 50% of
the static file's rate (pages are rendered once per content revision and cached).

    python bench/pages.py [--seconds 3] [--content articles]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from kb.config import PROJECT_ROOT, load_settings
from kb.web.app import create_app


async def call(app: Any, path: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None,
               seen: dict[bytes, bytes] | None = None) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": headers or [(b"host", b"bench")], "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            if seen is not None:
                seen.update(message.get("headers", []))

    await app(scope, receive, send)
    return status


async def rate(app: Any, path: str, query: bytes, seconds: float, headers: list[tuple[bytes, bytes]]) -> float:
    assert await call(app, path, query, headers) == 200, path
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            await call(app, path, query, headers)
        count += 50
    return count / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--content", type=Path, default=PROJECT_ROOT / "articles")
    parser.add_argument("--article", default="/en/articles/write-and-publish-an-article")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"content_dir": args.content, "data_dir": Path(tmp),
                                  "index_dir": Path(tmp) / "index", "allowed_hosts": "*"}, environ={})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            # a returning browser: visitor cookie already set, gzip accepted
            seen: dict[bytes, bytes] = {}
            await call(app, "/en/", seen=seen)
            cookie = seen[b"set-cookie"].split(b";")[0]
            headers = [(b"host", b"bench"), (b"cookie", cookie), (b"accept-encoding", b"gzip, br")]
            static = await rate(app, "/static/css/kb.css", b"v=1", args.seconds, headers)
            article = await rate(app, args.article, b"", args.seconds, headers)
    print(f"static file   : {static:8.0f} requests/s")
    print(f"article page  : {article:8.0f} requests/s  ({args.article})")
    print(f"ratio         : {article / static:8.2f}  (goal >= 0.50)")


if __name__ == "__main__":
    asyncio.run(main())
