"""The distributed crawl (crawler/distributed.py) against a real redis-server: portal
leases, seeding, the per-host limit across workers, and workers over the sample
portals whose archive, written by `nianbao ingest`, equals a single-process crawl's."""
import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from archive.columns import column_answered
from archive.db import open_archive
from archive.store import upsert_portals
from conftest import BIN, REPO, crawl_command
from crawler.distributed import ENDED, HostLimiter, Keys, PortalLeases, seed
from crawler.registry import load_registry
from nianbao.sample_portals.server import SAMPLE_PORTALS, SamplePortalHandler, base_url, write_registry
from archive.db import connect as connect_archive


def events(client, prefix="nianbao") -> list[dict]:
    return [json.loads(fields[b"event"]) for _, fields in client.xrange(Keys(prefix).stream)]


def test_seeding_twice_queues_nothing_again(redis_url):
    client = redis.Redis.from_url(redis_url)
    assert seed(client, "nianbao", "run-1", ["a", "b", "c"]) == ("run-1", True)
    assert seed(client, "nianbao", "run-2", ["a", "b", "c"]) == ("run-1", False)
    assert client.lrange("nianbao:queue", 0, -1) == [b"a", b"b", b"c"]
    assert client.get("nianbao:run") == b"run-1"
    command = [str(BIN / "nianbao"), "crawl-seed", "--redis", redis_url, "--prefix", "other", "--run", "r"]
    for _ in range(2):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    assert "nothing queued again" in result.stderr
    assert client.llen("other:queue") == 13569  # the bundled registry, once


def test_expired_lease_goes_back_to_the_queue_and_its_holder_cannot_ack(redis_url):
    client = redis.Redis.from_url(redis_url)
    seed(client, "nianbao", "run", ["a", "b"])
    killed = PortalLeases(client, "nianbao", "run", 0.3, "killed")
    alive = PortalLeases(client, "nianbao", "run", 30, "alive")
    assert killed.take() == "a"
    assert alive.take() == "b"
    assert alive.take() is None  # "a" is leased, not queued
    time.sleep(0.4)
    assert alive.take() == "a"  # expired: reaped and leased again
    assert killed.ack("a", True) == -1  # no longer its lease: no portal_done from it
    assert alive.renew(["a", "b"]) == []
    assert alive.ack("a", True) == 1
    assert alive.ack("b", True) == 1
    assert alive.take() == ENDED
    kinds = [(event["kind"], event.get("portal_id")) for event in events(client)]
    assert kinds == [("portal_done", "a"), ("portal_done", "b"), ("run_end", None)]


def test_run_end_once_and_not_before_every_lease_is_acknowledged(redis_url):
    client = redis.Redis.from_url(redis_url)
    seed(client, "nianbao", "run", ["a", "b"])
    first = PortalLeases(client, "nianbao", "run", 30, "first")
    second = PortalLeases(client, "nianbao", "run", 30, "second")
    assert (first.take(), second.take()) == ("a", "b")
    assert first.take() is None  # nothing queued, "b" still leased: the run goes on
    assert first.ack("a", False) == 0  # lost: no portal_done
    assert second.release(["b"]) == 1  # a worker stopped: back to the queue
    assert first.take() == "b"
    assert first.ack("b", True) == 1
    assert second.take() == ENDED and first.take() == ENDED
    assert [event["kind"] for event in events(client)] == ["portal_done", "run_end"]
    assert events(client)[-1] == {"kind": "run_end", "run_id": "run"}


def test_host_tokens_are_shared_and_come_back_from_a_dead_holder(redis_url):
    async def scenario():
        dead = HostLimiter(redis_url, "nianbao", 2, token_seconds=0.5)
        alive = HostLimiter(redis_url, "nianbao", 2, token_seconds=30)
        await dead.acquire("127.0.0.1")
        token = await alive.acquire("127.0.0.1")
        with pytest.raises(asyncio.TimeoutError):  # both tokens taken, for all workers
            await asyncio.wait_for(alive.acquire("127.0.0.1"), 0.2)
        await alive.acquire("127.0.0.2")  # another host
        await asyncio.wait_for(alive.acquire("127.0.0.1"), 2)  # the dead holder's token expired
        await alive.release("127.0.0.1", token)
        await asyncio.wait_for(alive.acquire("127.0.0.1"), 0.5)

    asyncio.run(scenario())


