"""Crawl budgets against endless pagination: a TRS column whose every page announces
`createPageHTML(N, …)` (default ten million pages, made on the fly), crawled with the
default budgets. Prints the crawl's time, the listing pages it asked for, its peak
memory, the longest silence of its log (a blocked event loop logs nothing) and the
budget failure it recorded.

    .venv/bin/python benchmarks/budgets.py [--announced 10000000] [--walk-pages 200]
"""
import argparse
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRAPY = str(Path(sys.executable).with_name("scrapy"))


def serve(announced: int) -> tuple[ThreadingHTTPServer, list[str]]:
    asked = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            page = re.fullmatch(r"/nb/index(?:_(\d+))?\.htm", self.path)
            if page:
                asked.append(self.path)
                body = (f'<html><body><ul></ul><script>createPageHTML({announced}, {int(page.group(1) or 0)}, '
                        f'"index", "htm");</script></body></html>').encode()
                self.send_response(200)
            else:
                body = b"not here"
                self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, asked


def longest_silence(log: str) -> float:
    moments = [datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
               for stamp in re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \[", log, re.M)]
    return max(((later - earlier).total_seconds() for earlier, later in zip(moments, moments[1:])), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--announced", type=int, default=10_000_000)
    parser.add_argument("--walk-pages", type=int, default=None, help="NIANBAO_WALK_PAGES (default: the setting's)")
    args = parser.parse_args()
    server, asked = serve(args.announced)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as folder:
        registry, db = Path(folder) / "registry.csv", Path(folder) / "archive.db"
        registry.write_text(f"id,name,level,province,homepage,column_urls\np,样例县,county,福建省,{base}/,{base}/nb/index.htm\n",
                            encoding="utf-8")
        extra = ["-s", f"NIANBAO_WALK_PAGES={args.walk_pages}"] if args.walk_pages else []
        started = time.monotonic()
        result = subprocess.run(
            [SCRAPY, "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={db}",
             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=DEBUG",
             "-s", "NIANBAO_ALLOW_LOOPBACK=True", "-s", "ROBOTSTXT_OBEY=False", *extra],
            cwd=REPO, capture_output=True, text=True, timeout=3600)
        took = time.monotonic() - started
        failures = sqlite3.connect(db).execute("select url, error from failures where stage = 'budget'").fetchall()
        hits = sqlite3.connect(db).execute("select budget_hits from crawls").fetchall()
    server.shutdown()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"announced pages        {args.announced:,}")
    print(f"crawl exit code        {result.returncode}")
    print(f"crawl time             {took:.1f} s")
    print(f"listing pages asked    {len(asked)} ({len(set(asked))} distinct)")
    print(f"peak memory (RSS)      {peak:.0f} MB (largest process of the crawl)")
    print(f"longest log silence    {longest_silence(result.stderr):.0f} s")
    print(f"budget_hits            {hits}")
    for url, error in failures:
        print(f"budget failure         {url}: {error}")


if __name__ == "__main__":
    main()
