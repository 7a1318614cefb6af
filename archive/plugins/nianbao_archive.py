"""Datasette plugin (loaded with --plugins-dir): Chinese search, the archived copies, the
report page, and the limits that keep one request from exhausting the server.

- `escape_fts`, which Datasette applies to every `?_search=`, is replaced by the
  CJK-aware one of archive.search (registered last, so it wins over Datasette's own);
- /-/archived/<sha256> returns an archived document's raw bytes, decompressed, with
  the content type it was served with, sandboxed so a portal's scripts cannot run here,
  a chunk at a time (incremental blob reads);
- the reports row page gets the report's tables in the shape of the form;
- a facet asked for twice (a default facet of metadata.json also in `?_facet=`) is
  computed once: Datasette 0.65 runs both, each a full count over the search's matches;
  and a page's column facets are counted in one query, not one query each (facet_results);
- a `?_search=` page, alone or with column filters (Searches), reads the search's matches once, and
  takes its count, its rows and its facets' counts from them and the table's columns held
  as numpy arrays, rebuilt when the live archive changes: Datasette's three passes over
  every matching row took 3.3 s at 1,000,000 reports;
- every connection refuses values longer than VALUE_LIMIT and results wider than
  COLUMN_LIMIT columns (SQLite's own limits: zeroblob(1e9) fails at once instead of
  being built, rendered and sent), and a query stops when its rows exceed RESULT_LIMIT
  characters or bytes: the SQL time limit bounds the query, not what Python holds and
  renders of its result. Our own read of a report's text lifts both;
- the table pages of `blobs` and `parses` leave out their stored bytes unless asked
  (`_col=`): a page of them would pass the limits (the bytes are served whole at
  /-/archived/<sha256>);
- no SQL function call may run long, since no time limit can stop one: `printf` (and
  `format`) with a width or precision over VALUE_LIMIT is null at once (SQLite's own
  `printf('%.*c', 2147483647, 'x')` is null too, but after counting to two billion);
  `instr` and `replace` refuse a text and a pattern whose lengths multiply past
  SEARCH_WORK (they compare the pattern at every position: 8 s for 1 MB and 200 KB);
  LIKE and GLOB patterns are at most LIKE_PATTERN bytes (a 48 KB one took 200 s);
- at most MAX_FACETS facets a page (each may take the facet time limit), none on a
  column of whole documents (a facet repeats each value as value, label and URL);
- the SQL time limits are kept by an interrupt too: SQLite's count(*) of a table is one
  step of its virtual machine, which Datasette's progress handler cannot stop (the
  database page counts every table with a 5 ms limit: on an archive of 20,000 reports it
  took 1.8 s);
- no absolute path is published: /-/databases without `path`, /-/threads without its
  task list, `pragma_database_list`'s `file` read as null.
"""
import asyncio
import contextvars
import json
import re
import sqlite3
import threading
import time
import weakref
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from datasette import database, facets, hookimpl
from datasette.utils.asgi import BadRequest, NotFound, Response
from datasette.tracer import get_task_id, trace, trace_task_id
from datasette.views.special import JsonDataView
from markupsafe import Markup, escape

from archive import codec, forms, revisions, search, warc

VALUE_LIMIT = 1_000_000  # bytes of one string or blob (a report's text is ~10-100 KB)
COLUMN_LIMIT = 64  # columns of a result (our widest table has 24): with VALUE_LIMIT, bounds one row
# characters and bytes in the rows of one query (a page, or one page of a stream): JSON writes a
# byte or a Chinese character as up to 6 (\u escapes) and the encoder holds ~5x its output while
# building it, so 4M -> at most 24 MB of JSON and ~130 MB at the peak
RESULT_LIMIT = 4_000_000
STORED_VALUE_LIMIT = 1_000_000_000  # SQLite's maximum: for reading one report's text whole
MAX_FACETS = 8
SEARCH_WORK = 20_000_000_000  # length of a text x length of a pattern, for instr and replace (~1 s)
LIKE_PATTERN = 300  # bytes of a LIKE or GLOB pattern (100 Chinese characters): ~1.5 s over 1 MB
STORED_BYTES = {"blobs": "content", "revisions": "parse", "report_bodies": "body",
                "cell_sources": "sources"}  # left out of these tables' pages by default
