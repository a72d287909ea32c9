"""Content health on a generated corpus: computing every flag of N articles (default 10,000).

    python bench/health.py [--n 10000]

Writes the corpus (bench/corpus.py) with the sample policy.yaml and a link and a policy snippet
in some articles, records revisions for a tenth of them, a policy change, and votes (some "incorrect")
for a fifth, then prints: the baseline (loading the N articles, as every reload does), the first
computation (it renders every article once to find its policy keys and links) and the next ones
(the steady state: renderings kept per article revision), with the ratio to the baseline.
Goal: every flag of 10,000 articles in at most 1 second.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import generate
from kb.config import PROJECT_ROOT
from kb.content.site import Site
from kb.health.service import Health
from kb.policy.holder import PolicyHolder
from kb.policy.sources import load_file
from kb.storage import policy as policy_store
from kb.storage import revisions, votes
from kb.storage.db import Database

EXTRA = "\nSee [the other answer]({link}). You commit for {{{{ premium.commitment.months }}}}.\n"


def write_corpus(root: Path, n: int) -> None:
    generate(root, n)
    shutil.copy(PROJECT_ROOT / "articles" / "policy.yaml", root / "policy.yaml")
    rng = random.Random(2)
    files = sorted(root.rglob("*.md"))
    by_lang: dict[Path, list[Path]] = {}
    for path in files:
        by_lang.setdefault(path.parent.parent, []).append(path)
    for path in rng.sample(files, len(files) // 5):  # a link (some broken) and a snippet
        other = rng.choice(by_lang[path.parent.parent])  # same language
        link = "../" + other.parent.name + "/" + other.name if rng.random() < 0.95 else "../nowhere/gone.md"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(EXTRA.format(link=link))


async def fill(db: Database, site: Site) -> None:
    rng = random.Random(3)
    articles = list(site.content.articles.values())
    edited = rng.sample(articles, len(articles) // 10)
    for start in range(0, len(edited), 500):
        await revisions.record(db, [revisions.NewRevision(a.id, a.lang, a.slug, a.path.as_posix(), a.revision, "bench",
                                                          "", "publish", a.source) for a in edited[start:start + 500]])
    voted = rng.sample(articles, len(articles) // 5)
    new = [votes.NewVote(a.id, a.lang, a.slug, f"v{a.id}-{a.lang}-{i}", rng.random() < 0.7,
                         None, None, a.revision) for a in voted for i in range(rng.randint(1, 15))]
    new = [v if v.helpful or rng.random() < 0.7 else
           votes.NewVote(v.article_id, v.lang, v.slug, v.visitor, False, "incorrect", None, v.revision) for v in new]
    for version, changed in (("v1", []), ("v2", ["premium.commitment.months"])):  # a change articles show
        await policy_store.record(db, version=version, source="bench", document="{}", changed_keys=changed)
    for start in range(0, len(new), 200):
        group = new[start:start + 200]
        await db.write(lambda conn, group=group: votes.upsert_many(conn, group))


async def measure(root: Path, n: int) -> None:
    policy, _ = load_file(root)
    site = Site(root, policy=PolicyHolder(policy))
    loads = []
    for _ in range(3):
        site = Site(root, policy=PolicyHolder(policy))
        began = time.perf_counter()
        site.load()
        loads.append(time.perf_counter() - began)
    baseline = statistics.median(loads)
    db = Database(root.parent / "bench.sqlite3")
    await db.open()
    try:
        await fill(db, site)
        health = Health(site, db, default_lang="en", review_days=365)
        began = time.perf_counter()
        report = await health.report()
        first = time.perf_counter() - began
        runs = []
        for _ in range(5):
            began = time.perf_counter()
            report = await health.report()
            runs.append(time.perf_counter() - began)
        steady = statistics.median(runs)
    finally:
        await db.close()
    print(f"articles: {len(site.content.articles)}; flagged: {len(report.rows)}; per flag: {report.counts}")
    print(f"baseline, loading the articles:        {baseline:7.3f} s")
    print(f"first computation (renders them all):  {first:7.3f} s")
    print(f"every flag, steady state (median of 5): {steady:7.3f} s  = {steady / baseline:.2f} x the load"
          f"  [goal: <= 1 s for 10,000: {'met' if steady <= 1 or n != 10_000 else 'NOT met'}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "articles"
        write_corpus(root, args.n)
        asyncio.run(measure(root, args.n))


if __name__ == "__main__":
    main()
