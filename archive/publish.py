"""Publish an archive with Datasette, read-only, with our metadata, the archive's plugin
(Chinese search, archived copies, report pages, limits) and templates.

The archive is served live, not `--immutable`: Datasette opens it read-only
(`mode=ro`), and since the archive is in WAL mode each query reads one consistent
committed state while a crawl goes on writing it. Immutable would be wrong there: SQLite
then takes no locks and ignores the WAL, so a growing archive reads as stale, moving or
"malformed", and Datasette caches table counts from startup."""
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from archive.db import ArchiveError

METADATA = Path(__file__).with_name("metadata.json")
PLUGINS = Path(__file__).with_name("plugins")
TEMPLATES = Path(__file__).with_name("templates")
SQL_TIME_LIMIT_MS = 3000
SETTINGS = {
    "sql_time_limit_ms": SQL_TIME_LIMIT_MS,
    "facet_time_limit_ms": 1000,
    # SQLite page cache per connection (default 2 MB): the `reports` rows a search's count
    # and facets read (~45 MB at 100,000 reports) stay in memory between queries
    "cache_size_kb": 100_000,
    "suggest_facets": "off",  # suggestions cost a query per column on every page of a large archive
    "default_page_size": 50,
    "max_returned_rows": 1000,  # rows of one query, and of one page of a streamed CSV
    "allow_csv_stream": "on",
    "max_csv_mb": 100,  # a streamed CSV stops there, its last line saying so (~1 MB/s: pages of 1,000 rows)
}


def check_archive(path: str | Path) -> None:
    """Refuse, with a clear message, anything that is not a nianbao archive."""
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"no archive at {path} (run `scrapy crawl portals -s NIANBAO_DB={path}` first)")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise ArchiveError(f"{path} is not a usable SQLite database: {error}") from error
    if "reports" not in tables:
        raise ArchiveError(f"{path} is a SQLite database but not a nianbao archive (no `reports` table)")


def metadata_for(path: str | Path) -> dict:
    """Our metadata, keyed by the database name Datasette gives `path` (its file stem)."""
    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    name = Path(path).stem
    metadata["databases"] = {name: metadata["databases"]["nianbao"]}
    for dashboard in metadata["plugins"]["datasette-dashboards"].values():
        for chart in dashboard["charts"].values():
            chart["db"] = name
    return metadata


def datasette_command(path: str | Path, host: str, port: int, metadata_path: str | Path) -> list[str]:
    command = [
        sys.executable, "-m", "datasette", "serve", str(path),
        "--metadata", str(metadata_path), "--host", host, "--port", str(port),
        "--plugins-dir", str(PLUGINS), "--template-dir", str(TEMPLATES),
    ]
    for name, value in SETTINGS.items():
        command += ["--setting", name, str(value)]
    return command


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8001) -> int:
    """Run Datasette in the foreground until interrupted."""
    check_archive(path)
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as metadata:
        json.dump(metadata_for(path), metadata, ensure_ascii=False)
        metadata.flush()
        print(f"Serving {path} at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
        process = subprocess.Popen(datasette_command(path, host, port, metadata.name))
        # stopping `nianbao serve` stops Datasette (it would otherwise run on, orphaned)
        signal.signal(signal.SIGTERM, lambda signum, frame: process.terminate())
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait()
            return 0
