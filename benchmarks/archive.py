"""Archive at scale: an archive of 100,000 reports synthesised from a real crawl of the
sample portals, its size, reparse throughput, and the time of the reports page with two
facets and a Chinese full-text query through a real Datasette over HTTP (target p95 < 500 ms).

    .venv/bin/python benchmarks/archive.py [--reports 100000] [--sample 300] [--requests 40] [--optimize] [--keep DIR]

Synthesis goes through the archive's own code: each synthetic report is a document (reusing
the crawled raw bytes, so no new blob) with a parse derived from a real parse — another body
(12,500 bodies of 1,250 portals across 31 provinces and 5 levels), another year (2017–2024,
with the table format of that year) and its figures multiplied by a whole number (so the
report's arithmetic still holds) — and `store.derive_report` builds everything from it.
Reparse throughput is measured with reparse's own loop (worker processes) on a random
sample of the synthetic reports, since a full reparse of 100,000 reports takes long.
The load average is printed beside each figure: other work on the machine skews them.
"""
import argparse
import os
import random
import shutil
import sqlite3
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

from archive import search, store  # noqa: E402
from archive.db import open_archive  # noqa: E402
from archive.reparse import reparse_documents  # noqa: E402
from archive_fixtures import start_datasette, stop  # noqa: E402
from conftest import crawl_sample_portals  # noqa: E402

PROVINCES = ["北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
             "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区",
             "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省",
             "宁夏回族自治区", "新疆维吾尔自治区"]
LEVELS = ["province", "city", "county", "township", "department"]
AGENCIES = ["人民政府", "人民政府办公室", "财政局", "教育局", "自然资源局", "生态环境局", "住房和城乡建设局",
            "市场监督管理局", "卫生健康委员会", "公安局"]
YEARS = range(2017, 2025)
FORMAT_OF_YEAR = {year: "none" if year < 2019 else "2019" if year < 2021 else "2021" for year in YEARS}
BODIES_PER_PORTAL = len(AGENCIES)


def templates(db) -> dict[str, list[tuple[dict, dict]]]:
    """The crawled reports' source documents and parses, by table format."""
    out: dict[str, list] = {}
    for document, result in db.execute(
            "select d.id, p.result from reports r join documents d on d.id = r.document_id "
            "join parses p on p.document_id = d.id"):
        row = dict(zip(("id", "url", "portal_id", "role", "status", "content_type", "sha256", "size"),
                       db.execute("select id, url, portal_id, role, status, content_type, sha256, size "
                                  "from documents where id = ?", [document]).fetchone()))
        parsed = store.load_parse(result)
        out.setdefault(parsed["format"], []).append((row, parsed))
    return out


