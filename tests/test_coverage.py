"""Coverage accounting (archive/coverage.py, the /-/coverage pages): figures derived
from a small archive built through archive.store with known publication dates — on
time and late, department and government, a missing year, an unreachable portal, a
portal whose column was not found and one never crawled — then published by a real
Datasette, as CSV and as the province heat table in Chromium; refreshed by a real crawl
and by `nianbao reparse`."""
import csv
import io
import shutil
import sqlite3
from datetime import date

import pytest

from archive import coverage, runs, store
from archive.db import open_archive
from archive.reparse import reparse
from archive_fixtures import dump_dom, get, get_json, png_info, quote, screenshot, start_datasette, stop
from archive.db import connect as connect_archive

TODAY = date(2024, 6, 1)  # every report covering 2019-2022 is due
PORTALS = [
    # id, name, level, province, column_urls (the registry's), homepage
    ("gov-a", "甲县人民政府", "county", "福建省", ["http://a.example/nb/"], "http://a.example/"),
    ("dept-b", "福建省财政厅", "department", "福建省", ["http://b.example/nb/"], "http://b.example/"),
    ("gov-c", "乙县人民政府", "county", "福建省", ["http://c.example/nb/"], "http://c.example/"),
    ("gov-d", "丙县人民政府", "county", "福建省", [], "http://d.example/"),
    ("gov-e", "丁县人民政府", "county", "福建省", [], "http://e.example/"),
    ("gov-f", "己县人民政府", "county", "福建省", ["http://f.example/nb/"], "http://f.example/"),
    ("cn-x", "国家某某局", "central", "中央", ["http://x.example/nb/"], "http://x.example/"),
    ("gov-g", "庚市人民政府", "city", "福建省", ["http://g.example/nb/"], "http://g.example/"),
]
# portal, agency named by the report, year covered, publication date on the page, date in the listing
REPORTS = [
    ("gov-a", "甲县人民政府", 2019, "2020-03-31", ""),    # on the deadline: on time
    ("gov-a", "甲县人民政府", 2020, "2021-04-02", ""),    # 2 days late
    ("gov-a", "甲县人民政府", 2022, "2023-03-01", ""),    # 2021 missing
    ("gov-a", "甲县财政局", 2019, "2020-01-31", ""),      # department, on the deadline
    ("gov-a", "甲县财政局", 2020, "2021-02-01", ""),      # a day late
    ("gov-a", "甲县财政局", 2021, "", "2022-01-15"),      # only the listing dates it
    ("gov-a", "甲县财政局", 2022, "2023-02-10", ""),      # republished late …
    ("gov-a", "甲县财政局", 2022, "2023年1月20日", ""),    # … after an on-time first publication
    ("dept-b", "福建省财政厅", 2019, "2020-01-10", ""),
    ("dept-b", "福建省财政厅", 2022, "2023-01-05", ""),
    ("gov-c", "乙县人民政府", 2019, "2020-03-20", ""),    # archived by an earlier crawl; now unreachable
    ("gov-e", "丁县", 2021, "2022-03-30", ""),
    ("gov-e", "戊镇人民政府", 2020, "2021-06-01", ""),     # a township: no statutory deadline
    ("cn-x", "国家某某局", 2022, "2023-02-01", ""),       # a central department, a day late
    ("gov-a", "甲县人民政府", 2012, "2013-03-01", ""),    # before the span: counted per portal only
    ("gov-a", "甲县人民政府", 2031, "2023-03-02", ""),    # a misread year, not yet ended: likewise
]
# (body, year): (status, timeliness, publication date, days late)
EXPECTED = {
    ("甲县人民政府", 2019): ("published", "on time", "2020-03-31", 0),
    ("甲县人民政府", 2020): ("published", "late", "2021-04-02", 2),
    ("甲县人民政府", 2021): ("missing", None, None, None),
    ("甲县人民政府", 2022): ("published", "on time", "2023-03-01", 0),
    ("甲县财政局", 2019): ("published", "on time", "2020-01-31", 0),
    ("甲县财政局", 2020): ("published", "late", "2021-02-01", 1),
    ("甲县财政局", 2021): ("published", "on time", "2022-01-15", 0),
    ("甲县财政局", 2022): ("published", "on time", "2023-01-20", 0),
    ("福建省财政厅", 2019): ("published", "on time", "2020-01-10", 0),
    ("福建省财政厅", 2020): ("missing", None, None, None),
    ("福建省财政厅", 2021): ("missing", None, None, None),
    ("福建省财政厅", 2022): ("published", "on time", "2023-01-05", 0),
    ("乙县人民政府", 2019): ("published", "on time", "2020-03-20", 0),
    **{("乙县人民政府", year): ("unreachable", None, None, None) for year in (2020, 2021, 2022)},
    **{("丙县人民政府", year): ("not found", None, None, None) for year in range(2019, 2023)},
    ("丁县", 2019): ("missing", None, None, None),
    ("丁县", 2020): ("missing", None, None, None),
    ("丁县", 2021): ("published", "on time", "2022-03-30", 0),
    ("丁县", 2022): ("missing", None, None, None),
    ("戊镇人民政府", 2019): ("missing", None, None, None),
    ("戊镇人民政府", 2020): ("published", "no deadline", "2021-06-01", None),
    ("戊镇人民政府", 2021): ("missing", None, None, None),
    ("戊镇人民政府", 2022): ("missing", None, None, None),
    **{("己县人民政府", year): ("not crawled", None, None, None) for year in range(2019, 2023)},
    **{("庚市人民政府", year): ("not crawled", None, None, None) for year in range(2019, 2023)},
    **{("国家某某局", year): ("missing", None, None, None) for year in (2019, 2020, 2021)},
    ("国家某某局", 2022): ("published", "late", "2023-02-01", 1),
}
KINDS = {"甲县人民政府": "government", "甲县财政局": "department", "福建省财政厅": "department",
         "乙县人民政府": "government", "丙县人民政府": "government", "丁县": "government",
         "戊镇人民政府": "township", "己县人民政府": "government", "国家某某局": "department",
         "庚市人民政府": "government"}


