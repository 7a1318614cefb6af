"""Write fetched documents and what the parser derived from them into the archive.

A report is identified by the URL of its detail page. Its documents are that page and
the attachments linked from it; the report's figures come from the best parse among
them (an attachment wins when the page itself lacks the tables). Deriving a report also
rebuilds everything read from it: its text (`report_bodies`), figures (`cell_values`)
and where they were read (`cell_sources`), checks, the search index and its body's entry in `bodies`.
"""
import hashlib
import json
import zlib
from datetime import datetime, timezone
from importlib.metadata import version
from typing import NamedTuple

import sqlite_utils

from archive import bodies, codec, forms, revisions, search, warc
from parsers.workers import parse_failed, parse_fetched

PARSER_VERSION = version("nianbao")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def store_blob(db: sqlite_utils.Database, content: bytes) -> str:
    """Keep `content` once, under its SHA-256; return the hash."""
    sha256 = hashlib.sha256(content).hexdigest()
    if not db.execute("select 1 from blobs where sha256 = ?", [sha256]).fetchone():
        db["blobs"].insert(
            {"sha256": sha256, "size": len(content), "compression": "zlib",
             "content": zlib.compress(content, 6)}
        )
    return sha256


def load_blob(db: sqlite_utils.Database, sha256: str) -> bytes:
    """The archived bytes under `sha256`, from `blobs` or, when the blob's row says
    `warc`, from their WARC record: every reader goes through here, whichever the store."""
    row = db.execute("select content, compression from blobs where sha256 = ?", [sha256]).fetchone()
    if row is None:
        raise KeyError(sha256)
    content, compression = row
    if compression == "warc":
        return warc.load(db.conn, sha256)
    return zlib.decompress(content) if compression == "zlib" else content


def upsert_portals(db: sqlite_utils.Database, portals: list[dict]) -> None:
    columns = db["portals"].columns_dict
    db["portals"].upsert_all(
        [{key: portal.get(key) for key in columns} for portal in portals], pk="id"
    )


def document_sha256(db: sqlite_utils.Database, url: str) -> str | None:
    """The hash of what is archived for `url`, if anything."""
    row = db.execute("select sha256 from documents where url = ?", [url]).fetchone()
    return row[0] if row else None


def archived_reports(db: sqlite_utils.Database) -> dict[str, tuple[str, str]]:
    """Reports already archived, with their report row derived (the last step of
    storing one): page url -> (listing title, listing date) when it was fetched."""
    return {url: (title or "", date or "") for url, title, date in db.execute(
        """select d.url, d.listing_title, d.listing_date from documents d
           join reports r on r.url = d.url where d.role = 'page'""")}


def store_document(db: sqlite_utils.Database, *, url: str, content: bytes, portal_id: str,
                   role: str, report_url: str | None = None, status: int = 200,
                   content_type: str = "", listing_title: str = "",
                   listing_date: str = "", run_id: str | None = None,
                   warc_files: warc.WarcFiles | None = None, http: dict | None = None) -> int:
    """Archive one fetched response; return its document id (stable per URL). Its
    version is noted in `revisions` (seen by run `run_id`): new bytes at a URL replace
    the documents row, never the earlier bytes nor their parse. With `warc_files` the
    bytes go to a WARC record (with the HTTP exchange `http`, see archive/warc.py)
    instead of `blobs`."""
    if warc_files is None:
        sha256 = store_blob(db, content)
    else:
        sha256 = warc.store(db, warc_files, url, content, status=status, content_type=content_type, http=http)
    return record_document(db, {
        "url": url, "report_url": report_url, "portal_id": portal_id, "role": role,
        "status": status, "content_type": content_type, "sha256": sha256,
        "size": len(content), "fetched_at": now(), "listing_title": listing_title,
        "listing_date": listing_date,
    }, run_id)


def record_document(db: sqlite_utils.Database, record: dict, run_id: str | None) -> int:
    """The documents row of a fetched response whose bytes are kept already (`record`
    names them by sha256); its version noted in `revisions`. Returns its id."""
    existing = db.execute("select id from documents where url = ?", [record["url"]]).fetchone()
    # before the row (and then its parse) is overwritten: a new version keeps the old one's
    revisions.observe(db, existing[0] if existing else None, record, run_id)
    if existing:
        db["documents"].update(existing[0], record)
        return existing[0]
    return db["documents"].insert(record).last_pk


# large parts of a parse that derive_report does not read and the parser re-derives from the blob
UNSTORED = ("sections", "tokens")


def compressed_parse(result: dict) -> bytes:
    """`parses.result` for a parse: its JSON without UNSTORED (nor `checks` when
    `check_details` says it all), zlib-compressed."""
    kept = {key: value for key, value in result.items() if key not in UNSTORED}
    if result.get("check_details") and "checks" in kept:
        del kept["checks"]
    return zlib.compress(json.dumps(kept, ensure_ascii=False).encode("utf-8"), 6)


