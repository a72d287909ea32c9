"""The rules of content health as one pure computation over signals gathered beforehand, so
computing every flag of 10,000 articles is a pass over dictionaries (bench/health.py).

Times are ISO 8601 UTC strings in the database's format (2026-05-01T10:00:00.000Z), compared as
strings. An article "changed" at its newest file revision or its `updated:` date, whichever is
later (a change made outside the web editor counts from its date until the editor records it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from kb.analytics.model import ATTENTION_BOUND, FALLING_POINTS, MIN_VOTES
from kb.content.model import Article
from kb.feedback import wilson_lower_bound
from kb.health.model import ArticleHealth, Flag
from kb.i18n import N_, N_plural
from kb.policy.document import keys_overlap
from kb.storage.health import PolicyChange, Times, VoteWindows

WINDOW_DAYS = 30
INCORRECT_REPORTS = 3
# Every block snippet shows the policy's "as of" date: a new date alone asks nothing of the prose.
IGNORED_POLICY_KEYS = frozenset({"updated"})


def stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


def stamp_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Scan:
    """What an article's rendering shows that health needs: its policy keys and link problems."""

    policy_keys: frozenset[str]
    broken_links: tuple[tuple[int, str], ...]  # (line, what kb check says)


@dataclass
class Signals:
    """Everything the rules read, gathered by kb.health.service.Health (or a benchmark)."""

    now: datetime
    default_lang: str
    review_days: int
    times: Mapping[tuple[str, int], Times] = field(default_factory=dict)
    votes: Mapping[tuple[str, int], VoteWindows] = field(default_factory=dict)
    incorrect: Mapping[tuple[str, int], tuple[int, str]] = field(default_factory=dict)  # count, first
    policy_changes: list[PolicyChange] = field(default_factory=list)
    scans: Mapping[tuple[str, str], Scan] = field(default_factory=dict)
    broken_since: Mapping[tuple[str, str], str] = field(default_factory=dict)
    diff_links: Mapping[tuple[str, int], str] = field(default_factory=dict)  # translation -> source diff


def revised_at(article: Article, times: Times | None) -> str:
    updated = stamp(article.updated)
    return max(updated, times.revised) if times is not None and times.revised else updated


def checked_at(article: Article, times: Times | None) -> str:
    """The last time someone changed or confirmed the article: flags measured from it start there."""
    revised = revised_at(article, times)
    return max(revised, times.reviewed) if times is not None and times.reviewed else revised


def compute(articles: Iterable[Article], signals: Signals) -> dict[tuple[str, str], ArticleHealth]:
    articles = list(articles)
    sources = {a.id: a for a in articles if a.lang == signals.default_lang}
    due = stamp_of(signals.now - timedelta(days=signals.review_days))
    return {a.key: ArticleHealth(a, tuple(_flags(a, sources.get(a.id), signals, due))) for a in articles}


def _flags(article: Article, source: Article | None, signals: Signals, due: str) -> Iterable[Flag]:
    key = (article.lang, article.id)
    times = signals.times.get(key)
    checked = checked_at(article, times)
    if source is not None and source is not article:
        source_revised = revised_at(source, signals.times.get((source.lang, source.id)))
        if source_revised > checked:
            yield Flag("translation_behind", N_("The %(source)s version changed on %(day)s, after this translation."),
                       {"source": source.lang, "day": source_revised[:10]}, source_revised,
                       signals.diff_links.get(key))
    scan = signals.scans.get(article.key)
    if scan is not None:
        yield from _policy(article, scan, signals.policy_changes, checked)
    votes = signals.votes.get(key)
    if votes is not None:
        yield from _helpfulness(article, votes, signals.now)
    incorrect = signals.incorrect.get(key)
    if incorrect is not None and incorrect[0] >= INCORRECT_REPORTS:
        yield Flag("reported_incorrect", N_plural("%(count)s reader said it is incorrect or out of date since it was last revised or reviewed.",
                                                  "%(count)s readers said it is incorrect or out of date since it was last revised or reviewed."),
                   {"count": incorrect[0]}, incorrect[1], _drilldown(article))
    if scan is not None and scan.broken_links:
        line, message = scan.broken_links[0]
        yield Flag("broken_links", N_plural("%(count)s broken link; line %(line)s: %(problem)s",
                                            "%(count)s broken links; first on line %(line)s: %(problem)s"),
                   {"count": len(scan.broken_links), "line": line, "problem": message},
                   signals.broken_since.get(article.key, stamp_of(signals.now)))
    if checked < due:
        since = stamp_of(datetime.fromisoformat(checked) + timedelta(days=signals.review_days))
        yield Flag("not_reviewed", N_("Not revised or marked reviewed since %(day)s."), {"day": checked[:10]}, since)


def _policy(article: Article, scan: Scan, changes: list[PolicyChange], checked: str) -> Iterable[Flag]:
    keys = scan.policy_keys - IGNORED_POLICY_KEYS
    if not keys:
        return
    for change in changes:  # oldest first: the first change after the check is "since"
        if change.accepted_at <= checked:
            continue
        hit = sorted({u for u in keys for c in change.changed_keys if keys_overlap(u, c)})
        if hit:
            later = {u for c2 in changes if c2.accepted_at > change.accepted_at
                     for u in keys for c in c2.changed_keys if keys_overlap(u, c)}
            shown = sorted(set(hit) | later)
            yield Flag("policy_changed", N_("Policy values it shows changed: %(keys)s."),
                       {"keys": ", ".join(shown)}, change.accepted_at)
            return


def _helpfulness(article: Article, votes: VoteWindows, now: datetime) -> Iterable[Flag]:
    """The analytics dashboard's "needs attention" rule (kb.analytics.model), over the last 30 days."""
    total, previous = votes.yes + votes.no, votes.previous_yes + votes.previous_no
    if total < MIN_VOTES:
        return
    since = stamp((now - timedelta(days=WINDOW_DAYS - 1)).date())
    bound = wilson_lower_bound(votes.yes, total)
    if bound is not None and bound < ATTENTION_BOUND:
        yield Flag("helpfulness_fell", N_plural("Only %(percent)s%% of readers surely helped (Wilson lower bound of %(count)s vote in the last 30 days).",
                                                "Only %(percent)s%% of readers surely helped (Wilson lower bound of %(count)s votes in the last 30 days)."),
                   {"percent": round(bound * 100), "count": total}, since, _drilldown(article))
        return
    if previous >= MIN_VOTES:
        rate, before = votes.yes / total, votes.previous_yes / previous
        if rate - before <= -FALLING_POINTS + 1e-9:  # 0.9 - 1.0 is -0.0999...
            yield Flag("helpfulness_fell", N_("Helpful rate fell from %(before)s%% to %(now)s%% against the previous 30 days."),
                       {"before": round(before * 100), "now": round(rate * 100)}, since, _drilldown(article))


def _drilldown(article: Article) -> str:
    return f"/admin/analytics/articles/{article.id}?lang={article.lang}"


def window_days(now: datetime) -> tuple[str, str, str]:
    """(previous start, start, until): the last 30 days (UTC, today included) and the 30 before."""
    today = now.date()
    start = today - timedelta(days=WINDOW_DAYS - 1)
    return (start - timedelta(days=WINDOW_DAYS)).isoformat(), start.isoformat(), today.isoformat()
