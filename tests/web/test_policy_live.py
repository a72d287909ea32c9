"""Live policy data: file edits and a live HTTP source reach every affected page within 5 s,
bad versions are refused while the last good one keeps serving, versions are stored
(history, diff), caches follow the version, search re-indexes, and the API answers."""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from starlette.testclient import TestClient

from kb.cli.main import main
from kb.content.site import Change, Site
from kb.policy.document import Policy
from kb.policy.holder import PolicyHolder
from kb.policy.live import PolicyService
from kb.policy.sources import POLICY_FILE
from kb.storage.db import Database
from tests.conftest import DIALECTS, ContentTree, database_for, settings_for
from tests.unit.test_policy import SAMPLE_POLICY, write_policy

LIVE_SECONDS = 5.0
FAST = {"watch_seconds": 0.1, "policy_poll_seconds": 0.2}


def eventually(check: Callable[[], Any], seconds: float = LIVE_SECONDS) -> Any:
    """Poll until check() is truthy; fail after `seconds` (the promise made to editors)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.05)


def edit_policy(root: Path, old: str, new: str) -> None:
    path = root / POLICY_FILE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def body_text(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.text


COMMITMENT = {"en": "/en/articles/premium-support-commitment", "pt": "/pt/articles/suporte-premium-compromisso",
              "fr": "/fr/articles/support-premium-engagement"}


# --- the file -------------------------------------------------------------------------------


def test_a_file_edit_shows_on_every_affected_page_within_5_seconds_and_changes_etags(
        make_client: Any, sample_tree: Path) -> None:
    client = make_client(sample_tree, **FAST)
    before = {lang: client.get(url) for lang, url in COMMITMENT.items()}
    assert "6 months" in before["en"].text and "6 meses" in before["pt"].text and "6 mois" in before["fr"].text
    edit_policy(sample_tree, "    months: 6\n", "    months: 12\n")
    started = time.monotonic()
    eventually(lambda: "12 months" in body_text(client, COMMITMENT["en"]))
    assert time.monotonic() - started < LIVE_SECONDS
    assert "12 meses" in body_text(client, COMMITMENT["pt"])
    assert "12 mois" in body_text(client, COMMITMENT["fr"])
    for lang, url in COMMITMENT.items():  # cached pages are invalidated by the version
        old_etag = before[lang].headers["etag"]
        again = client.get(url, headers={"If-None-Match": old_etag})
        assert again.status_code == 200 and again.headers["etag"] != old_etag
    # the API answers the new version with its date
    answer = client.get("/api/v1/policies/premium.commitment.months").json()
    assert answer["value"] == 12 and answer["date"] == "2026-11-20"


def test_policy_yaml_is_served_from_the_first_rendering_so_starting_re_renders_nothing(
        make_client: Any, sample_tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kb.policy"):
        client = make_client(sample_tree, **FAST)
    assert "6 months" in body_text(client, COMMITMENT["en"])
    # read before the content was loaded and indexed: the watcher then has no new version to
    # accept, which would re-render and re-index every page that shows policy data
    assert not [r.getMessage() for r in caplog.records if "accepted from" in r.getMessage()]


def test_an_invalid_file_is_refused_with_a_clear_log_line_and_the_last_good_version_keeps_serving(
        make_client: Any, sample_tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(sample_tree, **FAST)
    version = client.get("/api/v1/policies").json()["version"]
    with caplog.at_level(logging.ERROR, logger="kb.policy"):
        edit_policy(sample_tree, "    months: 6\n", "    months: six\n")
        line = eventually(lambda: [r.getMessage() for r in caplog.records if "refused" in r.getMessage()])[0]
    assert f"policy version from policy.yaml refused, still serving version {version}" in line
    assert f"{sample_tree / POLICY_FILE}:" in line
    assert "premium.commitment.months: must be a whole number of months, not 'six'" in line
    assert "6 months" in body_text(client, COMMITMENT["en"])
    assert client.get("/api/v1/policies").json()["version"] == version
    # broken YAML is refused the same way
    with caplog.at_level(logging.ERROR, logger="kb.policy"):
        (sample_tree / POLICY_FILE).write_text("premium: [unclosed\n", encoding="utf-8")
        eventually(lambda: any("invalid YAML" in r.getMessage() for r in caplog.records))
    assert "6 months" in body_text(client, COMMITMENT["en"])
    # a fixed file is accepted again
    write_policy(sample_tree, {**copy.deepcopy(SAMPLE_POLICY), "updated": "2026-12-01"})
    eventually(lambda: client.get("/api/v1/policies").json()["date"] == "2026-12-01")
    assert "As of December 1, 2026" in body_text(client, COMMITMENT["en"])


def test_a_version_removing_a_key_that_an_article_uses_is_refused(
        make_client: Any, sample_tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(sample_tree, **FAST)
    data = copy.deepcopy(SAMPLE_POLICY)
    del data["codes"]["vip"]["access"]  # optional in the schema, but the codes article shows it
    with caplog.at_level(logging.ERROR, logger="kb.policy"):
        write_policy(sample_tree, data)
        messages = eventually(lambda: [r.getMessage() for r in caplog.records if "refused" in r.getMessage()])
    assert (f"codes.vip.access: removed, but {sample_tree / 'en/support-codes/support-code-and-vip-code.md'} "
            "still uses it") in messages[0]
    page = body_text(client, "/en/articles/support-code-and-vip-code")
    assert "grant Support staff temporary access" in page and "[unavailable]" not in page
    # once no article uses it any more, the same version is accepted
    for path in sample_tree.glob("*/support-codes/*.md"):
        if "video" not in path.name:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("{{ codes.vip.access }}", "-"), encoding="utf-8")
    eventually(lambda: client.get("/api/v1/policies/codes.vip.access").status_code == 404)


# --- a live HTTP source ---------------------------------------------------------------------


class PolicyServer:
    """A tiny policy service on loopback that a test can switch between versions or break."""

    def __init__(self) -> None:
        self.body = b""
        self.mode = "ok"  # ok | error | garbage | hang-up
        self.requests: list[tuple[str | None, int]] = []  # (If-None-Match, status answered)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sent = self.headers.get("If-None-Match")
                etag = '"' + str(abs(hash(outer.body))) + '"'
                if outer.mode == "hang-up":
                    outer.requests.append((sent, 0))
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, body = 200, outer.body
                if outer.mode == "error":
                    status, body = 503, b"down for maintenance"
                elif outer.mode == "garbage":
                    body = b"{not json"
                elif sent == etag:
                    status, body = 304, b""
                outer.requests.append((sent, status))
                self.send_response(status)
                if status in (200, 304):
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/policy"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, data: dict[str, Any]) -> None:
        self.body = json.dumps(data, default=str).encode("utf-8")
        self.mode = "ok"


@pytest.fixture
def policy_server() -> Iterator[PolicyServer]:
    server = PolicyServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)


def with_months(months: int, **extra: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLE_POLICY)
    data["premium"]["commitment"]["months"] = months
    data.update(extra)
    return data


def test_a_new_version_from_the_live_source_shows_within_5_seconds_and_failures_never_break_pages(
        make_client: Any, sample_tree: Path, policy_server: PolicyServer, caplog: pytest.LogCaptureFixture) -> None:
    policy_server.serve(with_months(3))
    client = make_client(sample_tree, policy_url=policy_server.url, **FAST)
    eventually(lambda: "3 months" in body_text(client, COMMITMENT["en"]))
    assert client.get("/api/v1/policies").json()["source"] == policy_server.url
    # unchanged: the service is asked with If-None-Match and answers 304
    eventually(lambda: any(status == 304 and sent for sent, status in policy_server.requests))
    # a new version
    policy_server.serve(with_months(9))
    started = time.monotonic()
    eventually(lambda: "9 meses" in body_text(client, COMMITMENT["pt"]))
    assert time.monotonic() - started < LIVE_SECONDS
    # unreachable, failing, or answering garbage: pages keep the last good version
    with caplog.at_level(logging.WARNING, logger="kb.policy"):
        for mode, expected in (("error", "answered 503"), ("hang-up", "unreachable"), ("garbage", "invalid JSON")):
            policy_server.mode = mode
            seen = len(policy_server.requests)
            eventually(lambda seen=seen: len(policy_server.requests) > seen + 1)
            assert any(expected in r.getMessage() for r in caplog.records), mode
            page = client.get(COMMITMENT["fr"])
            assert page.status_code == 200 and "9 mois" in page.text
        policy_server.serve(with_months("nine"))  # type: ignore[arg-type]
        eventually(lambda: any("must be a whole number of months" in r.getMessage() for r in caplog.records))
    assert "9 months" in body_text(client, COMMITMENT["en"])
    # and it recovers
    policy_server.serve(with_months(18))
    eventually(lambda: "18 months" in body_text(client, COMMITMENT["en"]))


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """SQLite, unless a test asks for each dialect (`parametrize("database_url", DIALECTS, indirect=True)`)."""
    return database_for(request) if hasattr(request, "param") else None


@pytest.mark.parametrize("database_url", DIALECTS, indirect=True)
def test_an_unreachable_source_at_start_serves_the_last_stored_version(
        make_client: Any, sample_tree: Path, policy_server: PolicyServer, tmp_path: Path) -> None:
    policy_server.serve(with_months(4))
    first = make_client(sample_tree, policy_url=policy_server.url, **FAST)
    eventually(lambda: "4 months" in body_text(first, COMMITMENT["en"]))
    first.__exit__(None, None, None)
    policy_server.mode = "error"
    second = make_client(sample_tree, policy_url=policy_server.url, **FAST)
    assert "4 months" in body_text(second, COMMITMENT["en"])


# --- versions: history and diff -------------------------------------------------------------


def test_every_accepted_version_is_stored_with_history_and_diff(
        make_client: Any, sample_tree: Path, tmp_path: Path, capsys: Any) -> None:
    client = make_client(sample_tree, **FAST)
    first = client.get("/api/v1/policies").json()["version"]
    edit_policy(sample_tree, "    months: 6\n", "    months: 12\n")
    second = eventually(lambda: (v := client.get("/api/v1/policies").json()["version"]) != first and v)
    common = ["--content-dir", str(sample_tree), "--data-dir", str(tmp_path / "data")]
    capsys.readouterr()
    assert main(["policy", "history", *common]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert f"  {second}  policy.yaml  1 key(s) changed: premium.commitment.months" in lines[0]
    assert f"  {first}  policy.yaml  " in lines[1]
    assert main(["policy", "diff", first[:6], second, *common]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == ["- premium.commitment.months = 6", "+ premium.commitment.months = 12"]
    assert main(["policy", "show", "premium.commitment", *common]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith(f"version {second} (as of 2026-11-20), accepted ")
    assert "premium.commitment.months = 12" in shown
    assert main(["policy", "show", "codes.vip.who", "--lang", "fr", *common]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "codes.vip.who[fr] = Uniquement les clients qui ont souscrit au Support Premium"]
    # unknown versions and keys are clear errors
    assert main(["policy", "diff", "ffff", second, *common]) == 2
    assert "no stored policy version starts with 'ffff'" in capsys.readouterr().err
    assert main(["policy", "show", "premium.nope", *common]) == 2
    assert "unknown policy key 'premium.nope'" in capsys.readouterr().err
    # 'file' compares with what is on disk
    edit_policy(sample_tree, "    months: 12\n", "    months: 24\n")
    assert main(["policy", "diff", second, "file", *common]) == 0
    assert capsys.readouterr().out.splitlines() == ["- premium.commitment.months = 12",
                                                    "+ premium.commitment.months = 24"]


def test_two_nodes_on_one_postgresql_accepting_the_same_version_store_it_once(
        make_client: Any, sample_tree: Path, tmp_path: Path, pg_url: str) -> None:
    """Each node watches its own policy.yaml (the same file in every clone) and accepts each new
    version by itself; the history is the site's, not one per node."""
    a = make_client(sample_tree, database=pg_url, **FAST)
    b = make_client(sample_tree, database=pg_url, index_dir=tmp_path / "index-b", data_dir=tmp_path / "data-b",
                    **FAST)
    first = a.get("/api/v1/policies").json()["version"]
    assert b.get("/api/v1/policies").json()["version"] == first
    edit_policy(sample_tree, "    months: 6\n", "    months: 12\n")

    def moved_on() -> set[str]:  # both nodes past the first version (one of them is not enough)
        versions = {n.get("/api/v1/policies").json()["version"] for n in (a, b)}
        return set() if first in versions else versions

    second = eventually(moved_on)
    assert len(second) == 1 and all("12 months" in body_text(n, COMMITMENT["en"]) for n in (a, b))
    with psycopg.connect(pg_url) as conn:
        stored = [row[0] for row in conn.execute("SELECT version FROM policy_versions ORDER BY id")]
    assert stored == [first, *second]


