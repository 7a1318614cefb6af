"""The reports page's ?_search= with facets through the plugin's fast path (archive/plugins/
nianbao_archive.py, Searches): the search's matches read once a page, its count, rows and
facet counts exactly those of plain SQL, with and without other filters (Datasette's own
SQL answers those), and right again after a write to the live archive."""
import json
import random
import sqlite3
import urllib.parse
import urllib.request

import pytest

from archive import publish, search
from archive.db import open_archive
from archive_fixtures import start_server, stop
from conftest import free_port

FACETS = ["year", "format", "level", "province"]
PROVINCES = ["北京市", "河北省", "广东省", None]
WORDS = ["行政复议", "行政诉讼", "不予公开", "依申请公开", "主动公开"]


def _report(rng: random.Random, report_id: int) -> tuple[dict, str]:
    words = rng.sample(WORDS, rng.randint(1, 3))
    year = rng.randint(2017, 2024)
    return ({"id": report_id, "url": f"http://a.invalid/{report_id}", "title": f"{year}年报告{report_id}",
             "year": year, "format": rng.choice(["2019", "2021", "none"]),
             "level": rng.choice(["province", "city", "county"]), "province": rng.choice(PROVINCES)},
            "本机关" + "，".join(words) + "。")


def _add(db, reports: list[tuple[dict, str]]) -> None:
    with db.conn:
        for row, text in reports:
            db["reports"].insert(row)
            search.reindex(db, row["id"], None, (row["title"], text))


@pytest.fixture
def archive(tmp_path):
    """An archive of 300 reports (no bodies or portals: the page reads `reports` and the index)."""
    path = tmp_path / "archive.db"
    db = open_archive(path)
    rng = random.Random(12)
    _add(db, [_report(rng, report_id) for report_id in range(1, 301)])
    yield path, db, rng
    db.conn.close()


def _serve(path, folder):
    """Datasette as `nianbao serve` starts it, with trace_debug on (?_trace=1 lists a page's SQL)."""
    port = free_port()
    metadata = folder / "metadata.json"
    metadata.write_text(json.dumps(publish.metadata_for(path), ensure_ascii=False), encoding="utf-8")
    command = publish.datasette_command(path, "127.0.0.1", port, metadata) + ["--setting", "trace_debug", "1"]
    return start_server(command, f"http://127.0.0.1:{port}"), f"http://127.0.0.1:{port}/{path.stem}"


def _page(base: str, query: dict) -> dict:
    with urllib.request.urlopen(f"{base}/reports.json?_shape=objects&{urllib.parse.urlencode(query, doseq=True)}",
                                timeout=30) as response:
        return json.loads(response.read())


def _expected(path, term: str, where: str = "", params: tuple = (), order: str = "id", size: int = 50):
    """The page as plain SQL gives it: count, the first rows' ids, each facet's {value: count}."""
    conn = sqlite3.connect(path)
    conn.create_function("escape_fts", 1, search.escape_fts)
    matches = (f"from reports where id in (select rowid from reports_fts where reports_fts match "
               f"escape_fts(?)){where}") if term else f"from reports where 1{where}"
    params = (term, *params) if term else params
    count = conn.execute(f"select count(*) {matches}", params).fetchone()[0]
    ids = [row[0] for row in conn.execute(f"select id {matches} order by {order}, id limit {size}", params)]
    facets = {column: dict(conn.execute(f"select {column}, count(*) {matches} and {column} is not null "
                                        f"group by {column}", params).fetchall()) for column in FACETS}
    conn.close()
    return count, ids, facets


def _served(page: dict):
    return (page["filtered_table_rows_count"], [row["id"] for row in page["rows"]],
            {name: {value["value"]: value["count"] for value in facet["results"]}
             for name, facet in page["facet_results"].items()})


def test_search_with_facets_reads_the_matches_once(archive, tmp_path):
    """Datasette runs the search's MATCH for the rows, the count and the facets (three
    passes over every matching report); the plugin reads the matches once a page."""
    path, _, _ = archive
    process, base = _serve(path, tmp_path)
    try:
        page = _page(base, {"_search": "复议", "_facet": ["year", "province"], "_trace": "1"})
        traced = [query["sql"] for query in page["_trace"]["traces"] if query.get("type") == "sql"]
        assert sum("match" in sql for sql in traced) == 1, traced
        assert _served(page) == _expected(path, "复议")
    finally:
        stop(process)


