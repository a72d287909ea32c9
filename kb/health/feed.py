"""The Atom feed of new health flags: one entry per flag, newest first, so editors can follow
what needs them in a feed reader. An entry's id is the article, the flag and its start: a flag
that clears and comes back later is a new entry."""

from __future__ import annotations

from xml.sax.saxutils import escape

from kb.health.model import FLAG_LABELS, Report

FEED_LIMIT = 100


def atom(report: Report, *, base: str, self_url: str, title: str) -> str:
    entries = sorted(((flag, row) for row in report.rows for flag in row.flags),
                     key=lambda pair: pair[0].since, reverse=True)[:FEED_LIMIT]
    updated = _atom_time(entries[0][0].since) if entries else "1970-01-01T00:00:00Z"
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             '<feed xmlns="http://www.w3.org/2005/Atom">',
             f"  <title>{escape(title)}</title>",
             f'  <link href="{escape(base)}/admin/health"/>',
             f'  <link rel="self" href="{escape(self_url)}"/>',
             f"  <id>{escape(base)}/admin/health</id>", f"  <updated>{updated}</updated>"]
    for flag, row in entries:
        article = row.article
        edit = f"{base}/admin/articles/{article.lang}/{article.slug}"
        entry_id = f"{base}/admin/health#{article.lang}-{article.id}-{flag.name}-{flag.since}"
        parts += ["  <entry>",
                  f"    <title>{escape(FLAG_LABELS[flag.name])}: {escape(article.title)} ({article.lang})</title>",
                  f'    <link href="{escape(edit)}"/>', f"    <id>{escape(entry_id)}</id>",
                  f"    <updated>{_atom_time(flag.since)}</updated>",
                  f"    <summary>{escape(flag.reason)}</summary>", "  </entry>"]
    parts.append("</feed>\n")
    return "\n".join(parts)


def _atom_time(stamp: str) -> str:
    """RFC 3339 without the milliseconds the database keeps."""
    return stamp[:19] + "Z"