WHOLE_DOCUMENTS = {"body", *STORED_BYTES.values()}  # columns never faceted
CHUNK = 1 << 20  # an archived document is sent this many bytes at a time


_load_facet_configs = facets.load_facet_configs


def load_facet_configs(request, table_metadata):
    """Datasette's, without repeats: the first of identical configs (metadata's) is kept;
    more than MAX_FACETS, or one on a column of whole documents, is refused."""
    configs = _load_facet_configs(request, table_metadata)
    for kind, entries in configs.items():
        seen, kept = set(), []
        for entry in entries:
            key = json.dumps(entry["config"], sort_keys=True)
            if key not in seen:
                seen.add(key)
                kept.append(entry)
        configs[kind] = kept
    if sum(len(entries) for entries in configs.values()) > MAX_FACETS:
        raise BadRequest(f"at most {MAX_FACETS} facets at a time")
    for entries in configs.values():
        for entry in entries:
            column = entry["config"].get("simple") or entry["config"].get("column")
            if column in WHOLE_DOCUMENTS:
                raise BadRequest(f"{column} holds whole documents: it cannot be faceted")
    return configs


facets.load_facet_configs = load_facet_configs

def sqlite_order(value) -> tuple:
    """A sort key ordering values as SQLite does: numbers, then text, then blobs."""
    return (0, value, b"") if isinstance(value, (int, float)) else (1, 0, value) if isinstance(value, str) else (2, 0, value)


SNAPSHOT_ROWS = 5_000_000  # rowids up to which a table's columns may be held as arrays (~5 bytes a row each)
COMBINED_GROUPS = 20_000  # distinct value combinations up to which the column facets are counted together
_column_facet_results = facets.ColumnFacet.facet_results


async def facet_results(self):
    """Datasette's column facets, counted in one query over the page's rows (grouped by
    every faceted column at once, each facet summed from those groups) instead of one query
    per facet: each query reads every matching row again (for a search, every report of
    the archive may match), so four facets cost four passes. The query has the time the
    facets would have had together (facet_time_limit_ms each); past it they all time out.
    When the columns have too many value combinations (COMBINED_GROUPS), Datasette's own
    per-column queries answer."""
    configs = self.get_configs()
    columns = [entry["config"].get("column") or entry["config"]["simple"] for entry in configs]
    db = self.ds.get_database(self.database)
    try:
        searched = configs and await SEARCHES.tallies(
            db, self.sql, self.params, columns, self.ds.setting("facet_time_limit_ms") * len(columns))
    except facets.QueryInterrupted:
        return [], columns
    if searched:
        return await facet_rows(self, configs, columns, searched)
    if len(configs) < 2:
        return await _column_facet_results(self)
    names = ", ".join(f"v{i}" for i in range(len(columns)))
    sql = (f"select {', '.join(f'{facets.escape_sqlite(c)} as v{i}' for i, c in enumerate(columns))}, "
           f"count(*) as count from ({self.sql}) group by {names} limit {COMBINED_GROUPS + 1}")
    try:
        groups = await self.ds.execute(self.database, sql, self.params, truncate=False,
                                       custom_time_limit=self.ds.setting("facet_time_limit_ms") * len(columns))
    except facets.QueryInterrupted:
        return [], columns
    if len(groups.rows) > COMBINED_GROUPS:
        return await _column_facet_results(self)
    counts = [{} for _ in columns]
    for row in groups.rows:
        for i, tally in enumerate(counts):
            if row[i] is not None:
                tally[row[i]] = tally.get(row[i], 0) + row["count"]
    return await facet_rows(self, configs, columns, counts)


