"""Shared fixtures: the shared corpus (optional), the sample portals served on
127.0.0.1, and one real crawl of them into a real SQLite archive."""
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nianbao.sample_portals.server import base_url, manifests, start_server, write_registry
from archive.db import connect as connect_archive

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared, or skip: the project must work without it."""
    if not (SHARED / "gold").is_dir():
        pytest.skip("../shared is absent")
    return SHARED


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(handler) -> ThreadingHTTPServer:
    """Serve `handler` on a free port of 127.0.0.1 in a background thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def serve_folder(folder: Path) -> ThreadingHTTPServer:
    """Serve the files of `folder` on a free port of 127.0.0.1."""
    return serve(partial(QuietFiles, directory=str(folder)))


def one_portal_registry(folder: Path, homepage: str, column: str = "", extra: str = "") -> Path:
    """A registry of one county portal; `extra` is a further column, e.g. robots_override."""
    path = folder / "registry.csv"
    header = "id,name,level,province,homepage,column_urls" + (",robots_override" if extra else "")
    row = f"p,样例县,county,福建省,{homepage},{column}" + (f",{extra}" if extra else "")
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    return path


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """A real redis-server on a free port of 127.0.0.1, its files in `folder`; skips
    (saying why) where Debian's redis-server is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                                "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("redis-server exited at start")
            threading.Event().wait(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_url(tmp_path):
    """The URL of a fresh real redis-server for one test, stopped after it."""
    process, url = start_redis(tmp_path)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def sample_portals():
    server = start_server()
    yield base_url(server)
    server.shutdown()


def crawl_command(registry: Path, db: Path, *extra: str) -> dict:
    """subprocess arguments running the real `scrapy crawl portals` from the repo root,
    unthrottled."""
    return dict(
        args=[str(BIN / "scrapy"), "crawl", "portals", "-a", f"registry={registry}", "-s", f"NIANBAO_DB={db}",
              "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=INFO",
              "-s", "NIANBAO_ALLOW_LOOPBACK=True", *extra],
        cwd=REPO, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def run_crawl(registry: Path, db: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `scrapy crawl portals`; a crawl outlasting `timeout` seconds fails the test."""
    return subprocess.run(**crawl_command(registry, db, *extra), capture_output=True, timeout=timeout)


def crawl_sample_portals(folder: Path) -> Path:
    """A real crawl of the bundled sample portals into folder/crawl.db (the benchmarks'
    starting archive); stops the program with the crawl's log if the crawl fails."""
    server = start_server()
    registry, db = folder / "registry.csv", folder / "crawl.db"
    write_registry(registry, base_url(server))
    result = run_crawl(registry, db)
    server.shutdown()
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return db


@pytest.fixture(scope="session")
def crawled(sample_portals, tmp_path_factory):
    """One crawl of every sample portal plus one unreachable portal."""
    folder = tmp_path_factory.mktemp("crawl")
    registry = folder / "registry.csv"
    write_registry(registry, sample_portals)
    unreachable = f"http://127.0.0.1:{free_port()}"
    with registry.open("a", encoding="utf-8") as handle:
        handle.write(f"down,不可达的门户,county,福建省,,{unreachable}/,{unreachable}/xxgk/nb/,generic,,closed port\n")
    db = folder / "archive.db"
    result = run_crawl(registry, db)
    assert result.returncode == 0, result.stderr[-3000:]
    connection = connect_archive(db)
    connection.row_factory = sqlite3.Row
    yield {"db": db, "conn": connection, "base": sample_portals, "log": result.stderr,
           "manifests": manifests(), "unreachable": unreachable}
    connection.close()
