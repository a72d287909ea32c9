"""Policy data and snippets: validation, versions, inline and block snippets in three languages,
problems reported by `kb check`, and the seed articles bound to the data."""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup

from kb.cli.main import main
from kb.content.loader import load_content
from kb.content.site import Site
from kb.policy.document import Policy
from kb.policy.holder import PolicyHolder
from kb.policy.schema import PolicyError, canonical_json
from kb.policy.sources import POLICY_FILE, load_file, parse_json, parse_yaml
from kb.render.markdown import RenderEnv, Renderer
from tests.conftest import SAMPLE_CONTENT, ContentTree

SAMPLE_POLICY: dict[str, Any] = yaml.safe_load((SAMPLE_CONTENT / POLICY_FILE).read_text(encoding="utf-8"))


def sample_policy(**changes: Any) -> Policy:
    data = copy.deepcopy(SAMPLE_POLICY)
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = data
        for part in path:
            node = node[part]
        node[last] = value
    return Policy.from_data(data, source="test")


def write_policy(root: Path, data: dict[str, Any]) -> None:
    (root / POLICY_FILE).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def render(source: str, lang: str = "en", policy: Policy | None = None) -> Any:
    return Renderer().render(source, RenderEnv(policy=policy or sample_policy(), lang=lang))


def problems_of(root: Path) -> list[str]:
    """What `kb check` reports: policy.yaml's own problems, then the tree's with its policy."""
    policy, problems = load_file(root)
    site = Site(root, policy=PolicyHolder(policy))
    site.load()
    return [str(p) for p in sorted(problems + site.check())]


# --- the document ---------------------------------------------------------------------------


def test_the_sample_policy_is_valid_and_its_version_is_the_hash_of_its_canonical_json() -> None:
    policy, problems = load_file(SAMPLE_CONTENT)
    assert problems == [] and policy is not None
    assert policy.date.isoformat() == "2026-11-20"
    assert policy.get("premium.commitment.months") == 6
    assert [key for key, _ in policy.offers()] == ["plus", "pro", "enterprise"]
    # the same data written differently (other key order, other layout) is the same version
    shuffled = dict(reversed(list(SAMPLE_POLICY.items())))
    again = parse_yaml(yaml.safe_dump(shuffled, sort_keys=True, allow_unicode=True, width=40), source="x")
    assert again.version == policy.version
    assert again.to_json() == canonical_json(again.data)
    # ... and any change of value is another version
    assert sample_policy(premium__commitment={"months": 7, "rule": "r"}).version != policy.version


def test_the_json_of_the_live_source_may_be_the_document_or_another_kbs_api_answer(sample_client: Any) -> None:
    policy, _ = load_file(SAMPLE_CONTENT)
    assert policy is not None
    assert parse_json(policy.to_json().encode(), source="u").version == policy.version
    assert parse_json(sample_client.get("/api/v1/policies").content, source="u").version == policy.version
    with pytest.raises(PolicyError, match="invalid JSON"):
        parse_json(b"\xff{", source="u")


def test_validation_reports_every_problem_of_a_document_at_once() -> None:
    data = copy.deepcopy(SAMPLE_POLICY)
    data["premium"]["commitment"]["months"] = "six"
    data["premium"]["emergency"]["offers"] = ["pro", "platinum"]
    data["premium"]["terms"]["url"] = "javascript:alert(1)"
    data["codes"]["vip"]["wher"] = ["typo"]
    del data["premium"]["scope"]["out"]
    data["standard"]["cost"] = {"pt": "Gratuito"}
    with pytest.raises(PolicyError) as caught:
        Policy.from_data(data)
    found = dict(caught.value.problems)
    assert found["premium.commitment.months"] == "must be a whole number of months, not 'six'"
    assert found["premium.terms.url"] == "must be an http(s) address, not 'javascript:alert(1)'"
    assert found["premium.scope.out"] == "missing"
    assert found["codes.vip.wher"].startswith("unknown field (known: name, what, who, where")
    assert "English" in found["standard.cost"]
    # cross-checks run only on an otherwise valid document
    data = copy.deepcopy(SAMPLE_POLICY)
    data["premium"]["emergency"]["offers"] = ["pro", "platinum"]
    with pytest.raises(PolicyError) as caught:
        Policy.from_data(data)
    assert caught.value.problems == [("premium.emergency.offers.2",
                                      "unknown offer 'platinum' (one of plus, pro, enterprise)")]


