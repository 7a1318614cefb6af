"""The fault portal: a 年报 column on 127.0.0.1 whose every item meets one fault of the
real web (resets, stalls, 429, 5xx, redirect loops, endless pagination, local-file,
data: and 0.0.0.0 links, a zip bomb, a span bomb, deep nesting, a lying charset).

The cases are data (`faults.json`: each item's path, its fault and what a crawl must
leave of it); this module only answers them. The report pages are a real report (the
平潭 2024 page of the sample portals), so the recoverable cases have figures to check.
A decoy server on another port counts what reaches it: a link to 0.0.0.0 connects to
this machine's own servers, so any hit there is a local fetch the crawl should have
refused. A canary file stands behind the file: links: its content must never reach
the archive.
"""
import csv
import io
import json
import socket
import struct
import tempfile
import threading
import uuid
import zipfile
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from nianbao.sample_portals.server import REGISTRY_COLUMNS, SAMPLE_PORTALS

FAULTS = json.loads((SAMPLE_PORTALS / "faults.json").read_text(encoding="utf-8"))
REPORT_PAGE = SAMPLE_PORTALS / "pingtan/site/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm"
REPORT_PDF = SAMPLE_PORTALS / "seeds/site/xxgk/ndbg/202004/P020200401365254718920.pdf"
REPORT_TITLE = "平潭综合实验区2024年度政府信息公开工作年度报告"
REPORT_DATE = "2025-03-10"
PAGING_REPORT = "/paging/report.htm"
ANNOUNCED_PAGES = 10_000_000
STALL_SECONDS = 30


class Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # resets and stalls end in socket errors by design


