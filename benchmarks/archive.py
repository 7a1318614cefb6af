"""Archive at scale: an archive of 100,000, 300,000 and 1,000,000 reports synthesised from a
real crawl of the sample portals, with the raw bytes in WARC: the served file's size (and
where its bytes are, from `dbstat`), reparse throughput, and the time of the reports page
with two facets and a Chinese full-text query through a real Datasette over HTTP (target
p95 < 500 ms), printed as a curve over the sizes.

    .venv/bin/python benchmarks/archive.py [--reports 100000,300000,1000000] [--base 20000]
        [--full-up-to 300000] [--sample 100] [--requests 40] [--optimize] [--keep DIR]

How the synthetic archive is made: the crawl's raw bytes move to WARC (warc.migrate, as
`nianbao migrate --warc-dir` does). Then `--base` reports go through the archive's own
code: each is a document (reusing the crawled raw bytes, so no new record) with a parse
derived from a real parse — another body (10 agencies of each of ~250 portals across 31
provinces and 5 levels), another year (2017–2024, with the table format of that year) and
its figures multiplied by a whole number (so the report's arithmetic still holds) — and
`store.derive_report` builds everything from it (~85 reports/s). The rest is multiplied in
SQL (INSERT … SELECT): each copy of the base re-keys reports, documents and bodies (new
ids, URLs, portals "bench-N" with the base portal's level and province; same years, text
and figures) and copies every row of `report_bodies`, `cell_values`, `cell_sources`, `checks`
and `parses` (in the companion file beside the archive, archive/parses.py); its search index
rows are the base reports' segmented texts. Steps above `--full-up-to` (disk and time: ~11 KB
a report in the served file, ~8 KB of parses beside it) copy only what the reports page reads
(`reports`, `bodies`, `portals`, the search index) and say so; their size is then
extrapolated from the last full step.
Reparse throughput is measured with reparse's own loop (worker processes) on a random
sample of the base reports, since a full reparse of 100,000 reports takes long. The load
average is printed beside each figure: other work on the machine skews them.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from archive import parses, search, store, warc  # noqa: E402
from archive.db import open_archive  # noqa: E402
from archive.reparse import reparse_documents  # noqa: E402
from conftest import crawl_sample_portals  # noqa: E402
from page import load, page_times, percentiles  # noqa: E402  (benchmarks/page.py)

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


# tables copied per report by multiply(): (table, its report key); documents and parses apart
PER_REPORT = [("report_bodies", "report_id"), ("cell_values", "report_id"), ("cell_sources", "report_id"),
              ("checks", "report_id")]
PAGE_TABLES = {"reports", "bodies", "portals", search.FTS_TABLE}  # what the reports page reads


def columns(db, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"pragma table_info([{table}])")]


SEGMENTED: list[tuple[int, str, str]] = []  # the base reports' (id, title, text) as the search index holds them


def multiply(db, target: int, base: tuple[int, int], full: bool) -> None:
    """Copy the base reports (ids base[0]..base[1]) until the archive holds `target`
    synthetic reports; `full` False copies only PAGE_TABLES."""
    first, last = base
    portals = -(-(last - first + 1) // (len(YEARS) * BODIES_PER_PORTAL))  # the base's, as synthesise made them
    have = db.execute("select count(*) from reports where portal_id like 'bench-%'").fetchone()[0]
    db.execute("pragma foreign_keys = off")  # the copies' keys are those of rows already checked
    while have < target:
        copy = have // (last - first + 1)
        count = min(last - first + 1, target - have)
        offset = db.execute("select max(id) from reports").fetchone()[0] + 1 - first
        doc_offset = db.execute("select max(id) from documents").fetchone()[0] + 1
        portal = f"'bench-' || (cast(substr({{0}}, 7) as integer) + {copy * portals})"
        url = f"replace({{0}}, 'bench.invalid/', 'bench.invalid/c{copy}/')"
        ids = f"between {first} and {first + count - 1}"
        with db.conn:
            db.execute(f"insert or ignore into portals (id, name, level, province, division_code) "
                       f"select {portal.format('id')}, name || '·{copy}', level, province, division_code "
                       f"from portals where id like 'bench-%' and cast(substr(id, 7) as integer) < {portals}")
            db.execute(f"insert or ignore into bodies select {portal.format('portal_id')} || substr(body_id, "
                       f"instr(body_id, ':')), {portal.format('portal_id')}, name, level, province, division_code, "
                       f"first_year, last_year, reports from bodies where body_id in "
                       f"(select body_id from reports where id {ids})")
            # documents: the base report's, renumbered from doc_offset in their order
            db.execute("create temp table if not exists doc_map (old integer primary key, new integer)")
            db.execute("delete from doc_map")
            db.execute(f"insert into doc_map select d.id, {doc_offset} + row_number() over (order by d.id) - 1 "
                       f"from documents d join reports r on d.report_url = r.url where r.id {ids}")
            if full:
                cols = [c for c in columns(db, "documents") if c not in ("id", "url", "report_url", "portal_id")]
                db.execute(f"insert into documents (id, url, report_url, portal_id, {', '.join(cols)}) "
                           f"select m.new, {url.format('url')}, {url.format('report_url')}, "
                           f"{portal.format('portal_id')}, {', '.join(cols)} "
                           f"from doc_map m join documents d on d.id = m.old")
                db.execute("insert into parses select m.new, parser_version, result "
                           "from doc_map m join parses p on p.document_id = m.old")
            cols = [c for c in columns(db, "reports")
                    if c not in ("id", "url", "portal_id", "body_id", "document_id")]
            db.execute(f"insert into reports (id, url, portal_id, body_id, document_id, {', '.join(cols)}) "
                       f"select id + {offset}, {url.format('url')}, {portal.format('portal_id')}, "
                       f"{portal.format('portal_id')} || substr(body_id, instr(body_id, ':')), "
                       f"{'(select new from doc_map where old = document_id)' if full else 'document_id'}, "
                       f"{', '.join(cols)} "
                       f"from reports where id {ids}")
            if full:
                for table, key in PER_REPORT:
                    cols = [c for c in columns(db, table) if c != key]
                    db.execute(f"insert into [{table}] ({key}, {', '.join(cols)}) "
                               f"select {key} + {offset}, {', '.join(cols)} from [{table}] where {key} {ids}")
            # the search index: the base reports' texts, segmented once for all copies
            if len(SEGMENTED) < count:
                SEGMENTED[:] = [(report_id, search.segment(title), search.segment(body)) for report_id, title, body
                                in db.execute("select r.id, r.title, t.body from reports r left join report_texts t "
                                              "on t.report_id = r.id where r.id between ? and ? order by r.id",
                                              [first, last])]
            db.conn.executemany(f"insert into {search.FTS_TABLE}(rowid, title, body) values (?, ?, ?)",
                                ((report_id + offset, title, body) for report_id, title, body in SEGMENTED[:count]))
        have += count
        print(f"  {have:,} reports ({load()})", flush=True)
    db.execute("pragma foreign_keys = on")


def search_precision(db, terms: list[str]) -> str:
    """For each term, the reports the search finds and how many of them hold the term as
    written: the index keeps no positions, so a term of 3+ characters matches a text holding
    all its character pairs (archive/search.py)."""
    out = []
    for term in terms:
        found = {row[0] for row in db.execute(f"select rowid from {search.FTS_TABLE} where {search.FTS_TABLE} "
                                              "match ?", [search.escape_fts(term)])}
        exact = {report_id for report_id, title, body in db.execute(
            "select r.id, r.title, t.body from reports r left join report_texts t on t.report_id = r.id")
            if any(term in "".join((text or "").split()) for text in (title, body))}
        out.append(f"{term} {len(found & exact):,} of {len(found):,} (missed {len(exact - found)})")
    return ", ".join(out)


def breakdown(path: Path) -> list[tuple[str, int]]:
    """Bytes per table, its indexes included (dbstat), largest first; the search index's
    shadow tables as one."""
    conn = sqlite3.connect(path)
    owner = {name: table for name, table in conn.execute("select name, tbl_name from sqlite_master")}
    sizes: dict[str, int] = {}
    for name, size in conn.execute("select name, sum(pgsize) from dbstat group by name"):
        table = owner.get(name, name)
        table = search.FTS_TABLE if table.startswith(search.FTS_TABLE) else table
        sizes[table] = sizes.get(table, 0) + size
    conn.close()
    return sorted(sizes.items(), key=lambda item: -item[1])


def reparse_sample(db, size: int, rng: random.Random) -> tuple[float, float | None]:
    """Reports/s of `nianbao reparse`'s own loop (archive.reparse.reparse_documents: parse
    the archived bytes in one worker process per core, write parses and derive in this
    one) on a random sample of the synthetic reports' documents: as measured, and once the
    workers run (less the time of a 2-report reparse, mostly starting the workers, which a
    full reparse pays once)."""
    urls = [row[0] for row in db.execute("select url from reports where portal_id like 'bench-%'")]
    sample = sorted(rng.sample(urls, min(size + 2, len(urls))))

    def seconds(urls: list[str]) -> float:
        documents = [db.execute("select id, url, content_type, sha256, report_url from documents "
                                "where report_url = ? and role in ('page', 'attachment') order by id",
                                [url]).fetchall() for url in urls]
        started = time.perf_counter()
        reparse_documents(db, [row for rows in documents for row in rows], progress=False)
        return time.perf_counter() - started

    start = seconds(sample[:2])
    whole = seconds(sample[2:])
    # a sample reparsed no slower than the 2-report start says nothing of the running rate
    return size / whole, size / (whole - start) if whole > start else None


FACETS = ["year", "format", "level", "province"]  # the page's: metadata's defaults and ?_facet=


def facet_queries(path: Path, term: str, rounds: int = 5) -> dict[str, float]:
    """Median seconds of the SQL Datasette makes of the page, straight on SQLite, taken in turn
    within each round (one run, one load): the search's count; the facets as Datasette counts
    them, one query per facet; and one query for all, as the plugin does where its held columns
    do not answer (archive/plugins/nianbao_archive.py: for the search alone they do)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("pragma cache_size = -100000")  # as served (publish.SETTINGS cache_size_kb)
    rows = (f"select * from reports where rowid in (select rowid from {search.FTS_TABLE} "
            f"where {search.FTS_TABLE} match :q)")
    queries = {
        "count": [f"select count(*) from ({rows})"],
        "facets, one query each": [f"select {c} as value, count(*) as count from ({rows}) where {c} is not null "
                                   f"group by {c} order by count desc, value limit 31" for c in FACETS],
        "facets in one query": [f"select {', '.join(FACETS)}, count(*) from ({rows}) group by {', '.join(FACETS)}"],
    }
    spent: dict[str, list[float]] = {name: [] for name in queries}
    for _ in range(rounds):
        for name, sqls in queries.items():
            started = time.perf_counter()
            for sql in sqls:
                conn.execute(sql, {"q": search.escape_fts(term)}).fetchall()
            spent[name].append(time.perf_counter() - started)
    conn.close()
    return {name: statistics.median(times) for name, times in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", default="100000,300000,1000000", help="sizes measured, in turn")
    parser.add_argument("--base", type=int, default=20_000, help="reports synthesised through derive_report")
    parser.add_argument("--full-up-to", type=int, default=300_000,
                        help="larger steps copy only the tables the reports page reads")
    parser.add_argument("--sample", type=int, default=100, help="reports reparsed to measure throughput")
    parser.add_argument("--optimize", action="store_true",
                        help="merge the search index (as `nianbao reparse` does at its end) before serving")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--terms", default="复议,诉讼,不予公开,依申请", help="search terms, in turn")
    parser.add_argument("--keep", type=Path, help="leave the archive in this folder")
    args = parser.parse_args()
    steps = sorted(int(step) for step in args.reports.split(","))
    terms = args.terms.split(",")
    rng = random.Random(2019)
    folder = Path(tempfile.mkdtemp(prefix="nianbao-bench-", dir=args.keep))
    curve = []
    try:
        crawled = crawl_sample_portals(folder)
        path = folder / "bench.db"
        parses.copy_archive(crawled, path)
        db = open_archive(path)
        warc.migrate(db, folder / "warc")
        warc_bytes = sum(file.stat().st_size for file in (folder / "warc").glob("*.warc.gz"))
        print(f"raw bytes in WARC: {warc_bytes / 2**20:,.1f} MiB ({db['blobs'].count} records; the synthetic "
              "reports reuse them)")
        base = min(args.base, steps[0])
        print(f"synthesising {base:,} reports from {db['reports'].count} crawled ones …", flush=True)
        started = time.perf_counter()
        synthesise(db, base, rng)
        built = time.perf_counter() - started
        print(f"base built in {built:,.0f} s ({base / built:,.0f} reports/s through derive_report; {load()})")
        first, last = db.execute("select min(id), max(id) from reports where portal_id like 'bench-%'").fetchone()
        print(f"search: reports found that hold the term as written, of those found: "
              f"{search_precision(db, terms)}", flush=True)
        rate, running = reparse_sample(db, args.sample, rng)
        running_rate = (f"{running:,.1f} reports/s once the workers run (less a 2-report reparse's time); a full "
                        f"reparse of 100,000 would take ~{100_000 / running / 60:,.0f} min" if running else
                        "the sample is too small to tell the running rate from the workers' start")
        print(f"reparse: {rate:,.1f} reports/s ({os.cpu_count()} parse workers + derive, on a sample of "
              f"{args.sample} reports), {running_rate} ({load()})")
        per_report, full_reports, shares = None, None, {}
        for step in steps:
            full = step <= args.full_up_to
            free = shutil.disk_usage(folder).free
            if per_report and full and (step - db["reports"].count) * per_report * 1.3 > free - (10 << 30):
                full = False
            started = time.perf_counter()
            multiply(db, step, (first, last), full)
            if args.optimize:
                search.optimize(db)
            with db.conn:
                db.execute("pragma analysis_limit = 1000")
                db.execute("analyze")
            db.execute("pragma wal_checkpoint(truncate)")
            reports = db["reports"].count
            print(f"{reports:,} reports: multiplied in {time.perf_counter() - started:,.0f} s"
                  f"{'' if full else ' (only the tables the reports page reads)'} ({load()})", flush=True)
            sizes = breakdown(path)
            total = path.stat().st_size
            if full:
                per_report, full_reports = total / reports, reports
                shares = {table: size / reports for table, size in sizes}
            else:  # the tables not copied at this size as many bytes a report as at the last full step
                sizes = sorted([(table, size) for table, size in sizes if table in PAGE_TABLES] + [
                    (table, share * reports) for table, share in shares.items() if table not in PAGE_TABLES],
                    key=lambda item: -item[1])
                total = sum(size for _, size in sizes)
            print(f"  size: {total / 2**20:,.0f} MiB{'' if full else ' (extrapolated)'}, "
                  f"{total / reports * 100_000 / 2**30:,.2f} GiB per 100,000 reports "
                  f"(target ≤ 1.1; WARC {warc_bytes / 2**20:,.1f} MiB apart)")
            companion = parses.companion_path(path).stat().st_size * (reports / full_reports if full_reports and not full else 1)
            print(f"  beside it, not served: parses {companion / 2**20:,.0f} MiB{'' if full else ' (extrapolated)'} "
                  f"({companion / reports:,.0f} bytes a report)")
            print("  per table (with its indexes), bytes per report: " + ", ".join(
                f"{table} {size / reports:,.0f}" for table, size in sizes[:12] if size / reports >= 10))
            times = page_times(path, args.requests, terms, "", None)
            p50, p95 = percentiles([t for ts in times.values() for t in ts])
            print(f"  reports page, ?_search=<{'|'.join(terms)}> + 2 facets (+ the default facets), "
                  f"{sum(map(len, times.values()))} requests: p50 {p50 * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms "
                  f"(target p95 < 500 ms; {load()}); p95 per term: " + ", ".join(
                      f"{term} {percentiles(ts)[1] * 1000:,.0f}" for term, ts in times.items()), flush=True)
            sql = facet_queries(path, terms[0])
            print(f"  Datasette's own SQL for {terms[0]} (the plugin's held columns replace it), medians of 5 rounds taken in turn: " + ", ".join(
                f"{name} {seconds * 1000:,.0f} ms" for name, seconds in sql.items()) +
                f" (one query for all the facets: ×{sql['facets, one query each'] / sql['facets in one query']:.1f} "
                f"faster; {load()})", flush=True)
            curve.append((reports, total, full, p50, p95, load()))
        print("\ncurve: reports, MiB, GiB per 100k, page p50 / p95 ms, load")
        for reports, total, full, p50, p95, when in curve:
            print(f"  {reports:>9,}  {total / 2**20:>9,.0f}{'' if full else '*'}  {total / reports * 1e5 / 2**30:5.2f}"
                  f"  {p50 * 1000:5,.0f} / {p95 * 1000:5,.0f}  {when}")
        if not all(full for _, _, full, *_ in curve):
            print("  * extrapolated: only the tables the reports page reads were copied at this size")
        db.conn.close()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
