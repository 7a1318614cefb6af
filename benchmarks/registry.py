"""The national registry's costs: `nianbao registry import` of the official site database
(when ../shared is present), then loading the bundled registry and the spider's filters
on it (`select_portals` by level and province, by ids), best of five each.

Run `.venv/bin/python benchmarks/registry.py`.
"""
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.registry import load_registry, select_portals  # noqa: E402
from crawler.registry.national import build_registry  # noqa: E402

SOURCES = ROOT.parent / "shared" / "registry-sources"


def best(function, runs: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f}")
    if SOURCES.is_dir():
        sites = sorted((SOURCES / "zfwz-jbxx-2023-03-09").glob("*.csv"))
        seconds, result = best(lambda: build_registry(sites, SOURCES / "central-organs-2023/national_websites.xlsx"), 3)
        print(f"import: {len(result.portals)} portals in {seconds:.2f} s "
              f"(by code {result.counts['match code']}, by name {result.counts['match name']}, "
              f"enclosing area {result.counts['match parent']}, unplaced {result.counts['match none']})")
    else:
        print("import: ../shared absent, not timed")
    seconds, portals = best(load_registry)
    print(f"load_registry: {len(portals)} portals in {seconds * 1000:.0f} ms")
    seconds, chosen = best(lambda: select_portals(portals, level="county", province="福建省,广东省"))
    print(f"select_portals(level=county, province=福建省,广东省): {len(chosen)} in {seconds * 1000:.1f} ms")
    ids = ",".join(portal["id"] for portal in portals[::100])
    seconds, chosen = best(lambda: select_portals(portals, ids=ids))
    print(f"select_portals(ids=…{len(chosen)} ids): {len(chosen)} in {seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
