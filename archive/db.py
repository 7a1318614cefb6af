"""The archive's SQLite schema, created explicitly with sqlite-utils.

Raw responses are content-addressed (SHA-256, zlib-compressed) in `blobs`; every
other table is derived from them by `parsers` and can be rebuilt by `reparse`.
"""
import sqlite3
from pathlib import Path

import sqlite_utils

SCHEMA_VERSION = 1


class ArchiveError(Exception):
    """The database file cannot be opened or is not a nianbao archive."""


TABLES = {
    "portals": (
        {
            "id": str, "name": str, "level": str, "province": str, "division_code": str,
            "homepage": str, "column_urls": str, "cms": str, "evidence": str,
        },
        {"pk": "id"},
    ),
    "blobs": (
        {"sha256": str, "size": int, "compression": str, "content": bytes},
        {"pk": "sha256"},
    ),
    "documents": (
        {
            "id": int, "url": str, "report_url": str, "portal_id": str, "role": str,
            "status": int, "content_type": str, "sha256": str, "size": int,
            "fetched_at": str, "listing_title": str, "listing_date": str,
        },
        {"pk": "id", "foreign_keys": [("portal_id", "portals", "id"), ("sha256", "blobs", "sha256")]},
    ),
    "parses": (
        {"document_id": int, "parser_version": str, "result": str},
        {"pk": "document_id", "foreign_keys": [("document_id", "documents", "id")]},
    ),
    "reports": (
        {
            "id": int, "url": str, "portal_id": str, "body_name": str, "level": str,
            "province": str, "division_code": str, "title": str, "agency": str,
            "year": int, "format": str, "published": str, "document_id": int,
            "source_url": str, "check_status": str, "checks_failed": int,
            "cells_filled": int, "parser_version": str, "body": str, "error": str,
        },
        {
            "pk": "id",
            "foreign_keys": [("portal_id", "portals", "id"), ("document_id", "documents", "id")],
        },
    ),
    "cells": (
        {"report_id": int, "code": str, "value": "ANY", "unit": str},
        {"pk": ("report_id", "code"), "foreign_keys": [("report_id", "reports", "id")]},
    ),
    "checks": (
        {"report_id": int, "check_id": str, "status": str, "expected": "ANY", "actual": "ANY"},
        {"pk": ("report_id", "check_id"), "foreign_keys": [("report_id", "reports", "id")]},
    ),
    "skipped": (
        {"url": str, "portal_id": str, "title": str, "reason": str, "seen_at": str},
        {"pk": "url", "foreign_keys": [("portal_id", "portals", "id")]},
    ),
    "failures": (
        {"id": int, "portal_id": str, "url": str, "stage": str, "error": str, "failed_at": str},
        {"pk": "id", "foreign_keys": [("portal_id", "portals", "id")]},
    ),
    "crawls": (
        {
            "id": int, "portal_id": str, "started_at": str, "finished_at": str,
            "listings_seen": int, "reports_found": int, "reports_new": int,
            "reports_unchanged": int, "failed": int, "skipped": int,
        },
        {"pk": "id", "foreign_keys": [("portal_id", "portals", "id")]},
    ),
}

INDEXES = [
    ("documents", ["url"], True),
    ("documents", ["report_url"], False),
    ("documents", ["portal_id"], False),
    ("reports", ["url"], True),
    ("reports", ["portal_id"], False),
    ("reports", ["year"], False),
    ("reports", ["format"], False),
    ("reports", ["level"], False),
    ("reports", ["province"], False),
    ("reports", ["check_status"], False),
    ("cells", ["code"], False),
    ("checks", ["status"], False),
    ("failures", ["portal_id"], False),
    ("crawls", ["portal_id"], False),
]


def open_archive(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the archive at `path`, with every table in place."""
    path = Path(path)
    if path.is_dir():
        raise ArchiveError(f"{path} is a directory, not a database file")
    if not path.parent.exists():
        raise ArchiveError(f"cannot create {path}: folder {path.parent} does not exist")
    try:
        db = sqlite_utils.Database(path)
        db.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL: no fsync per item; a crash loses at most the
        # last items, which an incremental re-crawl fetches again.
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        create_schema(db)
    except sqlite3.DatabaseError as error:
        raise ArchiveError(f"{path} is not a usable SQLite database: {error}") from error
    return db


def create_schema(db: sqlite_utils.Database) -> None:
    """Create missing tables and indexes; existing ones are left as they are."""
    for name, (columns, options) in TABLES.items():
        if not db[name].exists():
            db[name].create(columns, **options)
    for table, columns, unique in INDEXES:
        db[table].create_index(columns, unique=unique, if_not_exists=True)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