def test_kb_check_reports_an_invalid_policy_file_with_the_line_of_each_problem(
        sample_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    path = sample_tree / POLICY_FILE
    text = path.read_text(encoding="utf-8")
    text = text.replace("    months: 6\n", "    months: six\n").replace("url: https://", "url: ftp://")
    path.write_text(text, encoding="utf-8")
    lines = text.split("\n")
    months_line = next(i for i, line in enumerate(lines, 1) if "months: six" in line)
    url_line = next(i for i, line in enumerate(lines, 1) if "url: ftp://" in line)
    found = problems_of(sample_tree)
    assert f"{path}:{months_line}: premium.commitment.months: must be a whole number of months, not 'six'" in found
    assert f"{path}:{url_line}: premium.terms.url: must be an http(s) address, not 'ftp://www.infomaniak.com/en/legal'" in found
    # the command prints exactly these, once each: the file's problems, then the snippets that
    # show nothing without policy data, and logs none of them as well
    assert main(["check", "--content-dir", str(sample_tree), "--data-dir", str(tmp_path / "d")]) == 1
    assert capsys.readouterr().out.splitlines() == found
    assert any("no policy data is loaded" in line for line in found)
    assert not [r for r in caplog.records if "policy problem" in r.getMessage()]


def test_broken_yaml_in_the_policy_file_is_reported_with_its_line(tree: ContentTree) -> None:
    (tree.root / POLICY_FILE).write_text("updated: 2026-01-01\npremium: [unclosed\n", encoding="utf-8")
    found = problems_of(tree.root)
    assert len(found) == 1
    assert re.match(rf"{re.escape(str(tree.root / POLICY_FILE))}:[23]: invalid YAML", found[0])


# --- inline values --------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "months", "languages", "offers", "hours"), [
    ("en", "6 months", "French and English", "Support Pro and Support Enterprise", "1 hour"),
    ("pt", "6 meses", "francês e inglês", "Support Pro e Support Enterprise", "1 hora"),
    ("fr", "6 mois", "français et anglais", "Support Pro et Support Enterprise", "1 heure"),
])
def test_inline_values_are_shown_in_the_language_of_the_article(
        lang: str, months: str, languages: str, offers: str, hours: str) -> None:
    out = render("Commit for {{ premium.commitment.months }}; calls in {{premium.emergency.languages}} "
                 "with {{ premium.emergency.offers }}, answered within {{ premium.offers.enterprise.response_hours }}.",
                 lang)
    soup = BeautifulSoup(out.html, "html.parser")
    values = {s["data-policy-key"]: s.get_text() for s in soup.select("span.policy-value")}
    assert values == {"premium.commitment.months": months, "premium.emergency.languages": languages,
                      "premium.emergency.offers": offers, "premium.offers.enterprise.response_hours": hours}
    assert out.problems == ()
    assert out.policy_keys == {"premium.commitment.months", "premium.emergency.languages",
                               "premium.emergency.offers", "premium.offers.enterprise.response_hours"}
    for value in (months, languages, offers, hours):  # search indexes what readers read
        assert value in out.text


