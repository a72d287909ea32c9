"""Edits made outside the web editor (git pull, a text editor) reach the site without a restart."""

from __future__ import annotations

import time

from tests.conftest import ContentTree, MakeClient


def test_an_article_edited_on_disk_is_served_after_the_next_scan(make_client: MakeClient, tree: ContentTree) -> None:
    path = tree.add("en", "changing", body="Old answer.\n")
    client = make_client(tree.root, watch_seconds=0.05)
    assert "Old answer." in client.get("/en/articles/changing").text
    text = path.read_text(encoding="utf-8").replace("Old answer.", "New answer.")
    path.write_text(text, encoding="utf-8")
    tree.add("en", "brand-new", id=2, body="Fresh.\n")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if "New answer." in client.get("/en/articles/changing").text and \
                client.get("/en/articles/brand-new").status_code == 200:
            break
        time.sleep(0.05)
    assert "New answer." in client.get("/en/articles/changing").text
    assert client.get("/en/articles/brand-new").status_code == 200
    path.unlink()
    deadline = time.monotonic() + 5
    while client.get("/en/articles/changing").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get("/en/articles/changing").status_code == 404
