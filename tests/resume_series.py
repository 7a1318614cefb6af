"""Kill-and-resume series, shared by tests/test_crawl_resume.py and benchmarks/resume.py.

A series crawls the sample portals with a JOBDIR, SIGKILLs the crawl at random moments
(seeded), runs the same command until it ends, then SIGKILLs `nianbao reparse` at random
moments and runs it until it ends; the archive must then hold exactly what an
uninterrupted crawl's holds.
"""
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from conftest import BIN, REPO, run_crawl
from archive.db import connect as connect_archive

# slowed so that a kill lands mid-crawl: one request at a time, a pause between two
SLOW = ("-s", "DOWNLOAD_DELAY=0.25", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")


def snapshot(db) -> dict:
    """What the archive holds, independent of row ids and fetch times."""
    conn = connect_archive(db)
    try:
        return {
            "documents": sorted(conn.execute("select url, role, report_url, sha256 from documents")),
            "reports": sorted(conn.execute("select url, year, format, check_status, source_url from reports")),
            "cells": sorted(conn.execute(
                "select r.url, c.code, c.value from cells c join reports r on r.id = c.report_id")),
            "checks": sorted(conn.execute(
                "select r.url, k.check_id, k.status, k.expected, k.actual from checks k "
                "join reports r on r.id = k.report_id")),
            "skipped": sorted(conn.execute("select url, reason from skipped")),
            # a portal walked again records its failures again: compared as a set
            "failures": sorted(set(conn.execute("select portal_id, url, stage from failures"))),
        }
    finally:
        conn.close()


def differences(one: dict, two: dict) -> dict:
    """What one snapshot has that the other lacks, table by table."""
    return {table: {"only_first": sorted(set(one[table]) - set(two[table]))[:5],
                    "only_second": sorted(set(two[table]) - set(one[table]))[:5]}
            for table in one if one[table] != two[table]}


def count_reports(db) -> int:
    try:
        conn = connect_archive(db, timeout=1)
    except sqlite3.Error:
        return 0
    try:
        return conn.execute("select count(*) from reports").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def runs(db) -> list[tuple]:
    """(id, status, reason, processes) of the archive's runs (none before they were kept)."""
    conn = connect_archive(db)
    try:
        return conn.execute("select id, status, reason, processes from runs").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def crawl_command(registry: Path, db: Path, *extra: str) -> list[str]:
    return [str(BIN / "scrapy"), "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={db}",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "NIANBAO_ALLOW_LOOPBACK=True", *extra]


def reparse_command(db: Path) -> list[str]:
    return [str(BIN / "nianbao"), "reparse", str(db), "--quiet"]


def killed_at(command: list[str], moment: float) -> dict:
    """Run `command`, SIGKILL it `moment` seconds after it started unless it ended."""
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    started = time.monotonic()
    try:
        process.wait(timeout=moment)
        return {"killed": False, "returncode": process.returncode, "seconds": round(time.monotonic() - started, 2)}
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        return {"killed": True, "returncode": process.wait(timeout=60)}


def kill_series(registry: Path, folder: Path, seed: int, crawl_moments: tuple[float, float], crawl_kills: int,
                reparse_moments: tuple[float, float], reparse_kills: int) -> dict:
    """One series; the moments of its kills are drawn (seeded) within the given spans
    of seconds after the process started."""
    rng = random.Random(seed)
    db, jobdir = folder / "archive.db", folder / "job"
    kills = []
    for _ in range(crawl_kills):
        moment = round(rng.uniform(*crawl_moments), 2)
        outcome = killed_at(crawl_command(registry, db, "-s", f"JOBDIR={jobdir}", *SLOW), moment)
        kills.append({"stage": "crawl", "moment": moment, **outcome, "reports": count_reports(db)})
    resumed = run_crawl(registry, db, "-s", f"JOBDIR={jobdir}")
    for _ in range(reparse_kills):
        moment = round(rng.uniform(*reparse_moments), 2)
        kills.append({"stage": "reparse", "moment": moment, **killed_at(reparse_command(db), moment)})
    reparsed = subprocess.run(reparse_command(db), cwd=REPO, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    return {"seed": seed, "kills": kills, "crawl_exit": resumed.returncode, "crawl_log": resumed.stderr[-3000:],
            "runs": runs(db), "reparse_exit": reparsed.returncode, "snapshot": snapshot(db)}


def describe(series: dict) -> str:
    """The seed and the moments of a series, one line."""
    kills = ", ".join(f"{kill['stage']} {kill['moment']} s" + ("" if kill["killed"] else " (had ended)")
                      + (f" [{kill['reports']} reports]" if "reports" in kill else "")
                      for kill in series["kills"])
    return f"seed {series['seed']}: {kills}"