async def facet_rows(self, configs, columns, counts):
    """Datasette's facet results from each column's counts ({value: count}, nulls left out)."""
    qs_pairs = self.get_querystring_pairs()
    facet_size = self.get_facet_size()
    results = []
    for entry, column, tally in zip(configs, columns, counts):
        ranked = sorted(tally.items(), key=lambda item: (-item[1], *sqlite_order(item[0])))
        shown = ranked[:facet_size]
        expanded = (await self.ds.expand_foreign_keys(self.database, self.table, column, [v for v, _ in shown])
                    if self.table else {})
        values = []
        for value, count in shown:
            column_qs = f"{column}__exact" if column.startswith("_") else column
            selected = (column_qs, str(value)) in qs_pairs
            toggle = (facets.path_with_removed_args(self.request, {column_qs: str(value)}) if selected
                      else facets.path_with_added_args(self.request, {column_qs: value}))
            values.append({"value": value, "label": expanded.get((column, value), value), "count": count,
                           "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(toggle)),
                           "selected": selected})
        results.append({
            "name": column, "type": self.type, "hideable": entry["source"] != "metadata",
            "toggle_url": self.ds.urls.path(facets.path_with_removed_args(self.request, {"_facet": column})),
            "results": values, "truncated": len(ranked) > facet_size})
    return results, []


facets.ColumnFacet.facet_results = facet_results


# the SQL of Datasette's table view for ?_search=: the page's rows (in key order), their count
# (select count(*)) and the rows its facets count (neither order nor limit); its where clauses
# the search's and any of column filters (?year=2020, ?province__isnull=1 …)
SEARCHED = re.compile(r"select (?P<select>.+?) from (?P<table>\w+)(?: where (?P<where>.+?))?"
                      r"(?: order by (?P<order>\w+) limit (?P<limit>\d+))?\s*$", re.S)
SEARCH_CLAUSE = re.compile(r"(?P<pk>\w+) in \(select rowid from (?P<fts>\w+) where (?P=fts) match "
                           r"(?P<match>escape_fts\(:search\)|:search)\)")
COLUMN_CLAUSE = re.compile(r'(?P<column>\w+|\[[^\]]+\]|"[^"]+") '
                           r"(?:(?:=|!=|<|<=|>|>=|like|glob) :p\d+|"
                           r"(?:not )?in \(:p\d+(?:, :p\d+)*\)|is (?:not )?null)")
PARAM = re.compile(r"p\d+")


def searched(sql: str, params, unsearched: bool = False) -> dict | None:
    """The parts of Datasette's SQL for ?_search= (+ column filters; `unsearched`, also for
    column filters alone or none), or None for any other."""
    found = SEARCHED.match(sql)
    if (found is None or not isinstance(params, dict)
            or not all(key == "search" or PARAM.fullmatch(key) for key in params)):
        return None
    parts, filters = {**found.groupdict(), "fts": None}, []
    for clause in found["where"].split(" and ") if found["where"] else []:
        search_clause, column_clause = SEARCH_CLAUSE.fullmatch(clause), COLUMN_CLAUSE.fullmatch(clause)
        if search_clause and parts["fts"] is None and isinstance(params.get("search"), str):
            parts.update(search_clause.groupdict())
        elif column_clause:
            filters.append((column_clause["column"].strip('[]"'), clause))
        else:
            return None
    return {**parts, "filters": filters} if parts["fts"] or unsearched else None
REQUEST = contextvars.ContextVar("nianbao_request", default=None)  # a dict of the request's matches


class Matched(Exception):
    """Raised inside the fast path when it does not apply (Datasette's own SQL answers)."""