def test_texts_fall_back_to_english_and_links_stay_links() -> None:
    policy = sample_policy(premium__change={"rule": {"en": "Upgrade only.", "fr": "Montée seulement."}})
    assert "Upgrade only." in render("{{ premium.change.rule }}", "pt", policy).html
    assert "Montée seulement." in render("{{ premium.change.rule }}", "fr", policy).html
    out = render("Governed by the {{ premium.terms }}.", "fr")
    link = BeautifulSoup(out.html, "html.parser").select_one("span.policy-value a")
    assert link is not None and link["href"] == "https://www.infomaniak.com/en/legal"
    assert link.get_text() == "Conditions générales d'utilisation du Support Premium"
    assert "Conditions générales d'utilisation du Support Premium" in out.text


def test_markup_in_policy_text_is_escaped() -> None:
    policy = sample_policy(premium__change={"rule": "<script>alert(1)</script> & more"})
    html = render("{{ premium.change.rule }}\n\n::terms[premium]", "en", policy).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_snippets_inside_code_are_shown_as_written() -> None:
    out = render("Write `{{ premium.commitment.months }}`.\n\n```markdown\n::terms[premium]\n```\n")
    assert "<code>{{ premium.commitment.months }}</code>" in out.html
    assert "::terms[premium]" in out.html and "policy-terms" not in out.html
    assert out.problems == () and out.policy_keys == frozenset()


# --- blocks ---------------------------------------------------------------------------------


BLOCKS = "::terms[premium]\n\n::scope[premium.scope]\n\n::code[codes.vip]\n\n::comparison[premium.offers]\n"


@pytest.mark.parametrize(("lang", "labels", "as_of"), [
    ("en", ["Minimum commitment", "Refunds", "In scope", "Out of scope", "Where to find it",
            "Maximum response time"], "As of November 20, 2026"),
    ("pt", ["Compromisso mínimo", "Reembolso", "Incluído", "Não incluído", "Onde encontrar",
            "Tempo máximo de resposta"], "Situação em 20 de novembro de 2026"),
    ("fr", ["Engagement minimal", "Remboursement", "Couvert", "Non couvert", "Où le trouver",
            "Délai de réponse maximal"], "En date du 20 novembre 2026"),
])
def test_block_snippets_are_semantic_translated_anchored_and_dated(lang: str, labels: list[str], as_of: str) -> None:
    out = render(BLOCKS, lang)
    assert out.problems == ()
    soup = BeautifulSoup(out.html, "html.parser")
    ids = [el["id"] for el in soup.select(".policy")]
    assert ids == ["policy-terms-premium", "policy-scope-premium-scope", "policy-code-codes-vip",
                   "policy-comparison-premium-offers"]
    for block in soup.select(".policy"):  # each links to itself and says how fresh it is
        assert block.select_one(f'a.policy-anchor[href="#{block["id"]}"]') is not None
        stamp = block.select_one(".policy-asof")
        assert stamp is not None and stamp.get_text() == as_of
        assert stamp.select_one("time")["datetime"] == "2026-11-20"  # type: ignore[index]
    text = soup.get_text(" ")
    for label in labels:
        assert label in text, label
    terms = soup.select_one("#policy-terms-premium dl")
    assert terms is not None and len(terms.select("dt")) == len(terms.select("dd")) >= 8
    scope = soup.select_one("#policy-scope-premium-scope")
    assert scope is not None and len(scope.select(".policy-scope-in li")) == 3
    assert len(scope.select(".policy-scope-out li")) == 2
    vip = soup.select_one("#policy-code-codes-vip")
    assert vip is not None and len(vip.select("dd li")) == 3
    table = soup.select_one("#policy-comparison-premium-offers table")
    assert table is not None and table.select_one("caption") is not None
    assert [th.get_text() for th in table.select("thead th")][-3:] == ["Support Plus", "Support Pro", "Support Enterprise"]
    assert all(th["scope"] == "row" for th in table.select("tbody th"))
    assert as_of in out.text and labels[0] in out.text  # block text goes to search too


