"""Lighthouse scores of the public pages, in every language, on a phone and on a desktop.

Starts the real site (`kb serve` on a free loopback port, the sample content, a fresh data
folder), waits for its search index, then runs Lighthouse (pinned in bench/package.json,
installed by this script with `npm ci` into bench/node_modules) against the home page, one
category, one article and one search page of each language, with the mobile and the desktop
form factor. It prints the four category scores of each page next to the goal (100), then the
id and title of every audit that keeps a score under 100.

The search page is `noindex` on purpose (a results page is not a page to index), so its
`is-crawlable` audit fails by design: it is printed as "expected (noindex)", and the SEO goal
counts as met when it is the page's only failing SEO audit (the table shows such a score as
e.g. `69*`).

Pages run one after another (never in parallel): the performance score depends on the load of
the machine, so on a busy machine it is pessimistic. `--runs 3` keeps each page's median run.

    python bench/lighthouse.py [--langs en,fr] [--pages home,search] [--form-factors mobile]
                               [--runs 1] [--reports bench/out/lighthouse] [--diagnostics]

Needs Node 18.16+ with npm, and Chromium (CHROME_PATH, default /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
SHORT = {"performance": "perf", "accessibility": "a11y", "best-practices": "bp", "seo": "seo"}
LANGS = ("en", "pt", "fr", "de", "it", "es")
PAGES = ("home", "category", "article", "search")
FORM_FACTORS = ("mobile", "desktop")
# Debian's chromium, run as root on a closed network: without the background-networking flags
# its own connections (component updates, sync) are refused and it reports errors.
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update --disable-sync --no-first-run")
EXPECTED = {("search", "is-crawlable"): "expected (noindex)"}
GOAL = 100
WARNED: set[str] = set()


@dataclass
class Result:
    lang: str
    page: str
    form_factor: str
    url: str
    scores: dict[str, int | None]
    failing: list[tuple[str, str, str, str]] = field(default_factory=list)  # category, id, title, value
    diagnostics: list[tuple[str, str, str, str]] = field(default_factory=list)  # not scored

    def met(self, category: str) -> bool:
        if self.scores.get(category) == GOAL:
            return True
        failing = [audit for cat, audit, _, _ in self.failing if cat == category]
        return bool(failing) and all((self.page, audit) in EXPECTED for audit in failing)

    def cell(self, category: str) -> str:
        score = self.scores.get(category)
        text = "err" if score is None else str(score)
        return text + ("*" if score != GOAL and self.met(category) else "")


def install_lighthouse() -> None:
    """`npm ci` in bench/ when node_modules is missing or older than the lock file."""
    marker = BENCH / "node_modules" / ".package-lock.json"
    lock = BENCH / "package-lock.json"
    if LIGHTHOUSE.exists() and marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    print("installing lighthouse (npm ci in bench/)...", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH, check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, KB_CONTENT_DIR=str(ROOT / "articles"), KB_DATA_DIR=str(data_dir),
               KB_INDEX_DIR=str(data_dir / "index"), KB_WATCH_SECONDS="3600")
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Up, and its search index built (the search page answers 503 while it is being built)."""
    deadline = time.monotonic() + 120
    state = "not answering"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}; its log ({log}):\n"
                             + log.read_text(errors="replace")[-3000:])
        try:
            state = "search " + str(httpx.get(base + "/healthz", timeout=2).json().get("search"))
            if state == "search ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server was not ready within 120 s ({state}); its log ({log}):\n"
                     + log.read_text(errors="replace")[-3000:])


def page_urls(base: str, lang: str, category: str, article_id: int, query: str) -> dict[str, str]:
    # /faq/{id} redirects to the article's address in the language asked for
    answer = httpx.get(f"{base}/faq/{article_id}", params={"lang": lang}, follow_redirects=False)
    if answer.status_code != 302:
        raise SystemExit(f"article {article_id} has no {lang} version ({answer.status_code})")
    return {"home": f"{base}/{lang}/", "category": f"{base}/{lang}/{category}/",
            "article": base + answer.headers["location"],
            "search": str(httpx.URL(f"{base}/{lang}/search", params={"q": query}))}


def lighthouse(url: str, form_factor: str, output: Path) -> dict[str, Any]:
    command = [str(LIGHTHOUSE), url, "--output=json", f"--output-path={output}", "--quiet",
               f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}"]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0 or not output.exists():
        raise RuntimeError(f"lighthouse failed on {url} ({form_factor}): {done.stderr.strip()[-2000:]}")
    report: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return report


