"""What keeps a large archive small and its search page fast (benchmarks/archive.py measures
them): printed labels kept only where they differ from the form's, schema 3 archives
brought along, and a page's column facets counted in one query."""
import asyncio
import shutil
import sqlite3

from archive import publish, store
from archive.db import open_archive

PROVENANCE = ("row_label", "column_label")


def printed_labels(conn) -> dict[tuple[int, str], tuple]:
    """(report, code) → the printed labels of its figure, as the stored parse has them."""
    labels = {}
    for report_id, result in conn.execute(
            "select r.id, p.result from reports r join parses p on p.document_id = r.document_id"):
        for code, where in (store.load_parse(result).get("provenance") or {}).items():
            labels[report_id, code] = tuple(where.get(key) for key in PROVENANCE)
    return labels


def test_cells_keep_a_printed_label_only_where_it_differs_from_the_forms(crawled):
    conn = crawled["conn"]
    same = conn.execute("select count(*) from cells c join cell_codes k on k.code = c.code "
                        "where c.row_label = k.row_label or c.column_label = k.column_label").fetchone()[0]
    assert same == 0
    kept, left_out = conn.execute("select sum(row_label is not null), sum(row_label is null and token is not null) "
                                  "from cells").fetchone()
    assert kept > 0 and left_out > 0  # the sample reports print both the form's labels and their own
    # the view gives every figure's printed labels whole, as the parse read them
    printed = printed_labels(conn)
    rows = conn.execute("select report_id, code, row_label, column_label from cell_provenance "
                        "where token is not null").fetchall()
    assert len(rows) > 500
    for report_id, code, row_label, column_label in rows:
        assert (row_label, column_label) == printed[report_id, code], (report_id, code)
    assert conn.execute("select count(*) from cell_provenance where token is null and row_label is not null"
                        ).fetchone()[0] == 0


def test_a_schema_3_archive_is_brought_along_when_opened(crawled, tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        sqlite3.connect(crawled["db"]).backup(old)
    with sqlite3.connect(path) as old:  # as schema 3 stored it: every label whole, every check's status indexed
        whole = old.execute("select report_id, code, row_label, column_label from cell_provenance "
                            "order by report_id, code").fetchall()
        old.execute("update cells set row_label = (select v.row_label from cell_provenance v where "
                    "v.report_id = cells.report_id and v.code = cells.code), column_label = (select v.column_label "
                    "from cell_provenance v where v.report_id = cells.report_id and v.code = cells.code)")
        old.execute("drop view cell_provenance")
        old.execute("drop index idx_checks_failed")
        old.execute("create index idx_checks_status on checks (status)")
        old.execute("pragma user_version = 3")
        assert old.execute("select count(*) from cells c join cell_codes k on k.code = c.code "
                           "where c.row_label = k.row_label").fetchone()[0] > 0
    open_archive(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("select count(*) from cells c join cell_codes k on k.code = c.code "
                        "where c.row_label = k.row_label or c.column_label = k.column_label").fetchone()[0] == 0
    assert conn.execute("select report_id, code, row_label, column_label from cell_provenance "
                        "order by report_id, code").fetchall() == whole
    indexes = {row[0] for row in conn.execute("select name from sqlite_master where type = 'index'")}
    assert "idx_checks_failed" in indexes and "idx_checks_status" not in indexes
    assert conn.execute("pragma user_version").fetchone()[0] == 4


def test_a_search_pages_column_facets_are_counted_in_one_query(crawled, tmp_path):
    """Each of Datasette's facet queries reads every row the search matches again; the
    page's facets (four by default on `reports`, five here) are counted in one, and give
    the counts of SQL over the same rows."""
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
            "/archive/reports.json?_search=复议&_facet=year&_facet=province&_facet=body_id&_size=1")
        return response.json()

    data = asyncio.run(page())
    facets = {name: {row["value"]: row["count"] for row in facet["results"]}
              for name, facet in data["facet_results"].items()}
    assert set(facets) == {"year", "format", "level", "province", "body_id"}
    conn = sqlite3.connect(path)
    matching = "id in (select rowid from reports_fts where reports_fts match '\"复议\"')"
    for name, counts in facets.items():
        expected = dict(conn.execute(f"select [{name}], count(*) from reports where {matching} and [{name}] "
                                     f"is not null group by [{name}] order by count(*) desc, [{name}] limit 30"))
        assert counts == expected, name
    assert sum(facets["year"].values()) > 10
    grouped = [sql for sql in statements if "group by" in sql.lower() and "reports_fts" in sql]
    assert len(grouped) == 1, grouped
