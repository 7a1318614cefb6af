"""Crawl budgets (crawler/budgets.py) against portals that never end: pages announcing
ten million or 99999 pages, a 下一页 chain without end, a jcms datastore announcing a
huge totalRecord, a portal too slow to finish. Each is walked as far as its budget and
no further, with one `budget` failure per portal and budget and a count in `crawls`,
while what it listed is archived and the other portals go on; and a crawl of the
ten-million-page portal stops promptly on SIGINT."""
import json
import re
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from archive.db import open_archive
from conftest import crawl_command, one_portal_registry, run_crawl, serve
from nianbao.sample_portals.server import SAMPLE_PORTALS, SamplePortalHandler, base_url, start_server
from archive.db import connect as connect_archive

TRS_COLUMN = "/pingtan/zwgk/zfxxgk/zfxxgknb/"
TRS_PAGE = re.compile(re.escape(TRS_COLUMN) + r"index(?:_(\d+))?\.htm")
REPORT = (SAMPLE_PORTALS / "pingtan/site/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm").read_bytes()
REPORT_TITLE = "平潭综合实验区2024年度政府信息公开工作年度报告"


def manifest(portal: str) -> dict:
    return json.loads((SAMPLE_PORTALS / portal / "manifest.json").read_text(encoding="utf-8"))


def manifest_reports(base: str, portal: str) -> set[str]:
    return {f"{base}/{portal}{item['url']}" for item in manifest(portal)["items"] if item["is_report"]}


