"""Integrity flags at scale: the time of `archive.flags.refresh` on a synthetic archive.

    .venv/bin/python benchmarks/flags.py [--reports 100000] [--keep PATH] [--archive PATH] [--crawl PATH]

The archive is synthesised from a real crawl of the sample portals (38 real reports):
each synthetic report belongs to its own body (1,000 portals of 10 bodies, 2019–2024)
and has a text of 40–80 sentences drawn at random from the real reports' sentences
(so that texts are distinct, as real ones are, and MinHash has real work), the cells
of a real report of its format times a whole number plus noise, and as its page one of
the real crawled pages (the blobs are shared: their bytes are read and decompressed
per report, as refresh does). 1% of reports are exact copies of another body's (text
and cells), 1% carry gambling spam, 1% are error pages (the figures of sentences drawn from other
reports contradict the tables now and then: narrative flags there are an artefact). The rows are written directly,
since deriving 100,000 reports through the parser takes an hour (benchmarks/archive.py);
coverage is refreshed first (untimed), as at a crawl's end. `--archive PATH` times the
refresh of an existing archive instead.
The load average is printed beside each figure: other work on the machine skews them.
"""
import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from archive import codec, coverage, flags  # noqa: E402
from archive.db import open_archive  # noqa: E402
from conftest import crawl_sample_portals  # noqa: E402

YEARS = range(2019, 2025)
BODIES_PER_PORTAL = 10


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def synthesise(path: Path, reports: int, crawled: Path | None = None, seed: int = 13) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        source = open_archive(crawled or crawl_sample_portals(Path(folder)))
        templates = [(row[0], row[1], row[2], row[3]) for row in source.execute(
            "select r.id, r.format, d.sha256, t.body from reports r join documents d on d.url = r.url "
            "join report_texts t on t.report_id = r.id")]
        cells = {}
        for report_id, code, value in source.execute("select report_id, code, value from cells"):
            cells.setdefault(report_id, []).append((code, value))
        blobs = source.execute("select sha256, size, compression, content from blobs").fetchall()
        source.close()
    # (not the seed's sentences with 必赢体育: spam is added below, to 1% of reports)
    sentences = sorted({s.strip() for t in templates for s in re.split(r"(?<=[。；])", t[3])
                        if len(s.strip()) > 8 and "必赢" not in s})
    with_tables = [t for t in templates if t[1] in ("2019", "2021") and t[0] in cells]
    db = open_archive(path)
    with db.conn:
        db.conn.executemany("insert or ignore into blobs (sha256, size, compression, content) values (?, ?, ?, ?)",
                            blobs)
        portals = -(-reports // (len(YEARS) * BODIES_PER_PORTAL))
        db.conn.executemany("insert into portals (id, name, level, province) values (?, ?, 'county', '福建省')",
                            [(f"p{n}", f"门户{n}") for n in range(portals)])
        made = 0
        previous = {}  # year -> the last report's text and figures
        for n in range(portals):
            db.conn.executemany("insert into bodies (body_id, portal_id, name) values (?, ?, ?)",
                                [(f"p{n}:机关{n}x{b}", f"p{n}", f"机关{n}x{b}") for b in range(BODIES_PER_PORTAL)])
            for b in range(BODIES_PER_PORTAL):
                for year in YEARS:
                    if made >= reports:
                        break
                    made += 1
                    template = rng.choice(with_tables)
                    fate = rng.random()
                    if fate < 0.01 and year in previous:
                        text, figures = previous[year]
                    else:
                        text = "".join(rng.sample(sentences, rng.randint(40, 80)))
                        factor = rng.randint(1, 9)
                        figures = [(code, None if value is None else value * factor + rng.randint(0, 2))
                                   for code, value in cells[template[0]]]
                    if 0.01 <= fate < 0.02:
                        text = text.replace("。", "。必赢体育官网注册。", 1)
                    sha256, format_ = template[2], template[1]
                    if 0.02 <= fate < 0.03:
                        text, figures, format_ = "404 页面不存在 您访问的页面不存在或已被删除", [], "none"
                    url = f"http://www.p{n}.gov.cn/nb/{year}/{b}.html"
                    document = db.conn.execute(
                        "insert into documents (url, report_url, portal_id, role, status, sha256) "
                        "values (?, ?, ?, 'page', 200, ?)", [url, url, f"p{n}", sha256]).lastrowid
                    report = db.conn.execute(
                        "insert into reports (url, portal_id, body_id, body_name, level, province, title, year, format, "
                        "published, document_id, sha256) values (?, ?, ?, ?, 'county', '福建省', ?, ?, ?, ?, ?, ?)",
                        [url, f"p{n}", f"p{n}:机关{n}x{b}", f"门户{n}", f"机关{n}x{b}{year}年政府信息公开工作年度报告",
                         year, format_, f"{year + 1}-0{rng.randint(1, 4)}-15", document, sha256]).lastrowid
                    db.conn.execute("insert into report_bodies (report_id, body) values (?, ?)",
                                    [report, codec.pack(text)])
                    db.conn.executemany("insert into cell_values (report_id, code_id, value) "
                                        "select ?, id, ? from cell_codes where code = ?",
                                        [(report, value, code) for code, value in figures])
                    previous[year] = (text, figures)
    coverage.refresh(db)
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the synthetic archive here (kept)")
    parser.add_argument("--archive", type=Path, help="time the refresh of this existing archive")
    parser.add_argument("--crawl", type=Path, help="an archive of the sample portals' crawl to start from "
                                                   "(default: crawl them now)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.archive or args.keep or Path(folder) / "flags.db"
        if not args.archive:
            started = time.perf_counter()
            synthesise(path, args.reports, args.crawl)
            print(f"synthesised {args.reports} reports in {time.perf_counter() - started:.0f} s ({load()})")
        db = open_archive(path)
        reports = db.execute("select count(*) from reports").fetchone()[0]
        # the first refresh parses the pages flag_pages does not know yet; the next ones do not
        for which in ("first refresh", "again"):
            started, cpu = time.perf_counter(), time.process_time()
            flags.refresh(db)
            print(f"flags.refresh of {reports} reports ({which}): {time.perf_counter() - started:.1f} s wall, "
                  f"{time.process_time() - cpu:.1f} s CPU ({load()})")
        print("flags: " + ", ".join(f"{rule} {count}" for rule, count in db.execute(
            "select rule_id, count(*) from flags group by rule_id order by rule_id")))
        db.close()


if __name__ == "__main__":
    main()
