"""Kill and resume: crawls and reparses SIGKILLed at random moments, each series ending
with the archive of an uninterrupted crawl or not.

    .venv/bin/python benchmarks/resume.py [--series 5] [--crawl-kills 2] [--reparse-kills 1] [--seed N]

The sample portals are crawled once without interruption (slowed as the killed crawls
are, so that a kill lands mid-crawl), which gives the reference archive and the span of
the kill moments; a reparse of a copy of it gives the reparse span. Then each series
(seed = --seed + its number) kills the crawl at moments drawn in that span, resumes it
with the same JOBDIR until it ends, kills `nianbao reparse` likewise and runs it to the
end, and compares the archive with the reference (tests/resume_series.py).
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from nianbao.sample_portals.server import base_url, start_server, write_registry  # noqa: E402
from resume_series import (SLOW, crawl_command, describe, differences, kill_series,  # noqa: E402
                           reparse_command, snapshot)


def timed(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=5)
    parser.add_argument("--crawl-kills", type=int, default=2)
    parser.add_argument("--reparse-kills", type=int, default=1)
    parser.add_argument("--seed", type=int, default=random.randrange(10**6))
    args = parser.parse_args()
    server = start_server()
    failed = 0
    try:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            registry = folder / "registry.csv"
            write_registry(registry, base_url(server))
            reference_db = folder / "reference.db"
            crawl_span = timed(crawl_command(registry, reference_db, *SLOW))
            reference = snapshot(reference_db)
            shutil.copy(reference_db, folder / "reparsed.db")
            reparse_span = timed(reparse_command(folder / "reparsed.db"))
            print(f"uninterrupted: {len(reference['reports'])} reports, {len(reference['documents'])} documents, "
                  f"{len(reference['cells'])} cells; slowed crawl {crawl_span:.1f} s, reparse {reparse_span:.1f} s")
            print(f"kill moments: crawl 0-{crawl_span:.1f} s, reparse 0-{reparse_span:.1f} s after the process "
                  f"started; base seed {args.seed}")
            for number in range(args.series):
                work = folder / f"series{number}"
                work.mkdir()
                started = time.monotonic()
                series = kill_series(registry, work, args.seed + number, (0.0, crawl_span), args.crawl_kills,
                                     (0.0, reparse_span), args.reparse_kills)
                missing = differences(series["snapshot"], reference)
                ok = not missing and series["crawl_exit"] == 0 and series["reparse_exit"] == 0 \
                    and [row[1] for row in series["runs"]] == ["finished"]
                failed += not ok
                run = series["runs"][0] if series["runs"] else ("-", "-", "", 0)
                print(f"series {number}: {describe(series)}")
                print(f"  -> {'EQUAL to the uninterrupted crawl' if not missing else 'DIFFERS: ' + str(missing)}; "
                      f"resumed crawl exit {series['crawl_exit']}, run {run[1]} after {run[3]} processes, "
                      f"reparse exit {series['reparse_exit']} ({time.monotonic() - started:.0f} s)")
    finally:
        server.shutdown()
    kills = args.series * (args.crawl_kills + args.reparse_kills)
    print(f"{args.series - failed} of {args.series} series ({kills} kills) ended equal to an uninterrupted crawl")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