class Prepared(NamedTuple):
    """What the archive keeps of a document's parse."""
    parser_version: str
    result: bytes  # compressed_parse()
    search_text: str  # the parsed text as the search index holds it
    error: str = ""  # the parse's own error (an unreadable file), recorded as a failure


def prepare(data: bytes, url: str, content_type: str = "") -> Prepared:
    """Parse a fetched document into what the archive keeps of it: all the CPU-bound
    work of archiving a document, which the crawl and reparse run in parse workers so
    that the process writing the archive does not."""
    result = parse_fetched(data, url, content_type)
    return Prepared(PARSER_VERSION, compressed_parse(result), search.segment(result.get("body")),
                    result.get("error") or "")


def prepare_failed(url: str, reason: str) -> Prepared:
    """What the archive keeps of a document whose parse gave no result (its worker died,
    it ran out of memory or time): a parse carrying the error, so that the document is
    archived all the same and `nianbao reparse` tries it again."""
    return Prepared(PARSER_VERSION, compressed_parse(parse_failed(url, reason)), "", reason)


def store_parses(db: sqlite_utils.Database, rows: list[tuple]) -> None:
    """Write (document id, parser version, compressed_parse()) rows, replacing a
    document's earlier parse."""
    db.conn.executemany("insert or replace into parses (document_id, parser_version, result) "
                        "values (?, ?, ?)", rows)


def store_parse(db: sqlite_utils.Database, document_id: int, result: dict) -> None:
    store_parses(db, [(document_id, PARSER_VERSION, compressed_parse(result))])


def load_parse(result: bytes | str) -> dict:
    """A stored parse back as a dict (archives before schema 3 kept plain JSON)."""
    return json.loads(zlib.decompress(result) if isinstance(result, bytes) else result)


def insert_rows(db: sqlite_utils.Database, table: str, rows: list[dict]) -> None:
    """Plain executemany: derive_report inserts hundreds of rows per report, and
    sqlite-utils' per-row type handling would dominate a reparse."""
    if rows:
        columns = list(rows[0])
        db.conn.executemany(
            f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) values ({', '.join('?' * len(columns))})",
            [[row[c] for c in columns] for row in rows])


def _filled(result: dict) -> int:
    return sum(value is not None for value in result.get("cells", {}).values())


def _best_parse(rows: list[tuple[int, str, str, dict]]) -> tuple[int, str, str, dict]:
    """Prefer a parse with the standard tables and the most figures; then the page."""
    return max(
        rows,
        key=lambda row: (row[3].get("format") not in (None, "none"), _filled(row[3]), row[2] == "page"),
    )


# where each figure came from (parse `provenance`, see parsers/__init__.py), as cell_sources keeps it
PROVENANCE_COLUMNS = ("token", "row_label", "column_label", "page", "locator", "read_by")
# the printed labels are kept only where they differ from the form's own (cell_codes): most
# figures sit under the form's labels
FORM_LABELS = {row["code"]: {"row_label": row["row_label"], "column_label": row["column_label"]}
               for row in forms.cell_codes()}


def _as_written(value, token) -> bool:
    """Whether `token` is the figure as SQLite writes it (cast(value as text)): then it is not kept."""
    return isinstance(value, int) and not isinstance(value, bool) and token == str(value)


def pack_sources(values: dict, provenance: dict[str, dict], notes: list) -> bytes:
    """cell_sources.sources of a report: each figure read (with a token) as [token,
    row_label, column_label, page, locator, read_by], a token null where it is the figure as
    written, a label null where it is the form's, trailing nulls left out; and the parse's notes."""
    cells = {}
    for code in sorted(provenance):
        where = provenance[code]
        if where.get("token") is None:
            continue
        form = FORM_LABELS.get(code, {})
        entry = [None if _as_written(values.get(code), where["token"]) else where["token"],
                 *(None if where.get(key) == form.get(key) else where.get(key) for key in ("row_label", "column_label")),
                 *(where.get(key) for key in ("page", "locator", "read_by"))]
        while entry and entry[-1] is None:
            entry.pop()
        cells[code] = entry
    return codec.pack_json({"cells": cells, "notes": notes})


