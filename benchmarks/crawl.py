"""Crawl speed: pages per second crawling the sample portals, beside `scrapy bench`
on the same machine in the same run. Throttling off for both.

    .venv/bin/python benchmarks/crawl.py [--copies 20]

The sample portals are served many times over (/copyN/<portal>/…) so that the crawl
lasts long enough to measure; every copy is a separate portal of the registry.
"""
import argparse
import ast
import re
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nianbao.sample_portals.server import SAMPLE_PORTALS, SamplePortalHandler, manifests  # noqa: E402

PORTALS = ("pingtan", "seeds")  # the plain portals: no deliberately slow pages
SCRAPY = str(Path(sys.executable).with_name("scrapy"))


class CopiesHandler(SamplePortalHandler):
    """/copyN/<portal>/… is /<portal>/…"""

    def translate_path(self, path: str) -> str:
        return super().translate_path(re.sub(r"^/copy\d+", "", path))


def stats(log: str) -> dict:
    """The stats dict Scrapy dumps at the end of a crawl."""
    dump = log[log.rindex("Dumping Scrapy stats:") :]
    body = dump[dump.index("{") : dump.index("}") + 1]
    body = re.sub(r"datetime\.datetime\([^)]*\)", "None", body)
    return ast.literal_eval(body)


def rate(log: str) -> tuple[int, float]:
    figures = stats(log)
    return figures["response_received_count"], figures["elapsed_time_seconds"]


def crawl(copies: int) -> tuple[int, float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(CopiesHandler, directory=str(SAMPLE_PORTALS)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as folder:
        registry = Path(folder, "registry.csv")
        lines = ["id,name,level,province,homepage,column_urls"]
        for manifest in manifests():
            if manifest["id"] in PORTALS:
                for copy in range(copies):
                    root = f"{base}/copy{copy}/{manifest['id']}"
                    lines.append(f"{manifest['id']}-{copy},{manifest['id']},county,福建省,{root}/,{root}{manifest['column']}")
        registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = subprocess.run(
            [SCRAPY, "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={folder}/bench.db",
             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "ROBOTSTXT_OBEY=False",
             "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "LOG_LEVEL=INFO", "-s", "NIANBAO_ALLOW_LOOPBACK=True"],
            cwd=REPO, capture_output=True, text=True, check=True,
        )
    server.shutdown()
    return rate(result.stderr)


def scrapy_bench() -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([SCRAPY, "bench"], cwd=folder, capture_output=True, text=True, check=True)
    return rate(result.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20, help="copies of each sample portal")
    args = parser.parse_args()
    pages, seconds = crawl(args.copies)
    ours = pages / seconds
    print(f"sample portals: {pages} pages in {seconds:.1f} s = {ours:.1f} pages/s", flush=True)
    pages, seconds = scrapy_bench()
    theirs = pages / seconds
    print(f"scrapy bench: {pages} pages in {seconds:.1f} s = {theirs:.1f} pages/s")
    print(f"ratio: {100 * ours / theirs:.0f}% of scrapy bench (target >= 50%)")


if __name__ == "__main__":
    main()