class CountingHandler(SamplePortalHandler):
    """The sample portals, each answer a little slow, recording the paths asked for and
    per host the most requests it was answering at once."""

    lock = threading.Lock()
    delay = 0.15

    def handle_one_request(self):
        self.in_flight = False
        super().handle_one_request()
        if self.in_flight:
            self.left()

    def parse_request(self):
        parsed = super().parse_request()
        if parsed:
            host = self.server.server_address[0]
            with self.lock:
                self.server.paths.append(self.path)
                self.server.busy[host] += 1
                self.server.most[host] = max(self.server.most[host], self.server.busy[host])
            self.in_flight = True
            time.sleep(self.delay)
        return parsed

    def left(self):
        with self.lock:
            self.server.busy[self.server.server_address[0]] -= 1


def counting_server() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(CountingHandler, directory=str(SAMPLE_PORTALS)))
    server.busy, server.most, server.paths = Counter(), Counter(), []
    server.handle_error = lambda request, address: None  # a killed worker's connections reset
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_workers(count: int, registry: Path, folder: Path, redis_url: str, *extra: str) -> list[subprocess.Popen]:
    """`count` real workers (`scrapy crawl portals -s NIANBAO_REDIS_URL=…`), each with its
    log in folder/worker-N.log; NIANBAO_DB names a file no worker may create. Quick
    retries: the unreachable portal would hold the test 30 s."""
    workers = []
    for number in range(count):
        command = crawl_command(registry, folder / "no-archive-in-workers.db", "-s", f"NIANBAO_REDIS_URL={redis_url}",
                                "-s", f"NIANBAO_WARC_DIR={folder / 'warc'}", "-s", "NIANBAO_PARSE_WORKERS=1",
                                "-s", "NIANBAO_WORKER_PORTALS=2", "-s", "RETRY_BACKOFF_BASE=0.2", *extra)
        log = open(folder / f"worker-{number}.log", "w")
        workers.append(subprocess.Popen(**command, stdout=log, stderr=subprocess.STDOUT))
    return workers


