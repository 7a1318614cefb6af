"""Revisions: a re-crawl that finds other bytes at a report's URL keeps both versions
and what changed; a report no longer listed is marked removed, after a complete walk
only. Real crawls (`scrapy crawl portals`) of a portal served from a folder on
127.0.0.1 whose files the test edits between crawls."""
import io
import re
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from archive.revisions import diff
from archive.store import load_parse, prepare, prepare_failed
from archive_fixtures import get, get_json, start_datasette, stop
from conftest import REPO, crawl_command, one_portal_registry, run_crawl, serve_folder
from archive.db import connect as connect_archive

SAMPLES = REPO / "nianbao" / "sample_portals"
PINGTAN = SAMPLES / "pingtan" / "site" / "zwgk" / "zfxxgk" / "zfxxgknb"
GKMLPT = SAMPLES / "gkmlpt" / "site"

# (file, listing title, listing date): a report in its page (A), one in a DOCX attachment (B), another (C)
A = ("a.htm", "平潭综合实验区2025年度政府信息公开工作年度报告", "2026-03-10")
B = ("b.htm", "株洲市扶贫办2020年政府信息公开工作年度报告", "2021-01-20")
C = ("c.htm", "平潭综合实验区2024年度政府信息公开工作年度报告", "2025-03-10")
EDITED_CELL = "active.licensing.decisions"  # 2418 in A's page
ATTACHMENT_CELL = "active.procurement.count"  # 34 in B's DOCX
OLD_SENTENCE, NEW_SENTENCE = "本报告所列数据统计期限", "本报告所列数据的统计期限"  # in A's text


def listing(items, next_page: str = "") -> str:
    rows = "".join(f'<li><a href="{name}">{title}</a><span>{date}</span></li>' for name, title, date in items)
    more = f'<a href="{next_page}">下一页</a>' if next_page else ""
    return f'<html><head><meta charset="utf-8"></head><body><ul>{rows}</ul>{more}</body></html>'


def write_listing(site: Path, second_page: list | None) -> None:
    """Page 1 lists A and B, page 2 `second_page` (None: page 2 is gone, a 404)."""
    (site / "index.htm").write_text(listing([A, B], "index_1.htm"), encoding="utf-8")
    page_two = site / "index_1.htm"
    if second_page is None:
        page_two.unlink(missing_ok=True)
    else:
        page_two.write_text(listing(second_page), encoding="utf-8")


def docx_with(source: Path, old: str, new: str) -> bytes:
    """`source` with the figure `old` of its text replaced by `new`."""
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as edited:
        for entry in original.infolist():
            data = original.read(entry)
            if entry.filename == "word/document.xml":
                assert data.count(f">{old}<".encode()) == 1
                data = data.replace(f">{old}<".encode(), f">{new}<".encode())
            edited.writestr(entry, data)
    return out.getvalue()


