"""What keeps a large archive small and its search page fast (benchmarks/archive.py measures
them): figures keyed by code numbers, their provenance and the texts packed with printed
labels kept only where they differ from the form's, schema 4 archives brought along, and a
page's column facets counted in one query."""
import asyncio
import shutil
import tracemalloc

from archive import codec, publish, search, store
from archive.db import connect as connect_archive
from archive.db import open_archive
from archive_fixtures import reports_containing

PROVENANCE = ("token", "row_label", "column_label", "page", "locator", "read_by")


def parsed(conn) -> dict[int, dict]:
    """report → its stored parse."""
    return {report_id: store.load_parse(result) for report_id, result in conn.execute(
        "select r.id, p.result from reports r join parses p on p.document_id = r.document_id")}


def test_cell_sources_keep_a_printed_label_only_where_it_differs_from_the_forms(crawled):
    conn = crawled["conn"]
    form = {code: (row_label, column_label) for code, row_label, column_label in
            conn.execute("select code, row_label, column_label from cell_codes")}
    kept = left_out = 0
    for report_id, sources in conn.execute("select report_id, sources from cell_sources"):
        for code, entry in codec.unpack_json(sources)["cells"].items():
            labels = (entry + [None] * 3)[1:3]
            assert labels[0] != form[code][0] and labels[1] != form[code][1], (report_id, code)
            kept += labels[0] is not None
            left_out += labels[0] is None
    assert kept > 0 and left_out > 0  # the sample reports print both the form's labels and their own
    # the view gives every figure read, with its provenance whole, as the parse read it
    parses = parsed(conn)
    rows = conn.execute(f"select report_id, code, value, {', '.join(PROVENANCE)} from cell_provenance").fetchall()
    expected = {(report_id, code): (result["cells"][code], *(where.get(key) for key in PROVENANCE))
                for report_id, result in parses.items()
                for code, where in (result.get("provenance") or {}).items() if where.get("token") is not None}
    assert len(rows) > 500
    assert {(row[0], row[1]): tuple(row[2:]) for row in rows} == expected


def matches(conn, term: str) -> set[int]:
    return {row[0] for row in conn.execute(f"select rowid from {search.FTS_TABLE} where {search.FTS_TABLE} match ?",
                                           [search.escape_fts(term)])}


def snapshot(conn) -> dict:
    return {name: conn.execute(sql).fetchall() for name, sql in {
        "cells": "select * from cells order by report_id, code",
        "cell_provenance": "select * from cell_provenance order by report_id, code",
        "report_texts": "select * from report_texts order by report_id",
        "requests_table": "select * from requests_table order by report_id, position",
        "active_table": "select * from active_table order by report_id, position",
        "failed": "select * from checks order by report_id, check_id"}.items()}


def schema_4_copy(crawled, path):
    """A copy of the crawled archive as schema 4 kept it: cells (provenance beside each figure,
    codes as text), texts, every check and the form-shaped tables as tables, positions in the
    search index. Returns its snapshot and the reports a search finds, as schema 4 gave them."""
    with connect_archive(path) as old:
        connect_archive(crawled["db"]).backup(old)
    with connect_archive(path) as old:
        before = snapshot(old)
        searched = matches(old, "不予公开")
        assert searched == reports_containing(old, "不予公开")
        old.execute("pragma legacy_alter_table = on")  # views naming cells are made anew on opening
        form_views = ("cells", "cell_provenance", "report_texts", "requests_table", "active_table", "appeals_table")
        for name in form_views:
            old.execute(f"create table old_{name} as select * from {name}")
        old.execute("create table old_cells_all as select c.report_id, c.code, c.value, c.unit, p.token, "
                    "nullif(p.row_label, k.row_label) as row_label, nullif(p.column_label, k.column_label) as column_label, "
                    "p.page, p.locator, p.read_by from old_cells c join cell_codes k on k.code = c.code "
                    "left join old_cell_provenance p on p.report_id = c.report_id and p.code = c.code")
        for name in form_views:
            old.execute(f"drop view {name}")
        old.execute("drop table old_cells")
        old.execute("drop table old_cell_provenance")
        old.execute("alter table old_cells_all rename to cells")
        for name in ("report_texts", "requests_table", "active_table", "appeals_table"):
            old.execute(f"alter table old_{name} rename to {name}")
        old.execute("insert into checks (report_id, check_id, status, expected, actual) "
                    "select id, 'requests.balance.total', 'pass', 1, 1 from reports where check_status = 'pass'")
        for name in ("cell_values", "cell_sources", "report_bodies", "form_rows"):
            old.execute(f"drop table {name}")
        old.execute("create table cell_codes_v4 as select code, table_name, section, group_label, row_code, "
                    "row_label, column_code, column_label, formats, unit, position from cell_codes")
        old.execute("drop table cell_codes")
        old.execute("alter table cell_codes_v4 rename to cell_codes")
        old.execute(f"drop table {search.FTS_TABLE}")
        old.execute(f"create virtual table {search.FTS_TABLE} using fts5(title, body, content='')")
        old.execute("pragma user_version = 4")
    return before, searched


