"""Serve a simulated national web: every portal's hosts on their own loopback address
(127.1.x.y, 127.2.x.y …, one port), so that each is its own host to the crawler, from
one asyncio server that tells them apart by the address a connection came in on.
Requests are counted per portal and kind of page (discovery, listing, report; robots
and missing for the 404s)."""
import asyncio
import csv
import json
import socket
import threading
from collections import Counter
from http import HTTPStatus
from pathlib import Path

from nianbao.national_web.generator import HOST_NETS, Page, build_pages, draw_portals, host_address, report_bodies
from nianbao.sample_portals.server import REGISTRY_COLUMNS

SOFT_NOT_FOUND = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面不存在</title></head><body>'
                  '<p>抱歉，您访问的页面不存在或已删除。</p><a href="/">返回首页</a></body></html>').encode("utf-8")
SERVED_ROLES = [role for role in HOST_NETS if role != "down"]  # nothing answers on a portal's `down` host


class NationalWeb:
    """`count` generated portals (seeded), served in a background thread once started."""

    def __init__(self, count: int, seed: int = 2026):
        self.portals = draw_portals(count, seed)
        self.bodies = report_bodies()
        self.requests: Counter[tuple[str, str]] = Counter()  # (portal id, kind) → requests answered
        self.port = 0
        self.pages: dict[tuple[str, str], tuple[str, Page]] = {}
        self.hosts = {host_address(role, portal.index): portal.id for portal in self.portals for role in HOST_NETS}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="national-web")

    def start(self) -> "NationalWeb":
        self.thread.start()
        hosts = [host_address(role, portal.index) for portal in self.portals for role in SERVED_ROLES]
        for _ in range(20):  # a port free on the first address may be taken on another
            with socket.socket() as probe:
                probe.bind((hosts[0], 0))
                self.port = probe.getsockname()[1]
            self.build()
            try:
                self.server = asyncio.run_coroutine_threadsafe(
                    asyncio.start_server(self.handle, hosts, self.port, backlog=64), self.loop).result()
                return self
            except OSError:
                continue
        raise OSError("no port free on every address of the national web")

    def build(self) -> None:
        self.pages.clear()
        for portal in self.portals:
            build_pages(portal, self.port, self.bodies)
            self.pages.update({key: (portal.id, page) for key, page in portal.pages.items()})

    def stop(self) -> None:
        async def close():
            self.server.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def move_column(self, portal_id: str, soft: bool = False) -> None:
        """The portal moves its 年报 columns to another folder: the old addresses answer
        404 (or, `soft`, 200 with a 页面不存在 page, as many CMSs do), its platform links to
        the new ones."""
        portal = next(p for p in self.portals if p.id == portal_id)
        old = [key for key, page in portal.pages.items() if page.kind == "listing"]
        for key in portal.pages:
            self.pages.pop(key, None)
        portal.base = "gk" + portal.base.replace("/", "")
        build_pages(portal, self.port, self.bodies)
        self.pages.update({key: (portal.id, page) for key, page in portal.pages.items()})
        if soft:
            self.pages.update({key: (portal.id, Page(200, SOFT_NOT_FOUND, "listing")) for key in old})

    def manifest(self) -> list[dict]:
        return [portal.manifest(self.port) for portal in self.portals]

    def write_registry(self, path: str | Path) -> Path:
        """A registry of the portals with their homepages only (as most of the real one)."""
        path = Path(path)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=REGISTRY_COLUMNS)
            writer.writeheader()
            for portal in self.manifest():
                writer.writerow({"id": portal["id"], "name": portal["name"], "level": "county",
                                 "province": portal["province"], "homepage": portal["homepage"],
                                 "notes": f"simulated national web: {portal['structure']}, {portal['family']}"})
        return path

    def write_manifest(self, path: str | Path) -> Path:
        Path(path).write_text(json.dumps(self.manifest(), ensure_ascii=False, indent=1), encoding="utf-8")
        return Path(path)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("sockname")[0]
        try:
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                method, target = line.decode("latin-1").split()[:2]
                headers = {}
                while (header := await reader.readline()).strip():
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                if int(headers.get("content-length") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                writer.write(self.answer(address, method, target))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def answer(self, address: str, method: str, target: str) -> bytes:
        found = self.pages.get((address, target)) or self.pages.get((address, target.split("?")[0]))
        if found:
            portal_id, page = found
            self.requests[(portal_id, page.kind)] += 1
        else:  # robots.txt (none here) or an address no page has
            page = Page(404, b"<html><body>404 Not Found</body></html>", "robots" if target == "/robots.txt" else "missing")
            self.requests[(self.hosts.get(address, ""), page.kind)] += 1
        head = [f"HTTP/1.1 {page.status} {HTTPStatus(page.status).phrase}", f"Content-Type: {page.content_type}",
                f"Content-Length: {len(page.body)}"]
        if page.location:
            head.append(f"Location: {page.location}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (page.body if method != "HEAD" else b"")

    def count(self, kind: str, portal_id: str | None = None) -> int:
        """Requests answered of that kind, for one portal or all."""
        return sum(n for (pid, k), n in self.requests.items() if k == kind and portal_id in (None, pid))