class Snapshot:
    """One table's key and columns as numpy arrays indexed by rowid, for a committed state
    of the archive (PRAGMA data_version on our own connection says when it changed)."""

    def __init__(self, conn, table: str):
        self.conn, self.table = conn, table
        info = conn.execute(f"pragma table_info([{table}])").fetchall()
        self.columns = {row[1]: row[2] for row in info}  # name -> declared type
        kind, sql = conn.execute("select type, lower(sql) from sqlite_master where name = ?",
                                 [table]).fetchone() or (None, "")
        # a view's rows have no rowid (all null), nor has a table WITHOUT ROWID or a virtual one
        if kind != "table" or "without rowid" in sql or sql.startswith("create virtual"):
            raise Matched(f"{table}: not a table of rowids")
        # a column's collation changes what = or < mean: then filters are SQLite's to apply
        self.collated = "collate" in sql
        keys = [row for row in info if row[5]]
        self.pk = keys[0][1] if len(keys) == 1 and keys[0][2].upper() == "INTEGER" else None
        # in the order of the index SQLite reads (its smallest), not of rowids
        if (conn.execute(f"select max(rowid) from [{table}]").fetchone()[0] or 0) > SNAPSHOT_ROWS:
            raise Matched(f"{table}: too many rows to hold")
        rowids = self._ids(conn.execute(f"select group_concat(rowid) from [{table}]").fetchone()[0])
        self.size = int(rowids.max()) + 1 if len(rowids) else 0
        if self.size > 4 * len(rowids) + 1000:  # sparse keys: arrays by rowid would be mostly empty
            raise Matched(f"{table}: sparse rowids")
        self.present = np.zeros(self.size, bool)
        self.present[rowids] = True
        self.rowids = np.flatnonzero(self.present)  # in order
        self.codes = {}  # column -> (codes by rowid, its values) or None when it has too many values

    @staticmethod
    def _ids(text) -> np.ndarray:
        """The rowids of a group_concat (one string: ~20 ms for a million, a fetch of a row
        each ~10 times that)."""
        return np.fromstring(text, dtype=np.int64, sep=",") if text else np.zeros(0, np.int64)

    def column(self, name: str):
        if name not in self.codes:
            codes, values = np.full(self.size, -1, np.int16), []  # at most COMBINED_GROUPS values
            with whole_values(self.conn):  # a value's rowids are one string of up to ~7 bytes a row
                cursor = self.conn.execute(f"select [{name}], group_concat(rowid) from [{self.table}] group by 1")
                for value, ids in cursor:
                    if len(values) == COMBINED_GROUPS:
                        codes = None
                        break
                    codes[self._ids(ids)] = len(values)
                    values.append(value)
                cursor.close()
            self.codes[name] = None if codes is None else (codes, values)
        return self.codes[name]

    def keyed_by_rowid(self, pk: str) -> bool:
        return pk == "rowid" or pk == self.pk

    def filtered(self, ids: np.ndarray, filters: list[tuple[str, str]], params: dict) -> np.ndarray:
        """The ids whose row passes every filter, each clause applied by SQLite to the
        column's distinct values in a table of the column's type (the same affinity)."""
        for name, clause in filters:
            column = self.column(name) if name in self.columns and not self.collated else None
            if column is None:
                raise Matched(f"{name}: not held")
            codes, values = column
            self.conn.execute("drop table if exists temp.nianbao_values")
            self.conn.execute(f"create temp table nianbao_values ([{name}] {self.columns[name]}, nianbao_code integer)")
            self.conn.executemany("insert into temp.nianbao_values values (?, ?)", zip(values, range(len(values))))
            passing = np.zeros(len(values), bool)
            passing[[row[0] for row in self.conn.execute(
                f"select nianbao_code from temp.nianbao_values where {clause}", params)]] = True
            ids = ids[passing[codes[ids]]]
        return ids


