"""Accounts and access to /admin: roles, sign-in, sessions, CSRF, rate limits, `kb user`."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kb.cli.main import main
from kb.web.security import csrf_token
from tests.admin_support import PASSWORD, add_user, csrf, login, signed_in, soup
from tests.conftest import DIALECTS, ContentTree, MakeClient, database_for

# The SQL these tests exercise runs on SQLite and on PostgreSQL.
database_url = pytest.fixture(params=DIALECTS)(database_for)

ARTICLE_PAGES = ["/admin/articles", "/admin/articles/new", "/admin/articles/en/refund-policy",
                 "/admin/articles/en/refund-policy/translate?to=fr", "/admin/history/en/1"]
POST_ROUTES = ["/admin/articles/new", "/admin/articles/en/refund-policy", "/admin/preview",
               "/admin/articles/en/refund-policy/unpublish", "/admin/articles/en/refund-policy/delete",
               "/admin/articles/en/refund-policy/discard", "/admin/history/en/1/restore", "/admin/users/add",
               "/admin/users/someone/role", "/admin/users/someone/disable", "/admin/logout"]
REFUSED = "Wrong user name or password, or the account is disabled."  # one answer for every reason


@pytest.fixture
def app_client(make_client: MakeClient, tree: ContentTree) -> TestClient:
    tree.add("en", "refund-policy", id=1, title="Refund policy")
    return make_client(tree.root)


def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main([*args, "--data-dir", str(tmp_path / "data"), "--content-dir", str(tmp_path / "articles")])


# --- accounts ----------------------------------------------------------------------------------


def test_no_account_exists_until_one_is_added(app_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, password in [("admin", "admin"), ("admin", "password"), ("root", "root")]:
        response = login(app_client, name, password)
        assert response.status_code == 403
        assert "Wrong user name or password" in response.text
    assert cli(tmp_path, monkeypatch, "user", "list") == 0
    assert "no users yet" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", [None])  # reads the SQLite file or runs the CLI on it
def test_kb_user_commands_manage_accounts(app_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path, monkeypatch, "user", "add", "alice", "--role", "admin", "--password-stdin",
               stdin=PASSWORD + "\n") == 0
    assert cli(tmp_path, monkeypatch, "user", "add", "bob", "--role", "editor", "--password-stdin",
               stdin=PASSWORD + "\n") == 0
    assert cli(tmp_path, monkeypatch, "user", "add", "Bob", "--role", "editor", "--password-stdin",
               stdin=PASSWORD + "\n") == 2
    assert "already exists" in capsys.readouterr().err
    assert cli(tmp_path, monkeypatch, "user", "add", "carol", "--role", "editor", "--password-stdin",
               stdin="short\n") == 2
    assert "at least 8 characters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(tmp_path, monkeypatch, "user", "add", "dave", "--role", "owner", "--password-stdin", stdin="x" * 9)
    capsys.readouterr()
    assert cli(tmp_path, monkeypatch, "user", "set-role", "bob", "analyst") == 0
    assert cli(tmp_path, monkeypatch, "user", "disable", "bob") == 0
    assert "disabled bob" in capsys.readouterr().out
    assert cli(tmp_path, monkeypatch, "user", "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in listing] == [["alice", "admin", "active"],
                                                           ["bob", "analyst", "disabled"]]
    # the last enabled admin cannot be demoted or disabled: someone must be able to manage users
    assert cli(tmp_path, monkeypatch, "user", "disable", "alice") == 2
    assert "no enabled admin" in capsys.readouterr().err
    # passwords are stored as argon2 hashes, never as typed
    assert login(app_client, "alice").status_code == 303
    assert login(app_client, "bob").status_code == 403  # disabled
    with sqlite3.connect(tmp_path / "data" / "kb.sqlite3") as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM users")]
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


@pytest.mark.parametrize("database_url", [None])  # reads the SQLite file or runs the CLI on it
def test_kb_user_add_prompts_for_the_password_twice(app_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    answers = iter([PASSWORD, PASSWORD + "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli(tmp_path, monkeypatch, "user", "add", "erin", "--role", "editor") == 2
    assert "differ" in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert cli(tmp_path, monkeypatch, "user", "add", "erin", "--role", "editor") == 0
    assert login(app_client, "erin").status_code == 303


# --- signing in ----------------------------------------------------------------------------------


def test_anonymous_requests_go_to_the_login_page_and_come_back(app_client: TestClient) -> None:
    for url in [*ARTICLE_PAGES, "/admin/", "/admin/users"]:
        response = app_client.get(url)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/admin/login?next=/admin/")
    for url in POST_ROUTES:
        assert app_client.post(url, data={}).status_code == 303, url
    target = app_client.get("/admin/articles?lang=en&status=draft").headers["location"]
    page = app_client.get(target)
    assert soup(page).select_one("input[name=next]")["value"] == "/admin/articles?lang=en&status=draft"
    add_user(app_client, "ed", "editor")
    response = login(app_client, "ed", next_url="/admin/articles?lang=en&status=draft")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/articles?lang=en&status=draft"
    assert app_client.get(response.headers["location"]).status_code == 200


@pytest.mark.parametrize("database_url", [None])  # the route checks this input, not the SQL: one dialect
@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "evil", "/%0d%0aSet-Cookie:x=1".replace("%0d%0a", "\r\n")])
def test_login_only_returns_to_local_paths(app_client: TestClient, target: str) -> None:
    add_user(app_client, "ed", "editor")
    response = login(app_client, "ed", next_url=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"


def test_session_cookie_is_signed_httponly_and_samesite(app_client: TestClient) -> None:
    add_user(app_client, "ed", "editor")
    cookie = login(app_client, "ed").headers["set-cookie"]
    assert cookie.startswith("kb_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in this test
    # a forged or altered cookie is no session at all
    value = app_client.cookies.get("kb_session")
    app_client.cookies.delete("kb_session")
    app_client.cookies.set("kb_session", value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1])
    assert app_client.get("/admin/articles").status_code == 303


def test_session_cookie_is_secure_over_https(make_client: MakeClient, tree: ContentTree) -> None:
    client = make_client(tree.root)
    client.base_url = client.base_url.copy_with(scheme="https")
    add_user(client, "ed", "editor")
    cookie = login(client, "ed").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_wrong_password_is_refused_like_an_unknown_user(app_client: TestClient) -> None:
    add_user(app_client, "ed", "editor")
    wrong = login(app_client, "ed", "not the password")
    unknown = login(app_client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 403
    assert soup(wrong).select_one(".form-error").get_text() == soup(unknown).select_one(".form-error").get_text() == REFUSED
    assert "kb_session" not in wrong.headers.get("set-cookie", "")
    assert login(app_client, "ed", "x" * 5000).status_code == 403
    assert soup(wrong).select_one("input[name=name]")["value"] == "ed"


def test_disabled_users_cannot_sign_in_and_lose_their_sessions(app_client: TestClient) -> None:
    signed_in(app_client, "ed", "editor")
    assert app_client.get("/admin/articles").status_code == 200
    auth = app_client.app.state.kb.auth
    app_client.portal.call(auth.set_disabled, "ed", True)
    assert app_client.get("/admin/articles").status_code == 303
    disabled = login(app_client, "ed")
    assert disabled.status_code == 403  # the same words as a wrong password: nothing to probe
    assert soup(disabled).select_one(".form-error").get_text() == REFUSED
    app_client.portal.call(auth.set_disabled, "ed", False)
    assert login(app_client, "ed").status_code == 303


def test_a_role_change_ends_the_session(app_client: TestClient) -> None:
    signed_in(app_client, "ed", "editor")
    auth = app_client.app.state.kb.auth
    app_client.portal.call(auth.set_role, "ed", "analyst")
    ended = app_client.get("/admin/articles")
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/admin/login")
    login(app_client, "ed")
    refused = app_client.get("/admin/articles")
    assert refused.status_code == 403
    assert "role" in refused.text.lower(), refused.text


def test_logout_ends_the_session_even_for_a_copied_cookie(app_client: TestClient) -> None:
    signed_in(app_client, "ed", "editor")
    page = app_client.get("/admin/articles")
    stolen = app_client.cookies.get("kb_session")
    response = app_client.post("/admin/logout", data={"csrf_token": csrf(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert 'kb_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    app_client.cookies.set("kb_session", stolen)
    assert app_client.get("/admin/articles").status_code == 303


def test_login_attempts_are_rate_limited_per_client_address(make_client: MakeClient, tree: ContentTree) -> None:
    client = make_client(tree.root, login_rate_limit=3)
    add_user(client, "ed", "editor")
    for _ in range(3):
        assert login(client, "ed", "wrong password").status_code == 403
    refused = login(client, "ed")  # even the right password waits
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 60
    assert "kb_session" not in refused.headers.get("set-cookie", "")


# --- CSRF ---------------------------------------------------------------------------------------


def test_login_form_needs_its_csrf_token(app_client: TestClient) -> None:
    add_user(app_client, "ed", "editor")
    app_client.get("/admin/login")
    for token in [None, "", "0" * 40]:
        data = {"name": "ed", "password": PASSWORD, **({"csrf_token": token} if token is not None else {})}
        response = app_client.post("/admin/login", data=data)
        assert response.status_code == 403
        assert "kb_session" not in response.headers.get("set-cookie", "")


def test_admin_forms_need_the_token_of_this_session(make_client: MakeClient, tree: ContentTree) -> None:
    tree.add("en", "refund-policy", id=1, title="Refund policy")
    first = signed_in(make_client(tree.root), "ed", "editor")
    token = csrf(first.get("/admin/articles").text)
    # the site's visitor-bound token (good for votes) is not valid for admin forms
    visitor = first.cookies.get("kb_visitor").rsplit(".", 1)[0]
    visitor_token = csrf_token(first.app.state.kb.settings.secret_key, visitor)
    for bad in ["", "nope", token[:-1] + ("0" if token[-1] != "0" else "1"), visitor_token]:
        response = first.post("/admin/articles/en/refund-policy/unpublish", data={"csrf_token": bad})
        assert response.status_code == 403
    assert (tree.root / "en" / "billing" / "refund-policy.md").read_text().count("status: published") == 1
    # a token from before a logout is worthless in the next session
    first.post("/admin/logout", data={"csrf_token": token})
    login(first, "ed")
    response = first.post("/admin/articles/en/refund-policy/unpublish", data={"csrf_token": token})
    assert response.status_code == 403


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role,article_status,users_status", [
    ("admin", 200, 200), ("editor", 200, 403), ("analyst", 403, 403),
])
def test_each_role_reaches_only_its_pages(app_client: TestClient, role: str, article_status: int, users_status: int) -> None:
    signed_in(app_client, "someone", role)
    for url in ARTICLE_PAGES:
        assert app_client.get(url).status_code == article_status, (role, url)
    assert app_client.get("/admin/users").status_code == users_status
    token = csrf(app_client.get("/admin/").text if role == "analyst" else app_client.get("/admin/articles").text)
    for url in POST_ROUTES:
        if url == "/admin/logout":
            continue
        expected = users_status if url.startswith("/admin/users") else article_status
        response = app_client.post(url, data={"csrf_token": token})
        if expected == 403:
            assert response.status_code == 403, (role, url)
            assert "not allowed" in response.text
        else:
            assert response.status_code != 403, (role, url)
    home = app_client.get("/admin/")
    if role == "analyst":
        assert home.status_code == 200
    else:
        assert home.headers["location"] == "/admin/articles"


def test_admin_pages_are_private_and_framed_by_nobody(app_client: TestClient) -> None:
    signed_in(app_client, "ed", "editor")
    response = app_client.get("/admin/articles")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert soup(response).select_one("meta[name=robots]")["content"] == "noindex, nofollow"


def test_admins_manage_users_on_the_web(app_client: TestClient) -> None:
    signed_in(app_client, "root", "admin")
    token = csrf(app_client.get("/admin/users").text)
    response = app_client.post("/admin/users/add", data={"csrf_token": token, "name": "newbie",
                                                         "password": PASSWORD, "role": "editor"})
    assert response.status_code == 303
    rows = {tr.select("td")[0].get_text(): tr for tr in soup(app_client.get("/admin/users")).select("tbody tr")}
    assert set(rows) == {"root", "newbie"}
    duplicate = app_client.post("/admin/users/add", data={"csrf_token": token, "name": "NEWBIE",
                                                          "password": PASSWORD, "role": "editor"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    weak = app_client.post("/admin/users/add", data={"csrf_token": token, "name": "weak", "password": "123",
                                                     "role": "editor"})
    assert weak.status_code == 400 and "at least 8" in weak.text
    odd = app_client.post("/admin/users/add", data={"csrf_token": token, "name": "<b>x</b>", "password": PASSWORD,
                                                    "role": "editor"})
    assert odd.status_code == 400 and "<b>x</b>" not in odd.text
    assert app_client.post("/admin/users/newbie/role", data={"csrf_token": token, "role": "analyst"}).status_code == 303
    god = app_client.post("/admin/users/newbie/role", data={"csrf_token": token, "role": "god"})
    assert god.status_code == 400 and "role must be one of admin, editor, analyst, not 'god'" in soup(god).get_text()
    assert app_client.post("/admin/users/newbie/disable", data={"csrf_token": token}).status_code == 303
    ghost = app_client.post("/admin/users/ghost/disable", data={"csrf_token": token})
    assert ghost.status_code == 404 and "no user named 'ghost'" in soup(ghost).get_text()
    assert login(app_client, "newbie").status_code == 403
    # the only admin cannot lock everyone out
    login(app_client, "root")
    token = csrf(app_client.get("/admin/users").text)
    refused = app_client.post("/admin/users/root/role", data={"csrf_token": token, "role": "editor"})
    assert refused.status_code == 409 and "no enabled admin" in refused.text
