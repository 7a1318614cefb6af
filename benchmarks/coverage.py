"""Coverage accounting at national scale: the time of `archive.coverage.refresh` and of
the coverage pages through a real Datasette over HTTP.

    .venv/bin/python benchmarks/coverage.py [--reports 100000] [--requests 10] [--archive PATH]

By default the archive is synthesised in a temporary folder from the bundled national
registry (13,569 portals, their real levels and provinces): each portal's own body and,
on the 3,283 government portals, as many departments as make about N reports over
2019–2025, each body publishing a year with probability 0.85 on a date from early to
late (the bodies: `bodies`; the reports: `reports` rows with year and date; a latest
crawl per portal, 5% of them unreachable and 5% without a column found) — the tables
refresh reads, written directly, since deriving 100,000 reports through the parser
takes an hour (benchmarks/archive.py). `--archive PATH` times the refresh of an
existing archive instead (refreshing its coverage tables in place).
The load average is printed beside each figure: other work on the machine skews them.
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from archive import bodies, coverage, store  # noqa: E402
from archive.db import open_archive  # noqa: E402
from archive_fixtures import start_datasette, stop  # noqa: E402
from crawler.registry import load_registry  # noqa: E402

YEARS = range(2019, 2026)
DEPARTMENTS = ["财政局", "教育局", "自然资源局", "生态环境局", "住房和城乡建设局", "市场监督管理局", "卫生健康委员会",
               "公安局", "民政局", "交通运输局", "水利局", "农业农村局", "商务局", "文化和旅游局", "应急管理局"]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def synthesise(path: Path, reports: int, seed: int = 10) -> int:
    rng = random.Random(seed)
    portals = load_registry()
    governments = [p for p in portals if p["level"] in ("province", "city", "county")]
    per_portal = max(0, round((reports / (len(YEARS) * 0.85) - len(portals)) / len(governments)))
    db = open_archive(path)
    with db.conn:
        store.upsert_portals(db, portals)
        body_rows, report_rows, crawl_rows, failure_rows = [], [], [], []
        for portal in portals:
            names = [portal["name"]]
            if portal["level"] in ("province", "city", "county"):
                area = portal["division_name"] or portal["name"]
                names += [area + department for department in DEPARTMENTS[:per_portal]]
            fate = rng.random()
            listings = 0 if fate < 0.10 else rng.randint(1, 5)
            crawl_rows.append((portal["id"], "2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00", listings))
            if fate < 0.05:
                failure_rows.append((portal["id"], portal["homepage"], "discovery", "ConnectionRefusedError: refused"))
            elif fate < 0.10:
                failure_rows.append((portal["id"], portal["homepage"], "discovery",
                                     "no 年报 column found within 2 links of the homepage"))
            for name in names:
                identity = bodies.body_id(portal["id"], name)
                years = [year for year in YEARS if rng.random() < 0.85]
                if not years:
                    continue
                body_rows.append((identity, portal["id"], name, portal["level"], portal["province"],
                                  portal["division_code"], min(years), max(years), len(years)))
                for year in years:
                    published = f"{year + 1}-{rng.choice([1, 1, 2, 3, 3, 4, 6]):02d}-{rng.randint(1, 28):02d}"
                    report_rows.append((f"http://{portal['id']}.example/{len(report_rows)}.html", portal["id"],
                                        identity, name, portal["level"], portal["province"], portal["division_code"],
                                        f"{name}{year}年政府信息公开工作年度报告", year, "none", published))
        db.conn.executemany("insert into bodies (body_id, portal_id, name, level, province, division_code, "
                            "first_year, last_year, reports) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", body_rows)
        db.conn.executemany("insert into reports (url, portal_id, body_id, body_name, level, province, division_code, "
                            "title, year, format, published) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", report_rows)
        db.conn.executemany("insert into crawls (portal_id, started_at, finished_at, listings_seen) values (?, ?, ?, ?)",
                            crawl_rows)
        db.conn.executemany("insert into failures (portal_id, url, stage, error, failed_at) "
                            "values (?, ?, ?, ?, '2026-01-01T00:30:00+00:00')", failure_rows)
    db.close()
    return len(report_rows)


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--archive", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nianbao-coverage-") as folder:
        path = args.archive
        if path is None:
            path = Path(folder) / "coverage.db"
            started = time.perf_counter()
            count = synthesise(path, args.reports)
            print(f"synthesised {count:,} reports of 13,569 portals in {time.perf_counter() - started:.1f} s ({load()})")
        db = open_archive(path)
        times = []
        for _ in range(3):
            started, cpu = time.perf_counter(), time.process_time()
            counts = coverage.refresh(db)
            times.append(time.perf_counter() - started)
            print(f"refresh: {times[-1]:.2f} s, CPU {time.process_time() - cpu:.2f} s ({load()})")
        db.close()
        print("rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))
        print(f"refresh best of 3: {min(times):.2f} s")
        process, base = start_datasette(path)
        try:
            name = path.stem
            province = urllib.parse.quote("广东省")
            for label, url in [
                    ("/-/coverage", f"{base}/-/coverage"),
                    ("/-/coverage/广东省", f"{base}/-/coverage/{province}"),
                    ("coverage_body_years page with its 6 facets",
                     f"{base}/{name}/coverage_body_years?province={province}&year=2024"),
                    ("coverage_body_years, all, with its 6 facets", f"{base}/{name}/coverage_body_years"),
                    ("late_reports (first page)", f"{base}/{name}/late_reports"),
            ]:
                timed_get(url)  # warm
                samples = sorted(timed_get(url) for _ in range(args.requests))
                print(f"{label}: p50 {statistics.median(samples) * 1000:.0f} ms, "
                      f"max {samples[-1] * 1000:.0f} ms ({load()})")
        finally:
            stop(process)


if __name__ == "__main__":
    main()