class Searches:
    """The reports page's ?_search= at a million reports: Datasette counts the matches,
    reads the first page of them and counts every facet over them, each a query visiting
    every matching row again (nearly every report matches a common term), 3.3 s at
    1,000,000 reports. Here the search's rowids are read once per request (one query, a
    string of numbers) and the count, the page's rows and each facet's counts come from
    them and the table's columns held as numpy arrays (bincount). Exact: the arrays belong
    to one committed state of the archive, rebuilt when PRAGMA data_version says another
    connection committed (a crawl writing the live archive), and each request's work runs
    in one read transaction of our own connection. Only the SQL Datasette makes of
    ?_search= (alone or with column filters, in key order) goes this way, and the facets
    of a page of column filters or none (the table's first page: 2.3 s at 1,000,000
    reports); anything else is Datasette's own query."""

    def __init__(self):
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="nianbao-search")
        self.archives = {}  # database path -> [connection, data_version, {table: Snapshot}]; executor thread only

    def _archive(self, db):
        archive = self.archives.get(db.path)
        if archive is None:
            conn = sqlite3.connect(f"file:{db.path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
            prepare_connection(conn)
            conn.execute(f"pragma cache_size = -{int(db.ds.setting('cache_size_kb') or 2000)}")
            archive = self.archives[db.path] = [conn, None, {}]
        return archive

    async def _run(self, db, sql, params, work, time_limit: int, unsearched: bool = False):
        """work(snapshot, ids of the matching rows, shape) in a read transaction of our
        connection, or None where the fast path does not apply."""
        params = params or {}  # Datasette's are [] for a page of no filter
        found = searched(sql, params, unsearched)
        if found is None or db.is_memory or not db.path:
            return None
        memo = REQUEST.get()

        def in_thread():
            archive = self._archive(db)
            conn = archive[0]
            conn.execute("begin")
            try:
                conn.execute("select 1 from sqlite_master limit 1")  # the read transaction starts here
                version = conn.execute("pragma data_version").fetchone()[0]
                if version != archive[1]:
                    archive[1], archive[2] = version, {}
                table = found["table"]
                if table not in archive[2]:
                    try:
                        with whole_values(conn):
                            archive[2][table] = Snapshot(conn, table)
                    except Matched:
                        archive[2][table] = None
                snapshot = archive[2][table]
                if snapshot is None or found["fts"] and not snapshot.keyed_by_rowid(found["pk"]):
                    raise Matched("not keyed by rowid")
                key = (table, found["fts"], found.get("match"), params.get("search"), version)
                ids = snapshot.rowids if found["fts"] is None else memo.get(key) if memo is not None else None
                if ids is None:
                    fts = found["fts"]
                    matching = f"select group_concat(rowid) from [{fts}] where [{fts}] match {found['match']}"
                    with (trace("sql", database=db.name, sql=matching, params=params),
                          sqlite_timelimit(conn, time_limit), whole_values(conn)):
                        text = conn.execute(matching, params).fetchone()[0]
                    ids = snapshot._ids(text)
                    if np.any(ids[1:] <= ids[:-1]):  # FTS5 gives rowids in order; the rows rely on it
                        ids = np.unique(ids)
                    ids = ids[ids < snapshot.size]
                    ids = ids[snapshot.present[ids]]
                    if memo is not None:
                        memo[key] = ids
                return work(conn, snapshot, snapshot.filtered(ids, found["filters"], params), found)
            except Matched:
                return None
            except sqlite3.OperationalError as error:
                if error.args == ("interrupted",):
                    raise database.QueryInterrupted(error, sql, params)
                return None  # Datasette's own query says what is wrong
            finally:
                conn.execute("rollback")

        task = get_task_id()

        def traced():  # the page's trace (?_trace=1) lists the search's query
            trace_task_id.set(task)
            return in_thread()

        return await asyncio.get_running_loop().run_in_executor(self.executor, contextvars.copy_context().run, traced)

    async def results(self, db, sql, params, truncate, custom_time_limit, page_size):
        """Datasette's Results for the search's count or its page of rows, or None."""
        def work(conn, snapshot, ids, found):
            if found["select"] == "count(*)" and not found["order"]:
                return database.Results([(len(ids),)], False, (("count(*)",) + (None,) * 6,))
            if not found["order"] or found["order"] not in (found["pk"], "rowid"):
                raise Matched("not in key order")
            names = [name[1:-1] if name.startswith("[") else name for name in found["select"].split(", ")]
            if not all(name in snapshot.columns or name == "rowid" for name in names):
                raise Matched("not a list of columns")
            shown = ",".join(str(i) for i in ids[:int(found["limit"])])
            cursor = conn.execute(f"select {found['select']} from [{snapshot.table}] where rowid in ({shown}) "
                                  f"order by rowid limit {int(found['limit'])}")
            most = db.ds.max_returned_rows
            if most == (page_size or db.ds.page_size):
                most += 1
            if most and truncate:
                rows = cursor.fetchmany(most + 1)
                return database.Results(rows[:most], len(rows) > most, cursor.description)
            return database.Results(cursor.fetchall(), False, cursor.description)

        time_limit = db.ds.sql_time_limit_ms
        return await self._run(db, sql, params, work, min(custom_time_limit or time_limit, time_limit))

    async def tallies(self, db, sql, params, columns, time_limit: int):
        """Each column's {value: count} (nulls left out) over the rows of the search, of
        column filters, or of the whole table, or None."""
        def work(conn, snapshot, ids, found):
            if found["order"] or not set(columns) <= snapshot.columns.keys():
                raise Matched("not the facets' rows")
            counts = []
            for name in columns:
                column = snapshot.column(name)
                if column is None:
                    raise Matched(f"{name}: too many values")
                codes, values = column
                found_codes = codes[ids]
                tally = np.bincount(found_codes[found_codes >= 0], minlength=len(values))
                counts.append({value: int(count) for value, count in zip(values, tally)
                               if count and value is not None})
            return counts

        return await self._run(db, sql, params, work, time_limit, unsearched=True)


SEARCHES = Searches()
_execute = database.Database.execute


async def execute(self, sql, params=None, truncate=False, custom_time_limit=None, page_size=None,
                  log_sql_errors=True):
    """Datasette's, with the search's count and page of rows from SEARCHES where it applies."""
    results = await SEARCHES.results(self, sql, params, truncate, custom_time_limit, page_size)
    if results is None:
        results = await _execute(self, sql, params, truncate, custom_time_limit, page_size, log_sql_errors)
    return results


database.Database.execute = execute


class Watchdog:
    """One thread that interrupts each connection whose query passes its deadline."""

    def __init__(self):
        self.changed = threading.Condition()
        self.deadlines = {}  # connection -> monotonic deadline
        threading.Thread(target=self._watch, name="sql-watchdog", daemon=True).start()

    def _watch(self):
        with self.changed:
            while True:
                now = time.monotonic()
                for conn, deadline in list(self.deadlines.items()):
                    if deadline <= now:
                        conn.interrupt()
                        del self.deadlines[conn]
                self.changed.wait(min(self.deadlines.values(), default=now + 60) - now)

    @contextmanager
    def limit(self, conn, seconds: float):
        with self.changed:
            self.deadlines[conn] = time.monotonic() + seconds
            self.changed.notify()
        try:
            yield
        finally:
            with self.changed:
                self.deadlines.pop(conn, None)


WATCHDOG = Watchdog()
_sqlite_timelimit = database.sqlite_timelimit


@contextmanager
def sqlite_timelimit(conn, ms):
    """Datasette's time limit (a progress handler), and an interrupt at the same deadline."""
    with _sqlite_timelimit(conn, ms), WATCHDOG.limit(conn, ms / 1000):
        yield


database.sqlite_timelimit = sqlite_timelimit


# a conversion of printf: flags, width, precision (a number or `*`, an argument), length, type
PRINTF_CONVERSION = re.compile(r"%[-+ 0#,!]*(\*|\d+)?(?:\.(\*|\d*))?l{0,2}([a-zA-Z%])")
LEADING_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*(?:[eE][-+]?\d+)?)")