class FaultPortal:
    """The fault portal and its decoy, serving until stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.canary_value = f"nianbao-canary-{uuid.uuid4()}"
        self.canary = Path(tempfile.mkstemp(prefix="nianbao-canary-", suffix=".txt")[1])
        self.canary.write_text(self.canary_value, encoding="utf-8")
        self.decoy_hits: list[str] = []
        self.hits: dict[str, int] = {}
        self.stopping = threading.Event()
        self.decoy = Quiet((host, 0), self._decoy_handler())
        self.server = Quiet((host, port), self._handler())
        for server in (self.decoy, self.server):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.base = f"http://{host}:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.stopping.set()
        for server in (self.server, self.decoy):
            server.shutdown()
            server.server_close()
        self.canary.unlink(missing_ok=True)

    def fill(self, text: str) -> str:
        return text.replace("{canary}", str(self.canary).lstrip("/")).replace(
            "{decoy_port}", str(self.decoy.server_address[1])).replace("{long}", "x" * 3000)

    def cases(self) -> list[dict]:
        """faults.json's cases with their addresses filled in (absolute URLs)."""
        out = []
        for case in FAULTS["faults"]:
            case = {**case, "url": self.url(case["path"])}
            if case.get("attachment"):
                case["attachment_url"] = self.url(case["attachment"])
            if case["expect"].get("failure_url"):
                case["expect"] = {**case["expect"], "failure_url": self.url(case["expect"]["failure_url"])}
            out.append(case)
        return out

    def url(self, path: str) -> str:
        path = self.fill(path)
        return path if ":" in path.split("/", 1)[0] else self.base + path

    def expected_reports(self) -> list[str]:
        """Report URLs a crawl must archive despite the faults."""
        return [case["url"] for case in self.cases() if case["expect"].get("report")] + [self.url(PAGING_REPORT)]

    def registry_rows(self) -> list[dict]:
        common = {"level": "county", "province": "福建省", "division_code": "", "cms": "",
                  "evidence": "nianbao/sample_portals/faults.json", "notes": "fault-injecting sample portal"}
        return [
            {**common, "id": "faults", "name": "故障样例门户", "homepage": self.base + "/",
             "column_urls": self.base + FAULTS["column"], "cms": "generic"},
            {**common, "id": "faults-paging", "name": "故障样例门户（无尽分页）", "homepage": self.base + "/paging/",
             "column_urls": self.base + FAULTS["paging_column"], "cms": "trs"},
        ]

    def append_registry(self, path: str | Path) -> None:
        with open(path, "a", encoding="utf-8", newline="") as handle:
            csv.DictWriter(handle, fieldnames=REGISTRY_COLUMNS).writerows(self.registry_rows())

    # --- what the portal answers -------------------------------------------------------

    @cached_property
    def page(self) -> bytes:
        return REPORT_PAGE.read_bytes()

    def listing(self) -> bytes:
        rows = "".join(f'<li><a href="{self.fill(case["path"])}">故障{n:02d}：{REPORT_TITLE}</a>'
                       f"<span>{REPORT_DATE}</span></li>"
                       for n, case in enumerate(FAULTS["faults"]) if case.get("column") != "paging")
        return (f'<html><head><meta charset="utf-8"><title>政府信息公开年报</title></head><body>'
                f'<ul class="list">{rows}</ul></body></html>').encode()

    def paging(self, number: int) -> bytes:
        item = (f'<li><a href="{PAGING_REPORT}">分页{REPORT_TITLE}</a><span>{REPORT_DATE}</span></li>'
                if number == 0 else "")
        return (f'<html><head><meta charset="utf-8"></head><body><ul>{item}</ul><script>'
                f'createPageHTML({ANNOUNCED_PAGES}, {number}, "index", "htm");</script></body></html>').encode()

    def with_attachment(self, href: str) -> bytes:
        link = f'<p><a href="{self.fill(href)}">附件</a></p>'.encode()
        return self.page.replace(b"</body>", link + b"</body>", 1)

    def span_bomb(self) -> bytes:
        cells = '<td rowspan="100000" colspan="100000">0</td>' * 40
        table = f"<table><tr>{cells}</tr><tr>{cells}</tr></table>".encode()
        return self.page.replace(b"</body>", table + b"</body>", 1)

    def deep(self) -> bytes:
        head, _, rest = self.page.partition(b"<body")
        tag_end = rest.index(b">") + 1
        body, _, tail = rest[tag_end:].rpartition(b"</body>")
        return head + b"<body" + rest[:tag_end] + b"<div>" * 2000 + body + b"</div>" * 2000 + b"</body>" + tail

    def wrong_charset(self) -> bytes:
        return self.page.decode("utf-8").replace('charset="utf-8"', 'charset="utf-8" data-lie="1"').encode(
            "gbk", errors="replace")

    @cached_property
    def zip_bomb(self) -> bytes:
        """A DOCX whose document.xml inflates to 200 MB (about 200 KB on the wire)."""
        buffer = io.BytesIO()
        paragraph = b"<w:p><w:r><w:t>0</w:t></w:r></w:p>"
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as docx:
            docx.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                          'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
            with docx.open("word/document.xml", "w") as member:
                member.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                             b'wordprocessingml/2006/main"><w:body>')
                chunk = paragraph * (1 << 15)
                for _ in range(200 * (1 << 20) // len(chunk)):
                    member.write(chunk)
                member.write(b"</w:body></w:document>")
        return buffer.getvalue()

    def _handler(self):
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                pass

            def answer(self, body: bytes, status: int = 200, content_type: str = "text/html; charset=utf-8",
                       headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                portal.hits[path] = portal.hits.get(path, 0) + 1
                fault = next((case["fault"] for case in FAULTS["faults"] if case["path"] == path), None)
                if path == FAULTS["column"]:
                    return self.answer(portal.listing())
                if path.startswith("/paging/index"):
                    number = path.removeprefix("/paging/index").removesuffix(".htm").lstrip("_")
                    return self.answer(portal.paging(int(number) if number.isdigit() else 0))
                if path == PAGING_REPORT:
                    return self.answer(portal.page)
                if fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault == "stall":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.write(portal.page[:100])
                    self.wfile.flush()
                    portal.stopping.wait(STALL_SECONDS)
                    self.close_connection = True
                    return
                if fault == "retry_after":
                    return self.answer(b"busy", 429, headers={"Retry-After": "3600"})
                if fault == "always_503":
                    return self.answer(b"down", 503)
                if fault == "flaky_503":
                    return self.answer(b"down", 503) if portal.hits[path] <= 2 else self.answer(portal.page)
                if fault == "redirect_loop" or path == "/nb/loop-b.htm":
                    target = "/nb/loop-b.htm" if path == "/nb/loop-a.htm" else "/nb/loop-a.htm"
                    return self.answer(b"", 301, headers={"Location": target})
                if fault == "huge_length":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(5 * 1024 ** 3))
                    self.end_headers()
                    self.wfile.write(portal.page[:1000])
                    self.close_connection = True
                    return
                if fault in ("file_attachment", "zip_bomb", "truncated_pdf"):
                    case = next(case for case in FAULTS["faults"] if case["path"] == path)
                    return self.answer(portal.with_attachment(case["attachment"]))
                if path == "/nb/bomb.docx":
                    return self.answer(portal.zip_bomb, content_type="application/vnd.openxmlformats-officedocument."
                                                                     "wordprocessingml.document")
                if path == "/nb/truncated.pdf":
                    data = REPORT_PDF.read_bytes()
                    return self.answer(data[: len(data) // 3], content_type="application/pdf")
                if fault == "span_bomb":
                    return self.answer(portal.span_bomb())
                if fault == "deep_nesting":
                    return self.answer(portal.deep())
                if fault == "wrong_charset":
                    return self.answer(portal.wrong_charset())
                return self.answer(b"not found", 404, "text/plain")

        return Handler

    def _decoy_handler(self):
        portal = self

        class Decoy(BaseHTTPRequestHandler):
            def do_GET(self):
                portal.decoy_hits.append(self.path)
                body = portal.page
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        return Decoy


def assess(db_path: str | Path, portal: FaultPortal, sample_manifests: list[dict], sample_base: str) -> dict:
    """What a crawl of the fault portal beside the sample portals left in the archive at
    `db_path`, against what it must leave: per fault case whether it was recorded, and
    the figures of benchmarks/faults.py."""
    import sqlite_utils

    from archive import parses as parse_file
    from archive.store import load_blob, load_parse
    from crawler.policy import shown_url

    db = sqlite_utils.Database(db_path)
    conn = db.conn
    parse_file.attach(conn, create=False)
    failures = conn.execute("select url, stage, error from failures").fetchall()
    reports = {url: (filled, status) for url, filled, status in
               conn.execute("select url, cells_filled, check_status from reports")}
    parses = {url: load_parse(result) for url, result in conn.execute(
                  "select d.url, p.result from documents d join parses p on p.document_id = d.id")}
    cases = []
    for case in portal.cases():
        expect, url = case["expect"], case["url"]
        # a failure is the case's when recorded under its URL (as the crawl shows it: a data:
        # URL cut short) or when its reason names that URL (a redirect loop names its chain)
        names = {url, shown_url(url), expect.get("failure_url")}
        stages = {stage for failed_url, stage, error in failures if failed_url in names or url in error}
        checks = []
        if expect.get("failure"):
            checks.append(bool(stages & set(expect["failure"])))
        if expect.get("report"):
            checks.append(url in reports)
        if expect.get("figures"):
            checks.append(url in reports and reports[url][0] > 0 and reports[url][1] == "pass")
        if expect.get("note"):
            attachment = parses.get(case["attachment_url"], {})
            checks.append(bool(attachment.get("error") or attachment.get("notes"))
                          or any(failed_url == case["attachment_url"] for failed_url, _, _ in failures))
        cases.append({"fault": case["fault"], "url": url, "recorded": all(checks), "stages": sorted(stages)})
    expected = set(portal.expected_reports()) | {
        f"{sample_base}/{manifest['id']}{item['url']}"
        for manifest in sample_manifests for item in manifest["items"] if item["is_report"]}
    canary = portal.canary_value.encode()
    local = conn.execute("select count(*) from documents where url not like 'http://%' and url not like 'https://%'"
                         " or url like 'http://0.0.0.0%'").fetchone()[0]
    # every archived document's bytes, from blobs or WARC alike
    local += sum(canary in load_blob(db, sha256) for (sha256,) in conn.execute("select sha256 from blobs"))
    figures = {
        "faults injected": len(cases),
        "faults recorded": sum(case["recorded"] for case in cases),
        "reports expected": len(expected),
        "reports lost": len(expected - reports.keys()),
        "duplicates": conn.execute("select count(*) - count(distinct url) from documents").fetchone()[0]
        + conn.execute("select count(*) - count(distinct url) from reports").fetchone()[0]
        + len(reports.keys() - expected),
        "local or private fetches": local + len(portal.decoy_hits),
    }
    conn.close()
    return {"figures": figures, "cases": cases, "lost": sorted(expected - reports.keys()),
            "unexpected": sorted(reports.keys() - expected)}
