"""The 年报 columns the crawl found from portals' homepages (`columns`), so that a later
crawl starts from them instead of searching again. A column is `ok` once it answered;
`stale` after it failed for good, and then the portal is searched again from its
homepage (crawler/spiders/portals.py)."""
import sqlite_utils

from archive.store import now


def column_answered(db: sqlite_utils.Database, *, portal_id: str, url: str, found_via: str) -> None:
    """Record that `url` answered as the portal's column (found now, or cached and still there)."""
    at = now()
    existing = db.execute("select found_via from columns where portal_id = ? and url = ?", [portal_id, url]).fetchone()
    if existing is None:
        db["columns"].insert({"portal_id": portal_id, "url": url, "found_via": found_via, "found_at": at,
                              "last_ok_at": at, "status": "ok", "failed_at": None, "error": None})
    else:
        db.execute("update columns set last_ok_at = ?, status = 'ok', error = null where portal_id = ? and url = ?",
                   [at, portal_id, url])


def column_failed(db: sqlite_utils.Database, *, portal_id: str, url: str, error: str) -> None:
    """A stored column that failed for good: no later crawl starts from it."""
    db.execute("update columns set status = 'stale', failed_at = ?, error = ? where portal_id = ? and url = ?",
               [now(), error, portal_id, url])


def cached_columns(db: sqlite_utils.Database) -> dict[str, list[tuple[str, str]]]:
    """portal id → [(column URL, how it was found)] of the columns that answered last."""
    cached: dict[str, list[tuple[str, str]]] = {}
    for portal_id, url, found_via in db.execute(
            "select portal_id, url, found_via from columns where status = 'ok' order by portal_id, found_at, url"):
        cached.setdefault(portal_id, []).append((url, found_via))
    return cached