def test_a_product_key_is_accepted_for_its_part_and_repeated_blocks_get_distinct_anchors() -> None:
    out = render("::scope[premium]\n\n::comparison[premium]\n\n::code[codes.support]\n\n::code[codes.support]\n")
    assert out.problems == ()
    ids = [el["id"] for el in BeautifulSoup(out.html, "html.parser").select(".policy")]
    assert ids == ["policy-scope-premium-scope", "policy-comparison-premium-offers",
                   "policy-code-codes-support", "policy-code-codes-support-2"]


def test_standard_support_is_optional_in_the_comparison() -> None:
    data = copy.deepcopy(SAMPLE_POLICY)
    del data["standard"]
    out = render("::comparison[premium.offers]", policy=Policy.from_data(data))
    assert out.problems == ()
    heads = [th.get_text() for th in BeautifulSoup(out.html, "html.parser").select("thead th")]
    assert heads == ["Support Plus", "Support Pro", "Support Enterprise"]


# --- problems -------------------------------------------------------------------------------


def test_unknown_keys_and_snippets_render_a_visible_marker_and_are_reported_with_their_line() -> None:
    source = ("---\ntitle: x\n---\nFirst {{ premium.comitment.months }} line\nsecond {{ premium.scope }} line\n\n"
              "::term[premium]\n\n::code[premium]\n\n::scope\n\n{{ Not A Key }}\n")
    out = render(source, "pt")
    assert out.problems == (
        (4, "unknown policy key 'premium.comitment.months' (did you mean 'premium.commitment.months'?)"),
        (5, ("policy key 'premium.scope' holds several values; show one of them "
             "(premium.scope.in, premium.scope.out) or use a block snippet")),
        (7, "unknown snippet ::term (did you mean ::terms? snippets: ::terms, ::scope, ::code, ::comparison)"),
        (9, "::code shows code data, e.g. ::code[codes.vip]; 'premium' holds product data"),
        (11, "::scope needs a policy key in brackets, e.g. ::scope[premium.scope]"),
        (13, "'Not A Key' is not a policy key (lowercase words joined by dots, e.g. premium.commitment.months)"),
    )
    markers = BeautifulSoup(out.html, "html.parser").select(".snippet-unavailable")
    assert [m.get_text() for m in markers] == ["[indisponível]"] * 6


def test_without_policy_data_every_snippet_is_unavailable() -> None:
    out = Renderer().render("{{ premium.commitment.months }}", RenderEnv(policy=None))
    assert out.problems == ((1, ("unknown policy key 'premium.commitment.months': no policy data is loaded "
                                 "(policy.yaml is missing or invalid)")),)
    assert "[unavailable]" in out.html


