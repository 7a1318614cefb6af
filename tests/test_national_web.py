"""Discovery at scale over a simulated national web (nianbao/national_web): 60 portals,
each on its own loopback addresses, registered with their homepage only, built from
every homepage structure (deep menus, the platform on another host, script menus,
redirects, moved domains, 部门 columns, gkmlpt) and the failures discovery must name."""
from collections import defaultdict

import pytest

from conftest import run_crawl
from nianbao.national_web.generator import STRUCTURES
from nianbao.national_web.server import NationalWeb
from archive.db import connect as connect_archive

PORTALS = 60
# a refused connection is not retried: the unreachable portals answer at once
FAST = ("-s", "RETRY_TIMES=0")


@pytest.fixture(scope="module")
def web():
    national = NationalWeb(PORTALS).start()
    yield national
    national.stop()


def crawl(web, folder, *extra):
    web.requests.clear()
    result = run_crawl(web.write_registry(folder / "registry.csv"), folder / "archive.db", *FAST, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def columns(db) -> dict[str, dict[str, str]]:
    """portal → {column URL: status}"""
    found = defaultdict(dict)
    for portal_id, url, status in connect_archive(db).execute("select portal_id, url, status from columns"):
        found[portal_id][url] = status
    return found


@pytest.fixture(scope="module")
def first(web, tmp_path_factory):
    folder = tmp_path_factory.mktemp("national")
    crawl(web, folder)
    return folder


def test_every_structure_is_in_the_simulated_web(web):
    assert {portal.structure for portal in web.portals} == set(STRUCTURES)
    assert len({portal.homepage(web.port).split("/")[2] for portal in web.portals}) == PORTALS


def test_columns_found_and_their_reports_archived(web, first):
    db = first / "archive.db"
    found = columns(db)
    reports = {url for (url,) in connect_archive(db).execute("select url from reports")}
    expected = [portal for portal in web.manifest() if portal["expect"] == "column"]
    complete = [portal for portal in expected
                if found.get(portal["id"]) == {column["url"]: "ok" for column in portal["columns"]}]
    assert len(complete) >= 0.95 * len(expected), sorted(
        (p["id"], p["structure"]) for p in expected if p not in complete)
    for portal in complete:
        for column in portal["columns"]:
            assert {report["url"] for report in column["reports"]} <= reports, (portal["id"], column["url"])
    # columns on another host, deep, in script menus, of departments: all among them
    assert {p["structure"] for p in complete} >= {"deep", "other_host", "script_json", "script_write", "moved",
                                                  "moved_script", "redirect", "departments", "gkmlpt"}


def test_each_portal_without_a_column_has_its_reason(web, first):
    failures = defaultdict(list)
    for portal_id, stage, error in connect_archive(first / "archive.db").execute(
            "select portal_id, stage, error from failures"):
        failures[portal_id].append((stage, error))
    missing = [portal for portal in web.manifest() if portal["expect"] != "column"]
    assert {portal["expect"] for portal in missing} == {"unreachable", "no platform", "no column"}
    for portal in missing:
        reasons = [error.split(":")[0] for stage, error in failures[portal["id"]] if stage == "discovery"]
        assert reasons == [portal["expect"]], (portal["id"], failures[portal["id"]])
    assert not columns(first / "archive.db").keys() & {portal["id"] for portal in missing}


def test_a_second_crawl_starts_from_the_stored_columns(web, first):
    stored = columns(first / "archive.db")
    crawl(web, first)
    assert stored, "the first crawl stored no column"
    for portal_id in stored:
        assert web.count("discovery", portal_id) == 0, portal_id
        assert web.count("listing", portal_id) > 0, portal_id
    assert set(columns(first / "archive.db")) == set(stored)


@pytest.mark.parametrize("soft", [False, True], ids=["404", "200 page not found"])
def test_a_column_that_stops_answering_is_searched_again(web, first, soft):
    manifest = {portal["id"]: portal for portal in web.manifest()}
    portal_id = [p.id for p in web.portals if p.structure == "deep" and p.family != "gkmlpt"][soft]
    old = manifest[portal_id]["columns"][0]["url"]
    assert columns(first / "archive.db")[portal_id] == {old: "ok"}  # stored by the first crawl
    web.move_column(portal_id, soft)
    new = web.manifest()[web.portals.index(next(p for p in web.portals if p.id == portal_id))]["columns"][0]
    assert new["url"] != old
    crawl(web, first, "-a", f"portal={portal_id}")
    assert columns(first / "archive.db")[portal_id] == {old: "stale", new["url"]: "ok"}
    assert web.count("discovery", portal_id) > 0
    reports = {url for (url,) in connect_archive(first / "archive.db").execute(
        "select url from reports where portal_id = ?", [portal_id])}
    assert {report["url"] for report in new["reports"]} <= reports


def page(url: str, body: str):
    from scrapy.http import HtmlResponse

    return HtmlResponse(url, body=f"<html><body>{body}</body></html>".encode("utf-8"), encoding="utf-8")


def test_links_written_by_scripts_are_read():
    from crawler.discovery import read_page

    found = read_page(page("http://www.a.gov.cn/", """
        <script>var menus = [{"menuName": "\\u653f\\u52a1\\u516c\\u5f00", "linkUrl": "\\/zwgk\\/"}];</script>
        <script>document.write('<li><a href="/xxgk/">政府信息公开</a></li>');</script>
        <ul><li onclick="location.href='/xxgk/nb/'">信息公开年报</li></ul>"""))
    assert [link.url for link in found.columns] == ["http://www.a.gov.cn/xxgk/nb/"]
    assert [link.url for link in found.platforms] == ["http://www.a.gov.cn/xxgk/", "http://www.a.gov.cn/zwgk/"]


def test_a_platform_of_another_site_comes_after_the_portals_own():
    from crawler.discovery import read_page

    found = read_page(page("http://www.pingtan.gov.cn/", """
        <div class="links"><a href="http://www.fujian.gov.cn/zwgk/">政府信息公开</a></div>
        <div class="menu"><a href="http://xxgk.pingtan.gov.cn/">政府信息公开</a>
        <a href="/xxgk/zn.html">政府信息公开指南</a> <a href="/nb/2023.html">2023年政府信息公开工作年度报告</a>
        <a href="/qy/">企业年报</a> <a href="/tj/">统计年报</a></div>"""))
    assert [link.url for link in found.platforms] == ["http://xxgk.pingtan.gov.cn/", "http://www.fujian.gov.cn/zwgk/"]
    assert found.columns == []
