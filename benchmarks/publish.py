"""The published archive under hostile and heavy requests, through a real Datasette
(`nianbao serve`): the time of each hostile query of tests/test_publish_limits.py and
the server's peak resident memory after it, the time of the pages that count tables,
and a streamed CSV of a large table with the server's resident memory sampled while it
streams (flat = the stream holds one page at a time).

    .venv/bin/python benchmarks/publish.py [--archive PATH] [--table cell_values]

Without --archive, the sample portals are crawled into a temporary archive; for an
archive at scale, make one with `benchmarks/archive.py --reports N --keep DIR`.
The load average is printed: other work on the machine skews the times.
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from archive_fixtures import start_datasette, stop  # noqa: E402
from conftest import crawl_sample_portals  # noqa: E402
from test_publish_limits import HOSTILE, datasette_pid, fetch, memory_kb  # noqa: E402


def stream(url: str, pid: int) -> dict:
    """Read a streamed CSV to its end, sampling the server's VmRSS every 0.1 s."""
    samples, done = [], threading.Event()

    def sample():
        while not done.wait(0.1):
            samples.append(memory_kb(pid, "VmRSS"))

    sampler = threading.Thread(target=sample)
    sampler.start()
    started, size, tail = time.monotonic(), 0, b""
    with urllib.request.urlopen(url, timeout=3600) as response:
        while chunk := response.read(1 << 20):
            size += len(chunk)
            tail = (tail + chunk)[-300:]
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    return {"mb": size / 1e6, "seconds": seconds, "rss_mb": [kb / 1000 for kb in samples] or [0],
            "tail": tail.decode("utf-8", "replace").strip().splitlines()[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path)
    parser.add_argument("--table", default="cell_values", help="the table streamed as CSV")
    parser.add_argument("--repeat", type=int, default=3, help="requests per page timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = args.archive or crawl_sample_portals(Path(folder))
        process, base = start_datasette(db)
        try:
            pid, name = datasette_pid(process), db.stem
            print(f"archive {db.stat().st_size / 1e6:.0f} MB; load {os.getloadavg()[0]:.1f}; "
                  f"server at start: VmRSS {memory_kb(pid, 'VmRSS') / 1000:.0f} MB")
            for label, sql in HOSTILE.items():
                status, body, seconds = fetch(f"{base}/{name}.json?sql={urllib.parse.quote(sql)}")
                print(f"  hostile {label:13} {status} in {seconds * 1000:6.0f} ms, {len(body):>9,} bytes; "
                      f"server peak so far {memory_kb(pid) / 1000:.0f} MB")
            for page in ["/", f"/{name}", f"/{name}/reports", f"/{name}/{args.table}",
                         f"/{name}/reports?_search=" + urllib.parse.quote("复议")]:
                times = [fetch(base + page)[2] for _ in range(args.repeat)]
                print(f"  page {page:40} median {statistics.median(times) * 1000:6.0f} ms")
            result = stream(f"{base}/{name}/{args.table}.csv?_stream=on&_size=max&_labels=off", pid)
            rss = result["rss_mb"]
            print(f"  streamed {args.table}.csv: {result['mb']:.0f} MB in {result['seconds']:.1f} s "
                  f"({result['mb'] / result['seconds']:.1f} MB/s); server VmRSS while streaming: "
                  f"min {min(rss):.0f}, median {statistics.median(rss):.0f}, max {max(rss):.0f} MB; "
                  f"last line: {result['tail'][:100]}")
            print(f"server peak over the run: {memory_kb(pid) / 1000:.0f} MB; load {os.getloadavg()[0]:.1f}")
        finally:
            stop(process)


if __name__ == "__main__":
    main()
