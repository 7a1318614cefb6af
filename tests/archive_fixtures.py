"""Helpers for the archive tests: a real Datasette (`nianbao serve`) on 127.0.0.1 and
headless Chromium."""
import json
import os
import re
import shutil
import struct
import subprocess
import time
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import pytest

from conftest import BIN, free_port

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=10000"]


def reports_containing(conn, term: str) -> set[int]:
    """Reports whose title or text holds `term`, ignoring whitespace as the search index
    does between Chinese characters (a PDF wraps lines mid-word): the oracle for search."""
    return {report_id for report_id, title, body in conn.execute(
        "select r.id, r.title, t.body from reports r left join report_texts t on t.report_id = r.id")
        if any(term in re.sub(r"\s+", "", text or "") for text in (title, body))}


def start_datasette(db: Path, wait: float = 30):
    """Start `nianbao serve` on a free port, waiting up to `wait` seconds for it to answer
    (a large archive takes a while); return (process, base URL of the instance)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return start_server([str(BIN / "nianbao"), "serve", str(db), "--port", str(port)], base, wait), base


def start_server(command: list[str], base: str, wait: float = 30) -> subprocess.Popen:
    """Start a Datasette `command` line and wait up to `wait` seconds for it to answer at `base`."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(int(wait * 10)):
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=1)
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("datasette did not start: " + process.stdout.read())


def stop(process) -> None:
    process.terminate()
    process.wait(timeout=10)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def get_json(url: str):
    return json.loads(get(url))


def quote(text: str) -> str:
    return urllib.parse.quote(text)


def chromium() -> str:
    """The chromium binary; skip when absent, except in CI (CI=true) where it must be there."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is required in CI (apt-get install chromium)")
    pytest.skip("chromium is not installed")


def screenshot(url: str, out: Path, profile: Path, size=(1280, 2000)) -> None:
    subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={out}",
                    f"--window-size={size[0]},{size[1]}", url],
                   check=True, capture_output=True, timeout=120)


def dump_dom(url: str, profile: Path) -> str:
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                          check=True, capture_output=True, text=True, timeout=120).stdout


def png_info(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the decompressed image data)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    return width, height, len(set(zlib.decompress(b"".join(chunks))))
