"""Parsing isolated from the rest of the crawl: a document whose parse runs past its time
limit or exhausts its worker's memory limit costs that document only (one `parse`
failure, one log line, the document archived with a parse carrying the error), the
reports that were waiting in the dead worker's pool are parsed all the same, and
`nianbao reparse` does likewise. Killing a crawl or a reparse with SIGKILL leaves none
of the processes it started (forkserver, resource tracker, workers) behind."""
import json
import os
import shutil
import signal
import subprocess
import time
import zlib
from functools import partial
from pathlib import Path

import pytest

from conftest import BIN, REPO, QuietFiles, one_portal_registry, run_crawl, serve
from nianbao.sample_portals.server import SAMPLE_PORTALS
from archive.db import connect as connect_archive

PINGTAN = SAMPLE_PORTALS / "pingtan"
LONG_TITLE = "样例县人民政府2023年政府信息公开工作年度报告"
TIME_LIMIT = 4  # s; the real reports parse in well under 1 s, the long page (52 MB) in ~12 s
# MB of address space; a worker parsing the real reports peaks below 200 MB (most of it
# libraries and thread reservations), the large page (21 MB) needs some 360 MB more
MEMORY_LIMIT = 400
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def real_reports(count: int) -> list[dict]:
    """The smallest report pages of the pingtan sample portal, with their manifest entries."""
    manifest = json.loads((PINGTAN / "manifest.json").read_text(encoding="utf-8"))
    items = [item for item in manifest["items"] if item["is_report"] and item["report_in"] == "page"]
    return sorted(items, key=lambda item: page_of(item).stat().st_size)[:count]


def page_of(item: dict) -> Path:
    return PINGTAN / "site" / item["url"].lstrip("/")


def large_page(times: int) -> bytes:
    """The largest real report page (350 KB) with its body written out `times` times."""
    page = page_of(real_reports(100)[-1]).read_bytes()
    start, end = page.find(b"<body"), page.rfind(b"</body>")
    return page[:end] + page[start:end] * (times - 1) + page[end:]


def write_portal(site: Path, reports: list[dict], extra: list[tuple[str, str, str]]) -> None:
    """A 年报 column at /nb/index.html listing `reports` (copied as /nb/rN.htm) and
    `extra` (file name, title, date) pages already in /nb."""
    entries = []
    for number, item in enumerate(reports):
        shutil.copyfile(page_of(item), site / "nb" / f"r{number}.htm")
        entries.append((f"r{number}.htm", item["title"], item["published"]))
    entries += extra
    (site / "nb" / "index.html").write_text(
        "<html><body><ul>" + "".join(f'<li><a href="{name}">{title}</a><span>{date}</span></li>'
                                     for name, title, date in entries) + "</ul></body></html>",
        encoding="utf-8")


class SlowReports(QuietFiles):
    """The real reports (/nb/rN.htm) answer after a second: they reach the one parse
    worker while it is busy with the long report, and wait in its pool."""

    def do_GET(self):
        if self.path.startswith("/nb/r"):
            time.sleep(1)
        super().do_GET()