@pytest.fixture
def portal(tmp_path):
    site = tmp_path / "site"
    (site / "nb").mkdir(parents=True)
    shutil.copy(PINGTAN / "202603" / "t20260313_105587.htm", site / "nb" / "a.htm")
    shutil.copy(PINGTAN / "202503" / "t20250310_97791.htm", site / "nb" / "c.htm")
    page = (GKMLPT / "gkmlpt" / "content" / "9" / "9007" / "post_9007304.html").read_bytes()
    (site / "nb" / "b.htm").write_bytes(page.replace(b"../../../../attachment/0/9007/9007304/9007304.docx", b"b.docx"))
    shutil.copy(GKMLPT / "attachment" / "0" / "9007" / "9007304" / "9007304.docx", site / "nb" / "b.docx")
    write_listing(site / "nb", [C])
    server = serve_folder(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    registry = one_portal_registry(tmp_path, f"{base}/", f"{base}/nb/index.htm")
    yield {"site": site / "nb", "base": base + "/nb/", "registry": registry, "db": tmp_path / "archive.db"}
    server.shutdown()


def crawl(portal, *extra: str) -> None:
    # parsed in the crawl's own process: three small reports do not pay for worker processes
    result = run_crawl(portal["registry"], portal["db"], "-s", "NIANBAO_PARSE_WORKERS=0", *extra, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]


def query(db: Path, sql: str, *args) -> list[tuple]:
    conn = connect_archive(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def versions(db: Path, url: str) -> list[tuple]:
    return query(db, "select version, sha256, first_seen, last_seen, first_run, last_run from revisions "
                     "where url = ? order by version", url)


def run_ids(db: Path) -> list[str]:
    return [run_id for (run_id,) in query(db, "select id from runs order by started_at, rowid")]


def test_recrawl_keeps_every_version_the_changes_and_removed_reports(portal):
    db, site, base = portal["db"], portal["site"], portal["base"]
    crawl(portal)
    [(a_sha1, a_2418)] = query(db, "select r.sha256, c.value from reports r join cells c on c.report_id = r.id "
                                   "where r.url = ? and c.code = ?", base + "a.htm", EDITED_CELL)
    assert a_2418 == 2418
    assert {url for (url,) in query(db, "select url from reports")} == {base + name for name in ("a.htm", "b.htm", "c.htm")}
    assert query(db, "select count(*) from revisions where version > 1") == [(0,)]

    # the portal edits a figure and a sentence of A's page, replaces B's attachment, takes C off its listing
    page = (site / "a.htm").read_text(encoding="utf-8")
    (site / "a.htm").write_text(page.replace(">2418<", ">2419<").replace(OLD_SENTENCE, NEW_SENTENCE), encoding="utf-8")
    (site / "b.docx").write_bytes(docx_with(site / "b.docx", "34", "35"))
    write_listing(site, [])
    crawl(portal, "-s", "NIANBAO_REFETCH=True")
    first_run, second_run = run_ids(db)

    for url in (base + "a.htm", base + "b.docx"):
        [(v1, sha1, first1, last1, run1, lastrun1), (v2, sha2, first2, last2, run2, lastrun2)] = versions(db, url)
        assert sha1 != sha2 and (run1, lastrun1, run2, lastrun2) == (first_run, first_run, second_run, second_run)
        assert first1 <= last1 <= first2 <= last2
        # both versions' bytes kept; the documents row is the new one
        assert query(db, "select count(*) from blobs where sha256 in (?, ?)", sha1, sha2) == [(2,)]
        assert query(db, "select sha256 from documents where url = ?", url) == [(sha2,)]
    assert versions(db, base + "a.htm")[0][1] == a_sha1
    # unchanged documents (B's page) keep one version, seen by both runs
    [(_, _, _, _, run1, lastrun1)] = versions(db, base + "b.htm")
    assert (run1, lastrun1) == (first_run, second_run)

    # the reports show the current version; the changes say from what to what
    assert query(db, "select c.value from cells c join reports r on r.id = c.report_id where r.url = ? and c.code = ?",
                 base + "a.htm", EDITED_CELL) == [(2419,)]
    changes = query(db, "select url, from_sha256, to_sha256, kind, code, old_value, new_value from revision_changes "
                        "where kind != 'text' order by url")
    a, b = versions(db, base + "a.htm"), versions(db, base + "b.docx")
    assert changes == [(base + "a.htm", a[0][1], a[1][1], "cell", EDITED_CELL, 2418, 2419),
                       (base + "b.docx", b[0][1], b[1][1], "cell", ATTACHMENT_CELL, 34, 35)]
    [(old_text, new_text, summary)] = query(
        db, "select c.old_value, c.new_value, v.text_diff from revision_changes c join revisions v "
            "on v.url = c.url and v.sha256 = c.to_sha256 where c.kind = 'text' and c.url = ?", base + "a.htm")
    assert OLD_SENTENCE in old_text and NEW_SENTENCE in new_text and NEW_SENTENCE not in old_text
    assert summary.startswith("1 lines removed, 1 added")
    assert query(db, "select text_diff from revisions where url = ? and version = 2", base + "b.docx") == [
        ("text unchanged",)]
    # the superseded version's parse is kept with it: its figures as first read
    [(old_parse,)] = query(db, "select parse from revisions where url = ? and version = 1", base + "a.htm")
    assert load_parse(old_parse)["cells"][EDITED_CELL] == 2418

    # C is no longer listed: marked removed by the second run, still there with its figures
    [(removed_at, removed_run, cells)] = query(
        db, "select removed_at, removed_run, (select count(*) from cells where report_id = r.id) from reports r "
            "where url = ?", base + "c.htm")
    assert removed_at and removed_run == second_run and cells > 0
    assert query(db, "select count(*) from reports where removed_at is not null") == [(1,)]

    # published: the canned query lists the changed documents with their figures changed;
    # a report's page shows its changes (from → to, links to both archived versions) or its removal
    [(a_id,)], [(c_id,)] = (query(db, "select id from reports where url = ?", base + name) for name in ("a.htm", "c.htm"))
    process, site_base = start_datasette(db)
    try:
        rows = get_json(f"{site_base}/archive/reports_changed_after_publication.json?_shape=array")
        a_page = get(f"{site_base}/archive/reports/{a_id}").decode("utf-8")
        c_page = get(f"{site_base}/archive/reports/{c_id}").decode("utf-8")
    finally:
        stop(process)
    assert sorted((row["url"], row["version"], row["figures_changed"]) for row in rows) == [
        (base + "a.htm", 2, 1), (base + "b.docx", 2, 1)]
    assert re.search(rf'<td>{EDITED_CELL}</td><td class="n">2418</td><td class="n">2419</td>', a_page)
    assert f"/-/archived/{a[0][1]}" in a_page and f"/-/archived/{a[1][1]}" in a_page
    assert "已撤下 Removed" in c_page and "已撤下 Removed" not in a_page

    # a third crawl finding the same bytes adds no version, only sees them again
    before = query(db, "select id, url, sha256 from revisions order by id")
    crawl(portal, "-s", "NIANBAO_REFETCH=True")
    third_run = run_ids(db)[2]
    assert query(db, "select id, url, sha256 from revisions order by id") == before
    assert query(db, "select count(*) from revision_changes where run_id = ?", third_run) == [(0,)]
    assert versions(db, base + "a.htm")[1][5] == third_run

    # listed again, C is no longer removed
    write_listing(site, [C])
    crawl(portal)
    assert query(db, "select removed_at from reports where url = ?", base + "c.htm") == [(None,)]


def test_only_a_complete_walk_marks_reports_removed(portal):
    """C, listed on the second listing page, is taken off: a walk cut by its budget
    (NIANBAO_WALK_PAGES=1), whose second page fails, or interrupted (SIGTERM) marks
    nothing; a complete walk marks C (an incremental crawl: no report fetched again)."""
    db, site, base = portal["db"], portal["site"], portal["base"]
    crawl(portal)
    write_listing(site, [])
    crawl(portal, "-s", "NIANBAO_WALK_PAGES=1")
    assert query(db, "select count(*) from failures where stage = 'budget'") == [(1,)]
    assert query(db, "select count(*) from reports where removed_at is not null") == [(0,)]
    write_listing(site, None)
    crawl(portal)
    assert query(db, "select stage, error from failures where url = ?", base + "index_1.htm") == [("listing", "HTTP 404")]
    assert query(db, "select count(*) from reports where removed_at is not null") == [(0,)]
    write_listing(site, [])
    # slowed (a request every 1.5-4.5 s) and stopped a second after its run began: page 2 is never read
    process = subprocess.Popen(**crawl_command(portal["registry"], db, "-s", "DOWNLOAD_DELAY=3",
                                               "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(run_ids(db)) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 1
    assert query(db, "select status from runs order by started_at desc, rowid desc limit 1") == [("incomplete",)]
    assert query(db, "select count(*) from reports where removed_at is not null") == [(0,)]
    crawl(portal)
    assert query(db, "select url from reports where removed_at is not null") == [(base + "c.htm",)]
    assert query(db, "select count(*) from revisions where version > 1") == [(0,)]


def test_a_version_whose_parse_failed_is_no_change_of_figures():
    """A new version whose parse gave no result (its worker died, a limit) is recorded as
    that failure, not as every figure of the report gone."""
    page = (PINGTAN / "202603" / "t20260313_105587.htm").read_bytes()
    read = load_parse(prepare(page, "http://127.0.0.1/a.htm").result)
    failed = load_parse(prepare_failed("http://127.0.0.1/a.htm", "parse timed out").result)
    assert read["cells"][EDITED_CELL] == 2418
    changes, summary = diff(read, failed)
    assert [(kind, code, new) for kind, code, _, new in changes if kind != "field" or code == "error"] == [
        ("field", "error", "parse timed out")]
    assert summary == "not compared: a parse failed"
    edited = load_parse(prepare(page.replace(b">2418<", b">2419<"), "http://127.0.0.1/a.htm").result)
    assert diff(read, edited) == ([("cell", EDITED_CELL, 2418, 2419)], "text unchanged")