def derive_report(db: sqlite_utils.Database, report_url: str,
                  search_texts: dict[str, str] | None = None) -> int | None:
    """(Re)build the report row, its cells and checks from its documents' parses.
    `search_texts` may give documents' texts already segmented for the search index
    (Prepared.search_text by document URL)."""
    rows = [
        (doc_id, url, role, load_parse(result))
        for doc_id, url, role, result in db.execute(
            """select d.id, d.url, d.role, p.result from documents d
               join parses p on p.document_id = d.id
               where d.report_url = ? order by d.id""",
            [report_url],
        ).fetchall()
    ]
    if not rows:
        return None
    page = next((row for row in rows if row[2] == "page"), rows[0])
    document_id, source_url, _, result = _best_parse(rows)
    portal = db.execute(
        """select p.id, p.name, p.level, p.province, p.division_code, d.listing_title, d.portal_id
           from documents d left join portals p on p.id = d.portal_id where d.id = ?""",
        [page[0]],
    ).fetchone()
    checks = result.get("check_details") or [
        {"id": check_id, "status": status} for check_id, status in result.get("checks", {}).items()
    ]
    failed = sum(check["status"] == "fail" for check in checks)
    if result.get("format") in (None, "none"):
        check_status = "no tables"
    elif failed:
        check_status = "fail"
    else:
        check_status = "pass"
    portal_row = {"id": portal[6], "level": portal[2], "province": portal[3], "division_code": portal[4]}
    body_id = bodies.upsert(db, portal_row, result.get("agency") or portal[1] or portal[6])
    report = {
        "url": report_url, "portal_id": portal[0], "body_id": body_id, "body_name": portal[1],
        "level": portal[2], "province": portal[3], "division_code": portal[4],
        "title": result.get("title") or portal[5] or page[3].get("title"),
        # an attachment holding only the tables (a spreadsheet) names no year: the page does
        "agency": result.get("agency") or page[3].get("agency"), "year": result.get("year") or page[3].get("year"),
        "format": result.get("format"), "published": result.get("published") or page[3].get("published"),
        # the page's metadata block (来源/发布机构, 索引号, 文号) is on the page, not in an attachment
        **{key: page[3].get(key) or result.get(key) for key in ("source_name", "index_number", "document_number")},
        "document_id": document_id, "source_url": source_url,
        "sha256": db.execute("select sha256 from documents where id = ?", [document_id]).fetchone()[0],
        "check_status": check_status, "checks_failed": failed, "cells_filled": _filled(result),
        "parser_version": PARSER_VERSION,
        "error": result.get("error"),
    }
    text_url, text = (source_url, result["body"]) if result.get("body") else (page[1], page[3].get("body"))
    existing = db.execute(
        """select r.id, r.title, t.body, r.body_id from reports r
           left join report_texts t on t.report_id = r.id where r.url = ?""", [report_url]).fetchone()
    columns = list(report)
    if existing:
        report_id = existing[0]
        db.conn.execute(f"update reports set {', '.join(f'[{c}] = ?' for c in columns)} where id = ?",
                        [report[c] for c in columns] + [report_id])
    else:
        report_id = db.conn.execute(
            f"insert into reports ({', '.join(f'[{c}]' for c in columns)}) values ({', '.join('?' * len(columns))})",
            [report[c] for c in columns]).lastrowid
    db.conn.execute("insert or replace into report_bodies (report_id, body) values (?, ?)",
                    [report_id, codec.pack(text)])
    search.reindex(db, report_id, existing[1:3] if existing else None, (report["title"], text),
                   (search_texts or {}).get(text_url))
    bodies.refresh(db, {body_id, existing[3]} - {None} if existing else {body_id})
    for table in ("cell_values", "cell_sources", "checks"):
        db.conn.execute(f"delete from {table} where report_id = ?", [report_id])
    units = result.get("units", {})
    provenance = result.get("provenance") or {}
    cells = result.get("cells", {})
    code_ids = dict(db.execute("select code, id from cell_codes").fetchall())
    insert_rows(db, "cell_values", [
        {"report_id": report_id, "code_id": code_ids[code], "value": value, "unit": units.get(code)}
        # a blank the report left, not read from anywhere, is no row (the views give it as missing)
        for code, value in cells.items() if value is not None or (provenance.get(code) or {}).get("token") is not None
    ])
    if provenance or result.get("notes"):
        db.conn.execute("insert into cell_sources (report_id, sources) values (?, ?)",
                        [report_id, pack_sources(cells, provenance, list(result.get("notes") or []))])
    insert_rows(db, "checks", [
        {"report_id": report_id, "check_id": check["id"], "status": check["status"],
         "expected": check.get("expected"), "actual": check.get("actual")}
        for check in sorted(checks, key=lambda check: check["id"]) if check["status"] == "fail"
    ])
    return report_id


def record_skipped(db: sqlite_utils.Database, *, url: str, portal_id: str, title: str, reason: str) -> None:
    db["skipped"].upsert(
        {"url": url, "portal_id": portal_id, "title": title, "reason": reason, "seen_at": now()}, pk="url"
    )


def record_failure(db: sqlite_utils.Database, *, portal_id: str, url: str, stage: str, error: str) -> None:
    db["failures"].insert(
        {"portal_id": portal_id, "url": url, "stage": stage, "error": error, "failed_at": now()}
    )


def record_crawl(db: sqlite_utils.Database, stats: dict) -> int:
    return db["crawls"].insert(stats).last_pk
