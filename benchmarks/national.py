"""The national crawl, simulated: a crawl of a simulated national web (default 600
portals, each on its own loopback addresses, homepage only: discovery, listing,
reports), then a sample of it at the polite settings, and the time the 13,600 real
portals would take. Prints portals, columns found, reports, portals/min, the peak
memory of the crawl's process tree (the crawl and its parse workers) and its memory
over the crawl, and the extrapolation with its arithmetic.

    .venv/bin/python benchmarks/national.py [--portals 600] [--polite-sample 120] [--latency 1.0]
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from scrapy.settings import Settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from nianbao.national_web.server import NationalWeb  # noqa: E402

SCRAPY = str(Path(sys.executable).with_name("scrapy"))
REGISTRY_PORTALS = 13_600
UNTHROTTLED = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"]


def tree_rss_mb(root: int) -> tuple[float, float]:
    """Resident memory of `root` alone and with all its descendants (MB), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending += children.get(pid, [])
    return rss.get(root, 0) / 1024, total / 1024


def crawl(web: NationalWeb, folder: Path, *settings: str) -> dict:
    """Run the real crawl over `web`; its time, exit code and memory samples (s, MB)."""
    registry = web.write_registry(folder / "registry.csv")
    process = subprocess.Popen(
        [SCRAPY, "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={folder / 'archive.db'}",
         "-s", "NIANBAO_ALLOW_LOOPBACK=True", "-s", "LOG_LEVEL=WARNING", *settings],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, float, float]] = []  # (s, crawl process MB, process tree MB)
    started = time.monotonic()

    def sample():
        while process.poll() is None:
            samples.append((time.monotonic() - started, *tree_rss_mb(process.pid)))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    log = process.communicate(timeout=6 * 3600)[1]
    took = time.monotonic() - started
    sampler.join()
    return {"seconds": took, "code": process.returncode, "samples": samples, "log": log}


def found(web: NationalWeb, db: Path) -> tuple[int, int, int, int]:
    """(portals with a column, of them found with every column, reports expected, archived)."""
    connection = sqlite3.connect(db)
    columns: dict[str, set[str]] = {}
    for portal_id, url in connection.execute("select portal_id, url from columns where status = 'ok'"):
        columns.setdefault(portal_id, set()).add(url)
    reports = {url for (url,) in connection.execute("select url from reports")}
    expected = [portal for portal in web.manifest() if portal["expect"] == "column"]
    complete = [p for p in expected if columns.get(p["id"]) == {column["url"] for column in p["columns"]}]
    wanted = {r["url"] for p in expected for column in p["columns"] for r in column["reports"]}
    return len(expected), len(complete), len(wanted), len(wanted & reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=600)
    parser.add_argument("--polite-sample", type=int, default=120, help="portals crawled at the polite settings")
    parser.add_argument("--latency", type=float, default=1.0,
                        help="assumed answer time of a real government server, seconds (for the extrapolation)")
    args = parser.parse_args()
    settings = Settings()
    settings.setmodule("crawler.settings")  # the crawl's defaults, wherever this runs from

    web = NationalWeb(args.portals).start()
    with tempfile.TemporaryDirectory() as folder:
        run = crawl(web, Path(folder), *UNTHROTTLED)
        expected, complete, wanted, archived = found(web, Path(folder) / "archive.db")
        requests = sum(web.requests.values())
        web.requests.clear()
        again = crawl(web, Path(folder), *UNTHROTTLED)  # next year's crawl: from the stored columns
        requests_again, searched_again = sum(web.requests.values()), web.count("discovery")
    web.stop()
    samples = run["samples"]
    print(f"portals: {args.portals} (crawl exit code {run['code']}, {run['seconds']:.0f} s, unthrottled)")
    print(f"columns found: {complete} ({100 * complete / expected:.1f}%) of the {expected} portals having one; "
          f"the other {args.portals - expected} recorded as unreachable / no platform / no column")
    print(f"reports: {archived} of {wanted} archived")
    print(f"portals/min: {60 * args.portals / run['seconds']:.0f}")
    print(f"requests: {requests} ({requests / args.portals:.1f} per portal, robots.txt included)")
    print(f"peak RSS of the crawl process tree: {max(tree for _, _, tree in samples):.0f} MB "
          f"(the crawl process alone: {max(alone for _, alone, _ in samples):.0f} MB; the rest its parse workers)")
    tenths = [samples[min(len(samples) - 1, len(samples) * q // 10)] for q in range(1, 11)]
    print("RSS over the crawl (crawl process / tree): "
          + ", ".join(f"{t:.0f} s {alone:.0f}/{tree:.0f} MB" for t, alone, tree in tenths))

    print(f"second crawl, from the stored columns: {again['seconds']:.0f} s, {requests_again / args.portals:.1f} "
          f"requests per portal, {searched_again} discovery requests (the {args.portals - expected} portals "
          f"without a column searched again)")

    polite = NationalWeb(args.polite_sample, seed=7).start()
    with tempfile.TemporaryDirectory() as folder:
        sample = crawl(polite, Path(folder))
    polite_requests = sum(polite.requests.values()) / args.polite_sample
    polite.stop()
    rate = args.polite_sample / sample["seconds"]
    print(f"polite sample: {args.polite_sample} portals in {sample['seconds']:.0f} s at the default settings "
          f"(AutoThrottle on, DOWNLOAD_DELAY={settings.getfloat('DOWNLOAD_DELAY')}, "
          f"{settings.getint('CONCURRENT_REQUESTS_PER_DOMAIN')} per host, "
          f"{settings.getint('CONCURRENT_REQUESTS')} in all): {60 * rate:.1f} portals/min, "
          f"{polite_requests:.1f} requests per portal")
    print(f"  at that rate, {REGISTRY_PORTALS} portals: {REGISTRY_PORTALS / rate / 3600:.1f} h "
          f"(loopback: no network latency)")
    # with real latency: AutoThrottle keeps about one request in flight per host, one
    # every max(latency, DOWNLOAD_DELAY) s; CONCURRENT_REQUESTS requests are in flight
    # across hosts at once
    interval = max(args.latency, settings.getfloat("DOWNLOAD_DELAY"))
    concurrent = settings.getint("CONCURRENT_REQUESTS")
    hours = REGISTRY_PORTALS * polite_requests * interval / concurrent / 3600
    print(f"  with {args.latency:g} s per answer: {REGISTRY_PORTALS} portals × {polite_requests:.1f} requests × "
          f"{interval:g} s / {concurrent} in flight = {hours:.1f} h (target: under 24 h)")


if __name__ == "__main__":
    main()