@pytest.fixture(scope="module")
def long_report_portal(tmp_path_factory):
    """A portal of four real reports and a long one: a real report page with its body
    written out 150 times (52 MB, within DOWNLOAD_MAXSIZE)."""
    folder = tmp_path_factory.mktemp("long")
    site = folder / "site"
    (site / "nb").mkdir(parents=True)
    (site / "nb" / "long.htm").write_bytes(large_page(150))
    reports = real_reports(4)
    write_portal(site, reports, [("long.htm", LONG_TITLE, "2024-01-20")])
    server = serve(partial(SlowReports, directory=str(site)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"folder": folder, "registry": one_portal_registry(folder, f"{base}/", f"{base}/nb/index.html"),
           "base": base, "reports": reports, "size": (site / "nb" / "long.htm").stat().st_size}
    server.shutdown()


@pytest.fixture(scope="module")
def timed_out(long_report_portal):
    """One crawl of that portal with a time limit the long report runs past, and one
    parse worker, so that the real reports wait in its pool when it is killed."""
    db = long_report_portal["folder"] / "archive.db"
    result = run_crawl(long_report_portal["registry"], db, "-s", f"NIANBAO_PARSE_TIMEOUT={TIME_LIMIT}",
                       "-s", "NIANBAO_PARSE_WORKERS=1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8")
    return {**long_report_portal, "db": db, "result": result}


def parse_error(conn, url: str):
    (result,) = conn.execute("select p.result from parses p join documents d on d.id = p.document_id "
                             "where d.url = ?", [url]).fetchone()
    return json.loads(zlib.decompress(result)).get("error")


def test_a_parse_past_its_time_limit_costs_that_document_only(timed_out):
    result, base = timed_out["result"], timed_out["base"]
    long_url = f"{base}/nb/long.htm"
    reason = f"parse exceeded the time limit ({TIME_LIMIT} s)"
    assert result.returncode == 0, result.stderr[-3000:]  # the fault is recorded: nothing lost
    conn = connect_archive(timed_out["db"])
    assert conn.execute("select portal_id, url, stage, error from failures").fetchall() == [
        ("p", long_url, "parse", reason)]
    # every report archived; the real ones read, though they waited in the pool that broke
    assert sorted(conn.execute("select url, title, error from reports")) == sorted(
        [(f"{base}/nb/r{number}.htm", item["title"], None) for number, item in enumerate(timed_out["reports"])]
        + [(long_url, LONG_TITLE, reason)])
    assert [parse_error(conn, f"{base}/nb/r{number}.htm") for number in range(4)] == [None] * 4
    assert conn.execute("select min(length(t.body)) from report_texts t join reports r on r.id = t.report_id "
                        "where r.url like '%/r_.htm'").fetchone()[0] > 1000
    # the long one kept, with a parse that says why it has no data
    assert conn.execute("select b.size from documents d join blobs b on b.sha256 = d.sha256 where d.url = ?",
                        [long_url]).fetchone() == (timed_out["size"],)
    assert parse_error(conn, long_url) == reason
    assert conn.execute("select failed, reports_new from crawls where portal_id = 'p'").fetchone() == (1, 5)
    lines = result.stderr.splitlines()
    assert [line for line in lines if "parse failed" in line and long_url in line and reason in line]
    assert max(map(len, lines)) < 2000


def test_a_parse_past_its_memory_limit_costs_that_document_only(tmp_path):
    site = tmp_path / "site"
    (site / "nb").mkdir(parents=True)
    (site / "nb" / "large.htm").write_bytes(large_page(60))
    reports = real_reports(3)
    write_portal(site, reports, [("large.htm", LONG_TITLE, "2024-01-20")])
    server = serve(partial(QuietFiles, directory=str(site)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    db = tmp_path / "archive.db"
    try:
        result = run_crawl(one_portal_registry(tmp_path, f"{base}/", f"{base}/nb/index.html"), db,
                           "-s", f"NIANBAO_PARSE_MEMORY_MB={MEMORY_LIMIT}")
    finally:
        server.shutdown()
    reason = f"parse exceeded the memory limit ({MEMORY_LIMIT} MB)"
    assert result.returncode == 0, result.stderr[-3000:]
    conn = connect_archive(db)
    assert conn.execute("select url, stage, error from failures").fetchall() == [
        (f"{base}/nb/large.htm", "parse", reason)]
    assert sorted(conn.execute("select url, error from reports")) == sorted(
        [(f"{base}/nb/r{number}.htm", None) for number in range(3)] + [(f"{base}/nb/large.htm", reason)])
    assert max(map(len, result.stderr.splitlines())) < 2000


def test_reparse_records_a_document_that_kills_its_worker(timed_out, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copyfile(timed_out["db"], copy)
    long_url = f"{timed_out['base']}/nb/long.htm"
    result = subprocess.run([str(BIN / "nianbao"), "reparse", str(copy), "--quiet", "--parse-timeout", str(TIME_LIMIT)],
                            capture_output=True, text=True, timeout=300, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    reason = f"parse exceeded the time limit ({TIME_LIMIT} s)"
    assert f"parse failed: {long_url} ({reason})" in result.stderr.splitlines()
    assert "reparsed 5 documents" in result.stderr
    conn = connect_archive(copy)
    assert parse_error(conn, long_url) == reason
    base = timed_out["base"]
    assert [parse_error(conn, f"{base}/nb/r{number}.htm") for number in range(4)] == [None] * 4
    assert conn.execute("select count(*) from reports where error is null").fetchone() == (4,)


def stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, None for no process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def running(pid: int, start: str) -> bool:
    """Whether process `pid` started at `start` still runs (a zombie has ended)."""
    fields = stat(pid)
    return bool(fields) and fields[0] not in "ZX" and fields[19] == start


def descendants(pid: int) -> dict[int, tuple[int, str]]:
    """pid -> (parent, start time) of every process below `pid`."""
    processes = {int(entry.name): stat(int(entry.name)) for entry in Path("/proc").iterdir() if entry.name.isdigit()}
    children: dict[int, list[int]] = {}
    for child, fields in processes.items():
        if fields:
            children.setdefault(int(fields[1]), []).append(child)
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = (int(processes[child][1]), processes[child][19])
            todo.append(child)
    return found


def survivors_of_sigkill(command: list[str]) -> dict[int, tuple[int, str]]:
    """Start `command`; once a parse worker runs (a grandchild: a child of the
    forkserver), note its descendants and SIGKILL it; return those running 30 s later."""
    process = subprocess.Popen(command, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while all(parent == process.pid for parent, _ in descendants(process.pid).values()):
            assert process.poll() is None and time.monotonic() < deadline, "no parse worker started"
            time.sleep(0.05)
        time.sleep(1)  # the other workers start
        started = descendants(process.pid)
    finally:
        process.kill()
        process.wait()
    assert len(started) >= 3  # resource tracker, forkserver, a worker at least
    deadline = time.monotonic() + 30
    while any(running(pid, start) for pid, (_, start) in started.items()) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = {pid: process for pid, process in started.items() if running(pid, process[1])}
    for pid in survivors:  # not left to the next tests
        os.kill(pid, signal.SIGKILL)
    return survivors


def test_killing_a_crawl_leaves_no_process_behind(long_report_portal, tmp_path):
    command = [str(BIN / "scrapy"), "crawl", "portals", "-a", f"registry={long_report_portal['registry']}",
               "-s", f"NIANBAO_DB={tmp_path / 'archive.db'}", "-s", "AUTOTHROTTLE_ENABLED=False",
               "-s", "DOWNLOAD_DELAY=0", "-s", "NIANBAO_ALLOW_LOOPBACK=True"]
    assert survivors_of_sigkill(command) == {}


def test_killing_a_reparse_leaves_no_process_behind(timed_out, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copyfile(timed_out["db"], copy)
    assert survivors_of_sigkill([str(BIN / "nianbao"), "reparse", str(copy), "--quiet"]) == {}