def magnitude(value) -> float:
    """The size SQLite reads from a printf width or precision: a number, or a text's leading number."""
    if isinstance(value, (int, float)):
        return abs(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    found = LEADING_NUMBER.match(value) if isinstance(value, str) else None
    return float(found.group(1)) if found else 0.0


def bounded_printf(plain: sqlite3.Connection):
    """SQLite's printf (computed by `plain`, a connection of our own where it is not
    replaced); null, as SQLite's result over the length limit, for a width or precision
    over VALUE_LIMIT."""
    def printf(form, *args):
        text = form.decode("utf-8", "replace") if isinstance(form, bytes) else form
        if isinstance(text, str):
            position = 0
            for width, precision, kind in PRINTF_CONVERSION.findall(text):
                if kind == "%":
                    continue
                for size in (width, precision):
                    if size == "*":
                        size, position = (args[position] if position < len(args) else 0), position + 1
                    if magnitude(size) > VALUE_LIMIT:
                        return None
                position += 1
        marks = ", ".join("?" * (1 + len(args)))
        return plain.execute(f"select printf({marks})", [form, *args]).fetchone()[0]
    return printf


def bounded_search(plain: sqlite3.Connection, name: str):
    """SQLite's `name` (instr or replace, computed by `plain`), refused for a text and a
    pattern whose lengths multiply past SEARCH_WORK."""
    def search_function(text, pattern, *rest):
        sizes = [len(value) if isinstance(value, (str, bytes)) else 32 for value in (text, pattern)]
        if sizes[0] * sizes[1] > SEARCH_WORK:
            raise ValueError(f"{name}: text and pattern too long together")
        marks = ", ".join("?" * (2 + len(rest)))
        return plain.execute(f"select {name}({marks})", [text, pattern, *rest]).fetchone()[0]
    return search_function


class ResultTooLarge(sqlite3.OperationalError):
    """A query's rows passed RESULT_LIMIT (an OperationalError: Datasette answers 400)."""


def rows_within(limit: int):
    """A row factory (Datasette's sqlite3.Row) that stops a cursor once its rows hold
    more than `limit` characters and bytes."""
    spent = weakref.WeakKeyDictionary()

    def row_factory(cursor, values):
        size = spent.get(cursor, 0) + sum(len(value) for value in values if isinstance(value, (str, bytes)))
        if size > limit:
            raise ResultTooLarge(f"result too large: over {limit:,} characters; ask for fewer rows "
                                 "(_size=, LIMIT) or columns (_col=, _nocol=)")
        spent[cursor] = size
        return sqlite3.Row(cursor, values)

    return row_factory


def hide_database_file(action, table, column, database, trigger):
    """The authorizer: `pragma_database_list`'s `file` (the archive's absolute path) reads as null."""
    if action == sqlite3.SQLITE_READ and table == "pragma_database_list" and column == "file":
        return sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK


@contextmanager
def whole_values(conn):
    """Our own read of one stored document (a report's text on its page): the limits set
    for visitors' queries lifted, restored after."""
    length = conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, STORED_VALUE_LIMIT)
    row_factory, conn.row_factory = conn.row_factory, sqlite3.Row
    try:
        yield conn
    finally:
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, length)
        conn.row_factory = row_factory


