"""synonyms.yaml: what the loader accepts and reports (path:line), what `kb check` prints, and the
writers that keep the rest of the file byte for byte."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kb.cli.main import main
from kb.content.model import Synonyms, SynonymSet, normalise_phrase
from kb.content.synonyms import (
    SynonymsRefused,
    add_equivalent,
    load_synonyms,
    parse_synonyms,
    replace_section,
    section,
)
from kb.search.synonyms import expansion
from tests.conftest import ContentTree

GOOD = """\
# Synonyms of the help center
en:
  equivalent:
    - [refund, Money  back, reimbursement]   # what customers say
    - [downgrade, cheaper offer, lower offer]
  one_way:
    emergency: [urgent, outage]

# French
fr:
  equivalent: [[remboursement, argent rendu]]
pt:
"""


def problems_of(text: str, languages: set[str] | None = None) -> list[str]:
    return [str(p) for p in parse_synonyms(text, "articles/synonyms.yaml", languages)[1]]


def test_a_valid_file_gives_normalised_groups_and_one_way_expansions_per_language() -> None:
    found, problems = parse_synonyms(GOOD, "synonyms.yaml", {"en", "fr", "pt"})
    assert problems == []
    assert found.of("en") == Synonyms(
        equivalent=(("refund", "money back", "reimbursement"), ("downgrade", "cheaper offer", "lower offer")),
        one_way=(("emergency", ("urgent", "outage")),))
    assert found.of("fr").equivalent == (("remboursement", "argent rendu"),)
    assert not found.of("pt") and not found.of("de")  # empty, and absent: no synonyms
    assert found.of("en").group_of("Money back") == ("refund", "money back", "reimbursement")


def test_a_missing_file_is_no_synonyms_and_no_problem(tmp_path: Path) -> None:
    assert load_synonyms(tmp_path) == (SynonymSet(), [])


@pytest.mark.parametrize(("text", "expected"), [
    ("en:\n  equivalent:\n    - [refund\n  one_way: {}\n",
     ["articles/synonyms.yaml:4: invalid YAML: did not find expected ',' or ']'"]),
    ("- en\n", ["articles/synonyms.yaml:1: must map each language (en, pt, ...) to its synonyms"]),
    ("xx:\n  equivalent: []\n", ["articles/synonyms.yaml:1: unknown language 'xx'; one of: en, fr"]),
    ("english: {}\n", ["articles/synonyms.yaml:1: unknown language 'english'; one of: en, fr"]),
    ("en: [refund]\n", ["articles/synonyms.yaml:1: a language holds 'equivalent:' and 'one_way:'"]),
    ("en:\n  equivalents: []\n",
     ["articles/synonyms.yaml:2: unknown section 'equivalents'; one of: equivalent, one_way"]),
    ("en:\n  equivalent: refund\n",
     ["articles/synonyms.yaml:2: 'equivalent' must be a list of groups, like - [refund, money back]"]),
    ("en:\n  equivalent:\n    - [refund]\n", ["articles/synonyms.yaml:3: a group needs at least two phrases"]),
    ("en:\n  equivalent:\n    - [refund, '  ', money back]\n", ["articles/synonyms.yaml:3: empty phrase"]),
    ("en:\n  equivalent:\n    - [refund, [money, back]]\n",
     ["articles/synonyms.yaml:3: a group needs at least two phrases",
      "articles/synonyms.yaml:3: a phrase must be text, not a list or a mapping"]),
    ("en:\n  equivalent:\n    - [refund, Refund, money back]\n",
     ["articles/synonyms.yaml:3: 'refund' is twice in the same list"]),
    ("en:\n  equivalent:\n    - [refund, money back]\n    - [repayment, REFUND]\n",
     ["articles/synonyms.yaml:4: 'refund' is already in the group on line 3"]),
    ("en:\n  one_way:\n    emergency: [urgent, Emergency]\n",
     ["articles/synonyms.yaml:3: one-way key 'emergency' is also its own target"]),
    ("en:\n  one_way:\n    emergency: [urgent]\n    emergency: [outage]\n",
     ["articles/synonyms.yaml:4: duplicate one-way key 'emergency' (first on line 3)"]),
    ("en:\n  one_way:\n    emergency: []\n", ["articles/synonyms.yaml:3: one-way key 'emergency' has no target"]),
    ("en:\n  one_way: [urgent]\n", ["articles/synonyms.yaml:2: 'one_way' must map a phrase to the phrases it also finds"]),
    ("en:\n  equivalent: []\nfr: {}\nen: {}\n", ["articles/synonyms.yaml:4: duplicate language 'en' (first on line 1)"]),
    ("en:\n  equivalent: []\n  equivalent: []\n",
     ["articles/synonyms.yaml:3: duplicate section 'equivalent' (first on line 2)"]),
])
def test_each_problem_is_reported_with_its_file_and_line(text: str, expected: list[str]) -> None:
    assert problems_of(text, {"en", "fr"}) == expected


def test_a_bad_entry_is_left_out_and_the_rest_is_served() -> None:
    text = "en:\n  equivalent:\n    - [refund, money back]\n    - [solo]\n    - [cancel, terminate]\n"
    found, problems = parse_synonyms(text, "s.yaml")
    assert [str(p) for p in problems] == ["s.yaml:4: a group needs at least two phrases"]
    assert found.of("en").equivalent == (("refund", "money back"), ("cancel", "terminate"))


def test_kb_check_reports_the_synonyms_problems_with_the_articles_ones(
        tree: ContentTree, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree.add("en", "refunds", id=1)
    (tree.root / "synonyms.yaml").write_text(
        "en:\n  equivalent:\n    - [refund, money back]\n    - [money back, payback]\nzz: {}\n", encoding="utf-8")
    code = main(["check", "--content-dir", str(tree.root), "--data-dir", str(tmp_path / "d")])
    out = capsys.readouterr().out.splitlines()
    shown = tree.root / "synonyms.yaml"
    assert code == 1
    assert out == [f"{shown}:4: 'money back' is already in the group on line 3",
                   f"{shown}:5: unknown language 'zz'; one of: de, en, es, fr, it, pt"]


def test_the_sample_synonyms_load_without_a_problem_in_six_languages() -> None:
    from kb.config import PROJECT_ROOT

    found, problems = load_synonyms(PROJECT_ROOT / "articles")
    assert problems == []
    assert sorted(found.languages) == ["de", "en", "es", "fr", "it", "pt"]
    assert all(found.of(lang).equivalent and found.of(lang).one_way for lang in found.languages)


# --- the writers ---------------------------------------------------------------------------


def test_adding_a_group_keeps_the_rest_of_the_file_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert add_equivalent(path, "en", ["cancel", "terminate"], lock=tmp_path / "lock")
    text = path.read_text(encoding="utf-8")
    assert text == GOOD.replace("    - [downgrade, cheaper offer, lower offer]\n",
                                "    - [downgrade, cheaper offer, lower offer]\n    - [cancel, terminate]\n")


def test_a_group_sharing_a_phrase_joins_the_existing_group_and_a_known_group_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert add_equivalent(path, "en", ["payback", "Refund"], lock=tmp_path / "lock")
    assert "    - [refund, Money  back, reimbursement, payback]   # what customers say\n" in path.read_text()
    before = path.read_bytes()
    assert add_equivalent(path, "en", ["money back", "payback"], lock=tmp_path / "lock") is False
    assert path.read_bytes() == before
    with pytest.raises(SynonymsRefused, match="two different groups"):
        add_equivalent(path, "en", ["refund", "downgrade"], lock=tmp_path / "lock")
    with pytest.raises(SynonymsRefused, match="two different phrases"):
        add_equivalent(path, "en", ["refund", "REFUND"], lock=tmp_path / "lock")


@pytest.mark.parametrize("lang", ["fr", "pt", "de"])
def test_a_group_can_be_added_to_a_flow_list_an_empty_language_or_a_new_one(tmp_path: Path, lang: str) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert add_equivalent(path, lang, ["a b", "c: d"], lock=tmp_path / "lock")
    found, problems = parse_synonyms(path.read_text(), "s")
    assert problems == []
    assert found.of(lang).equivalent[-1] == ("a b", "c: d")
    assert found.of("en") == parse_synonyms(GOOD, "s")[0].of("en")
    assert path.read_text().startswith(GOOD.split("\nfr:")[0])  # English and the comments as they were


def test_a_group_is_added_to_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "content" / "synonyms.yaml"
    assert add_equivalent(path, "en", ["refund", "money back"], lock=tmp_path / "lock")
    assert path.read_text() == "en:\n  equivalent:\n    - [refund, money back]\n"


phrase = st.text(alphabet=string.ascii_lowercase + "éç '-:#,[]", min_size=1, max_size=12).map(
    normalise_phrase).filter(bool)
groups = st.lists(st.lists(phrase, min_size=2, max_size=4, unique=True), max_size=4)


@given(existing=groups, added=groups)
def test_groups_written_one_by_one_load_back_as_the_same_data(existing: list[list[str]], added: list[list[str]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "synonyms.yaml"
        seen: set[str] = set()
        kept: list[list[str]] = []
        for group in existing:
            if not seen & set(group):
                seen |= set(group)
                kept.append(group)
        head = "# kept as is\nfr:\n  equivalent:\n    - [un, deux]  # note\n"
        data = yaml.safe_dump({"en": {"equivalent": kept}}, allow_unicode=True) if kept else ""
        path.write_text(head + data, encoding="utf-8")
        for group in added:
            if not seen & set(group):
                add_equivalent(path, "en", group, lock=Path(folder) / "lock")
                seen |= set(group)
                kept.append(group)
        text = path.read_text(encoding="utf-8")
        found, problems = parse_synonyms(text, "s")
        assert problems == []
        assert found.of("en").equivalent == tuple(tuple(g) for g in kept)
        assert text.startswith(head)


def test_the_editor_replaces_one_language_and_keeps_the_others_byte_for_byte() -> None:
    assert section(GOOD, "en").text == (
        "equivalent:\n  - [refund, Money  back, reimbursement]   # what customers say\n"
        "  - [downgrade, cheaper offer, lower offer]\none_way:\n  emergency: [urgent, outage]\n")
    changed, first = replace_section(GOOD, "en", "equivalent:\n  - [refund, money back]\n")
    assert changed == GOOD.replace(GOOD[GOOD.index("  equivalent:"):GOOD.index("\n# French")],
                                   "  equivalent:\n    - [refund, money back]\n")
    assert changed.splitlines()[first] == "  equivalent:"
    added, _ = replace_section(GOOD, "it", "equivalent:\n  - [rimborso, soldi indietro]")
    assert added == GOOD + "it:\n  equivalent:\n    - [rimborso, soldi indietro]\n"


def test_a_members_other_word_forms_and_accents_are_the_same_synonym() -> None:
    found = expansion("en", Synonyms(equivalent=(("refund", "money back"),)))
    assert found is not None
    assert found.spans(["Refunds", "please"]) == [(0, 1, ("money back",))]
    assert found.spans(["getting", "money", "back"]) == [(1, 3, ("refund",))]
    french = expansion("fr", Synonyms(one_way=(("numéro vip", ("code vip",)),)))
    assert french is not None and french.spans(["numero", "VIP"]) == [(0, 2, ("code vip",))]