def test_a_schema_4_archive_is_brought_along_when_opened(crawled, tmp_path):
    """Schema 4 kept cells (provenance beside each figure, codes as text), texts, every check and
    the form-shaped tables as tables, and positions in the search index: opened, it holds the
    same figures, provenance, texts, failed checks and search results, packed."""
    path = tmp_path / "old.db"
    before, searched = schema_4_copy(crawled, path)
    open_archive(path).close()
    conn = connect_archive(path)
    assert snapshot(conn) == before
    assert matches(conn, "不予公开") == searched
    assert conn.execute("select count(*) from checks where status != 'fail'").fetchone()[0] == 0
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    assert not tables & {"cells", "report_texts", "requests_table", "active_table", "appeals_table"}
    assert conn.execute("pragma user_version").fetchone()[0] == 5
    assert conn.execute("pragma freelist_count").fetchone()[0] == 0  # the file shrunk to what it holds


def test_a_schema_4_archive_is_packed_a_report_at_a_time(crawled, tmp_path):
    """A schema 4 archive of a million reports holds 150,000,000 rows of cells and 8 GB of
    texts: the migration reads them in key order, a report at a time, never a table at once
    (it read every row into memory: at a million reports, more than the machine has)."""
    path = tmp_path / "old.db"
    schema_4_copy(crawled, path)
    with connect_archive(path) as old:
        step = old.execute("select max(id) + 1 from reports").fetchone()[0]
        for copy in range(1, 41):  # other reports' figures and texts, as a larger archive has
            old.execute("insert into cells select report_id + ?, code, value, unit, token, row_label, "
                        "column_label, page, locator, read_by from cells where report_id < ?", [copy * step, step])
            old.execute("insert into report_texts select report_id + ?, body from report_texts where report_id < ?",
                        [copy * step, step])
        figures = old.execute("select count(*) from cells where value is not null or token is not null").fetchone()[0]
        texts = old.execute("select count(*) from report_texts").fetchone()[0]
    assert figures > 100_000
    tracemalloc.start()
    try:
        open_archive(path).close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    conn = connect_archive(path)
    assert conn.execute("select count(*) from cell_values").fetchone()[0] == figures
    assert conn.execute("select count(*) from report_bodies").fetchone()[0] == texts
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB"  # 73 MiB when the tables were read whole


def test_a_search_pages_column_facets_are_counted_in_one_query(crawled, tmp_path):
    """Each of Datasette's facet queries reads every row the search matches again; where
    the plugin's held columns do not answer (an SQL clause, `_where`), the page's facets
    (four by default on `reports`, five here) are counted in one query, and give the counts
    of SQL over the same rows."""
    from datasette.app import Datasette

    path = tmp_path / "archive.db"
    shutil.copy(crawled["db"], path)
    datasette = Datasette([str(path)], metadata=publish.metadata_for(path), plugins_dir=str(publish.PLUGINS),
                          template_dir=str(publish.TEMPLATES),
                          settings={"num_sql_threads": 1, "suggest_facets": False, "facet_time_limit_ms": 5000})
    statements = []

    async def page():
        await datasette.invoke_startup()
        database = datasette.get_database("archive")
        await database.execute_fn(lambda conn: conn.set_trace_callback(statements.append))
        response = await datasette.client.get(
            "/archive/reports.json?_search=复议&_where=year+>+2000&_facet=year&_facet=province&_facet=body_id&_size=1")
        return response.json()

    data = asyncio.run(page())
    facets = {name: {row["value"]: row["count"] for row in facet["results"]}
              for name, facet in data["facet_results"].items()}
    assert set(facets) == {"year", "format", "level", "province", "body_id"}
    conn = connect_archive(path)
    matching = "year > 2000 and id in (select rowid from reports_fts where reports_fts match '\"复议\"')"
    for name, counts in facets.items():
        expected = dict(conn.execute(f"select [{name}], count(*) from reports where {matching} and [{name}] "
                                     f"is not null group by [{name}] order by count(*) desc, [{name}] limit 30"))
        assert counts == expected, name
    assert sum(facets["year"].values()) > 10
    grouped = [sql for sql in statements if "group by" in sql.lower() and "reports_fts" in sql]
    assert len(grouped) == 1, grouped


def test_the_figures_default_facets_are_read_from_an_index(crawled):
    """`cells` has a row per figure (150 a report: 150,000,000 at a million reports); a
    default facet of its page that must visit each row (`unit` is in no index) cost
    `cells?code=…` 337 ms at 100,000 reports, over its time limit at a million. Each default
    facet of the figure tables is counted from indexes alone, over a code's rows."""
    metadata = publish.metadata_for(crawled["db"])
    tables = next(iter(metadata["databases"].values()))["tables"]
    conn = connect_archive(crawled["db"])
    code, code_id = conn.execute("select code, id from cell_codes where code = 'requests.new.total'").fetchone()
    for table, where, value in (("cells", "code", code), ("cell_values", "code_id", code_id)):
        assert tables[table]["facets"], table
        for facet in tables[table]["facets"]:
            plan = conn.execute(f"explain query plan select [{facet}], count(*) from (select * from {table} "
                                f"where {where} = ?) group by [{facet}]", [value]).fetchall()
            steps = [row[-1] for row in plan if row[-1].startswith(("SCAN", "SEARCH"))]
            assert steps and all("COVERING INDEX" in step for step in steps), (table, facet, steps)
