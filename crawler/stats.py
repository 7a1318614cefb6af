"""Per-portal yield of a crawl, kept in Scrapy's stats under portal/<id>/<count>."""

# budget_hits: requests a crawl budget stopped (crawler/budgets.py)
YIELD_COUNTS = ("listings_seen", "reports_found", "reports_new", "reports_unchanged", "failed", "skipped",
                "budget_hits")


def count(stats, portal_id: str, key: str) -> None:
    stats.inc_value(f"portal/{portal_id}/{key}")


def portal_counts(stats, portal_id: str) -> dict[str, int]:
    return {key: stats.get_value(f"portal/{portal_id}/{key}", 0) for key in YIELD_COUNTS}