def add_report(db, number: int, portal_id: str, agency: str, year: int, published: str, listing_date: str) -> None:
    url = f"http://{portal_id}.example/nb/{number}.html"
    title = f"{agency}{year}年政府信息公开工作年度报告"
    document_id = store.store_document(db, url=url, content=title.encode("utf-8"), portal_id=portal_id, role="page",
                                       report_url=url, content_type="text/html; charset=utf-8",
                                       listing_title=title, listing_date=listing_date)
    store.store_parse(db, document_id, {"title": title, "agency": agency, "year": year, "published": published,
                                        "format": "none", "body": title, "cells": {}, "checks": {}})
    store.derive_report(db, url)


def build_archive(path):
    db = open_archive(path)
    with db.conn:
        store.upsert_portals(db, [{"id": p, "name": name, "level": level, "province": province,
                                   "division_code": "350000" if province == "福建省" else "",
                                   "column_urls": columns, "homepage": homepage}
                                  for p, name, level, province, columns, homepage in PORTALS])
        for number, report in enumerate(REPORTS):
            add_report(db, number, *report)
        crawl = {"started_at": "2024-05-01T00:00:00+00:00", "finished_at": "2024-05-01T01:00:00+00:00",
                 "reports_found": 0, "reports_new": 0, "reports_unchanged": 0, "failed": 0, "skipped": 0}
        # gov-c: read in an earlier crawl, unreachable in the latest; gov-a: an old failure that no longer counts
        store.record_crawl(db, {**crawl, "portal_id": "gov-c", "started_at": "2020-04-01T00:00:00+00:00",
                                "listings_seen": 2})
        db["failures"].insert({"portal_id": "gov-a", "url": "http://a.example/nb/", "stage": "listing",
                               "error": "HTTP 500", "failed_at": "2020-04-01T00:00:00+00:00"})
        for portal_id, listings in [("gov-a", 3), ("dept-b", 1), ("gov-c", 0), ("gov-d", 0), ("gov-e", 2), ("cn-x", 1)]:
            store.record_crawl(db, {**crawl, "portal_id": portal_id, "listings_seen": listings,
                                    "started_at": "2000-01-01T00:00:00+00:00"})
        # gov-g: its walk began in a run that was interrupted before it read anything
        runs.start_run(db, "run-1", ["gov-g"])
        store.record_crawl(db, {**crawl, "portal_id": "gov-g", "listings_seen": 0})
        store.record_failure(db, portal_id="gov-c", url="http://c.example/nb/", stage="listing",
                             error="ConnectionRefusedError: Connection was refused by other side")
        store.record_failure(db, portal_id="gov-d", url="http://d.example/xxgk/", stage="discovery",
                             error="no 年报 column found within 2 links of the homepage")
    coverage.refresh(db, TODAY)
    return db


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("coverage") / "coverage.db"
    build_archive(path).close()
    conn = connect_archive(path)
    conn.row_factory = sqlite3.Row
    yield {"path": path, "conn": conn}
    conn.close()


def body_years(conn) -> dict:
    return {(row["name"], row["year"]): row for row in conn.execute("select * from coverage_body_years")}


