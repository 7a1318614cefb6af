"""Incremental re-crawls and crawls resumed after the process was killed."""
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, REPO, run_crawl
from nianbao.sample_portals.server import write_registry


def snapshot(db) -> dict:
    """What the archive holds, independent of row ids and fetch times."""
    conn = sqlite3.connect(db)
    try:
        return {
            "documents": sorted(conn.execute("select url, role, report_url, sha256 from documents")),
            "reports": sorted(conn.execute("select url, year, format, check_status, source_url from reports")),
            "cells": sorted(conn.execute(
                "select r.url, c.code, c.value from cells c join reports r on r.id = c.report_id")),
            "skipped": sorted(conn.execute("select url, reason from skipped")),
        }
    finally:
        conn.close()


def latest_yield(db) -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("select * from crawls where id in (select max(id) from crawls group by portal_id)")
    result = {row["portal_id"]: dict(row) for row in rows}
    conn.close()
    return result


@pytest.fixture
def registry(tmp_path, sample_portals):
    path = tmp_path / "registry.csv"
    write_registry(path, sample_portals)
    return path


@pytest.fixture
def reference(crawled):
    return snapshot(crawled["db"])


def sample_only(snap: dict) -> dict:
    """The crawled fixture also holds an unreachable portal; compare sample portals only."""
    return {key: [row for row in rows if "/sample" not in str(row)] for key, rows in snap.items()}


def test_recrawl_fetches_listings_but_not_archived_reports(tmp_path, registry):
    db = tmp_path / "archive.db"
    assert run_crawl(registry, db).returncode == 0
    first = snapshot(db)
    result = run_crawl(registry, db)
    assert result.returncode == 0, result.stderr[-2000:]
    assert snapshot(db) == first
    for portal_id, row in latest_yield(db).items():
        assert row["listings_seen"] >= 2, portal_id
        assert row["reports_new"] == 0, portal_id
        assert row["reports_unchanged"] >= 1, portal_id


def test_refetch_setting_fetches_everything_again(tmp_path, registry):
    db = tmp_path / "archive.db"
    assert run_crawl(registry, db).returncode == 0
    first = snapshot(db)
    assert run_crawl(registry, db, "-s", "NIANBAO_REFETCH=True").returncode == 0
    assert snapshot(db) == first
    assert all(row["reports_unchanged"] == 0 for row in latest_yield(db).values())


def count_reports(db) -> int:
    try:
        conn = sqlite3.connect(db, timeout=1)
    except sqlite3.Error:
        return 0
    try:
        return conn.execute("select count(*) from reports").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def differences(one: dict, two: dict) -> dict:
    """What one snapshot has that the other lacks, table by table."""
    return {table: {"only_first": sorted(set(one[table]) - set(two[table]))[:5],
                    "only_second": sorted(set(two[table]) - set(one[table]))[:5]}
            for table in one if one[table] != two[table]}


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_crawl_killed_and_resumed_ends_like_an_uninterrupted_one(tmp_path, registry, kill):
    uninterrupted, resumed, jobdir = tmp_path / "one.db", tmp_path / "two.db", tmp_path / "job"
    assert run_crawl(registry, uninterrupted).returncode == 0
    slow = ["-s", f"JOBDIR={jobdir}", "-s", "DOWNLOAD_DELAY=0.4", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    process = subprocess.Popen(
        [str(BIN / "scrapy"), "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={resumed}",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "NIANBAO_ALLOW_LOOPBACK=True", *slow],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 120
    while count_reports(resumed) < 4 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert process.poll() is None, "the crawl ended before it could be killed"
    process.send_signal(kill)
    process.wait(timeout=60)
    partial = count_reports(resumed)
    assert 0 < partial < len(snapshot(uninterrupted)["reports"])
    result = run_crawl(registry, resumed, "-s", f"JOBDIR={jobdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not differences(snapshot(resumed), snapshot(uninterrupted)), result.stderr[-3000:]
