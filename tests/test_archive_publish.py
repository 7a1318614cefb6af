"""The published archive, through a real Datasette (`nianbao serve`) on the crawled
archive: facets, Chinese search, full CSV, canned queries, report pages, archived
copies, charts and screenshots in headless Chromium."""
import csv
import io
import json
import urllib.request
import zlib

import pytest

from archive.publish import METADATA
from archive_fixtures import (dump_dom, get, get_json, png_info, quote, reports_containing, screenshot, start_datasette,
                              stop)


@pytest.fixture(scope="module")
def site(crawled):
    process, base = start_datasette(crawled["db"])
    yield {"base": base, "db": f"{base}/{crawled['db'].stem}"}
    stop(process)


def test_reports_have_the_default_facets(site):
    data = get_json(f"{site['db']}/reports.json?_size=0")
    assert {"year", "format", "level", "province"} <= set(data["facet_results"])
    years = {item["value"] for item in data["facet_results"]["year"]["results"]}
    assert {2019, 2021} <= years


@pytest.mark.parametrize("term", ["行政复议", "不予公开", "复议", "公开"])
def test_chinese_search_finds_every_report_containing_the_words(site, crawled, term):
    expected = reports_containing(crawled["conn"], term)
    assert expected, term
    rows = get_json(f"{site['db']}/reports.json?_search={quote(term)}&_shape=array&_col=id&_size=max")
    assert {row["id"] for row in rows} == expected


def test_search_does_not_match_characters_apart(site, crawled):
    """复议 is a phrase: a report with 复 and 议 but never side by side must not match."""
    rows = get_json(f"{site['db']}/reports.json?_search={quote('议复')}&_shape=array&_col=id&_size=max")
    expected = reports_containing(crawled["conn"], "议复")
    assert {row["id"] for row in rows} == expected


def test_search_box_and_sql_use_the_same_escape(site):
    html = get(f"{site['db']}/reports?_search={quote('复议')}").decode()
    assert 'name="_search"' in html and "复议" in html
    rows = get_json(f"{site['db']}.json?_shape=array&sql=" + quote(
        "select escape_fts('复议 \"不予 公开\"') as q"))
    assert rows == [{"q": '"复议" "不予" "予公" "公开"'}]


def _csv(url: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(get(url).decode("utf-8"))))


def _text(value) -> str:
    return "" if value is None else str(value)


def test_csv_stream_returns_every_row_of_a_filtered_table(site, crawled):
    conn = crawled["conn"]
    # every figure: cell_values streamed, its code_id shown as the code
    cells = _csv(f"{site['db']}/cell_values.csv?_stream=on&_size=max&_labels=on")
    stored = conn.execute("select v.report_id, k.code, v.value, v.unit from cell_values v "
                          "join cell_codes k on k.id = v.code_id order by v.report_id, v.code_id").fetchall()
    assert len(stored) > 1000  # more than one page: only a streamed CSV has them all
    assert [(row["report_id"], row["code_id_label"], row["value"], row["unit"]) for row in cells] == [
        tuple(_text(value) for value in row) for row in stored]
    filtered = _csv(f"{site['db']}/requests_table.csv?_stream=on&row_code=new&_sort=report_id&_labels=off")
    stored = conn.execute("select * from requests_table where row_code = 'new' order by report_id").fetchall()
    assert [list(row.values()) for row in filtered] == [[_text(value) for value in row] for row in stored]


def test_every_canned_query_runs(site, crawled):
    """Each gives through Datasette the rows SQLite gives (some may have none after one crawl)."""
    queries = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["nianbao"]["queries"]
    assert len(queries) >= 5
    answered = 0
    for name, query in queries.items():
        data = get_json(f"{site['db']}/{name}.json?_shape=objects")
        expected = crawled["conn"].execute(query["sql"]).fetchall()
        assert data["ok"] and len(data["rows"]) == len(expected), name
        answered += bool(expected)
    assert answered >= 5


def test_canned_queries_agree_with_the_tables(site, crawled):
    rows = get_json(f"{site['db']}/applications_per_year_and_province.json?_shape=array")
    expected = crawled["conn"].execute(
        "select sum(total) from requests_table where row_code = 'new'").fetchone()[0]
    assert sum(row["new_applications"] or 0 for row in rows) == expected
    failing = get_json(f"{site['db']}/reports_failing_checks.json?_shape=array")
    assert {row["report_id"] for row in failing} == {row[0] for row in crawled["conn"].execute(
        "select id from reports where check_status = 'fail'")}


def _report_with_tables(conn) -> int:
    return conn.execute("select id from reports where format = '2021' and cells_filled > 100 "
                        "order by id limit 1").fetchone()[0]


def test_report_page_shows_the_form_and_links(site, crawled):
    conn = crawled["conn"]
    report_id = _report_with_tables(conn)
    html = get(f"{site['db']}/reports/{report_id}").decode()
    for label, total in conn.execute(
            "select row_label, total from requests_table where report_id = ?", [report_id]):
        assert label in html
    new_total = conn.execute("select value from cells where report_id = ? and code = 'requests.new.total'",
                             [report_id]).fetchone()[0]
    assert f'>{new_total}</a></td>' in html  # each figure links to its place (tests/test_provenance.py)
    assert "四、政府信息公开行政复议、行政诉讼情况" in html and "本年处理决定数量" in html
    source_url, sha256 = conn.execute("select source_url, sha256 from reports where id = ?", [report_id]).fetchone()
    assert f'href="{source_url}"' in html and f"/-/archived/{sha256}" in html


def test_archived_copy_is_the_raw_document(site, crawled):
    conn = crawled["conn"]
    sha256, content, content_type = conn.execute(
        "select b.sha256, b.content, d.content_type from reports r join documents d on d.id = r.document_id "
        "join blobs b on b.sha256 = d.sha256 limit 1").fetchone()
    with urllib.request.urlopen(f"{site['base']}/-/archived/{sha256}", timeout=10) as response:
        assert response.read() == zlib.decompress(content)
        assert response.headers["content-type"].startswith(content_type.split(";")[0])
        assert response.headers["content-security-policy"] == "sandbox"


def test_screenshot_of_a_report_page(site, crawled, tmp_path):
    report_id = _report_with_tables(crawled["conn"])
    out = tmp_path / "report.png"
    screenshot(f"{site['db']}/reports/{report_id}", out, tmp_path / "profile")
    width, height, distinct = png_info(out)
    assert (width, height) == (1280, 2000)
    assert distinct > 20  # not a blank page


def test_chart_renders_in_a_browser(site, tmp_path):
    url = f"{site['base']}/-/dashboards/nianbao/applications-per-year"
    dom = dump_dom(url, tmp_path / "dom-profile")
    assert "vega-embed" in dom and ("<canvas" in dom or "<svg" in dom)
    out = tmp_path / "chart.png"
    screenshot(url, out, tmp_path / "profile")
    width, height, distinct = png_info(out)
    assert (width, height) == (1280, 2000) and distinct > 20


def test_the_ingest_bookkeeping_tables_are_hidden():
    """The distributed ingest's own tables (archive/ingest.py) are no data for researchers:
    each is hidden in the published metadata, with a line saying what it is."""
    import re

    from archive import ingest

    names = [re.search(r"create table if not exists (\w+)", statement).group(1) for statement in ingest.SCHEMA]
    tables = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["nianbao"]["tables"]
    assert names and all(tables.get(name, {}).get("hidden") and tables[name].get("description") for name in names), names
