"""A crawl of the fault portal beside the sample portals: every injected fault must leave
a record, and nothing else may be lost, doubled or fetched from this machine.

    .venv/bin/python benchmarks/faults.py [--timeout 3]

Prints `faults injected`, `faults recorded`, `reports lost`, `duplicates`, `local or
private fetches`, the peak RSS of the crawl's process tree (the crawl and its parse
workers, sampled every 0.1 s) and the wall time; then one line per fault case. Exits 1
when a fault went unrecorded or anything was lost, doubled or fetched locally.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nianbao.sample_portals.faults import FaultPortal, assess  # noqa: E402
from nianbao.sample_portals.server import base_url, manifests, start_server, write_registry  # noqa: E402

SCRAPY = str(Path(sys.executable).with_name("scrapy"))


def tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack += children.get(current, [])
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total


def crawl(registry: Path, db: Path, timeout: float) -> tuple[int, float, int, str]:
    """Run the real crawl; (exit code, seconds, peak tree RSS in KiB, log)."""
    log = db.with_suffix(".log")
    started, peak = time.monotonic(), 0
    with log.open("w") as handle:
        process = subprocess.Popen(
            [SCRAPY, "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={db}",
             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "NIANBAO_ALLOW_LOOPBACK=True",
             "-s", f"DOWNLOAD_TIMEOUT={timeout}", "-s", "RETRY_BACKOFF_BASE=0.2", "-s", "LOG_LEVEL=INFO"],
            cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(REPO)})
        while process.poll() is None:
            peak = max(peak, tree_rss_kb(process.pid))
            time.sleep(0.1)
    return process.returncode, time.monotonic() - started, peak, log.read_text(errors="replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=3.0, help="DOWNLOAD_TIMEOUT for the crawl (seconds)")
    args = parser.parse_args()
    samples, faults = start_server(), FaultPortal()
    try:
        with tempfile.TemporaryDirectory() as folder:
            registry, db = Path(folder, "registry.csv"), Path(folder, "faults.db")
            write_registry(registry, base_url(samples))
            faults.append_registry(registry)
            code, seconds, peak_kb, log = crawl(registry, db, args.timeout)
            result = assess(db, faults, manifests(), base_url(samples))
    finally:
        faults.stop()
        samples.shutdown()
    figures = result["figures"]
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(f"peak RSS: {peak_kb / 1024:.0f} MB (crawl process tree)")
    print(f"wall time: {seconds:.1f} s")
    print(f"crawl exit code: {code}")
    for case in result["cases"]:
        print(f"  {'ok  ' if case['recorded'] else 'MISS'} {case['fault']:<20} stages: {','.join(case['stages']) or '-'}")
    for url in result["lost"]:
        print(f"  lost: {url}")
    for url in result["unexpected"]:
        print(f"  unexpected report: {url}")
    bad = (figures["faults recorded"] < figures["faults injected"] or figures["reports lost"]
           or figures["duplicates"] or figures["local or private fetches"])
    if bad:
        print(log[-3000:], file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