def answer(handler, body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def listing_page(rows: str, tail: str = "") -> bytes:
    return f'<html><head><meta charset="utf-8"></head><body><ul>{rows}</ul>{tail}</body></html>'.encode()


def row(href: str, title: str, date: str = "2025-03-10") -> str:
    return f'<li><a href="{href}">{title}</a><span>{date}</span></li>'


def archive(db):
    connection = connect_archive(db)
    connection.row_factory = sqlite3.Row
    return connection


def budget_failures(db, portal_id: str) -> list[sqlite3.Row]:
    return archive(db).execute("select url, error from failures where stage = 'budget' and portal_id = ?",
                               [portal_id]).fetchall()


def budget_hits(db, portal_id: str) -> int:
    return archive(db).execute("select budget_hits from crawls where portal_id = ?", [portal_id]).fetchone()[0]


def reports(db) -> set[str]:
    return {url for (url,) in archive(db).execute("select url from reports")}


@contextmanager
def trs_portal(announced: int, delay: float = 0.0):
    """The 平潭 sample portal (a real TRS column of two pages) whose listing pages
    announce `announced` pages; the pages after its two real ones are made on the fly."""
    listings = []

    class Handler(SamplePortalHandler):
        def do_GET(self):
            page = TRS_PAGE.fullmatch(self.path)
            if not page:
                return super().do_GET()
            listings.append(self.path)
            time.sleep(delay)
            number = int(page.group(1) or 0)
            real = SAMPLE_PORTALS / "pingtan/site" / self.path.removeprefix("/pingtan/")
            if real.is_file():
                body = real.read_bytes().replace(b"createPageHTML(2, ", f"createPageHTML({announced}, ".encode())
            else:
                body = listing_page("", f'<script>createPageHTML({announced}, {number}, "index", "htm");</script>')
            answer(self, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(SAMPLE_PORTALS)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base_url(server), listings
    finally:
        server.shutdown()


@contextmanager
def generated_columns():
    """Columns /<name>/index.htm whose every page, made when asked for, announces 99999
    pages and lists one real report of the column."""
    listings = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            page = re.fullmatch(r"/(\w+)/index(?:_(\d+))?\.htm", self.path)
            report = re.fullmatch(r"/(\w+)/report\.htm", self.path)
            if page:
                listings.append(self.path)
                number = int(page.group(2) or 0)
                answer(self, listing_page(row(f"/{page.group(1)}/report.htm", REPORT_TITLE),
                                          f'<script>createPageHTML(99999, {number}, "index", "htm");</script>'))
            elif report:
                answer(self, REPORT)
            else:
                answer(self, b"not here", "text/plain", 404)

        def log_message(self, format, *args):
            pass

    server = serve(Handler)
    try:
        yield base_url(server), listings
    finally:
        server.shutdown()


@contextmanager
def endless_chains():
    """/<chain>/list/N.htm links 下一页 (above and below the list) to N+1, forever; the
    first page lists a real report, the others a notice. /<chain>/ is a homepage linking
    to the column."""
    listings = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            page = re.fullmatch(r"/(\w+)/list/(\d+)\.htm", self.path)
            if page:
                chain, number = page.group(1), int(page.group(2))
                listings.append(self.path)
                item = row(f"/{chain}/report.htm", REPORT_TITLE) if number == 0 else \
                    row(f"/{chain}/notice{number}.htm", f"关于第{number}批政务公开事项的通知")
                next_link = f'<a href="/{chain}/list/{number + 1}.htm">下一页</a>'
                answer(self, listing_page(item, next_link).replace(b"<ul>", next_link.encode() + b"<ul>"))
            elif re.fullmatch(r"/\w+/report\.htm", self.path):
                answer(self, REPORT)
            elif re.fullmatch(r"/\w+/", self.path):
                answer(self, listing_page("", f'<a href="{self.path}list/0.htm">政府信息公开年报</a>'))
            else:
                answer(self, b"not here", "text/plain", 404)

        def log_message(self, format, *args):
            pass

    server = serve(Handler)
    try:
        yield base_url(server), listings
    finally:
        server.shutdown()


@contextmanager
def jcms_portal(total: int):
    """The jcms sample portal (a real Hanweb column: six records in the page, three more
    from the data proxy) whose page announces `total` records; the proxy answers the
    groups after the real one with empty record sets."""
    groups = []
    column = "/jcms/col/col1229003/index.html"

    class Handler(SamplePortalHandler):
        def do_GET(self):
            if self.path != column:
                return super().do_GET()
            body = (SAMPLE_PORTALS / "jcms/site/col/col1229003/index.html").read_bytes()
            body = body.replace(b"{{origin}}", f"http://{self.headers['Host']}/jcms".encode())
            answer(self, body.replace(b"totalRecord: 9,", f"totalRecord: {total},".encode()))

        def do_POST(self):
            start = re.search(r"startrecord=(\d+)", self.path)
            if start:
                groups.append(int(start.group(1)))
            if start and start.group(1) != "7":
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                return answer(self, f"<datastore><totalrecord>{total}</totalrecord><recordset></recordset>"
                                    f"</datastore>".encode(), "text/xml; charset=utf-8")
            return super().do_POST()

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(SAMPLE_PORTALS)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base_url(server), column, groups
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def endless(tmp_path_factory):
    """One crawl of six portals that never end, with small budgets: walks of 4 pages,
    6 listing pages a portal, 4 hops."""
    folder = tmp_path_factory.mktemp("endless")
    with trs_portal(10_000_000) as (trs, trs_pages), generated_columns() as (generated, generated_pages), \
            endless_chains() as (chains, chain_pages), jcms_portal(10_000_000) as (jcms, jcms_column, groups):
        registry = folder / "registry.csv"
        registry.write_text(
            "id,name,level,province,homepage,column_urls\n"
            f"trs,平潭,county,福建省,{trs}/pingtan/,{trs}{TRS_COLUMN}index.htm\n"
            f"p,样例县,county,福建省,{generated}/,{generated}/p/index.htm\n"
            f"q,样例市,city,福建省,{generated}/,{generated}/q1/index.htm {generated}/q2/index.htm "
            f"{generated}/q3/index.htm\n"
            f"walk,样例乡,county,福建省,{chains}/walk/,{chains}/walk/list/0.htm\n"
            f"deep,样例镇,county,福建省,{chains}/deep/,\n"
            f"jcms,样例区,county,福建省,{jcms}/jcms/,{jcms}{jcms_column}\n", encoding="utf-8")
        db = folder / "archive.db"
        result = run_crawl(registry, db, "-s", "NIANBAO_WALK_PAGES=4", "-s", "NIANBAO_PORTAL_LISTING_PAGES=6",
                           "-s", "NIANBAO_CRAWL_DEPTH=4", timeout=90)
    yield {"result": result, "db": db, "trs": trs, "trs_pages": trs_pages, "generated": generated,
           "generated_pages": generated_pages, "chains": chains, "chain_pages": chain_pages, "jcms": jcms,
           "jcms_column": jcms_column, "groups": groups}


def archived_from(crawl, base: str) -> set[str]:
    return {url for url in reports(crawl["db"]) if url.startswith(base + "/")}


def test_the_crawl_of_endless_portals_ends(endless):
    assert endless["result"].returncode == 0, endless["result"].stderr[-3000:]


def test_page_announcing_ten_million_pages_walks_the_budget(endless):
    base, db = endless["trs"], endless["db"]
    assert sorted(endless["trs_pages"]) == sorted(f"{TRS_COLUMN}index{suffix}.htm" for suffix in ["", "_1", "_2", "_3"])
    assert archived_from(endless, base) == manifest_reports(base, "pingtan")  # both real pages' reports
    ((url, error),) = budget_failures(db, "trs")  # the column cut short, the first page not fetched
    assert url == f"{base}{TRS_COLUMN}index.htm" and f"{TRS_COLUMN}index_4.htm " in error
    assert "NIANBAO_WALK_PAGES=4" in error and "\n" not in error
    assert budget_hits(db, "trs") >= 1


def test_pages_each_announcing_99999_pages_are_bounded_per_walk_and_per_portal(endless):
    """Portal `p`: one column, stopped by the walk budget. Portal `q`: three columns,
    stopped by the portal's listing-page budget, which counts them together."""
    base, db, listings = endless["generated"], endless["db"], endless["generated_pages"]
    assert sorted(path for path in listings if path.startswith("/p/")) == \
        ["/p/index.htm", "/p/index_1.htm", "/p/index_2.htm", "/p/index_3.htm"]
    assert len([path for path in listings if path.startswith("/q")]) == 6
    assert len(listings) == len(set(listings)) == 10  # no page asked for twice
    (walk,) = budget_failures(db, "p")
    assert "NIANBAO_WALK_PAGES=4" in walk["error"]
    assert any("NIANBAO_PORTAL_LISTING_PAGES=6" in failure["error"] for failure in budget_failures(db, "q"))
    assert len(budget_failures(db, "q")) <= 2  # once per budget, however many requests it stopped
    assert archived_from(endless, base) == {f"{base}/{column}/report.htm" for column in ("p", "q1", "q2", "q3")}
    assert budget_hits(db, "p") >= 1 and budget_hits(db, "q") >= len(budget_failures(db, "q"))


def test_endless_next_page_chain_is_bounded_by_walk_and_depth(endless):
    """Portal `walk` starts at its column: page N is N hops deep and the 5th page would
    overflow the walk. Portal `deep` is found from its homepage, one hop more: its 5th
    page would be 5 hops deep."""
    base, db, listings = endless["chains"], endless["db"], endless["chain_pages"]
    assert sorted(path for path in listings if path.startswith("/walk/")) == [f"/walk/list/{n}.htm" for n in range(4)]
    assert sorted(path for path in listings if path.startswith("/deep/")) == [f"/deep/list/{n}.htm" for n in range(4)]
    ((url, error),) = budget_failures(db, "walk")
    assert url == f"{base}/walk/list/0.htm" and "/walk/list/4.htm " in error and "NIANBAO_WALK_PAGES=4" in error
    ((url, error),) = budget_failures(db, "deep")
    assert url == f"{base}/deep/list/4.htm" and "NIANBAO_CRAWL_DEPTH=4" in error and "5 hops" in error
    assert archived_from(endless, base) == {f"{base}/walk/report.htm", f"{base}/deep/report.htm"}
    skipped = archive(db).execute("select count(*) from skipped where portal_id in ('walk', 'deep')").fetchone()[0]
    assert skipped == 6  # the notices of the pages walked: nothing listed was lost


def test_jcms_datastore_announcing_a_huge_total_is_clamped(endless):
    base, db = endless["jcms"], endless["db"]
    assert sorted(endless["groups"]) == [7, 13, 19]  # the column page and three groups: four pages
    ((url, error),) = budget_failures(db, "jcms")
    assert url == f"{base}{endless['jcms_column']}" and "startrecord=25" in error and "NIANBAO_WALK_PAGES=4" in error
    assert archived_from(endless, base) == manifest_reports(base, "jcms")  # the real records, the proxy's too


def test_slow_portal_stops_at_its_time_budget_while_another_is_archived(tmp_path):
    """Portal `slow` answers each report after 4 s (eight of them, two at a time: 16 s);
    its time budget is 6 s. The 平潭 sample portal, on another address, is crawled in
    the same run and archived completely. (A download delay, however short, makes Scrapy
    keep to two requests at a time per host: without one it sends a host's queue at once.)"""
    asked = []

    class Slow(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/nb/":
                answer(self, listing_page("".join(row(f"/nb/r{n}.htm", f"样例县20{10 + n}年政府信息公开工作年度报告")
                                                  for n in range(8))))
            elif re.fullmatch(r"/nb/r\d\.htm", self.path):
                asked.append(self.path)
                time.sleep(4)
                answer(self, REPORT)
            else:
                answer(self, b"not here", "text/plain", 404)

        def log_message(self, format, *args):
            pass

    slow, sample = serve(Slow), start_server("127.0.0.2")
    slow_base, sample_base = base_url(slow), base_url(sample)
    registry = tmp_path / "registry.csv"
    registry.write_text("id,name,level,province,homepage,column_urls\n"
                        f"slow,样例县,county,福建省,{slow_base}/,{slow_base}/nb/\n"
                        f"pingtan,平潭,county,福建省,{sample_base}/pingtan/,{sample_base}/pingtan"
                        f"{manifest('pingtan')['column']}\n", encoding="utf-8")
    db = tmp_path / "archive.db"
    try:
        result = run_crawl(registry, db, "-s", "NIANBAO_PORTAL_SECONDS=6", "-s", "DOWNLOAD_DELAY=0.05", timeout=60)
    finally:
        slow.shutdown()
        sample.shutdown()
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(asked) == 4  # two at 0 s, two at 4 s; at 8 s the budget is spent
    ((url, error),) = budget_failures(db, "slow")
    assert "NIANBAO_PORTAL_SECONDS=6" in error and url.startswith(f"{slow_base}/nb/r")
    assert budget_hits(db, "slow") == 8 - len(asked)  # every report not asked for
    archived = reports(db)
    assert {url for url in archived if url.startswith(slow_base)} == {f"{slow_base}{path}" for path in asked}
    assert manifest_reports(sample_base, "pingtan") <= archived
    assert budget_failures(db, "pingtan") == [] and budget_hits(db, "pingtan") == 0


def test_sigint_stops_a_crawl_of_the_ten_million_page_portal_promptly(tmp_path):
    """With the default budgets, the walk would take 200 pages at half a second each,
    two at a time; the first SIGINT (Scrapy's graceful stop) ends it within seconds,
    with the crawl's yield recorded."""
    with trs_portal(10_000_000, delay=0.5) as (base, listings):
        db = tmp_path / "archive.db"
        registry = one_portal_registry(tmp_path, f"{base}/pingtan/", f"{base}{TRS_COLUMN}index.htm")
        crawl = subprocess.Popen(**crawl_command(registry, db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while len(listings) < 2 and time.monotonic() < deadline and crawl.poll() is None:
                time.sleep(0.1)
            time.sleep(1)  # the first page's announcement is in hand
            crawl.send_signal(signal.SIGINT)
            _, log = crawl.communicate(timeout=20)
        finally:
            crawl.kill()
    assert "Received SIGINT" in log
    assert len(listings) < 100
    assert archive(db).execute("select count(*) from crawls where portal_id = 'p'").fetchone()[0] == 1


def test_an_archive_of_before_the_budgets_gains_their_count(tmp_path):
    path = tmp_path / "old.db"
    old = connect_archive(path)
    old.execute("create table crawls (id integer primary key, portal_id text, started_at text, finished_at text, "
                "listings_seen integer, reports_found integer, reports_new integer, reports_unchanged integer, "
                "failed integer, skipped integer)")
    old.execute("insert into crawls (portal_id, listings_seen) values ('p', 3)")
    old.commit()
    old.close()
    open_archive(path).close()
    assert connect_archive(path).execute("select portal_id, listings_seen, budget_hits from crawls").fetchall() == \
        [("p", 3, None)]
