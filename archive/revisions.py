"""Revisions: every version of a report's documents, what changed between them, and
reports no longer listed in their column.

A portal may edit a report after publishing it (a figure corrected, an attachment
replaced) or take it down. Researchers cite figures, so nothing is overwritten away:

- `revisions` holds one row per version of a URL (a report page or an attachment):
  its SHA-256 (the bytes stay in `blobs`, which nothing deletes), when and in which run
  it was first and last fetched with these bytes. A URL answering other bytes than its
  latest version opens a new version; the superseded one keeps its parse (`parse`,
  compressed as in `parses`), since `parses` holds the current version's only.
- `revision_changes` holds what differs between a version and the one before it, as
  the parser read them: each cell (code, old value, new value), the report fields
  (title, year, format, agency, published, a parse's error) and a text change (the lines removed and
  added; the version's `text_diff` says how many). `reports`, `cells` … show the
  current version.
- `reports.removed_at` dates the run that walked the report's portal completely and no
  longer found it listed; the report and its documents stay. Listed again, it is not
  removed any more.
"""
import difflib
import json
import zlib
from datetime import datetime, timezone

import sqlite_utils

FIELDS = ("title", "year", "format", "agency", "published", "error")
TEXT_EXCERPT = 500  # characters of the removed / added lines kept in revision_changes


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def observe(db: sqlite_utils.Database, document_id: int | None, record: dict, run_id: str | None) -> bool:
    """Note that `record` (a `documents` row about to be written; `document_id` is the
    URL's row, if any) was fetched: the latest version of its URL seen again, or a new
    version. Call before the documents row and its parse are overwritten. True if the
    URL's bytes changed."""
    url, sha256, seen_at = record["url"], record["sha256"], record["fetched_at"]
    latest = db.execute("select id, sha256, version from revisions where url = ? order by version desc limit 1",
                        [url]).fetchone()
    if latest is None and document_id is not None:
        # archived before revisions were kept: its version is the first one
        old_sha256, old_size, fetched_at = db.execute(
            "select sha256, size, fetched_at from documents where id = ?", [document_id]).fetchone()
        latest = (_insert(db, record, sha256=old_sha256, size=old_size, version=1, seen_at=fetched_at,
                          run_id=None), old_sha256, 1)
    if latest is not None and latest[1] == sha256:
        db.conn.execute("update revisions set last_seen = ?, last_run = coalesce(?, last_run) where id = ?",
                        [seen_at, run_id, latest[0]])
        return False
    if latest is not None:  # superseded: its parse moves here before `parses` gets the new one
        db.conn.execute(
            """update revisions set (parser_version, parse) =
                   (select parser_version, result from parses where document_id = ?) where id = ?""",
            [document_id, latest[0]])
    _insert(db, record, sha256=sha256, size=record["size"], version=(latest[2] + 1 if latest else 1),
            seen_at=seen_at, run_id=run_id, previous_id=latest[0] if latest else None)
    return latest is not None


def _insert(db, record: dict, *, sha256: str, size: int, version: int, seen_at: str, run_id: str | None,
            previous_id: int | None = None) -> int:
    return db.conn.execute(
        """insert into revisions (report_url, url, role, version, previous_id, sha256, size, first_seen,
                                  last_seen, first_run, last_run)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [record["report_url"], record["url"], record["role"], version, previous_id, sha256, size, seen_at,
         seen_at, run_id, run_id]).lastrowid


def _load(result) -> dict:
    if result is None:
        return {}
    return json.loads(zlib.decompress(result) if isinstance(result, bytes) else result)


def record_changes(db: sqlite_utils.Database, report_url: str) -> int:
    """Write `revision_changes` for the new versions of `report_url`'s documents not yet
    compared with the version before them (after their parses are stored and the
    report derived); return the number of changes written."""
    report = db.execute("select id from reports where url = ?", [report_url]).fetchone()
    pending = db.execute(
        """select v.id, v.url, v.sha256, v.first_seen, v.first_run, old.sha256, old.parse, p.result
           from revisions v join revisions old on old.id = v.previous_id
           join documents d on d.url = v.url left join parses p on p.document_id = d.id
           where v.report_url = ? and v.changes is null""", [report_url]).fetchall()
    written = 0
    for revision_id, url, sha256, seen_at, run_id, old_sha256, old_parse, new_parse in pending:
        changes, summary = diff(_load(old_parse), _load(new_parse))
        db.conn.executemany(
            """insert into revision_changes (report_id, report_url, url, from_sha256, to_sha256, detected_at,
                                             run_id, kind, code, old_value, new_value)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [(report[0] if report else None, report_url, url, old_sha256, sha256, seen_at, run_id, *change)
             for change in changes])
        db.conn.execute("update revisions set changes = ?, text_diff = ? where id = ?",
                        [len(changes), summary, revision_id])
        written += len(changes)
    return written


