"""How fast `nianbao ingest`, the one writer of a distributed crawl, writes the archive.

    .venv/bin/python benchmarks/ingest.py [--copies 40] [--batch 200]

One real worker (`scrapy crawl portals -s NIANBAO_REDIS_URL=…`) crawls the sample portals
into a real redis-server; its report events are then published again `--copies` times,
each copy under other URLs (the same parses and WARC records), and the ingest writes the
whole stream into a fresh archive. Prints entries/s and reports/s in wall and CPU time,
with the load average (the machine is shared), and the archive's size.
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
from conftest import crawl_command, start_redis  # noqa: E402

import redis  # noqa: E402

from archive import stream  # noqa: E402
from archive.db import open_archive  # noqa: E402
from archive.ingest import ingest, open_ingest  # noqa: E402
from nianbao.sample_portals.server import base_url, start_server, write_registry  # noqa: E402

BIN = Path(sys.executable).parent
PREFIX = "nianbao"


def worker_events(folder: Path, url: str) -> list[dict]:
    """The events of one real worker's crawl of the sample portals."""
    server = start_server()
    registry = folder / "registry.csv"
    write_registry(registry, base_url(server))
    subprocess.run([str(BIN / "nianbao"), "crawl-seed", "--redis", url, "--registry", str(registry), "--run", "bench"],
                   check=True, capture_output=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    crawl = crawl_command(registry, folder / "unused.db", "-s", f"NIANBAO_REDIS_URL={url}",
                          "-s", f"NIANBAO_WARC_DIR={folder / 'warc'}")
    result = subprocess.run(**crawl, capture_output=True, timeout=600)
    server.shutdown()
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    client = redis.Redis.from_url(url)
    events = [stream.decode(fields) for _, fields in client.xrange(stream.stream_key(PREFIX))]
    client.delete(stream.stream_key(PREFIX))
    return events


def copied(event: dict, serial: int) -> dict:
    """A report event under other URLs."""
    event = copy.deepcopy(event)
    for document in event["documents"]:
        document["url"] += f"#copy{serial}"
        document["report_url"] += f"#copy{serial}"
    return event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        redis_server, url = start_redis(folder)
        try:
            events = worker_events(folder, url)
            reports = [event for event in events if event["kind"] == "report"]
            items = [event for event in events if event["kind"] not in ("portal_done", "run_end")]
            control = [event for event in events if event["kind"] in ("portal_done", "run_end")]
            stream_events = [*items, *(copied(event, serial) for serial in range(1, args.copies)
                                       for event in reports), *control]
            client = redis.Redis.from_url(url)
            for event in stream_events:
                stream.publish(client, PREFIX, event["kind"], {k: v for k, v in event.items() if k != "kind"})
            documents = sum(len(event["documents"]) for event in reports) * args.copies
            db = open_archive(folder / "archive.db")
            open_ingest(db, str(folder / "warc"))
            load = os.getloadavg()[0]
            started, cpu = time.monotonic(), time.process_time()
            ended = ingest(db, client, PREFIX, batch=args.batch, drain=0, progress=False)
            wall, cpu = time.monotonic() - started, time.process_time() - cpu
            written = db.execute("select count(*) from reports").fetchone()[0]
            db.close()
        finally:
            redis_server.terminate()
            redis_server.wait(timeout=10)
        size = (folder / "archive.db").stat().st_size
    print(f"ingest: {len(stream_events)} stream entries, {len(reports) * args.copies} reports "
          f"({documents} documents), batch {args.batch}: run {ended[0][1]}, {written} reports archived")
    print(f"  wall {wall:.1f} s: {len(stream_events) / wall:.0f} entries/s, {written / wall:.0f} reports/s, "
          f"{documents / wall:.0f} documents/s")
    print(f"  CPU {cpu:.1f} s: {written / cpu:.0f} reports/s of CPU (load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; 2 cores shared)")
    print(f"  archive {size / 1e6:.1f} MB (raw bytes in the workers' WARC files)")


if __name__ == "__main__":
    main()
