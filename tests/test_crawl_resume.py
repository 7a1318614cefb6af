"""Crash-safe resume: a run killed at any moment and resumed ends with the archive of an
uninterrupted crawl; a run that lost anything never says it finished."""
import os
import random

import pytest

from archive.db import open_archive
from conftest import run_crawl
from nianbao.sample_portals.server import manifests, write_registry
from resume_series import describe, differences, kill_series, runs, snapshot
from archive.db import connect as connect_archive


@pytest.fixture(scope="module")
def registry(tmp_path_factory, sample_portals):
    path = tmp_path_factory.mktemp("resume") / "registry.csv"
    write_registry(path, sample_portals)
    return path


@pytest.fixture(scope="module")
def reference(registry, tmp_path_factory):
    """The archive of one uninterrupted crawl."""
    db = tmp_path_factory.mktemp("reference") / "archive.db"
    result = run_crawl(registry, db)
    assert result.returncode == 0, result.stderr[-2000:]
    return snapshot(db)


def test_killed_at_random_moments_and_resumed_ends_like_an_uninterrupted_crawl(tmp_path, registry, reference):
    """Two SIGKILLs of the crawl and one of `nianbao reparse`, at random moments
    (NIANBAO_RESUME_SEED to replay a series; benchmarks/resume.py runs more)."""
    seed = int(os.environ.get("NIANBAO_RESUME_SEED") or random.randrange(10**6))
    series = kill_series(registry, tmp_path, seed, crawl_moments=(1.5, 9.0), crawl_kills=2,
                         reparse_moments=(0.5, 4.0), reparse_kills=1)
    what = describe(series)
    assert not differences(series["snapshot"], reference), f"{what}: {differences(series['snapshot'], reference)}"
    assert series["crawl_exit"] == 0, f"{what}\n{series['crawl_log']}"
    assert [status for _, status, _, _ in series["runs"]] == ["finished"], what
    assert series["reparse_exit"] == 0, what


def test_queue_files_left_by_a_killed_scrapy_are_not_read(tmp_path, registry, reference):
    """A SIGKILL can leave Scrapy's disk queue file empty; Scrapy then failed with
    struct.error on every later run, dropped those requests and still exited 0."""
    from scrapy.pqueues import _path_safe

    queue = tmp_path / "job" / "requests.queue" / _path_safe("127.0.0.1")
    queue.mkdir(parents=True)
    (queue / "0").write_bytes(b"")
    db = tmp_path / "archive.db"
    result = run_crawl(registry, db, "-s", f"JOBDIR={tmp_path / 'job'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "struct.error" not in result.stderr
    assert not differences(snapshot(db), reference)


def refuse_report(db, url: str) -> None:
    """A storage fault for one report: SQLite refuses to write its row."""
    archive = open_archive(db)
    archive.execute(f"create trigger refuse before insert on reports when new.url = '{url}' "
                    "begin select raise(abort, 'disk I/O error'); end")
    archive.conn.commit()
    archive.close()


def test_a_report_not_stored_makes_the_run_incomplete_until_resumed(tmp_path, sample_portals, registry, reference):
    pingtan = next(manifest for manifest in manifests() if manifest["id"] == "pingtan")
    report = next(item for item in pingtan["items"] if item["is_report"])
    db, job = tmp_path / "archive.db", tmp_path / "job"
    refuse_report(db, f"{sample_portals}/pingtan{report['url']}")

    first = run_crawl(registry, db, "-s", f"JOBDIR={job}")
    assert first.returncode == 1, first.stderr[-2000:]
    incomplete = [line for line in first.stderr.splitlines() if line.startswith("crawl: incomplete:")]
    assert len(incomplete) == 1 and "items not stored (1)" in incomplete[0], first.stderr[-2000:]
    [(run_id, status, reason, processes)] = runs(db)
    assert (status, processes) == ("incomplete", 1) and "items not stored" in reason
    conn = connect_archive(db)
    pending = conn.execute("select portal_id from run_portals where status != 'done'").fetchall()
    conn.execute("drop trigger refuse")
    conn.commit()
    conn.close()
    assert pending == [("sample-pingtan",)]

    resumed = run_crawl(registry, db, "-s", f"JOBDIR={job}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert runs(db) == [(run_id, "finished", None, 2)]
    assert "4 portals done earlier" in resumed.stderr
    assert not differences(snapshot(db), reference)


def test_a_named_run_once_finished_is_not_walked_again(tmp_path, registry, reference):
    db = tmp_path / "archive.db"
    first = run_crawl(registry, db, "-s", "NIANBAO_RUN=2026-q4")
    assert first.returncode == 0, first.stderr[-2000:]
    again = run_crawl(registry, db, "-s", "NIANBAO_RUN=2026-q4")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "5 portals done earlier" in again.stderr and "'downloader/request_count'" not in again.stderr
    assert runs(db) == [("2026-q4", "finished", None, 2)]
    assert not differences(snapshot(db), reference)


def test_a_run_whose_end_cannot_be_recorded_does_not_say_it_finished(tmp_path, registry):
    """A fault while writing the run's end is an error of Scrapy's signal dispatch, not
    a callback's or an item's: the crawl exits 1 all the same."""
    db = tmp_path / "archive.db"
    archive = open_archive(db)
    archive.execute("create trigger refuse before update of status on runs when new.status = 'finished' "
                    "begin select raise(abort, 'disk I/O error'); end")
    archive.conn.commit()
    archive.close()
    result = run_crawl(registry, db)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "crawl: incomplete: lost without a record: engine errors (1)" in result.stderr.splitlines()
