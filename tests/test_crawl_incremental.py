"""Incremental re-crawls and crawls resumed after the process was killed."""
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, REPO, run_crawl
from nianbao.sample_portals.server import write_registry
from resume_series import count_reports, differences, runs, snapshot
from archive.db import connect as connect_archive


def latest_yield(db) -> dict:
    conn = connect_archive(db)
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
    # without JOBDIR each crawl is a run of its own
    assert [status for _, status, _, _ in runs(db)] == ["finished", "finished"]


def test_refetch_setting_fetches_everything_again(tmp_path, registry):
    db = tmp_path / "archive.db"
    assert run_crawl(registry, db).returncode == 0
    first = snapshot(db)
    assert run_crawl(registry, db, "-s", "NIANBAO_REFETCH=True").returncode == 0
    assert snapshot(db) == first
    assert all(row["reports_unchanged"] == 0 for row in latest_yield(db).values())


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_crawl_killed_and_resumed_ends_like_an_uninterrupted_one(tmp_path, registry, kill):
    uninterrupted, resumed, jobdir = tmp_path / "one.db", tmp_path / "two.db", tmp_path / "job"
    assert run_crawl(registry, uninterrupted).returncode == 0
    slow = ["-s", f"JOBDIR={jobdir}", "-s", "DOWNLOAD_DELAY=0.4", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    log = (tmp_path / "killed.log").open("w")  # a file: a killed crawl's parse workers may outlive it
    process = subprocess.Popen(
        [str(BIN / "scrapy"), "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={resumed}",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "NIANBAO_ALLOW_LOOPBACK=True", *slow],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 120
    while count_reports(resumed) < 4 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert process.poll() is None, "the crawl ended before it could be killed"
    process.send_signal(kill)
    process.wait(timeout=60)
    log.close()
    killed_log = (tmp_path / "killed.log").read_text()
    partial = count_reports(resumed)
    assert 0 < partial < len(snapshot(uninterrupted)["reports"])
    if kill == signal.SIGTERM:  # Scrapy closes the spider ("shutdown"): the run says it is incomplete
        assert process.returncode == 1, killed_log[-2000:]
        assert "crawl: incomplete:" in killed_log and "interrupted (shutdown)" in killed_log
        [(run_id, status, reason, _)] = runs(resumed)
        assert status == "incomplete" and "interrupted (shutdown)" in reason
    result = run_crawl(registry, resumed, "-s", f"JOBDIR={jobdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert [status for _, status, _, _ in runs(resumed)] == ["finished"]
    assert not differences(snapshot(resumed), snapshot(uninterrupted)), result.stderr[-3000:]