@hookimpl(trylast=True)
def prepare_connection(conn):
    conn.create_function("escape_fts", 1, search.escape_fts, deterministic=True)
    codec.register(conn)  # the archive's views unpack texts and provenance with it
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_LIMIT)
    conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, COLUMN_LIMIT)
    conn.row_factory = rows_within(RESULT_LIMIT)
    conn.set_authorizer(hide_database_file)
    plain = sqlite3.connect(":memory:", check_same_thread=False)
    plain.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_LIMIT)
    for name in ("printf", "format"):
        conn.create_function(name, -1, bounded_printf(plain), deterministic=True)
    conn.create_function("instr", 2, bounded_search(plain, "instr"), deterministic=True)
    conn.create_function("replace", 3, bounded_search(plain, "replace"), deterministic=True)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, LIKE_PATTERN)


@hookimpl
def handle_exception(datasette, request, exception):
    """SQLite's "string or blob too big" (a DataError, which Datasette would answer with a
    500) as a 400 saying what the limit is."""
    if not (isinstance(exception, sqlite3.DataError) and "too big" in str(exception)):
        return None
    message = (f"{exception}: this server returns values of at most {VALUE_LIMIT:,} bytes "
               "(an archived document's bytes are at /-/archived/<sha256>)")

    async def error_page():
        if request.path.endswith(".json"):
            return Response.json({"ok": False, "error": message, "status": 400}, status=400)
        return Response.html(await datasette.render_template(
            "error.html", {"ok": False, "error": message, "status": 400, "title": "Value too large"},
            request=request), status=400)

    return error_page


def without_stored_bytes(scope: dict, databases) -> dict:
    """The scope of a request for a page of `blobs` or `parses` (HTML, JSON, CSV) that
    names no columns, with `_nocol=` their bytes added."""
    parts = scope["path"].strip("/").split("/")
    if len(parts) != 2 or parts[0] not in databases:
        return scope
    column = STORED_BYTES.get(parts[1].split(".")[0])
    query = scope.get("query_string", b"")
    if column is None or any(name in (b"_col", b"_nocol") for name, _, _ in
                             (pair.partition(b"=") for pair in query.split(b"&"))):
        return scope
    return dict(scope, query_string=(query + b"&" if query else b"") + f"_nocol={column}".encode())


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def app_without_stored_bytes(scope, receive, send):
            if scope["type"] == "http":
                REQUEST.set({})  # the search's matches, found once for the page's count, rows and facets
                scope = without_stored_bytes(scope, {db.route for db in datasette.databases.values()})
            await app(scope, receive, send)
        return app_without_stored_bytes
    return wrap


