"""The reports page of an existing archive through a real Datasette over HTTP: ?_search=<term>
with the facets year and province (and metadata.json's defaults), the terms in turn, as
benchmarks/archive.py times it at each size (target p95 < 500 ms at 1,000,000 reports);
also the same with a filter beside the search (year=2020, as a click on a facet gives).

    .venv/bin/python benchmarks/page.py ARCHIVE [--requests 40] [--terms 复议,诉讼,不予公开,依申请]
        [--plugins-dir DIR] [--pages 3]

--pages N also times the other pages a researcher opens (a report's row and its figures in
each view, the figures of one code across reports, a form table filtered, a CSV of
cell_values, checks), the median of N requests each.

--plugins-dir serves with other plugins than archive/plugins (an earlier commit's, to compare:
`git show REV:archive/plugins/nianbao_archive.py > DIR/nianbao_archive.py`, the other plugins
copied beside it).

Keep an archive to time with `benchmarks/archive.py --keep DIR` (the first request of each
term is not counted: it warms the caches)."""
import argparse
import json
import os
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
from archive import publish  # noqa: E402
from archive_fixtures import start_datasette, start_server, stop  # noqa: E402
from conftest import free_port  # noqa: E402


def start_with_plugins(path: Path, plugins: Path, metadata: Path):
    """`nianbao serve`'s Datasette with another plugins folder; (process, base URL)."""
    port = free_port()
    metadata.write_text(json.dumps(publish.metadata_for(path), ensure_ascii=False), encoding="utf-8")
    command = publish.datasette_command(path, "127.0.0.1", port, metadata)
    command[command.index(str(publish.PLUGINS))] = str(plugins)
    base = f"http://127.0.0.1:{port}"
    return start_server(command, base, wait=300), base


def load() -> str:
    return "load avg %.2f %.2f %.2f" % os.getloadavg()


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(0, -(-len(times) * 95 // 100) - 1)]


def page_times(path: Path, requests: int, terms: list[str], extra: str, plugins: Path | None) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {term: [] for term in terms}
    with tempfile.TemporaryDirectory() as folder:
        process, base = (start_with_plugins(path, plugins, Path(folder) / "metadata.json") if plugins
                         else start_datasette(path, wait=300))
        try:
            for attempt in range(requests + len(terms)):
                term = terms[attempt % len(terms)]
                url = (f"{base}/{path.stem}/reports?_search={urllib.parse.quote(term)}"
                       f"&_facet=year&_facet=province{extra}")
                started = time.perf_counter()
                with urllib.request.urlopen(url, timeout=300) as response:
                    html = response.read().decode()
                if attempt >= len(terms):
                    times[term].append(time.perf_counter() - started)
                assert "facet-info" in html and "rows where search matches" in html, "unexpected page"
        finally:
            stop(process)
    return times


OTHER_PAGES = [  # (name, path under the database; {id}: a report of the archive's middle)
    ("report row", "reports/{id}"),
    ("cells of a report", "cells?report_id={id}"),
    ("cell_provenance of a report", "cell_provenance?report_id={id}"),
    ("requests_table of a report", "requests_table?report_id={id}"),
    ("report_texts of a report", "report_texts?report_id={id}"),
    ("cells of one code", "cells?code=requests.new.total"),
    ("requests_table row new, year 2022", "requests_table?row_code=new&year=2022"),
    ("cell_values.csv, 1,000 rows", "cell_values.csv?_size=1000"),
    ("checks", "checks"),
]


def other_page_times(path: Path, rounds: int, plugins: Path | None) -> dict[str, float]:
    """The median time of each of OTHER_PAGES over `rounds` requests."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        middle = conn.execute("select id from reports order by id limit 1 offset "
                              "(select count(*) / 2 from reports)").fetchone()[0]
    times = {}
    with tempfile.TemporaryDirectory() as folder:
        process, base = (start_with_plugins(path, plugins, Path(folder) / "metadata.json") if plugins
                         else start_datasette(path, wait=300))
        try:
            for name, page in OTHER_PAGES:
                taken = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    with urllib.request.urlopen(f"{base}/{path.stem}/{page.format(id=middle)}",
                                                timeout=600) as response:
                        response.read()
                    taken.append(time.perf_counter() - started)
                times[name] = statistics.median(taken)
        finally:
            stop(process)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--terms", default="复议,诉讼,不予公开,依申请", help="search terms, in turn")
    parser.add_argument("--filtered", type=int, default=8, help="requests with year=2020 beside the search")
    parser.add_argument("--plugins-dir", type=Path, help="serve with these plugins instead of archive/plugins")
    parser.add_argument("--pages", type=int, default=0, help="also time the other pages, median of this many")
    args = parser.parse_args()
    terms = args.terms.split(",")
    with sqlite3.connect(f"file:{args.archive}?mode=ro", uri=True) as conn:
        reports = conn.execute("select count(*) from reports").fetchone()[0]
    for name, extra, requests in (("search", "", args.requests), ("search + year=2020", "&year=2020", args.filtered)):
        if not requests:
            continue
        times = page_times(args.archive, requests, terms, extra, args.plugins_dir)
        p50, p95 = percentiles([t for ts in times.values() for t in ts])
        print(f"{reports:,} reports, reports page ?_search=<{'|'.join(terms)}> + 2 facets (+ the default facets), "
              f"{name}, {sum(map(len, times.values()))} requests: p50 {p50 * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms "
              f"({load()}); p95 per term: " + ", ".join(
                  f"{term} {percentiles(ts)[1] * 1000:,.0f}" for term, ts in times.items()), flush=True)
    if args.pages:
        for name, taken in other_page_times(args.archive, args.pages, args.plugins_dir).items():
            print(f"{reports:,} reports, {name}: {taken * 1000:,.0f} ms (median of {args.pages}; {load()})", flush=True)


if __name__ == "__main__":
    main()
