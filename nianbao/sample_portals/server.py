"""Serve the bundled sample portals on 127.0.0.1, each under /<portal id>/.

The portals are replicas of real government portals' 年报 columns built from real
report texts; `manifest.json` in each states what a crawl must find there.
"""
import csv
import json
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLE_PORTALS = Path(__file__).parent
REGISTRY_COLUMNS = ["id", "name", "level", "province", "division_code", "homepage",
                    "column_urls", "cms", "evidence", "notes"]


def manifests() -> list[dict]:
    """Every sample portal's manifest, with `id` and `site` (its document root) added."""
    found = []
    for path in sorted(SAMPLE_PORTALS.glob("*/manifest.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["id"] = path.parent.name
        manifest["site"] = path.parent / "site"
        found.append(manifest)
    return found


class SamplePortalHandler(SimpleHTTPRequestHandler):
    """Static files: /<portal>/<path> is <portal>/site/<path>; quiet on stderr."""

    def translate_path(self, path: str) -> str:
        path = urllib.parse.unquote(path.split("?", 1)[0].split("#", 1)[0])
        parts = [part for part in path.split("/") if part not in ("", ".", "..")]
        if not parts:
            return str(SAMPLE_PORTALS / "index.html")
        if parts == ["robots.txt"]:
            return str(SAMPLE_PORTALS / "robots.txt")
        return str(SAMPLE_PORTALS.joinpath(parts[0], "site", *parts[1:]))

    def log_message(self, format, *args):
        pass


def start_server(host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Start serving in a background thread; port 0 picks a free port."""
    handler = partial(SamplePortalHandler, directory=str(SAMPLE_PORTALS))
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def base_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def write_registry(path: str | Path, base: str) -> list[dict]:
    """Write a portal registry pointing at the sample portals served at `base`."""
    rows = []
    for manifest in manifests():
        root = f"{base}/{manifest['id']}"
        rows.append({
            "id": f"sample-{manifest['id']}", "name": manifest["name"], "level": manifest["level"],
            "province": manifest["province"], "division_code": manifest.get("division_code", ""),
            "homepage": root + "/", "column_urls": root + manifest["column"], "cms": manifest["cms"],
            "evidence": manifest.get("source", ""), "notes": "bundled sample portal (offline replica)",
        })
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REGISTRY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows
