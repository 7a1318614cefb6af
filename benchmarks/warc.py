"""The archive database's size with raw responses in `blobs` and in WARC files.

    .venv/bin/python benchmarks/warc.py

Crawls every sample portal twice (the same server, the same registry): once into a blob
archive, once with NIANBAO_WARC_DIR; then migrates a copy of the blob archive
(`nianbao migrate`). Prints the database file sizes, the WARC files' size, the crawl
times and how fast load_blob reads from each store.
"""
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nianbao.sample_portals.server import base_url, start_server, write_registry  # noqa: E402

BIN = Path(sys.executable).parent


def crawl(registry: Path, db: Path, *extra: str) -> float:
    started = time.monotonic()
    subprocess.run([str(BIN / "scrapy"), "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={db}",
                    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING",
                    "-s", "NIANBAO_ALLOW_LOOPBACK=True", *extra], cwd=REPO, check=True, capture_output=True)
    return time.monotonic() - started


def size(path: Path) -> int:
    """A database's size once its WAL is checkpointed and free pages dropped."""
    with sqlite3.connect(path) as conn:
        conn.execute("pragma wal_checkpoint(truncate)")
        conn.execute("vacuum")
    return path.stat().st_size


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.warc.gz"))


def main() -> None:
    server = start_server()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        registry = folder / "registry.csv"
        write_registry(registry, base_url(server))
        blob_time = crawl(registry, folder / "blobs.db")
        warc_time = crawl(registry, folder / "warc.db", "-s", f"NIANBAO_WARC_DIR={folder / 'warc'}")
        with sqlite3.connect(folder / "blobs.db") as conn:
            documents, stored, raw = conn.execute(
                "select (select count(*) from documents), sum(length(content)), sum(size) from blobs").fetchone()
            with sqlite3.connect(folder / "migrated.db") as copy:
                conn.backup(copy)
        subprocess.run([str(BIN / "nianbao"), "migrate", str(folder / "migrated.db"), "--warc-dir",
                        str(folder / "migrated-warc")], check=True, capture_output=True)
        print(f"sample crawl: {documents} documents, {raw / 1e6:.2f} MB raw, {stored / 1e6:.2f} MB in blobs (zlib)")
        print(f"database with blobs:     {size(folder / 'blobs.db') / 1e6:6.2f} MB  (crawl {blob_time:.1f} s)")
        print(f"database with WARC:      {size(folder / 'warc.db') / 1e6:6.2f} MB  + WARC files "
              f"{folder_size(folder / 'warc') / 1e6:.2f} MB  (crawl {warc_time:.1f} s)")
        print(f"blob archive migrated:   {size(folder / 'migrated.db') / 1e6:6.2f} MB  + WARC files "
              f"{folder_size(folder / 'migrated-warc') / 1e6:.2f} MB")
        for name in ("blobs", "warc"):
            print(f"load_blob from {name + ':':6} {read_rate(folder / f'{name}.db'):7.0f} documents/s")
    server.shutdown()


def read_rate(path: Path, rounds: int = 20) -> float:
    """Documents read through archive.store.load_blob per second (every document, `rounds` times)."""
    from archive.db import open_archive
    from archive.store import load_blob

    db = open_archive(path)
    shas = [sha256 for (sha256,) in db.execute("select sha256 from documents")]
    started = time.monotonic()
    for _ in range(rounds):
        for sha256 in shas:
            load_blob(db, sha256)
    rate = rounds * len(shas) / (time.monotonic() - started)
    db.close()
    return rate


if __name__ == "__main__":
    main()
