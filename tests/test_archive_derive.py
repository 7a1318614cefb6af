"""Derived tables of the crawled archive: the form-shaped tables, the cell-code lookup,
bodies across years, panel checks, portal yield, and `nianbao reparse` rebuilding them
all identically from the archived bytes alone."""
import sqlite3
import subprocess

import openpyxl
import pytest

from archive import forms, search, store
from archive.db import open_archive
from archive.store import PARSER_VERSION
from archive_fixtures import reports_containing
from conftest import BIN
from parsers import formats, parse
from archive.db import connect as connect_archive

DERIVED = {
    "reports": "url", "report_texts": "report_id", "cells": "report_id, code", "checks": "report_id, check_id",
    "requests_table": "report_id, row_code", "active_table": "report_id, row_code",
    "appeals_table": "report_id, group_code", "bodies": "body_id", "cell_codes": "code",
}


def snapshot(conn) -> dict:
    return {table: conn.execute(f"select * from {table} order by {order}").fetchall()
            for table, order in DERIVED.items()}


def test_cell_codes_cover_both_formats_with_labels(crawled):
    conn = crawled["conn"]
    codes = {row["code"]: row for row in conn.execute("select * from cell_codes")}
    assert set(formats.codes("2019")) | set(formats.codes("2021")) == set(codes)
    new = codes["requests.new.total"]
    assert (new["row_label"], new["column_label"], new["formats"]) == ("一、本年新收政府信息公开申请数量", "总计", "2019,2021")
    assert codes["active.procurement.amount"]["unit"] == "万元"
    assert codes["active.rules.made"]["formats"] == "2019"
    assert not conn.execute("select 1 from cells where code not in (select code from cell_codes)").fetchone()


def test_form_tables_hold_exactly_the_cells(crawled):
    """The form-shaped views give every cell of the report's format, its figure where cells
    has one (a blank the report left, read from nowhere, is no row of cells) and null elsewhere."""
    conn = crawled["conn"]
    for report_id, fmt in conn.execute("select id, format from reports where format in ('2019', '2021')"):
        cells = dict(conn.execute("select code, value from cells where report_id = ?", [report_id]).fetchall())
        codes = set(formats.codes(fmt))
        shaped = {}
        for row in conn.execute("select * from requests_table where report_id = ?", [report_id]):
            shaped.update({f"requests.{row['row_code']}.{c}": row[c] for c, _ in forms.requests_columns()})
        for row in conn.execute("select * from appeals_table where report_id = ?", [report_id]):
            shaped.update({f"appeals.{row['group_code']}.{c}": row[c] for c, _ in forms.appeals_columns()})
        for row in conn.execute("select * from active_table where report_id = ?", [report_id]):
            shaped.update({f"active.{row['row_code']}.{c}": row[c] for c in forms.active_columns()
                           if f"active.{row['row_code']}.{c}" in codes})
        assert set(shaped) == codes and set(cells) <= codes, report_id
        assert shaped == {code: cells.get(code) for code in codes}, report_id
    assert not conn.execute("select 1 from requests_table t join reports r on r.id = t.report_id "
                            "where r.format not in ('2019', '2021')").fetchone()


def test_bodies_follow_a_body_across_years(crawled):
    conn = crawled["conn"]
    body = conn.execute("select * from bodies where body_id = 'sample-pingtan:平潭综合实验区'").fetchone()
    years = [row[0] for row in conn.execute(
        "select year from reports where body_id = ? order by year", [body["body_id"]])]
    assert len(years) == body["reports"] >= 5 and (years[0], years[-1]) == (body["first_year"], body["last_year"])
    assert not conn.execute("select 1 from reports where body_id is null or body_id not in "
                            "(select body_id from bodies)").fetchone()


def test_panel_checks_compare_consecutive_years(crawled):
    conn = crawled["conn"]
    rows = conn.execute("select * from panel_checks").fetchall()
    assert rows
    for row in rows:
        carried_in = conn.execute("select value from cells where report_id = ? and code = 'requests.carried_in.total'",
                                  [row["report_id"]]).fetchone()[0]
        previous = conn.execute("select value, year from cells join reports on reports.id = report_id "
                                "where report_id = ? and code = 'requests.carried_forward.total'",
                                [row["previous_report_id"]]).fetchone()
        assert previous[1] == row["year"] - 1
        assert row["status"] == ("skip" if None in (carried_in, previous[0])
                                 else "pass" if carried_in == previous[0] else "fail")