QUERIES = [  # (query string, the same as SQL: where, params, order; MATCH queries run for the page)
    ({"_search": "复议"}, "", (), "id", 1),
    ({"_search": "不予公开", "_size": "7"}, "", (), "id", 1),
    ({"_search": "复议", "year": "2020"}, " and year = ?", ("2020",), "id", 1),  # '2020' = 2020 (affinity)
    ({"_search": "复议", "province": "广东省", "format": "2021"}, " and province = ? and format = ?",
     ("广东省", "2021"), "id", 1),
    ({"_search": "复议", "province__isnull": "1"}, " and province is null", (), "id", 1),
    ({"_search": "诉讼", "year__gte": "2021", "level__not": "city"}, " and year >= ? and level != ?",
     (2021, "city"), "id", 1),
    ({"_search": "没有这个词"}, "", (), "id", 1),
    # the rows in another order are Datasette's query; the count and facets still the plugin's
    ({"_search": "诉讼", "_sort": "year"}, "", (), "year", 2),
    # a clause of SQL (_where): Datasette's queries, the rows, the count, the facets (together)
    ({"_search": "复议", "_where": "year > 2019"}, " and year > 2019", (), "id", 3),
    # no search: the facets the plugin's, over the table or the filters' rows
    ({}, "", (), "id", 0),
    ({"year": "2021", "level__not": "county"}, " and year = ? and level != ?", ("2021", "county"), "id", 0),
]


def test_counts_and_facets_are_plain_sqls_with_filters_and_after_a_write(archive, tmp_path):
    """The count, the page's rows and every facet's counts equal plain SQL's, for the search
    alone (the plugin's path) and combined with other filters or another order (Datasette's);
    then again after reports are added and changed while the archive is served."""
    path, db, rng = archive
    process, base = _serve(path, tmp_path)
    try:
        for rounds in range(2):
            for query, where, params, order, passes in QUERIES:
                term = query.get("_search")
                size = int(query.get("_size", 50))
                page = _page(base, {**query, "_facet": ["year", "province"], "_trace": "1"})
                traced = [trace["sql"] for trace in page["_trace"]["traces"] if trace.get("type") == "sql"]
                assert sum(" match " in sql for sql in traced) == passes, (query, traced)
                # the facets SQLite's grouped query only for an SQL clause; else the plugin's counts
                assert any(" group by " in sql for sql in traced) == ("_where" in query), (query, traced)
                count, ids, facets = _expected(path, term, where, params, order, size)
                served_count, served_ids, served_facets = _served(page)
                assert (served_count, served_facets) == (count, facets), query
                if order == "id":
                    assert served_ids == ids, query
            # the live archive changes: new matching reports, a year and a province changed, one removed
            _add(db, [_report(rng, report_id) for report_id in range(1000 + rounds * 10, 1010 + rounds * 10)])
            with db.conn:
                db.execute("update reports set year = 2030, province = '广东省' where id in (3, 4, 5)")
                db.execute("delete from reports where id = 6")
    finally:
        stop(process)


def _view_page(base: str, view: str, query: dict) -> dict:
    with urllib.request.urlopen(f"{base}/{view}.json?_shape=objects&{urllib.parse.urlencode(query, doseq=True)}",
                                timeout=30) as response:
        return json.loads(response.read())


VIEW_PAGES = [  # (view, filters, facets): views have no rowids to hold, their facets are SQLite's
    ("cells", {}, ["code", "unit"]),
    ("cells", {"code": "requests.new.total"}, ["code", "unit"]),
    ("requests_table", {}, ["row_code", "year", "format"]),
    ("requests_table", {"row_code": "new"}, ["year", "format"]),
]


def test_facets_of_views_are_counted_over_their_rows(archive, tmp_path):
    """The facets of a view's page (cells, the form tables) count the view's rows: views have
    no rowids, so no arrays of them are held (they counted nothing, and at 1,000,000 reports
    read the whole view first, two minutes for cells?code=)."""
    path, db, rng = archive
    codes = dict(db.execute("select code, id from cell_codes where code like 'requests.%.total'").fetchall())
    assert "requests.new.total" in codes
    with db.conn:
        db.execute("update reports set format = '2021' where format = 'none'")
        db["cell_values"].insert_all(
            {"report_id": report_id, "code_id": code_id, "value": rng.randint(0, 50),
             "unit": rng.choice(["件", None])}
            for report_id in range(1, 301) for code_id in codes.values() if rng.random() < 0.8)
    process, base = _serve(path, tmp_path)
    conn = sqlite3.connect(path)
    try:
        for view, filters, facets in VIEW_PAGES:
            page = _view_page(base, view, {**filters, "_facet": facets})
            served = {name: {value["value"]: value["count"] for value in facet["results"]}
                      for name, facet in page["facet_results"].items()}
            assert set(facets) <= served.keys()  # with the view's facets of metadata.json
            where = " and ".join(f"{column} = ?" for column in filters) or "1"
            expected = {column: dict(conn.execute(
                f"select {column}, count(*) from {view} where {where} and {column} is not null group by 1",
                list(filters.values())).fetchall()) for column in served}
            assert all(expected.values()), (view, filters)
            assert served == expected, (view, filters)
    finally:
        conn.close()
        stop(process)
