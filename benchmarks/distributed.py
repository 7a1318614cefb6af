"""The distributed crawl's scaling: pages/s of 1, 2 and 4 workers (crawler/distributed.py)
sharing one crawl of a simulated national web (each portal on its own loopback
addresses, homepage only: discovery, listing, reports) through a real redis-server,
with `nianbao ingest` writing the archive as they go (unthrottled, retries after 0.2 s
instead of 2 s: pauses are no work, and would make the slowest portal's walk the
measure). Prints per run the wall time,
pages/s, the scaling ratio against one worker, the workers' CPU time and the load
average (the machine is shared: read the ratios with the load beside them).

    .venv/bin/python benchmarks/distributed.py [--portals 200] [--workers 1,2,4]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
from conftest import start_redis  # noqa: E402
from nianbao.national_web.server import NationalWeb  # noqa: E402

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def distributed_crawl(web: NationalWeb, workers: int, folder: Path) -> dict:
    """Seed a fresh Redis, run `workers` workers and the ingest to the run's end."""
    redis_server, url = start_redis(folder)
    registry = web.write_registry(folder / "registry.csv")
    subprocess.run([str(BIN / "nianbao"), "crawl-seed", "--redis", url, "--registry", str(registry)],
                   check=True, capture_output=True, env=ENV)
    web.requests.clear()
    cpu, load, started = children_cpu(), os.getloadavg()[0], time.monotonic()
    logs = [open(folder / f"{name}.log", "w") for name in ["ingest", *(f"worker-{n}" for n in range(workers))]]
    ingest = subprocess.Popen([str(BIN / "nianbao"), "ingest", str(folder / "archive.db"), "--redis", url,
                               "--warc-dir", str(folder / "warc"), "--quiet"],
                              cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=logs[0])
    crawls = [subprocess.Popen([str(BIN / "scrapy"), "crawl", "portals", "-a", f"registry={registry}",
                                "-s", f"NIANBAO_REDIS_URL={url}", "-s", f"NIANBAO_WARC_DIR={folder / 'warc'}",
                                "-s", "NIANBAO_ALLOW_LOOPBACK=True", "-s", "AUTOTHROTTLE_ENABLED=False",
                                "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_BACKOFF_BASE=0.2",
                                "-s", "NIANBAO_PARSE_WORKERS=1", "-s", "LOG_LEVEL=WARNING"],
                               cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=log)
              for log in logs[1:]]
    codes = [crawl.wait(timeout=3600) for crawl in crawls]
    crawled = time.monotonic() - started
    pages = sum(web.requests.values())
    ingest.wait(timeout=3600)
    ingested = time.monotonic() - started
    worker_cpu = children_cpu() - cpu
    load_after = os.getloadavg()[0]
    redis_server.terminate()
    redis_server.wait(timeout=10)
    if any(codes) or ingest.returncode:
        raise SystemExit(f"workers exited {codes}, ingest {ingest.returncode}: "
                         f"{(folder / 'ingest.log').read_text()[-2000:]}")
    return {"seconds": crawled, "ingested": ingested, "pages": pages, "cpu": worker_cpu,
            "load": (load, load_after)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    args = parser.parse_args()
    web = NationalWeb(args.portals).start()
    print(f"{args.portals} simulated portals, {os.cpu_count()} cores; each run: a fresh Redis, crawl-seed, "
          f"N workers and nianbao ingest, unthrottled, quick retries (the unreachable portals' pauses are no "
          f"work), one parse worker per crawl worker")
    first = None
    for workers in (int(n) for n in args.workers.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            run = distributed_crawl(web, workers, Path(folder))
        rate = run["pages"] / run["seconds"]
        first = first or rate
        print(f"{workers} worker(s): {run['pages']} pages in {run['seconds']:.1f} s = {rate:.1f} pages/s, "
              f"scaling ×{rate / first:.2f}; archive written {run['ingested']:.1f} s after the start; "
              f"CPU of workers, their parse workers and ingest {run['cpu']:.0f} s "
              f"({run['cpu'] / run['pages'] * 1000:.0f} ms a page); load average "
              f"{run['load'][0]:.1f} before, {run['load'][1]:.1f} after", flush=True)
    web.stop()


if __name__ == "__main__":
    main()