def test_portal_yield_shows_the_latest_crawl(crawled):
    conn = crawled["conn"]
    rows = {row["portal_id"]: row for row in conn.execute("select * from portal_yield")}
    assert rows["down"]["reports_archived"] == 0 and rows["down"]["failed"] >= 1
    for portal_id, row in rows.items():
        assert row["reports_archived"] == conn.execute(
            "select count(*) from reports where portal_id = ?", [portal_id]).fetchone()[0]


def test_every_facet_and_join_column_is_indexed(crawled):
    conn = crawled["conn"]
    indexed = {(table, conn.execute(f"pragma index_info('{index}')").fetchone()[2])
               for table in [*DERIVED, "cell_values"]
               for index in [row[1] for row in conn.execute(f"pragma index_list('{table}')")]}
    needed = [("reports", c) for c in ("year", "format", "level", "province", "portal_id", "body_id", "check_status")]
    needed += [("cell_values", "code_id"), ("cell_codes", "code"), ("bodies", "portal_id")]
    assert not [pair for pair in needed if pair not in indexed]


@pytest.fixture(scope="module")
def reparsed(crawled, tmp_path_factory):
    copy = tmp_path_factory.mktemp("reparse") / "copy.db"
    with connect_archive(copy) as target:
        connect_archive(crawled["db"]).backup(target)
    result = subprocess.run([str(BIN / "nianbao"), "reparse", str(copy)], capture_output=True, text=True,
                            timeout=600, env={"PATH": "/usr/bin:/bin", "no_proxy": "*", "http_proxy": "http://0.0.0.0:9"})
    assert result.returncode == 0, result.stderr
    connection = connect_archive(copy)
    connection.row_factory = sqlite3.Row
    yield connection, result.stderr
    connection.close()


def test_reparse_rebuilds_identical_derived_tables(crawled, reparsed):
    conn, log = reparsed
    assert "reparsing" in log and "reparsed" in log
    before, after = snapshot(crawled["conn"]), snapshot(conn)
    for table in DERIVED:
        assert [tuple(row) for row in after[table]] == [tuple(row) for row in before[table]], table


def test_reparse_rebuilds_the_search_index(crawled, reparsed):
    conn, _ = reparsed
    conn.create_function("escape_fts", 1, search.escape_fts)
    query = "select rowid from reports_fts where reports_fts match escape_fts(?)"
    for term in ("复议", "不予公开"):
        assert {row[0] for row in conn.execute(query, [term])} == reports_containing(crawled["conn"], term), term
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.execute("insert into reports_fts(reports_fts, rank) values('integrity-check', 0)")  # raises if corrupt


def test_reparse_records_the_parser_version(reparsed):
    conn, _ = reparsed
    assert {row[0] for row in conn.execute("select distinct parser_version from reports")} == {PARSER_VERSION}


def test_a_spreadsheet_attachment_with_only_the_tables_is_the_report(tmp_path):
    """The page says which report it is; the attachment (.xlsx, its sheet titled 附表)
    holds the figures: the report takes its figures from the sheet, its year from the page."""
    book = openpyxl.Workbook()
    sheet = book.active
    rows = [["附表"], ["三、收到和处理政府信息公开申请情况"],
            ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
            ["自然人", "法人或其他组织", "总计"], ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"],
            ["一、本年新收政府信息公开申请数量", 7, 1, 0, 0, 0, 0, 8]]
    for row in rows:
        sheet.append(row)
    attachment = tmp_path / "table.xlsx"
    book.save(attachment)
    page = ("<html><head><title>某县人民政府2023年政府信息公开工作年度报告</title></head><body>"
            "<h1>某县人民政府2023年政府信息公开工作年度报告</h1><p>一、总体情况</p><p>本年度工作平稳。</p>"
            "<p>附件：<a href='table.xlsx'>统计表</a></p></body></html>").encode()
    db = open_archive(tmp_path / "archive.db")
    store.upsert_portals(db, [{"id": "county", "name": "某县人民政府", "level": "county", "province": "福建省"}])
    url = "http://127.0.0.1/county/report.html"
    with db.conn:
        for document_url, content, role in ((f"{url}.xlsx", attachment.read_bytes(), "attachment"), (url, page, "page")):
            document_id = store.store_document(db, url=document_url, content=content, portal_id="county", role=role,
                                               report_url=url)
            store.store_parse(db, document_id, parse(content, name=document_url.rsplit("/", 1)[-1]))
        store.derive_report(db, url)
    year, source_url = db.execute("select year, source_url from reports").fetchone()
    assert (year, source_url) == (2023, f"{url}.xlsx")
    figures = dict(db.execute("select code, value from cells where value is not null"))
    assert figures["requests.new.natural_person"] == 7 and figures["requests.new.total"] == 8