def test_each_body_year_is_published_on_time_late_missing_or_out_of_reach(archive):
    rows = body_years(archive["conn"])
    assert {key: (row["status"], row["timeliness"], row["published"], row["days_late"])
            for key, row in rows.items()} == EXPECTED
    assert {name: row["kind"] for (name, _), row in rows.items()} == KINDS
    # the earliest of two reports for a year, dated by the listing when the page gives no date
    assert rows["甲县财政局", 2022]["reports"] == 2
    assert (rows["甲县财政局", 2021]["published_from"], rows["甲县财政局", 2022]["published_from"]) == ("listing", "report")
    assert (rows["甲县人民政府", 2020]["deadline"], rows["甲县财政局", 2020]["deadline"]) == ("2021-03-31", "2021-01-31")
    assert rows["国家某某局", 2022]["kind_basis"].startswith("central body")
    assert rows["丁县", 2021]["kind_basis"].startswith("name ends with 县")
    report = archive["conn"].execute("select id from reports where agency = '甲县人民政府' and year = 2020").fetchone()[0]
    assert rows["甲县人民政府", 2020]["report_id"] == report


def test_deadlines_are_the_rules_of_article_49(archive):
    rules = {row["kind"]: (row["month"], row["day"], row["article"]) for row in
             archive["conn"].execute("select * from coverage_deadlines")}
    assert {kind: rule[:2] for kind, rule in rules.items()} == {"department": (1, 31), "government": (3, 31)}
    assert all("第四十九条" in rule[2] for rule in rules.values())


@pytest.mark.parametrize("name, level, portal_name, kind", [
    ("北京市人民政府办公厅", "province", "北京市人民政府", "department"),
    ("北京市人民政府", "department", "北京市人民政府办公厅", "government"),
    ("平潭综合实验区管委会", "county", "平潭综合实验区党工委管委会", "government"),
    ("城关街道办事处", "county", "某县人民政府", "township"),
    ("中华人民共和国中央人民政府", "central", "中国政府网", "department"),
    ("天津政务网", "province", "天津政务网", "government"),
    ("天津政务网", "department", "天津政务网", "department"),
    ("某某镇", "township", "某某镇", "township"),
])
def test_body_kind_by_the_ordered_rules(name, level, portal_name, kind):
    assert coverage.body_kind(name, level, portal_name, coverage.load_rules())[0] == kind


def test_portals_say_whether_the_column_was_read_and_why_not(archive):
    portals = {row["portal_id"]: row for row in archive["conn"].execute("select * from coverage_portals")}
    assert {p: row["column_status"] for p, row in portals.items()} == {
        "gov-a": "given", "dept-b": "given", "gov-c": "unreachable", "gov-d": "not found", "gov-e": "discovered",
        "gov-f": "not crawled", "cn-x": "given", "gov-g": "not crawled"}
    assert "run run-1 did not finish" in portals["gov-g"]["column_reason"]
    assert portals["gov-f"]["column_reason"] == "no crawl of this portal recorded"
    assert "listing: ConnectionRefusedError" in portals["gov-c"]["column_reason"]
    assert "no 年报 column found" in portals["gov-d"]["column_reason"]
    assert portals["gov-a"]["reports_per_year"] == '{"2012": 1, "2019": 2, "2020": 2, "2021": 1, "2022": 3, "2031": 1}'
    assert (portals["gov-a"]["years_published"], portals["gov-a"]["years_without"]) == (4, 0)
    assert (portals["dept-b"]["years_published"], portals["dept-b"]["years_without"]) == (2, 2)
    assert portals["gov-a"]["last_crawl"] == "2024-05-01T01:00:00+00:00"


def test_province_years_count_the_body_years(archive):
    conn = archive["conn"]
    cell = conn.execute("select * from coverage_province_years where province = '福建省' and level = 'county' "
                        "and year = 2020").fetchone()
    assert dict(cell) == {
        "province": "福建省", "level": "county", "year": 2020, "portals": 5, "portals_published": 2,
        "bodies_due": 7, "published": 3, "missing": 1, "not_found": 1, "unreachable": 1, "not_crawled": 1,
        "not_due": 0, "on_time": 0, "late": 2, "no_deadline": 1, "date_unknown": 0,
        "share_published": round(3 / 7, 4), "share_on_time": 0.0}
    counted = {tuple(row) for row in conn.execute(
        "select province, level, year, count(*), sum(status = 'published'), sum(coalesce(timeliness, '') = 'late') "
        "from coverage_body_years group by province, level, year")}
    assert counted == {tuple(row) for row in conn.execute(
        "select province, level, year, bodies_due + not_due, published, late from coverage_province_years")}


def test_reports_not_due_yet(archive, tmp_path):
    path = tmp_path / "early.db"
    shutil.copy(archive["path"], path)
    db = open_archive(path)
    coverage.refresh(db, date(2023, 2, 15))  # after the departments' deadline, before the governments'
    db.close()
    conn = connect_archive(path)
    conn.row_factory = sqlite3.Row
    rows = body_years(conn)
    conn.close()
    assert rows["丙县人民政府", 2022]["status"] == "not due" and rows["乙县人民政府", 2022]["status"] == "not due"
    assert rows["丁县", 2022]["status"] == "not due"
    assert rows["福建省财政厅", 2021]["status"] == "missing" and rows["国家某某局", 2022]["status"] == "published"
    assert rows["丙县人民政府", 2021]["status"] == "not found"


