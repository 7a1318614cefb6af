"""Seconds and peak RSS of parse() on each hostile file of tests/hostile_files.py, each
parsed in its own child process (target: under 10 s and 500 MB each).

Run `.venv/bin/python benchmarks/hostile.py [KEY …]`. The children run without a memory
limit (`--limit-mb N` sets RLIMIT_AS), so that the figures are what the parser really takes.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hostile_files import HOSTILE, parse_in_child  # noqa: E402

TARGET_SECONDS, TARGET_MB = 10, 500


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("keys", nargs="*", help="hostile files to run (default: all)")
    options.add_argument("--limit-mb", type=int, default=0, help="RLIMIT_AS of each child in MB (default: none)")
    options.add_argument("--timeout", type=float, default=120)
    arguments = options.parse_args()
    keys = arguments.keys or list(HOSTILE)
    print(f"{'file':24} {'bytes':>11} {'seconds':>8} {'peak MB':>8}  outcome")
    over = 0
    with tempfile.TemporaryDirectory() as folder:
        for key in keys:
            name, generate = HOSTILE[key]
            path = Path(folder) / name
            path.write_bytes(generate())
            start = time.perf_counter()
            result = parse_in_child(path, name, memory=arguments.limit_mb << 20 or None, timeout=arguments.timeout)
            if "crashed" in result:
                seconds, peak, outcome = time.perf_counter() - start, float("nan"), f"CRASHED {result['crashed']}"
            else:
                seconds, peak = result["seconds"], result["peak_rss_mb"]
                outcome = (f"error: {result['error']}" if result["error"]
                           else f"ok, {result['body_length']} characters" + (f"; note: {result['notes'][0]}"
                                                                              if result["notes"] else ""))
            slow = "crashed" in result or seconds > TARGET_SECONDS or peak > TARGET_MB
            over += slow
            print(f"{key:24} {path.stat().st_size:>11} {seconds:>8.2f} {peak:>8.0f}  {'OVER TARGET ' if slow else ''}"
                  f"{outcome[:110]}", flush=True)
            path.unlink()
    print(f"{len(keys) - over} of {len(keys)} within {TARGET_SECONDS} s and {TARGET_MB} MB")


if __name__ == "__main__":
    main()
