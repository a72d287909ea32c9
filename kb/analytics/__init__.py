"""Read-only analytics for product teams: periods, reports, exports."""
