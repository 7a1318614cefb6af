"""The archive's SQLite schema, created explicitly with sqlite-utils.

Raw responses are content-addressed (SHA-256, zlib-compressed) in `blobs`; every
other table is derived from them by `parsers` and can be rebuilt by `reparse`.
Tables are created in dictionary order, so a table comes after those it refers to.
"""
import itertools
import sqlite3
from pathlib import Path

import sqlite_utils

from archive import codec, forms, parses, search

SCHEMA_VERSION = 5
# bytes of a page of a new archive: a report's packed text (~3 KB) takes a 4 KB page to itself,
# so pages of 32 KB keep the served file ~25% smaller (benchmarks/archive.py)
PAGE_SIZE = 32768


class ArchiveError(Exception):
    """The database file cannot be opened or is not a nianbao archive."""


TABLES = {
    "portals": (
        {
            "id": str, "name": str, "level": str, "province": str, "division_code": str,
            "homepage": str, "column_urls": str, "cms": str, "evidence": str,
            # from the national registry (crawler/registry/README.md)
            "tier": str, "parent_code": str, "division_match": str, "site_id": str, "authority": str,
            "status": str,
        },
        {"pk": "id"},
    ),
    "blobs": (
        {"sha256": str, "size": int, "compression": str, "content": bytes},
        {"pk": "sha256"},
    ),
    # raw responses in WARC files (archive/warc.py): where each SHA-256's record lies, the
    # file relative to the WARC directory named in archive_settings; its blobs row has no content
    "warc_records": (
        {"sha256": str, "file": str, "offset": int, "length": int},
        {"pk": "sha256"},
    ),
    "archive_settings": (
        {"name": str, "value": str},
        {"pk": "name"},
    ),
    "documents": (
        {
            "id": int, "url": str, "report_url": str, "portal_id": str, "role": str,
            "status": int, "content_type": str, "sha256": str, "size": int,
            "fetched_at": str, "listing_title": str, "listing_date": str,
        },
        {"pk": "id", "foreign_keys": [("portal_id", "portals", "id"), ("sha256", "blobs", "sha256")]},
    ),
    # `parses` (each document's parse) is in the companion file beside the archive: archive/parses.py
    "bodies": (
        {
            "body_id": str, "portal_id": str, "name": str, "level": str, "province": str,
            "division_code": str, "first_year": int, "last_year": int, "reports": int,
        },
        {"pk": "body_id", "foreign_keys": [("portal_id", "portals", "id")]},
    ),
    "reports": (
        {
            "id": int, "url": str, "portal_id": str, "body_id": str, "body_name": str, "level": str,
            "province": str, "division_code": str, "title": str, "agency": str,
            "year": int, "format": str, "published": str, "source_name": str,
            "index_number": str, "document_number": str, "document_id": int,
            "source_url": str, "sha256": str, "check_status": str, "checks_failed": int,
            "cells_filled": int, "parser_version": str, "error": str,
            # no longer listed by a complete walk of its portal (archive/revisions.py): when, which run
            "removed_at": str, "removed_run": str,
        },
        {
            "pk": "id",
            "foreign_keys": [("portal_id", "portals", "id"), ("body_id", "bodies", "body_id"),
                             ("document_id", "documents", "id")],
        },
    ),
    # the report's text, packed (archive/codec.py: ~40% of its UTF-8), apart from `reports` so that
    # counting and faceting a search's matches reads narrow rows; the view report_texts unpacks it,
    # the exact text the search index holds for the report
    "report_bodies": (
        {"report_id": int, "body": bytes},
        {"pk": "report_id", "foreign_keys": [("report_id", "reports", "id")]},
    ),
    # one row per cell of the forms; `id` is what cell_values store (a code's id never changes)
    "cell_codes": (
        {
            "id": int, "code": str, "table_name": str, "section": str, "group_label": str, "row_code": str,
            "row_label": str, "column_code": str, "column_label": str, "formats": str,
            "unit": str, "position": int,
        },
        {"pk": "id"},
    ),
    # one row per row of a form's tables, in the form's order: the form-shaped views are built on it
    "form_rows": (
        {"format": str, "table_name": str, "position": int, "row_code": str, "group_label": str, "row_label": str,
         "unit_code": str},
        {"pk": ("format", "table_name", "row_code")},
    ),
    # the figures: the largest table, WITHOUT ROWID (its primary key is the table) and each code
    # an integer (the view `cells` spells it out); `unit` only where the report printed one
    "cell_values": (
        {"report_id": int, "code_id": int, "value": "ANY", "unit": str},
        {"pk": ("report_id", "code_id"), "without_rowid": True,
         "foreign_keys": [("report_id", "reports", "id"), ("code_id", "cell_codes", "id")]},
    ),
    # where each figure of a report was read, and the parse's notes, packed (archive/codec.py) as
    # {"cells": {code: [token, row_label, column_label, page, locator, read_by]}, "notes": [...]}:
    # token null where it is the value as written, a label null where it is the form's, trailing
    # nulls left out. The view cell_provenance unpacks it, a row per figure read
    "cell_sources": (
        {"report_id": int, "sources": bytes},
        {"pk": "report_id", "foreign_keys": [("report_id", "reports", "id")]},
    ),
    # the checks a report failed, with their two sides; every other check of its format passed or
    # could not be made for a missing figure (its figures are in cells)
    "checks": (
        {"report_id": int, "check_id": str, "status": str, "expected": "ANY", "actual": "ANY"},
        {"pk": ("report_id", "check_id"), "without_rowid": True, "foreign_keys": [("report_id", "reports", "id")]},
    ),
    "skipped": (
        {"url": str, "portal_id": str, "title": str, "reason": str, "seen_at": str},
        {"pk": "url", "foreign_keys": [("portal_id", "portals", "id")]},
    ),
    # a 年报 column found from a portal's homepage (archive/columns.py): later crawls start
    # from it while it answers (`ok`); once it fails (`stale`) the portal is searched again
    "columns": (
        {"portal_id": str, "url": str, "found_via": str, "found_at": str, "last_ok_at": str, "status": str,
         "failed_at": str, "error": str},
        {"pk": ("portal_id", "url"), "foreign_keys": [("portal_id", "portals", "id")]},
    ),
    "failures": (
        {"id": int, "portal_id": str, "url": str, "stage": str, "error": str, "failed_at": str},
        {"pk": "id", "foreign_keys": [("portal_id", "portals", "id")]},
    ),
    "crawls": (
        {
            "id": int, "portal_id": str, "started_at": str, "finished_at": str,
            "listings_seen": int, "reports_found": int, "reports_new": int,
            "reports_unchanged": int, "failed": int, "skipped": int, "budget_hits": int,
        },
        {"pk": "id", "foreign_keys": [("portal_id", "portals", "id")]},
    ),
    # a crawl run across the processes that worked on it (a run killed and resumed with
    # the same JOBDIR is one run): `finished` only once every portal of it was walked to
    # the end with nothing lost; `incomplete` with the reason otherwise, and while running
    "runs": (
        {"id": str, "started_at": str, "finished_at": str, "status": str, "reason": str,
         "processes": int},
        {"pk": "id"},
    ),
    # a portal of a run: `done` once all its requests ended and their items are stored
    # (a resumed run walks only the portals not done), with the crawls row of that walk
    "run_portals": (
        {"run_id": str, "portal_id": str, "status": str, "done_at": str, "crawl_id": int},
        {"pk": ("run_id", "portal_id"),
         "foreign_keys": [("run_id", "runs", "id"), ("portal_id", "portals", "id"), ("crawl_id", "crawls", "id")]},
    ),
    # every version of a fetched URL's bytes, and what changed between two (archive/revisions.py)
    "revisions": (
        {"id": int, "report_url": str, "url": str, "role": str, "version": int, "previous_id": int,
         "sha256": str, "size": int, "first_seen": str, "last_seen": str, "first_run": str, "last_run": str,
         "changes": int, "text_diff": str, "parser_version": str, "parse": bytes},
        {"pk": "id", "foreign_keys": [("previous_id", "revisions", "id"), ("sha256", "blobs", "sha256"),
                                      ("first_run", "runs", "id"), ("last_run", "runs", "id")]},
    ),
    "revision_changes": (
        {"id": int, "report_id": int, "report_url": str, "url": str, "from_sha256": str, "to_sha256": str,
         "detected_at": str, "run_id": str, "kind": str, "code": str, "old_value": "ANY", "new_value": "ANY"},
        {"pk": "id", "foreign_keys": [("report_id", "reports", "id"), ("from_sha256", "blobs", "sha256"),
                                      ("to_sha256", "blobs", "sha256"), ("run_id", "runs", "id")]},
    ),
    # coverage accounting, derived whole by archive.coverage.refresh (see there)
    "coverage_deadlines": (
        {"rule": str, "kind": str, "first_year": int, "last_year": int, "month": int, "day": int,
         "article": str, "text": str, "sources": str},
        {"pk": "rule"},
    ),
    "coverage_portals": (
        {"portal_id": str, "name": str, "level": str, "tier": str, "province": str, "division_code": str,
         "parent_code": str, "column_status": str, "column_reason": str, "listings_seen": int,
         "reports_found": int, "failed": int, "last_crawl_id": int, "last_crawl": str, "reports": int,
         "bodies": int, "first_year": int, "last_year": int, "reports_per_year": str,
         "years_published": int, "years_without": int, "refreshed_at": str},
        {"pk": "portal_id", "foreign_keys": [("portal_id", "portals", "id"), ("last_crawl_id", "crawls", "id")]},
    ),
    "coverage_body_years": (
        {"body_id": str, "year": int, "portal_id": str, "name": str, "level": str, "province": str,
         "division_code": str, "kind": str, "kind_basis": str, "status": str, "report_id": int, "reports": int,
         "published": str, "published_from": str, "deadline": str, "deadline_rule": str, "timeliness": str,
         "days_late": int},
        {"pk": ("body_id", "year"),
         "foreign_keys": [("portal_id", "portals", "id"), ("report_id", "reports", "id"),
                          ("deadline_rule", "coverage_deadlines", "rule")]},
    ),
    "coverage_province_years": (
        {"province": str, "level": str, "year": int, "portals": int, "portals_published": int, "bodies_due": int,
         "published": int, "missing": int, "not_found": int, "unreachable": int, "not_crawled": int,
         "not_due": int, "on_time": int, "late": int, "no_deadline": int, "date_unknown": int,
         "share_published": float, "share_on_time": float},
        {"pk": ("province", "level", "year")},
    ),
    # integrity flags, derived whole by archive.flags.refresh from the rules of flags.json
    "flag_rules": (
        {"rule_id": str, "flag": str, "severity": str, "label_en": str, "label_zh": str,
         "flag_label_en": str, "flag_label_zh": str, "description": str},
        {"pk": "rule_id"},
    ),
    # the hidden links found in each archived report page (sha256@host), under the spam
    # rules' version: a page is parsed once, not at every refresh
    "flag_pages": (
        {"page": str, "rules": str, "links": str},
        {"pk": "page"},
    ),
    "flags": (
        {"id": int, "report_id": int, "flag": str, "rule_id": str, "severity": str, "year": int,
         "province": str, "evidence": str, "details": str, "other_report_id": int},
        {"pk": "id", "foreign_keys": [("report_id", "reports", "id"), ("rule_id", "flag_rules", "rule_id"),
                                      ("other_report_id", "reports", "id")]},
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
    ("reports", ["body_id", "year"], False),
    ("reports", ["document_id"], False),
    ("reports", ["year", "province"], False),
    ("bodies", ["portal_id"], False),
    ("bodies", ["level"], False),
    ("bodies", ["province"], False),
    # a code's figures across reports, read from the index alone
    ("cell_values", ["code_id", "value"], False),
    ("cell_codes", ["code"], True),
    ("cell_codes", ["table_name"], False),
    ("checks", ["check_id"], False),
    ("failures", ["portal_id"], False),
    ("crawls", ["portal_id"], False),
    ("run_portals", ["portal_id"], False),
    ("reports", ["removed_at"], False),
    ("revisions", ["url", "version"], True),
    ("revisions", ["report_url"], False),
    ("revision_changes", ["report_id"], False),
    ("revision_changes", ["code"], False),
    ("coverage_portals", ["province", "level"], False),
    ("coverage_portals", ["column_status"], False),
    ("coverage_body_years", ["province", "level", "year"], False),
    ("coverage_body_years", ["status"], False),
    ("coverage_body_years", ["timeliness"], False),
    ("coverage_body_years", ["portal_id"], False),
    ("coverage_body_years", ["report_id"], False),
    ("flags", ["report_id"], False),
    ("flags", ["flag"], False),
    ("flags", ["rule_id"], False),
    ("flags", ["severity"], False),
    ("flags", ["year"], False),
    ("flags", ["province"], False),
    ("flags", ["other_report_id"], False),
]

VIEWS = {
    # the figures, a row per report and cell code (cell_values with its codes spelled out)
    "cells": """
        select v.report_id, k.code, v.value, v.unit
        from cell_values v join cell_codes k on k.id = v.code_id""",
    # each report's text, unpacked (archive/codec.py)
    "report_texts": f"""
        select report_id, {codec.FUNCTION}(body) as body from report_bodies""",
    # where each figure read from the document was printed: a row per figure with a token, its
    # labels as printed (the form's where cell_sources keeps none)
    "cell_provenance": f"""
        select s.report_id, k.code, v.value, v.unit,
               coalesce(json_extract(j.value, '$[0]'), cast(v.value as text)) as token,
               coalesce(json_extract(j.value, '$[1]'), k.row_label) as row_label,
               coalesce(json_extract(j.value, '$[2]'), k.column_label) as column_label,
               json_extract(j.value, '$[3]') as page, json_extract(j.value, '$[4]') as locator,
               json_extract(j.value, '$[5]') as read_by
        from cell_sources s join json_each({codec.FUNCTION}(s.sources), '$.cells') j
        join cell_codes k on k.code = j.key
        left join cell_values v on v.report_id = s.report_id and v.code_id = k.id""",
    **forms.views(),
    # Across years, for the same body: carried in (year N) = carried forward (year N-1).
    "panel_checks": """
        select cur.body_id, cur.id as report_id, cur.year, prev.id as previous_report_id,
               ci.value as carried_in_total, cf.value as previous_carried_forward_total,
               case when ci.value is null or cf.value is null then 'skip'
                    when ci.value = cf.value then 'pass' else 'fail' end as status
        from reports cur
        join reports prev on prev.body_id = cur.body_id and prev.year = cur.year - 1
        left join cells ci on ci.report_id = cur.id and ci.code = 'requests.carried_in.total'
        left join cells cf on cf.report_id = prev.id and cf.code = 'requests.carried_forward.total'
        where cur.format in ('2019', '2021') and prev.format in ('2019', '2021')""",
    # Each portal with the yield of its latest crawl and what the archive holds from it.
    "portal_yield": """
        select p.id as portal_id, p.name, p.level, p.province, c.finished_at as last_crawl,
               c.listings_seen, c.reports_found, c.reports_new, c.failed, c.skipped, c.budget_hits,
               (select count(*) from reports r where r.portal_id = p.id) as reports_archived,
               (select min(year) from reports r where r.portal_id = p.id) as first_year,
               (select max(year) from reports r where r.portal_id = p.id) as last_year
        from portals p
        left join crawls c on c.id = (select max(id) from crawls where portal_id = p.id)""",
}


def connect(path: str | Path, **options) -> sqlite3.Connection:
    """A plain sqlite3 connection to an archive (options as sqlite3.connect's), with the SQL
    function its views unpack with (archive/codec.py) and its parses attached where they exist."""
    conn = sqlite3.connect(path, **options)
    codec.register(conn)
    parses.attach(conn, create=False)
    return conn


def open_archive(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the archive at `path`, with every table in place."""
    path = Path(path)
    if path.is_dir():
        raise ArchiveError(f"{path} is a directory, not a database file")
    if not path.parent.exists():
        raise ArchiveError(f"cannot create {path}: folder {path.parent} does not exist")
    try:
        db = sqlite_utils.Database(path)
        db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new archive's; an existing one keeps its own
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL: no corruption risk, no fsync per commit
        db.execute("PRAGMA foreign_keys=ON")
        parses.attach(db.conn)  # the parses' own file beside the archive (archive/parses.py)
        db.execute(f"PRAGMA {parses.SCHEMA}.synchronous=NORMAL")
        packed = create_schema(db)
        if parses.migrate(db.conn) or packed:
            db.execute("vacuum")  # an archive rewritten by a migration: its freed pages given back
    except sqlite3.DatabaseError as error:
        raise ArchiveError(f"{path} is not a usable SQLite database: {error}") from error
    return db


def create_schema(db: sqlite_utils.Database) -> bool:
    """Create missing tables, columns, indexes and views; fill the form's lookups; migrate
    an archive of an earlier schema (True when it did)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    codec.register(db.conn)
    if 0 < version < 5:
        _drop_schema_4_lookups(db)
    for name, (columns, options) in TABLES.items():
        if not db[name].exists():
            options = dict(options)
            if options.pop("without_rowid", False):
                db.execute(db.create_table_sql(name, columns, **options).strip().rstrip(";") + " WITHOUT ROWID")
            else:
                db[name].create(columns, **options)
        else:
            for column, kind in columns.items():
                if column not in db[name].columns_dict:
                    db[name].add_column(column, kind)
    for table, columns, unique in INDEXES:
        db[table].create_index(columns, unique=unique, if_not_exists=True)
    _fill_form_lookups(db)
    if 0 < version < 5:
        _pack_schema_4(db)
    db.execute(search.CREATE)
    for name, sql in VIEWS.items():
        db.create_view(name, sql, replace=True)
    if 0 < version < 5:
        search.rebuild(db)  # schema 2 indexed single characters; 3 and 4 kept positions
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return 0 < version < 5


def _fill_form_lookups(db: sqlite_utils.Database) -> None:
    """cell_codes and form_rows from the formats (parsers/formats.json); a code keeps its id,
    a new code takes the next."""
    ids = dict(db.execute("select code, id from cell_codes").fetchall())
    for row in forms.cell_codes():
        ids.setdefault(row["code"], max(ids.values(), default=-1) + 1)
    db["cell_codes"].upsert_all(({"id": ids[row["code"]], **row} for row in forms.cell_codes()), pk="id")
    db["form_rows"].upsert_all(forms.form_layout(), pk=("format", "table_name", "row_code"))


# what schema 4 kept as tables and schema 5 derives as views of the packed tables
SCHEMA_4_TABLES = ("cells", "report_texts", "active_table", "requests_table", "appeals_table")


def _drop_schema_4_lookups(db: sqlite_utils.Database) -> None:
    """Schemas 2-4 keyed cell_codes by its code text: dropped, to be made anew with ids."""
    if db["cell_codes"].exists() and "id" not in db["cell_codes"].columns_dict:
        db.execute("PRAGMA foreign_keys=OFF")  # the old cells refer to it until they are packed
        with db.conn:
            db.execute("drop table cell_codes")
        db.execute("PRAGMA foreign_keys=ON")


def _pack_schema_4(db: sqlite_utils.Database) -> None:
    """Schemas 2-4 → 5: the figures become cell_values, their provenance and the parse's notes
    cell_sources, the texts report_bodies, all packed (archive/codec.py); checks keeps the failed
    ones only, and the form-shaped tables become views;
    the search index is made anew without positions (archive/search.py)."""
    tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
    db.execute("PRAGMA foreign_keys=OFF")
    with db.conn:
        for index in ("idx_checks_status", "idx_checks_failed"):  # checks now holds failed ones only
            db.execute(f"drop index if exists {index}")
        texts = ("select id, body from reports where body is not null" if "body" in db["reports"].columns_dict
                 else "select report_id, body from report_texts" if "report_texts" in tables else None)
        if texts:  # schema 2 kept the text in reports, 3 and 4 in report_texts
            db.conn.executemany("insert or replace into report_bodies (report_id, body) values (?, ?)",
                                ((report_id, codec.pack(body)) for report_id, body in db.conn.execute(texts)))
        if "body" in db["reports"].columns_dict:
            db.execute("alter table reports drop column body")
        if "cells" in tables:
            _pack_schema_4_cells(db)
        db.execute("delete from checks where status != 'fail'")
        for name in SCHEMA_4_TABLES:
            if name in tables:
                db.execute(f"drop table [{name}]")
        db.execute(f"drop table if exists {search.FTS_TABLE}")
    db.execute("PRAGMA foreign_keys=ON")


def _pack_schema_4_cells(db: sqlite_utils.Database) -> None:
    """Schema 4's cells (a row per figure with its provenance, 150 a report) read in key order
    and packed a report at a time, each with its parse's notes: never the table at once."""
    from archive import store
    ids = dict(db.execute("select code, id from cell_codes").fetchall())
    try:
        db.execute("select 1 from parses limit 1")  # the archive's own or its companion's
        has_parses = True
    except sqlite3.OperationalError:  # an archive that kept no parses
        has_parses = False
    rows = db.conn.execute(f"select report_id, code, value, unit, {', '.join(store.PROVENANCE_COLUMNS)} "
                           "from cells order by report_id")
    for report_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        figures = [row[1:] for row in group]
        db.conn.executemany("insert or replace into cell_values (report_id, code_id, value, unit) values (?, ?, ?, ?)",
                            [(report_id, ids[code], value, unit) for code, value, unit, token, *_ in figures
                             if value is not None or token is not None])  # as store.derive_report
        parse = has_parses and db.execute("select p.result from reports r join parses p on p.document_id = "
                                          "r.document_id where r.id = ?", [report_id]).fetchone()
        notes = (store.load_parse(parse[0]).get("notes") or []) if parse else []
        provenance = {code: dict(zip(store.PROVENANCE_COLUMNS, rest)) for code, _, _, *rest in figures
                      if rest[0] is not None}
        if provenance or notes:
            db.execute("insert or replace into cell_sources (report_id, sources) values (?, ?)",
                       [report_id, store.pack_sources({code: value for code, value, *_ in figures}, provenance, notes)])
