"""A server that fails twice with 503 before it answers: the crawl retries after a
pause that doubles, and archives the report."""
import time
from http.server import BaseHTTPRequestHandler

import pytest

from conftest import one_portal_registry, run_crawl, serve
from nianbao.sample_portals.server import SAMPLE_PORTALS
from archive.db import connect as connect_archive

REPORT = SAMPLE_PORTALS / "pingtan/site/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm"
LISTING = ('<html><body><ul><li><a href="/nb/report.htm">平潭综合实验区2024年度政府信息公开工作年度报告</a>'
           '<span>2025-03-10</span></li></ul></body></html>')


@pytest.fixture
def flaky_portal():
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append((self.path, time.monotonic()))
            if self.path == "/nb/report.htm" and sum(path == self.path for path, _ in hits) <= 2:
                self.send_response(503)
                self.end_headers()
                return
            body = REPORT.read_bytes() if self.path == "/nb/report.htm" else LISTING.encode()
            self.send_response(200 if self.path in ("/nb/", "/nb/report.htm") else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = serve(Handler)
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_retries_back_off_and_succeed(tmp_path, flaky_portal):
    base, hits = flaky_portal
    db = tmp_path / "archive.db"
    result = run_crawl(one_portal_registry(tmp_path, f"{base}/", f"{base}/nb/"), db, "-s", "RETRY_BACKOFF_BASE=0.3", "-s", "ROBOTSTXT_OBEY=False")
    assert result.returncode == 0, result.stderr[-2000:]
    times = [moment for path, moment in hits if path == "/nb/report.htm"]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.3 and times[2] - times[1] >= 0.6
    assert connect_archive(db).execute("select year, format from reports").fetchall() == [(2024, "2021")]