def synthesise(db, count: int, rng: random.Random) -> None:
    """Add `count` synthetic reports, derived through store.derive_report."""
    by_format = templates(db)
    portals = -(-count // (len(YEARS) * BODIES_PER_PORTAL))
    db["portals"].insert_all(
        {"id": f"bench-{p}", "name": f"合成门户{p}", "level": LEVELS[p % len(LEVELS)],
         "province": PROVINCES[p % len(PROVINCES)], "division_code": f"{110000 + p:06d}"}
        for p in range(portals))
    made, started = 0, time.perf_counter()
    db.conn.execute("begin")
    for p in range(portals):
        for agency in AGENCIES:
            name = f"合成{p}县{agency}"
            for year in YEARS:
                if made == count:
                    db.conn.commit()
                    return
                document, result = rng.choice(by_format[FORMAT_OF_YEAR[year]])
                factor = rng.randint(1, 5)
                url = f"http://bench.invalid/{p}/{made}.html"
                result = {**result, "title": f"{name}{year}年政府信息公开工作年度报告", "agency": name, "year": year,
                          "body": (result.get("body") or "").replace(result.get("agency") or "\0", name),
                          "cells": {code: value * factor if isinstance(value, (int, float)) else value
                                    for code, value in result["cells"].items()}}
                db["documents"].insert({**{k: document[k] for k in ("role", "status", "content_type", "sha256", "size")},
                                        "url": url, "report_url": url, "portal_id": f"bench-{p}",
                                        "fetched_at": store.now()})
                store.store_parse(db, db.execute("select last_insert_rowid()").fetchone()[0], result)
                store.derive_report(db, url)
                made += 1
                if made % 1000 == 0:
                    db.conn.commit()
                    db.conn.execute("begin")
                if made % 10000 == 0:
                    print(f"  {made:,} reports ({made / (time.perf_counter() - started):,.0f}/s)", flush=True)


def reparse_sample(db, size: int, rng: random.Random) -> float:
    """Reports/s of `nianbao reparse`'s own loop (archive.reparse.reparse_documents: parse
    the archived bytes in one worker process per core, write parses and derive in this
    one) on a random sample of the synthetic reports' documents."""
    urls = [row[0] for row in db.execute("select url from reports where portal_id like 'bench-%'")]
    sample = sorted(rng.sample(urls, min(size, len(urls))))
    documents = [db.execute("select id, url, content_type, sha256, report_url from documents "
                            "where report_url = ? and role in ('page', 'attachment') order by id", [url]).fetchall()
                 for url in sample]
    started = time.perf_counter()
    reparse_documents(db, [row for rows in documents for row in rows], progress=False)
    return len(sample) / (time.perf_counter() - started)


def load() -> str:
    return "load avg %.2f %.2f %.2f" % os.getloadavg()


def page_times(path: Path, requests: int) -> list[float]:
    process, base = start_datasette(path)
    url = (f"{base}/{path.stem}/reports?_search={urllib.parse.quote('复议')}"
           "&_facet=year&_facet=province")
    times = []
    try:
        for attempt in range(requests + 3):
            started = time.perf_counter()
            with urllib.request.urlopen(url, timeout=60) as response:
                html = response.read().decode()
            if attempt >= 3:  # the first requests warm the caches
                times.append(time.perf_counter() - started)
        assert "facet-info" in html and "rows where search matches" in html, "unexpected page"
    finally:
        stop(process)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=300, help="reports reparsed to measure throughput")
    parser.add_argument("--optimize", action="store_true",
                        help="merge the search index (as `nianbao reparse` does at its end) before serving")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="leave the archive in this folder")
    args = parser.parse_args()
    rng = random.Random(2019)
    folder = Path(tempfile.mkdtemp(prefix="nianbao-bench-"))
    try:
        crawled = crawl_sample_portals(folder)
        path = folder / "bench.db"
        with sqlite3.connect(path) as target:
            sqlite3.connect(crawled).backup(target)
        db = open_archive(path)
        print(f"synthesising {args.reports:,} reports from {db['reports'].count} crawled ones …", flush=True)
        started = time.perf_counter()
        synthesise(db, args.reports, rng)
        built = time.perf_counter() - started
        print(f"built in {built:,.0f} s ({args.reports / built:,.0f} reports/s through derive_report; {load()})")
        rate = reparse_sample(db, args.sample, rng)
        if args.optimize:
            search.optimize(db)
        db.execute("pragma wal_checkpoint(truncate)")
        db.execute("analyze")
        db.conn.close()
        reports = sqlite3.connect(path).execute("select count(*) from reports").fetchone()[0]
        print(f"archive: {reports:,} reports, {path.stat().st_size / 2**20:,.0f} MiB")
        print(f"reparse: {rate:,.1f} reports/s ({os.cpu_count()} parse workers + derive, on a sample of "
              f"{args.sample} reports; a full reparse of {reports:,} would take ~{reports / rate / 60:,.0f} min; "
              f"{load()})")
        times = sorted(page_times(path, args.requests))
        p50, p95 = statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]
        print(f"reports page, ?_search=复议 + 2 facets (+ the default facets), {len(times)} requests: "
              f"p50 {p50 * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms (target p95 < 500 ms; {load()})")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), args.keep / path.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