def test_kb_check_prints_snippet_problems_as_path_line_message(
        tree: ContentTree, capsys: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_policy(tree.root, SAMPLE_POLICY)
    path = tree.add("en", "bad", body="Fine {{ premium.commitment.months }}.\n\n::comparison[codes.vip]\n\n"
                                        "{{ refunds.policy }}\n")
    code = main(["check", "--content-dir", str(tree.root), "--data-dir", str(tmp_path / "d")])
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert code == 1
    assert not [r for r in caplog.records if r.name == "kb.policy"]  # reported once, not logged as well
    # front matter is 10 lines, so the body starts on line 11
    assert out == [
        f"{path}:13: ::comparison shows offers data, e.g. ::comparison[premium.offers]; 'codes.vip' holds code data",
        f"{path}:15: unknown policy key 'refunds.policy'",
    ]


def test_an_unknown_key_on_a_page_shows_unavailable_and_is_logged_never_a_500(
        make_client: Any, tree: ContentTree, caplog: pytest.LogCaptureFixture) -> None:
    write_policy(tree.root, SAMPLE_POLICY)
    tree.add("fr", "page", body="Durée : {{ premium.commitment.mounths }}.\n\n::bogus[x]\n")
    client = make_client(tree.root)
    with caplog.at_level(logging.WARNING, logger="kb.policy"):
        response = client.get("/fr/articles/page")
    assert response.status_code == 200
    body = BeautifulSoup(response.text, "html.parser").select_one(".article-body")
    assert body is not None and body.get_text(" ").count("[indisponible]") == 2
    logged = [r.getMessage() for r in caplog.records if r.name == "kb.policy"]
    assert any("unknown policy key 'premium.commitment.mounths'" in m for m in logged)
    assert any("unknown snippet ::bogus" in m for m in logged)


# --- the sample content ---------------------------------------------------------------------

# Literal policy facts that must not be written in the prose of the seed articles.
FACTS = re.compile(
    r"\b\d+\s*(?:months?|meses|mois|hours?|horas?|heures?|h)\b|pro rata|prorata|proporcional"
    r"|Support (?:Plus|Pro|Enterprise)|\b(?:French|English|francês|inglês|français|anglais)\b"
    r"|profile page|perfil de usuário|profil utilisateur|technical document|documento técnico|document technique"
    r"|webmastering|third-party|terceiros|tierces|Manager > Support|left menu|menu à esquerda|menu de gauche"
    r"|General Terms|Condições Gerais|Conditions générales|authori[sz]ation code|código de autorização"
    r"|code d'autorisation|06:00"
    # the same facts in German, Italian and Spanish
    r"|\b\d+\s*(?:Monaten?|mes[ei]|Stunden?|or[ae])\b|anteilig|proporzional|\b(?:Französisch|Englisch|francese"
    r"|inglese|francés|inglés)\b|Benutzerprofil|profilo utente|perfil de usuario|technische[sn]? Dokument"
    r"|documento tecnico|Drittanbieter|terze parti|Menü links|menu a sinistra|menú de la izquierda"
    r"|Allgemeine Nutzungsbedingungen|Condizioni generali|Condiciones generales|Autorisierungscode"
    r"|codice di autorizzazione|código de autorización", re.IGNORECASE)


def test_the_seed_articles_state_policy_facts_only_through_snippets() -> None:
    content = load_content(SAMPLE_CONTENT)
    site = Site(SAMPLE_CONTENT, policy=PolicyHolder.from_file(SAMPLE_CONTENT))
    site.load()
    seed = [a for a in content.articles.values() if a.id in (1, 2, 3, 8)]
    assert len(seed) == 24  # in six languages
    for article in seed:
        body = article.source.split("\n---\n", 1)[1]
        prose = re.sub(r"\{\{[^}]*\}\}|^::\w+\[[^\]]*\]$", "", body, flags=re.MULTILINE)
        assert not FACTS.findall(prose), (article.path, FACTS.findall(prose))
        assert not FACTS.findall(article.summary), (article.path, article.summary)
        rendered = site.rendered(site.article(article.lang, article.slug))
        assert rendered.problems == () and rendered.policy_keys, article.path
    keys = set().union(*(site.rendered(site.article(a.lang, a.slug)).policy_keys for a in seed))
    for wanted in ("premium.commitment.months", "premium.refund.rule", "premium.change.rule", "premium.offers",
                   "premium.emergency.offers", "premium.emergency.languages", "premium.scope",
                   "codes.support", "codes.vip", "premium.terms", "premium.managed_in"):
        assert wanted in keys, wanted


def test_the_editors_guide_to_snippets_exists_in_three_languages() -> None:
    content = load_content(SAMPLE_CONTENT)
    guides = [a for a in content.articles.values() if a.id == 9]
    assert sorted(a.lang for a in guides) == ["en", "fr", "pt"]
    for guide in guides:
        assert (guide.category, guide.type, guide.status) == ("writing-articles", "tutorial", "published")
        for syntax in ("{{ premium.commitment.months }}", "::terms[premium]", "::scope[premium.scope]",
                       "::code[codes.vip]", "::comparison[premium.offers]", "kb policy show",
                       "kb policy history", "kb policy diff"):
            assert syntax in guide.source, (guide.path, syntax)