def wait(workers, folder: Path, timeout: float = 120) -> None:
    """Every worker exits by itself (the run ended), with status 0 unless killed."""
    deadline = time.monotonic() + timeout
    try:
        for number, worker in enumerate(workers):
            returncode = worker.wait(timeout=max(1.0, deadline - time.monotonic()))
            if returncode != -signal.SIGKILL:
                assert returncode == 0, (folder / f"worker-{number}.log").read_text()[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert not (folder / "no-archive-in-workers.db").exists()


def ingest(folder: Path, redis_url: str) -> Path:
    db = folder / "distributed.db"
    result = subprocess.run([str(BIN / "nianbao"), "ingest", str(db), "--redis", redis_url, "--warc-dir",
                             str(folder / "warc"), "--quiet"], capture_output=True, text=True, timeout=300,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]
    return db


def seed_registry(registry: Path, redis_url: str) -> None:
    result = subprocess.run([str(BIN / "nianbao"), "crawl-seed", "--redis", redis_url, "--registry", str(registry)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def archive_contents(db: Path, base: str) -> dict:
    """What must be equal between two archives of the same portals: reports, the
    documents' SHA-256 by URL, cells, failures, skipped; URLs with `base` made neutral."""
    connection = connect_archive(db)
    queries = {
        "reports": "select url, portal_id, title, agency, year, format, published, sha256, check_status, "
                   "cells_filled from reports",
        "documents": "select url, role, report_url, sha256, size from documents",
        "cells": "select r.url, c.code, c.value from cells c join reports r on r.id = c.report_id",
        "failures": "select portal_id, url, stage from failures",
        "skipped": "select url, portal_id, reason from skipped",
    }
    contents = {}
    for name, query in queries.items():
        rows = [tuple(str(value).replace(base, "BASE") for value in row) for row in connection.execute(query)]
        contents[name] = Counter(rows)
    connection.close()
    return contents


def registry_like(crawled: dict, folder: Path, base: str) -> Path:
    """The registry of the single-process crawl `crawled`, its sample portals at `base`."""
    registry = folder / "registry.csv"
    text = (crawled["db"].parent / "registry.csv").read_text(encoding="utf-8")
    registry.write_text(text.replace(crawled["base"], base), encoding="utf-8")
    return registry


def test_three_workers_archive_equals_one_process_crawl(crawled, redis_url, tmp_path):
    registry = registry_like(crawled, tmp_path, crawled["base"])
    seed_registry(registry, redis_url)
    wait(start_workers(3, registry, tmp_path, redis_url), tmp_path)
    client = redis.Redis.from_url(redis_url)
    kinds = Counter(event["kind"] for event in events(client))
    assert kinds["portal_done"] == 6 and kinds["run_end"] == 1 and not kinds["lost"]
    distributed = archive_contents(ingest(tmp_path, redis_url), crawled["base"])
    single = archive_contents(crawled["db"], crawled["base"])
    assert sum(distributed["reports"].values()) >= 38
    assert distributed == single


def test_worker_killed_mid_crawl_loses_nothing_and_stores_nothing_twice(crawled, redis_url, tmp_path):
    server = counting_server()
    base = base_url(server)
    registry = registry_like(crawled, tmp_path, base)
    seed_registry(registry, redis_url)
    workers = start_workers(3, registry, tmp_path, redis_url, "-s", "NIANBAO_LEASE_SECONDS=3",
                            "-s", "DOWNLOAD_TIMEOUT=5", "-s", "NIANBAO_WORKER_PORTALS=1")
    client = redis.Redis.from_url(redis_url)
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:  # a worker holding a portal it has begun
        holders = {value.decode() for value in client.hvals("nianbao:holders")}
        reports = sum(event["kind"] == "report" for event in events(client))
        for worker in workers:
            if reports >= 3 and any(f"-{worker.pid}-" in holder for holder in holders):
                victim = worker
        time.sleep(0.05)
    assert victim is not None, "no worker held a lease"
    held = [portal.decode() for portal, holder in client.hgetall("nianbao:holders").items()
            if f"-{victim.pid}-".encode() in holder]
    victim.send_signal(signal.SIGKILL)
    wait(workers, tmp_path)
    server.shutdown()
    logs = "".join(path.read_text() for path in tmp_path.glob("worker-*.log"))
    assert "expired portal leases put back in the queue" in logs
    done = [event["portal_id"] for event in events(client) if event["kind"] == "portal_done"]
    assert held and set(held) <= set(done) and len(done) == len(set(done)) == 6
    distributed = archive_contents(ingest(tmp_path, redis_url), base)
    single = archive_contents(crawled["db"], crawled["base"])
    assert distributed == single
    assert all(count == 1 for table in ("reports", "documents") for count in distributed[table].values())


def test_per_host_limit_holds_across_workers(crawled, redis_url, tmp_path):
    server = counting_server()
    registry = registry_like(crawled, tmp_path, base_url(server))
    seed_registry(registry, redis_url)
    # each worker alone would send up to CONCURRENT_REQUESTS_PER_DOMAIN (3) at once to the one host
    wait(start_workers(3, registry, tmp_path, redis_url, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=3",
                       "-s", "NIANBAO_HOST_CONCURRENCY=2"), tmp_path)
    server.shutdown()
    assert server.most["127.0.0.1"] == 2
    assert server.busy["127.0.0.1"] == 0


def test_a_portal_the_worker_cannot_walk_is_lost_not_done(redis_url, tmp_path):
    """Seeded from another registry than the worker's: that portal is a `lost` event, not
    done; the run still ends, and the worker says it is incomplete."""
    registry = tmp_path / "registry.csv"
    registry.write_text("id,name,level,province,homepage,column_urls\np,样例县,county,福建省,,\n", encoding="utf-8")
    client = redis.Redis.from_url(redis_url)
    seed(client, "nianbao", "run", ["p", "elsewhere"])
    [worker] = start_workers(1, registry, tmp_path, redis_url)
    assert worker.wait(timeout=120) == 1
    assert "crawl: incomplete" in (tmp_path / "worker-0.log").read_text()
    control = [(event["kind"], event.get("portal_id")) for event in events(client)
               if event["kind"] in ("portal_done", "lost", "run_end")]
    assert sorted(control, key=str) == sorted([("portal_done", "p"), ("lost", "elsewhere"), ("run_end", None)], key=str)
    assert control[-1] == ("run_end", None)


def test_worker_stopped_gives_its_portals_back_at_once(redis_url, tmp_path):
    """SIGTERM (or Ctrl-C): the portals the worker had not walked to the end go back to
    the queue at once, not after their lease (120 s) expires; another worker ends the run."""
    server = counting_server()
    registry = tmp_path / "registry.csv"
    client = redis.Redis.from_url(redis_url)
    seed(client, "nianbao", "run", [row["id"] for row in write_registry(registry, base_url(server))])
    [stopped] = start_workers(1, registry, tmp_path, redis_url)
    deadline = time.monotonic() + 60
    while not any(event["kind"] == "report" for event in events(client)) and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped.send_signal(signal.SIGTERM)
    stopped.wait(timeout=60)
    done = {event["portal_id"] for event in events(client) if event["kind"] == "portal_done"}
    assert client.hlen("nianbao:holders") == 0 and client.zcard("nianbao:leases") == 0
    assert client.llen("nianbao:queue") == 5 - len(done) > 0
    [finishing] = start_workers(1, registry, tmp_path, redis_url)
    assert finishing.wait(timeout=120) == 0
    server.shutdown()
    control = [event["kind"] for event in events(client) if event["kind"] in ("portal_done", "run_end")]
    assert control == ["portal_done"] * 5 + ["run_end"]


def test_seeded_columns_start_the_walk_without_a_search(redis_url, tmp_path):
    """crawl-seed --archive: a homepage-only portal's column found by an earlier crawl is
    where a worker starts, as a crawl into that archive would; its homepage is not read."""
    server = counting_server()
    base = base_url(server)
    registry = tmp_path / "registry.csv"
    registry.write_text(f"id,name,level,province,homepage,column_urls\np,样例县,county,福建省,{base}/seeds/,\n",
                        encoding="utf-8")
    earlier = open_archive(tmp_path / "earlier.db")  # as an earlier crawl leaves it
    with earlier.conn:
        upsert_portals(earlier, load_registry(registry))
        column_answered(earlier, portal_id="p", url=f"{base}/seeds/xxgk/ndbg/list.html", found_via="政务公开 → 年报")
    earlier.close()
    result = subprocess.run([str(BIN / "nianbao"), "crawl-seed", "--redis", redis_url, "--registry", str(registry),
                             "--archive", str(tmp_path / "earlier.db")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [worker] = start_workers(1, registry, tmp_path, redis_url)
    assert worker.wait(timeout=120) == 0, (tmp_path / "worker-0.log").read_text()[-3000:]
    server.shutdown()
    assert "/seeds/xxgk/ndbg/list.html" in server.paths and "/seeds/" not in server.paths
    assert sum(event["kind"] == "report" for event in events(redis.Redis.from_url(redis_url))) == 5


def test_a_loss_while_redis_is_out_of_reach_is_still_counted(tmp_path):
    """A worker's loss while Redis cannot be reached (lose() runs inside Scrapy's signal and
    logging handlers): counted, its portal kept from done, and no exception raised."""
    from scrapy.utils.test import get_crawler

    from conftest import start_redis
    from crawler.distributed import DistributedFrontier, connect
    from crawler.frontier import LOST

    process, url = start_redis(tmp_path)
    try:
        seed(connect(url), "nianbao", "run-1", ["p"])
        crawler = get_crawler(settings_dict={"NIANBAO_REDIS_URL": url, "NIANBAO_REDIS_PREFIX": "nianbao",
                                             "NIANBAO_LEASE_SECONDS": 5, "NIANBAO_WORKER_PORTALS": 1})
        frontier = DistributedFrontier(crawler)
    finally:
        process.terminate()
        process.wait(timeout=10)
    frontier.client.connection_pool.disconnect()
    frontier.lose("callback errors", "p")
    assert crawler.stats.get_value(LOST + "callback errors") == 1
    assert "p" in frontier.lost_portals