def _archived_head(conn, sha256: str):
    """(rowid, compression, content type, stored length) of an archived document, or None."""
    return conn.execute(
        "select b.rowid, b.compression, (select content_type from documents d where d.sha256 = b.sha256 "
        "limit 1), length(b.content) from blobs b where b.sha256 = ?", [sha256]).fetchone()


def _stored_chunk(conn, rowid: int, offset: int) -> bytes:
    with conn.blobopen("blobs", "content", rowid, readonly=True) as blob:
        blob.seek(offset)
        return blob.read(CHUNK)


async def archived(request, send, datasette):
    """The document's bytes, read and decompressed a chunk at a time as the client takes
    them: a large document held whole, by many requests at once, would fill the memory."""
    sha256 = request.url_vars["sha256"]
    for database in datasette.databases.values():
        if not await database.table_exists("blobs"):
            continue
        head = await database.execute_fn(lambda conn: _archived_head(conn, sha256))
        if head:
            break
    else:
        raise NotFound(f"nothing archived under {sha256}")
    rowid, compression, content_type, length = head
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", (content_type or "application/octet-stream").encode("latin-1", "replace")),
        (b"content-security-policy", b"sandbox"), (b"x-content-type-options", b"nosniff")]})
    if compression == "warc":  # the bytes are in a WARC record (archive/warc.py), read whole
        content = await database.execute_fn(lambda conn: warc.load(conn, sha256))
        for offset in range(0, len(content), CHUNK):
            await send({"type": "http.response.body", "body": content[offset:offset + CHUNK], "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    inflate = zlib.decompressobj() if compression == "zlib" else None
    for offset in range(0, length or 0, CHUNK):
        chunk = await database.execute_fn(lambda conn, offset=offset: _stored_chunk(conn, rowid, offset))
        while chunk:
            if inflate is None:
                piece, chunk = chunk, b""
            else:  # at most CHUNK of output at a time: a chunk of zeros inflates a thousandfold
                piece, chunk = inflate.decompress(chunk, CHUNK), inflate.unconsumed_tail
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": inflate.flush() if inflate else b"", "more_body": False})


def connected_databases(datasette) -> list[dict]:
    """/-/databases as Datasette gives it, less each file's path."""
    return [{key: value for key, value in database.items() if key != "path"}
            for database in datasette._connected_databases()]


def threads(datasette) -> dict:
    """/-/threads less its task list (each task's repr names Python's files)."""
    return {key: value for key, value in datasette._threads().items() if key != "tasks"}


@hookimpl
def register_routes(datasette):
    # a plugin's routes come before Datasette's own: these two replace Datasette's
    return [
        (r"^/-/archived/(?P<sha256>[0-9a-f]{64})$", archived),
        (r"^/-/databases(\.(?P<format>json))?$",
         JsonDataView.as_view(datasette, "databases.json", lambda: connected_databases(datasette))),
        (r"^/-/threads(\.(?P<format>json))?$",
         JsonDataView.as_view(datasette, "threads.json", lambda: threads(datasette))),
    ]


@hookimpl
def render_cell(value, column, table, datasette):
    if table == "reports" and column == "sha256" and value:
        href = datasette.urls.path(f"/-/archived/{value}")
        return Markup(f'<a href="{escape(href)}">archived copy 存档</a>')
    return None


def _report_page(conn, report_id):
    with whole_values(conn):
        return forms.page(conn, report_id)


@hookimpl
def extra_template_vars(view_name, table, database, request, datasette):
    if view_name != "row" or table != "reports":
        return {}

    async def report_form():
        report_id = request.url_vars["pks"]
        db = datasette.get_database(database)
        return {"report_form": await db.execute_fn(lambda conn: _report_page(conn, report_id)),
                "report_history": await db.execute_fn(lambda conn: revisions.history(conn, report_id))}

    return report_form