def diff(old: dict, new: dict) -> tuple[list[tuple], str]:
    """What differs between two parses: (kind, code, old value, new value) rows — every
    cell, the report fields, the text (lines removed / added, in excerpt) — and a short
    summary of the text's change."""
    changes = [("field", field, old.get(field), new.get(field)) for field in FIELDS
               if old.get(field) != new.get(field)]
    if old.get("error") or new.get("error"):
        # a parse that gave no result (its worker died, a limit) read no figures and no
        # text: that it failed is the change, not every cell gone
        return changes, "not compared: a parse failed"
    old_cells, new_cells = old.get("cells") or {}, new.get("cells") or {}
    changes += [("cell", code, old_cells.get(code), new_cells.get(code))
                for code in sorted(old_cells.keys() | new_cells.keys()) if old_cells.get(code) != new_cells.get(code)]
    old_lines = (old.get("body") or "").splitlines()
    new_lines = (new.get("body") or "").splitlines()
    removed, added = [], []
    for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    if not removed and not added:
        return changes, "text unchanged"
    changes.append(("text", "body", "\n".join(removed)[:TEXT_EXCERPT], "\n".join(added)[:TEXT_EXCERPT]))
    return changes, f"{len(removed)} lines removed, {len(added)} added (of {len(old_lines)} → {len(new_lines)})"


def mark_removed(db: sqlite_utils.Database, portal_id: str, listed: set[str], run_id: str | None) -> int:
    """After a complete walk of `portal_id`'s columns that listed `listed` (report
    URLs): its archived reports not among them are removed as of now (not deleted);
    removed ones listed again are not any more. A walk that listed nothing marks
    nothing (a column that moved or broke is not every report withdrawn). Return the
    number newly marked removed."""
    if not listed:
        return 0
    reports = db.execute("select id, url, removed_at from reports where portal_id = ?", [portal_id]).fetchall()
    gone = [report_id for report_id, url, removed_at in reports if url not in listed and removed_at is None]
    back = [report_id for report_id, url, removed_at in reports if url in listed and removed_at is not None]
    at = _now()
    db.conn.executemany("update reports set removed_at = ?, removed_run = ? where id = ?",
                        [(at, run_id, report_id) for report_id in gone])
    db.conn.executemany("update reports set removed_at = null, removed_run = null where id = ?",
                        [(report_id,) for report_id in back])
    return len(gone)


HISTORY_CHANGES = 200  # changes shown on a report's page (all are in revision_changes)


def history(conn, report_id) -> dict | None:
    """A report's revisions for its page: whether it was removed, the versions of its
    documents beyond the first and their changes (the first HISTORY_CHANGES); None
    when it has neither."""
    found = conn.execute("select url, removed_at, removed_run from reports where id = ?", [report_id]).fetchone()
    if found is None:
        return None
    report_url, removed_at, removed_run = found
    versions = [dict(zip(("url", "role", "version", "sha256", "first_seen", "text_diff"), row)) for row in conn.execute(
        """select url, role, version, sha256, first_seen, text_diff from revisions
           where report_url = ? and version > 1 order by first_seen, id""", [report_url])]
    if not versions and not removed_at:
        return None
    changes = [dict(zip(("url", "from_sha256", "to_sha256", "detected_at", "kind", "code", "old_value", "new_value"),
                        row)) for row in conn.execute(
        """select url, from_sha256, to_sha256, detected_at, kind, code, old_value, new_value from revision_changes
           where report_url = ? order by detected_at, id limit ?""", [report_url, HISTORY_CHANGES])]
    return {"report_url": report_url, "removed_at": removed_at, "removed_run": removed_run,
            "versions": versions, "changes": changes}
