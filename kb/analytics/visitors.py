"""Who counts as a reader: crawlers, monitors, link previews and scripted clients do not.

One definition for every figure that compares readers: page views (kb.analytics.views), votes
(kb.feedback keeps a crawler's vote but counts it nowhere) and the search log, so that votes per
view and clicks per search compare the same visitors.
"""

from __future__ import annotations

import re

_BOT_RE = re.compile(
    r"bot|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|headless|phantomjs|"
    r"lighthouse|pingdom|uptime|monitor|curl|wget|httpie|python-|httpx|aiohttp|go-http-client|"
    r"java/|okhttp|libwww|scrapy|node-fetch|axios", re.IGNORECASE)


def is_bot(user_agent: str | None) -> bool:
    """True for crawlers and scripts (by user agent); a missing user agent is not a browser."""
    return not user_agent or bool(_BOT_RE.search(user_agent))
