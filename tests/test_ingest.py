"""`nianbao ingest`, the one writer of a distributed crawl's archive: the items a real
crawl worker's StreamPipeline published to a real Redis stream end up in an archive
equal to the one a single-process crawl (ArchivePipeline) writes, however the ingest
is killed and restarted, however often entries are read or published again."""
import os
import signal
import subprocess
import time

import pytest
import redis
from scrapy import Request
from scrapy.utils.test import get_crawler

from archive import store, stream
from archive.db import open_archive
from archive.ingest import apply_entries, open_ingest
from crawler.middlewares import SkipArchivedReports
from tests.conftest import BIN, REPO, run_crawl, start_redis
from archive.db import connect as connect_archive

PREFIX = "nianbao"


def nianbao(*args: str, **kwargs) -> dict:
    return dict(args=[str(BIN / "nianbao"), *args], cwd=REPO, text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)}, **kwargs)


@pytest.fixture(scope="module")
def published(crawled, tmp_path_factory):
    """The events one real worker (`scrapy crawl portals -s NIANBAO_REDIS_URL=…`)
    published over the registry of the `crawled` archive, and its WARC directory."""
    folder = tmp_path_factory.mktemp("worker")
    server, url = start_redis(folder)
    try:
        registry = crawled["db"].parent / "registry.csv"
        seeded = subprocess.run(**nianbao("crawl-seed", "--redis", url, "--registry", str(registry),
                                          "--run", "distributed"), capture_output=True, timeout=60)
        assert seeded.returncode == 0, seeded.stderr
        worker_db = folder / "worker.db"
        result = run_crawl(registry, worker_db, "-s", f"NIANBAO_REDIS_URL={url}", "-s",
                           f"NIANBAO_WARC_DIR={folder / 'warc'}", "-s", "RETRY_BACKOFF_BASE=0.05", timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        assert not worker_db.exists()  # a worker never opens the archive
        events = [stream.decode(fields) for _, fields in redis.Redis.from_url(url).xrange(stream.stream_key(PREFIX))]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert {event["kind"] for event in events} >= {"portals", "report", "failure", "skipped", "progress",
                                                   "portal_done", "run_end"}
    return {"events": events, "warc": folder / "warc"}


def publish_all(url: str, events: list[dict]) -> redis.Redis:
    client = redis.Redis.from_url(url)
    for event in events:
        stream.publish(client, PREFIX, event["kind"], {key: value for key, value in event.items() if key != "kind"})
    return client


def ingest_command(db, url: str, warc_dir, *extra: str) -> dict:
    return nianbao("ingest", str(db), "--redis", url, "--warc-dir", str(warc_dir), *extra)


def snapshot(path) -> dict:
    """What the archive holds, without ids and times; duplicates kept (nothing twice)."""
    conn = connect_archive(path)
    queries = {
        "reports": """select r.url, r.portal_id, r.body_id, r.title, r.agency, r.year, r.format, r.published,
                             r.source_url, r.sha256, r.check_status, r.checks_failed, r.cells_filled, r.error,
                             r.removed_at is null, t.body
                      from reports r left join report_texts t on t.report_id = r.id""",
        "documents": """select url, report_url, portal_id, role, status, content_type, sha256, size, listing_title,
                               listing_date from documents""",
        "cells": "select r.url, c.code, c.value, c.unit from cells c join reports r on r.id = c.report_id",
        "provenance": "select r.url, c.code, c.token, c.locator from cell_provenance c join reports r on r.id = c.report_id",
        "checks": "select r.url, c.check_id, c.status from checks c join reports r on r.id = c.report_id",
        "failures": "select portal_id, url, stage, error from failures",
        "skipped": "select url, portal_id, title, reason from skipped",
        "crawls": """select portal_id, listings_seen, reports_found, reports_new, reports_unchanged, failed, skipped,
                            budget_hits from crawls""",
        "run_portals": "select portal_id, status from run_portals",
        "runs": "select status, reason from runs",
        "revisions": "select url, version, sha256 from revisions",
        "search": "select rowid from reports_fts where reports_fts match '复议'",
    }
    found = {name: sorted(conn.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}
    conn.close()
    return found


@pytest.fixture(scope="module")
def reference(crawled):
    return snapshot(crawled["db"])


def check_equal(path, reference: dict) -> None:
    found = snapshot(path)
    for name in reference:
        assert found[name] == reference[name], name
    assert reference["reports"] and reference["cells"] and reference["failures"]


def test_ingest_writes_the_archive_a_single_process_crawl_writes(published, reference, redis_url, tmp_path):
    client = publish_all(redis_url, published["events"])
    db = tmp_path / "archive.db"
    result = subprocess.run(**ingest_command(db, redis_url, published["warc"]), capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ended: finished" in result.stderr
    check_equal(db, reference)
    archive = open_archive(db)
    for sha256, compression in archive.execute("select d.sha256, b.compression from documents d "
                                               "join blobs b on b.sha256 = d.sha256"):
        assert compression == "warc"
        assert store.hashlib.sha256(store.load_blob(archive, sha256)).hexdigest() == sha256
    archive.close()
    assert client.xlen(stream.stream_key(PREFIX)) == 0  # acknowledged entries are trimmed


def test_workers_skip_the_reports_the_ingest_archived(published, reference, redis_url, tmp_path):
    """The incremental skip of a worker reads the ingest's mirror in Redis, not the archive."""
    publish_all(redis_url, published["events"])
    result = subprocess.run(**ingest_command(tmp_path / "archive.db", redis_url, published["warc"]),
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    worker_db = tmp_path / "worker.db"
    skip = SkipArchivedReports(get_crawler(settings_dict={"NIANBAO_REDIS_URL": redis_url,
                                                          "NIANBAO_DB": str(worker_db)}))
    pages = [(url, title, date) for url, role, title, date in
             ((row[0], row[3], row[8], row[9]) for row in reference["documents"]) if role == "page"]
    assert len(pages) == len(reference["reports"])
    for url, title, date in pages:
        assert skip.unchanged(Request(url, meta={"nianbao_role": "report"}, cb_kwargs={"title": title, "date": date}))
        assert not skip.unchanged(Request(url, meta={"nianbao_role": "report"},
                                          cb_kwargs={"title": title + "（修订）", "date": date}))
    assert not worker_db.exists()


def test_ingest_killed_mid_stream_and_restarted_writes_nothing_twice(published, reference, redis_url, tmp_path):
    client = publish_all(redis_url, published["events"])
    total = len(published["events"])
    db = tmp_path / "archive.db"
    process = subprocess.Popen(**ingest_command(db, redis_url, published["warc"], "--batch", "5"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    key = stream.stream_key(PREFIX)
    deadline = time.monotonic() + 60

    def writing() -> bool:
        """Some batches written and acknowledged, the next delivered and not yet."""
        return client.xlen(key) < total and client.xpending(key, stream.GROUP)["pending"] > 0

    while not writing() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert 0 < client.xlen(key) < total and client.xpending(key, stream.GROUP)["pending"], "not killed mid-stream"
    result = subprocess.run(**ingest_command(db, redis_url, published["warc"]), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    check_equal(db, reference)


def test_entries_read_again_or_published_twice_write_nothing_twice(published, reference, redis_url, tmp_path):
    """An ingest killed between its commit and its XACK reads its entries again; a
    portal walked again after its lease expired publishes its items again."""
    events = published["events"]
    client = publish_all(redis_url, events)
    db = tmp_path / "archive.db"
    archive = open_archive(db)
    open_ingest(archive, str(published["warc"]))
    stream.ensure_group(client, PREFIX)
    delivered = stream.read(client, PREFIX, len(events), 100)
    apply_entries(archive, [(entry_id, event) for entry_id, event in delivered if event["kind"] != "run_end"])
    archive.close()  # committed, never acknowledged
    publish_all(redis_url, [event for event in events if event["kind"] not in ("portal_done", "run_end")])
    publish_all(redis_url, [{"kind": "run_end", "run_id": events[0]["run_id"]}])
    result = subprocess.run(**ingest_command(db, redis_url, published["warc"]), capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    check_equal(db, reference)


def test_a_lost_event_leaves_the_run_incomplete_and_its_portal_not_done(published, redis_url, tmp_path):
    events = published["events"]
    lost_portal = next(event["portal_id"] for event in events if event["kind"] == "portal_done")
    at = next(i for i, event in enumerate(events) if event["kind"] == "portal_done")
    lost = {"kind": "lost", "run_id": events[0]["run_id"], "portal_id": lost_portal, "reason": "callback errors"}
    publish_all(redis_url, [*events[:at], lost, *events[at:]])
    db = tmp_path / "archive.db"
    result = subprocess.run(**ingest_command(db, redis_url, published["warc"]), capture_output=True, timeout=120)
    assert result.returncode == 1
    assert "ingest: incomplete: run distributed: callback errors" in result.stderr
    conn = connect_archive(db)
    assert conn.execute("select status, reason from runs").fetchall() == [("incomplete", "callback errors")]
    statuses = dict(conn.execute("select portal_id, status from run_portals"))
    assert statuses.pop(lost_portal) == "pending"
    assert set(statuses.values()) == {"done"}
    conn.close()


def rerun(events: list[dict], run_id: str, worker: str, gone: str) -> list[dict]:
    """The events of another run, by another worker, in which the report page `gone` is
    listed no more."""
    again = []
    for event in events:
        if event["kind"] == "report" and any(document["url"] == gone for document in event["documents"]):
            continue
        event = {**event, "run_id": run_id}
        if "worker" in event:
            event["worker"] = worker
        if event["kind"] == "progress":
            event["listed"] = {portal_id: [url for url in urls if url != gone]
                               for portal_id, urls in event["listed"].items()}
        again.append(event)
    return again


def test_a_report_no_longer_listed_is_marked_removed_unless_listed_late(published, redis_url, tmp_path):
    """As ArchivePipeline: a portal done in a run that lost nothing, its archived reports
    not listed are removed. A worker's listed URLs published after the portal's
    portal_done (its progress goes out every second) still count as listed."""
    events = published["events"]
    gone = next(document["url"] for event in events if event["kind"] == "report"
                for document in event["documents"] if document["role"] == "page")
    db = tmp_path / "archive.db"

    def ingest(run: list[dict]) -> None:
        publish_all(redis_url, run)
        result = subprocess.run(**ingest_command(db, redis_url, published["warc"]), capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]

    def removed() -> list[tuple]:
        conn = connect_archive(db)
        rows = conn.execute("select url, removed_run from reports where removed_at is not null").fetchall()
        conn.close()
        return rows

    ingest(events)
    assert removed() == []
    ingest(rerun(events, "second", "worker-2", gone))
    assert removed() == [(gone, "second")]
    third = rerun(events, "third", "worker-3", gone)
    portal_id = next(event["portal_id"] for event in events if event["kind"] == "report"
                     and event["documents"][0]["url"] == gone)
    late = {"kind": "progress", "run_id": "third", "worker": "worker-3", "serial": 10**6, "closed": False,
            "counts": {}, "listed": {portal_id: [gone]}}
    end = next(i for i, event in enumerate(third) if event["kind"] == "run_end")
    assert third[end - 1]["kind"] == "portal_done"
    ingest([*third[:end], late, *third[end:]])  # after every portal_done
    assert removed() == []
