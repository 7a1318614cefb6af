"""Serve the bundled sample portals on 127.0.0.1, each under /<portal id>/.

The portals are replicas of real government portals' 年报 columns built from real
report texts; `manifest.json` in each states what a crawl must find there.

Besides static files, each portal may have three small data files (paths relative to
the portal root, without the /<portal> prefix):

- `redirects.json` {path: target}: answered with a 301 to /<portal><target>;
- `delays.json` {path: seconds}: the answer waits that long (at most 2 s);
- `routes.json` [{method, path, query, form, file, content_type}]: dynamic addresses
  (a query string, a POST form) answered with a prebuilt file of the site when the
  request has every listed query and form field with those values, else 404. In a
  routed file, `{{origin}}` stands for http://<host>/<portal>.
"""
import csv
import json
import threading
import time
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


def _data(portal: str, name: str):
    path = SAMPLE_PORTALS / portal / name
    if not portal or not path.is_file() or not (SAMPLE_PORTALS / portal / "manifest.json").is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


class SamplePortalHandler(SimpleHTTPRequestHandler):
    """Static files: /<portal>/<path> is <portal>/site/<path>; the portal's redirects,
    delays and routes first; quiet on stderr. HTTP/1.1 with persistent connections, as
    real portals' servers answer (every answer states its length)."""

    protocol_version = "HTTP/1.1"

    def _split(self) -> tuple[str, str, dict]:
        parts = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parts.path)
        portal, _, rest = path.lstrip("/").partition("/")
        return portal, "/" + rest, dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))

    def _special(self, method: str) -> bool:
        """Answer a redirect or a route; True if answered. Delays apply first."""
        portal, path, query = self._split()
        form = {}
        if method == "POST":  # read it whatever the answer, or the connection's next request is garbled
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
        delay = (_data(portal, "delays.json") or {}).get(path)
        if delay:
            time.sleep(min(float(delay), 2.0))
        target = (_data(portal, "redirects.json") or {}).get(path)
        if target:
            self.send_response(301)
            self.send_header("Location", f"/{portal}{target}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        routes = [route for route in _data(portal, "routes.json") or []
                  if route["path"] == path and route.get("method", "GET") == method]
        if not routes:
            return False
        for route in routes:
            if all(query.get(k) == str(v) for k, v in route.get("query", {}).items()) and \
                    all(form.get(k) == str(v) for k, v in route.get("form", {}).items()):
                body = (SAMPLE_PORTALS / portal / "site" / route["file"]).read_bytes()
                body = body.replace(b"{{origin}}", f"http://{self.headers.get('Host', '')}/{portal}".encode())
                self.send_response(200)
                self.send_header("Content-Type", route.get("content_type", "text/html"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)
                return True
        self.send_error(404, "no such record")
        return True

    def do_GET(self):
        if not self._special("GET"):
            super().do_GET()

    def do_HEAD(self):
        if not self._special("HEAD"):
            super().do_HEAD()

    def do_POST(self):
        if not self._special("POST"):
            self.send_error(405, "POST only on routed addresses")

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