def test_reparse_refreshes_the_coverage(archive, tmp_path):
    path = tmp_path / "reparsed.db"
    shutil.copy(archive["path"], path)
    with connect_archive(path) as conn:
        for table in ("coverage_province_years", "coverage_body_years", "coverage_portals", "coverage_deadlines"):
            conn.execute(f"delete from {table}")
    reparse(str(path), progress=False, workers=0)
    with connect_archive(path) as conn:
        reparsed = conn.execute("select body_id, year, status from coverage_body_years order by body_id, year").fetchall()
        reports = conn.execute("select count(*) from reports").fetchone()[0]
        published = conn.execute("select count(distinct body_id || year) from reports where year between 2019 and 2023").fetchone()[0]
    assert reports == len(REPORTS) and reparsed
    assert sum(status == "published" for _, _, status in reparsed) == published


def test_a_crawl_refreshes_the_coverage(crawled):
    conn = crawled["conn"]
    portals = {row["portal_id"]: row for row in conn.execute("select * from coverage_portals")}
    assert set(portals) == {row[0] for row in conn.execute("select id from portals")}
    assert portals["down"]["column_status"] == "unreachable" and crawled["unreachable"] in portals["down"]["column_reason"]
    assert {row["status"] for row in conn.execute("select status from coverage_body_years where portal_id = 'down'")} \
        == {"unreachable"}
    published = {(row[0], row[1]) for row in conn.execute(
        "select body_id, year from coverage_body_years where status = 'published'")}
    assert published == {tuple(row) for row in conn.execute(
        "select distinct body_id, year from reports where year between 2019 and ?", [date.today().year - 1])}


@pytest.fixture(scope="module")
def site(archive):
    process, base = start_datasette(archive["path"])
    yield {"base": base, "db": f"{base}/{archive['path'].stem}"}
    stop(process)


def test_province_page_is_a_heat_table_linking_to_its_rows(site, archive):
    html = get(f"{site['base']}/-/coverage/{quote('福建省')}").decode()
    assert "<table class=\"heat\">" in html and "县级 county" in html and "部门 department" in html
    assert '<span class="n">3/7</span> 43%' in html  # county, 2020
    link = f"/{archive['path'].stem}/coverage_body_years?province={quote('福建省')}&amp;level=county&amp;year=2020"
    assert link in html
    rows = get_json(f"{site['base']}{link.replace('&amp;', '&').replace('coverage_body_years?', 'coverage_body_years.json?_shape=array&')}")
    assert {(row["name"], row["status"]) for row in rows} == {
        (name, status) for (name, year), (status, *_) in EXPECTED.items()
        if year == 2020 and name in ("甲县人民政府", "甲县财政局", "乙县人民政府", "丙县人民政府", "丁县", "戊镇人民政府", "己县人民政府")}
    index = get(f"{site['base']}/-/coverage").decode()
    assert f'href="/-/coverage/{quote("福建省")}"' in index and f'href="/-/coverage/{quote("中央")}"' in index
    assert get(f"{site['base']}/-/coverage/{quote('中央')}").decode().count("<span class=\"n\">") == 4


def _csv(url: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(get(url).decode("utf-8"))))


@pytest.mark.parametrize("table", ["coverage_portals", "coverage_body_years", "coverage_province_years",
                                   "coverage_deadlines"])
def test_csv_equals_the_table(site, archive, table):
    served = _csv(f"{site['db']}/{table}.csv?_stream=on&_size=max&_labels=off")
    cursor = archive["conn"].execute(f"select * from {table}")
    assert served[0] == [column[0] for column in cursor.description]
    stored = [["" if value is None else str(value) for value in row] for row in cursor]
    assert len(stored) > 1 and sorted(served[1:]) == sorted(stored)


def test_late_reports_query(site):
    rows = get_json(f"{site['db']}/late_reports.json?_shape=array")
    assert [(row["name"], row["year"], row["days_late"]) for row in rows] == [
        ("甲县人民政府", 2020, 2), ("国家某某局", 2022, 1), ("甲县财政局", 2020, 1)]


def test_screenshot_of_the_province_page(site, tmp_path):
    url = f"{site['base']}/-/coverage/{quote('福建省')}"
    dom = dump_dom(url, tmp_path / "dom-profile")
    assert 'class="heat"' in dom and "3/7" in dom
    out = tmp_path / "province.png"
    screenshot(url, out, tmp_path / "profile", size=(1280, 900))
    width, height, distinct = png_info(out)
    assert (width, height) == (1280, 900) and distinct > 20
