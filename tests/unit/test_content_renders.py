"""Renderings kept in memory (kb.content.renders): bounded by their size, the least recently read
dropped first, never served for another revision, and the policy keys of every article rendered
still known after its page was dropped."""

from __future__ import annotations

from kb.content.renders import RenderCache
from kb.content.site import Site
from kb.render.markdown import Rendered
from tests.conftest import ContentTree


def _page(text: str, keys: frozenset[str] = frozenset()) -> Rendered:
    return Rendered(html=f"<p>{text}</p>", text=text, headings=(), problems=(), policy_keys=keys)


def test_the_least_recently_read_renderings_go_first_past_the_size_bound() -> None:
    cache = RenderCache(max_chars=3 * 1300)  # room for three pages of ~1,300 characters
    pages = {slug: _page(slug * 500) for slug in ("a", "b", "c", "d")}
    for slug in ("a", "b", "c"):
        cache.put(("en", slug), ("r1", ""), pages[slug])
    assert cache.get(("en", "a"), ("r1", "")) is pages["a"]  # read: now the most recent
    cache.put(("en", "d"), ("r1", ""), pages["d"])
    assert len(cache) == 3
    assert cache.get(("en", "b"), ("r1", "")) is None  # the least recently read went
    assert cache.get(("en", "a"), ("r1", "")) is pages["a"]
    assert cache.get(("en", "a"), ("r2", "")) is None  # another revision is never served this one


def test_policy_keys_outlive_the_dropped_page_and_follow_reloads() -> None:
    cache = RenderCache(max_chars=1)  # keeps one page at a time
    cache.put(("en", "plans"), ("r1", "p1"), _page("x", frozenset({"premium.cost"})))
    cache.put(("en", "other"), ("r1", "p1"), _page("y"))
    assert cache.get(("en", "plans"), ("r1", "p1")) is None
    assert cache.policy_keys(("en", "plans"), ("r1", "p1")) == frozenset({"premium.cost"})
    assert cache.policy_keys(("en", "plans"), ("r1", "p2")) is None  # another policy version
    cache.drop([("en", "plans")])
    assert cache.policy_keys(("en", "plans"), ("r1", "p1")) is None
    cache.keep(lambda key: False)
    assert len(cache) == 0 and cache.policy_keys(("en", "other"), ("r1", "p1")) is None


def test_a_site_with_a_small_bound_still_renders_every_page_and_finds_its_policy_keys(tree: ContentTree) -> None:
    for number in range(1, 6):
        tree.add("en", f"page-{number}", id=number, body=f"Answer number {number}.")
    site = Site(tree.root)
    site._cache.max_chars = 1
    site.load()
    for article in site.published("en"):
        assert f"Answer number {article.id}." in site.rendered(article).html
    assert len(site._cache) == 1

    def render_again(*args: object, **kwargs: object) -> Rendered:
        raise AssertionError("rendered again")

    site._render = render_again  # type: ignore[method-assign]
    assert site.showing(["premium.cost"]) == frozenset()  # every article's keys, none rendered again
