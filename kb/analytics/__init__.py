"""Read-only analytics for product teams, and the page views they count.

periods (which days, which articles) → model (report shapes and the rules that judge them) →
reports (the Analytics service over the daily aggregates) → export (CSV and JSON streams);
visitors (who counts as a reader) and views (recording page views) feed the aggregates.
"""