def test_kb_policy_show_reads_the_file_before_any_site_ran(sample_tree: Path, tmp_path: Path, capsys: Any) -> None:
    common = ["--content-dir", str(sample_tree), "--data-dir", str(tmp_path / "fresh")]
    assert main(["policy", "show", "premium.emergency.languages", *common]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "(not yet accepted by a running site)" in out[0]
    assert out[1:] == ["premium.emergency.languages.1 = fr", "premium.emergency.languages.2 = en"]
    assert main(["policy", "history", *common]) == 0
    assert "no policy version has been accepted yet" in capsys.readouterr().err


# --- caches and re-indexing -----------------------------------------------------------------


def test_renderings_are_cached_by_policy_version_and_listeners_get_the_affected_articles(tmp_path: Path) -> None:
    from tests.conftest import SAMPLE_CONTENT

    holder = PolicyHolder.from_file(SAMPLE_CONTENT)
    site = Site(SAMPLE_CONTENT, policy=holder)
    site.load()
    service = PolicyService(settings_for(tmp_path, SAMPLE_CONTENT), site, Database(tmp_path / "unused.db"), holder)
    commitment = site.article("en", "premium-support-commitment")
    assert site.rendered(commitment) is site.rendered(commitment)  # rendered once per version
    seen: list[Change] = []
    site.on_change(seen.append)
    old = holder.current
    assert old is not None and site.policy is old
    data = copy.deepcopy(old.data)
    data["premium"]["commitment"]["months"] = 7
    new = Policy.from_data(data)
    change = service.serve(new, new.changed_keys(old))
    assert seen == [change] and holder.current is new and site.revision.endswith(f"-{new.version}")
    assert change.changed == {(lang, slug) for lang, slug in site.content.articles
                              if slug in ("premium-support-commitment", "suporte-premium-compromisso",
                                          "support-premium-engagement", "show-policy-data-in-an-article",
                                          "mostrar-dados-de-politica-em-um-artigo",
                                          "afficher-des-donnees-de-politique-dans-un-article",
                                          "premium-support-laufzeit-und-rueckerstattung",
                                          "supporto-premium-impegno-e-rimborsi",
                                          "soporte-premium-permanencia-y-reembolsos")}
    assert "7 months" in site.rendered(commitment).html
    # a change of a code only affects the pages that show codes
    data["codes"]["support"]["who"] = "All users"
    newer = Policy.from_data(data)
    change = service.serve(newer, newer.changed_keys(new))
    assert {slug for _, slug in change.changed} == {
        "support-code-and-vip-code", "codigo-de-suporte-e-codigo-vip", "code-support-et-code-vip",
        "show-policy-data-in-an-article", "mostrar-dados-de-politica-em-um-artigo",
        "afficher-des-donnees-de-politique-dans-un-article", "support-code-und-vip-code",
        "codice-di-supporto-e-codice-vip", "codigo-de-soporte-y-codigo-vip"}


def test_search_finds_the_new_value_after_a_policy_change(make_client: Any, sample_tree: Path) -> None:
    client = make_client(sample_tree, **FAST)

    def found(word: str) -> set[str]:
        answer = client.get("/api/v1/search", params={"lang": "fr", "q": word}).json()
        return {hit["slug"] for hit in answer["results"]}

    assert "support-premium-engagement" not in found("zorblifier")
    edit_policy(sample_tree, "fr: \"Vous pouvez passer à une offre supérieure à tout moment",
                "fr: \"Vous pouvez zorblifier une offre supérieure à tout moment")
    hits = eventually(lambda: found("zorblifier"))
    assert {"support-premium-engagement", "support-premium-changer-offre"} <= hits


def test_the_listener_sees_a_live_file_change(make_client: Any, sample_tree: Path) -> None:
    client = make_client(sample_tree, **FAST)
    seen: list[Change] = []
    client.app.state.kb.site.on_change(seen.append)
    edit_policy(sample_tree, "who: {en: Every user,", "who: {en: Each and every user,")
    change = eventually(lambda: [c for c in seen if c.changed])[0]
    assert ("en", "support-code-and-vip-code") in change.changed
    assert ("en", "premium-support-limits") not in change.changed


# --- the API --------------------------------------------------------------------------------


def test_the_policies_api_answers_the_current_values_with_version_and_date(sample_client: TestClient) -> None:
    everything = sample_client.get("/api/v1/policies")
    assert everything.status_code == 200
    body = everything.json()
    assert body["date"] == "2026-11-20" and body["source"] == "policy.yaml"
    assert body["values"]["premium"]["commitment"]["months"] == 6
    assert "premium.emergency.languages" in body["keys"]
    assert everything.headers["etag"] == f'"{body["version"]}"'
    assert sample_client.get("/api/v1/policies", headers={"If-None-Match": everything.headers["etag"]}).status_code == 304
    pt = sample_client.get("/api/v1/policies", params={"lang": "pt"}).json()
    assert pt["values"]["codes"]["vip"]["name"] == "Código VIP"
    one = sample_client.get("/api/v1/policies/premium.offers.pro", params={"lang": "fr"}).json()
    assert one == {"key": "premium.offers.pro", "kind": "offer", "version": body["version"],
                   "date": "2026-11-20", "value": {"level": 2, "name": "Support Pro", "response_hours": 2}}
    missing = sample_client.get("/api/v1/policies/premium.comitment")
    assert missing.status_code == 404
    assert missing.json()["error"] == "unknown policy key 'premium.comitment'; did you mean 'premium.commitment'?"
    assert sample_client.get("/api/v1/policies", params={"lang": "english"}).status_code == 400
    assert sample_client.get("/api/v1/policies/" + "x" * 5000).status_code == 404
    paths = sample_client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/policies" in paths and "/api/v1/policies/{key}" in paths


def test_without_policy_data_the_api_says_so_and_pages_still_render(make_client: Any, tree: ContentTree) -> None:
    tree.add("en", "plain", body="Commitment: {{ premium.commitment.months }}.")
    client = make_client(tree.root)
    assert client.get("/api/v1/policies").status_code == 404
    page = client.get("/en/articles/plain")
    assert page.status_code == 200 and "[unavailable]" in page.text


def test_a_policy_file_added_later_is_picked_up(make_client: Any, tree: ContentTree) -> None:
    tree.add("en", "plain", body="Commitment: {{ premium.commitment.months }}.")
    client = make_client(tree.root, **FAST)
    write_policy(tree.root, SAMPLE_POLICY)
    eventually(lambda: "6 months" in body_text(client, "/en/articles/plain"))
    assert yaml.safe_load((tree.root / POLICY_FILE).read_text(encoding="utf-8"))["updated"]