def failing_audits(report: dict[str, Any], scored: bool = True) -> list[tuple[str, str, str, str]]:
    """The audits not passed that weigh on a category's score (or, scored=False, that do not:
    diagnostics and insights, which never change a score)."""
    failing = []
    for name in CATEGORIES:
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if (ref.get("weight", 0) > 0) == scored and audit.get("score") is not None and audit["score"] < 1:
                failing.append((name, audit["id"], audit["title"], audit.get("displayValue", "")))
    return failing


def score(report: dict[str, Any], category: str) -> int | None:
    value = report["categories"][category]["score"]
    return None if value is None else round(value * 100)


def measure(lang: str, page: str, form_factor: str, url: str, runs: int, reports: Path) -> Result:
    results = []
    for run in range(runs):
        output = reports / f"{lang}-{page}-{form_factor}-{run + 1}.json"
        report = lighthouse(url, form_factor, output)
        results.append(Result(lang, page, form_factor, url, {c: score(report, c) for c in CATEGORIES},
                              failing_audits(report), failing_audits(report, scored=False)))
        for message in report.get("runWarnings", []):
            if message not in WARNED:  # e.g. "slower CPU than Lighthouse expects" on every page
                WARNED.add(message)
                print(f"   warning ({lang} {page} {form_factor}): {message}", flush=True)
    # the median run by performance (the score that varies with the machine's load)
    results.sort(key=lambda r: r.scores["performance"] or 0)
    return results[len(results) // 2]


def print_table(results: list[Result], diagnostics: bool) -> None:
    print()
    print(f"{'lang':4} {'page':8} {'form':7} " + " ".join(f"{SHORT[c]:>5}" for c in CATEGORIES)
          + f"   goal {GOAL} each")
    for r in results:
        met = all(r.met(c) for c in CATEGORIES)
        print(f"{r.lang:4} {r.page:8} {r.form_factor:7} "
              + " ".join(f"{r.cell(c):>5}" for c in CATEGORIES) + ("   met" if met else "   NOT MET"))
    print("* = under 100 only because of an expected failure (the search page is noindex on purpose)")
    print()
    for r in results:
        for category, audit, title, value in r.failing:
            note = EXPECTED.get((r.page, audit), "")
            print(f"{r.lang} {r.page} {r.form_factor} [{SHORT[category]}] {audit}: {title}"
                  + (f" ({value})" if value else "") + (f" -- {note}" if note else ""))
    if diagnostics:
        print("\ndiagnostics (weight 0: they never change a score)")
        for r in results:
            for category, audit, title, value in r.diagnostics:
                print(f"{r.lang} {r.page} {r.form_factor} [{SHORT[category]}] {audit}: {title}"
                      + (f" ({value})" if value else ""))
    count = sum(all(r.met(c) for c in CATEGORIES) for r in results)
    print(f"\n{count} of {len(results)} pages meet the goal in all four categories "
          f"(performance measured on this machine under its current load: pessimistic when busy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--langs", default=",".join(LANGS))
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--form-factors", default=",".join(FORM_FACTORS))
    parser.add_argument("--category", default="premium-support")
    parser.add_argument("--article-id", type=int, default=3, help="an article in every language")
    parser.add_argument("--query", default="premium")
    parser.add_argument("--runs", type=int, default=1, help="runs per page; the median is kept")
    parser.add_argument("--reports", type=Path, default=BENCH / "out" / "lighthouse",
                        help="folder for the JSON reports")
    parser.add_argument("--diagnostics", action="store_true",
                        help="also list the failing audits that carry no weight")
    args = parser.parse_args()
    install_lighthouse()
    args.reports.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = args.reports / "server.log"
        server = start_server(Path(tmp), port, log)
        try:
            wait_ready(base, server, log)
            for lang in args.langs.split(","):
                urls = page_urls(base, lang, args.category, args.article_id, args.query)
                for page in args.pages.split(","):
                    for form_factor in args.form_factors.split(","):
                        result = measure(lang, page, form_factor, urls[page], args.runs, args.reports)
                        print(f"{lang} {page} {form_factor}: "
                              + " ".join(f"{SHORT[c]} {result.cell(c)}" for c in CATEGORIES), flush=True)
                        results.append(result)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    print_table(results, args.diagnostics)


if __name__ == "__main__":
    main()
