"""A crawl shared by any number of `scrapy crawl portals` workers through Redis
(NIANBAO_REDIS_URL), on one machine or many.

The unit of work shared between workers is the portal, not the request. A portal's
walk keeps state in the process that walks it: its discovery search (pages read,
branches awaited), its crawl budgets (listing pages, hops, seconds since its first
request), its report's attachments fetched one after another and handed on together.
Spread over workers request by request, each worker would hold a piece of that state
and every budget would be N times too large (and scrapy-redis's request queues pop and
forget, with no lease). So `nianbao crawl-seed` puts the portal ids
in the queue `{prefix}:queue` once; a worker leases a portal (Lua: popped and put in the
lease set `{prefix}:leases` with an expiry, its holder in `{prefix}:holders`, in one
step), walks it with Scrapy's own in-memory scheduler, renews its leases while it
walks them, and acknowledges a portal once none of its requests is queued or in the
engine's `inprogress` (the engine holds a request there until its items went through
the pipelines, i.e. were published to the stream). The acknowledgement and the
portal's `portal_done` event are one Lua step; so is `run_end`, appended by whichever
worker finds nothing queued or leased any more. A worker killed even with SIGKILL
stops renewing: its leases expire and any worker puts the portals back in the queue
(each lease or poll reaps them first), to be walked again from the start; their items
may reach the stream twice and the ingest makes a replay a no-op. A lease that expired
under a worker still alive is no longer its own: its acknowledgement is refused, and
the portal's `portal_done` comes after the last walk's items.

Duplicates across portals are filtered in Redis (scrapy-redis's RFPDupeFilter): a
request's fingerprint belongs to the first portal that asked for it, so a portal walked
again after a lease expired is not kept from its own pages.

Per-host politeness across workers: each download holds one of
NIANBAO_HOST_CONCURRENCY tokens of its host (a sorted set per host in Redis, scored by
expiry so a killed worker's tokens come back), taken as the request is sent and given
back when its answer is in. Partitioning hosts between workers would not hold: a
portal's walk crosses hosts (platform hosts, moved domains, attachments elsewhere),
many portals share a province's platform, and workers come and go.
"""
import asyncio
import json
import logging
import os
import random
import socket
import time
import uuid

import redis
import redis.asyncio
from scrapy import Request, signals
from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.dupefilter import RFPDupeFilter

from archive.stream import publish, stream_key
from crawler.budgets import TimeBudgetHandler
from crawler.frontier import Frontier, portal_of

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.5  # between two looks for a portal to lease, or for portals walked to the end
ENDED = "ended"  # what take() answers once the run has ended


class Keys:
    """The run's keys in Redis, all under one prefix."""

    def __init__(self, prefix: str):
        self.run = f"{prefix}:run"  # the run id, set once by crawl-seed
        self.queue = f"{prefix}:queue"  # portal ids waiting for a worker
        self.leases = f"{prefix}:leases"  # portal id → expiry (ms, Redis clock)
        self.holders = f"{prefix}:holders"  # portal id → the worker holding its lease
        self.done = f"{prefix}:done"  # portals whose portal_done is in the stream
        self.ended = f"{prefix}:ended"  # set once run_end is in the stream
        self.dupefilter = f"{prefix}:dupefilter"  # request fingerprint → the portal that asked first
        self.columns = f"{prefix}:columns"  # portal id → its columns found by earlier crawls (JSON)
        self.stream = stream_key(prefix)


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10, retry_on_timeout=True)


def event_json(kind: str, **payload) -> str:
    """An event as archive.stream.publish writes it, for the Lua steps that append one."""
    return json.dumps({"kind": kind, **payload}, ensure_ascii=False, separators=(",", ":"))


def seed(client: redis.Redis, prefix: str, run_id: str, portal_ids: list[str],
         columns: dict[str, list[tuple[str, str]]] | None = None) -> tuple[str, bool]:
    """Queue the portals of a new run once: the run id, the queue and the portals'
    `columns` found by earlier crawls (archive.columns.cached_columns, where a worker's
    walk starts without a search) are set in one transaction, and only if the prefix
    holds no run yet. Returns the prefix's run id and whether this call queued it."""
    keys = Keys(prefix)
    with client.pipeline() as pipe:
        pipe.watch(keys.run)
        existing = pipe.get(keys.run)
        if existing:
            return existing.decode(), False
        pipe.multi()
        pipe.set(keys.run, run_id)
        for start in range(0, len(portal_ids), 1000):
            pipe.rpush(keys.queue, *portal_ids[start:start + 1000])
        stored = {portal_id: json.dumps(columns[portal_id], ensure_ascii=False)
                  for portal_id in portal_ids if (columns or {}).get(portal_id)}
        if stored:
            pipe.hset(keys.columns, mapping=stored)
        try:
            pipe.execute()
        except redis.WatchError:  # seeded meanwhile by another crawl-seed
            return client.get(keys.run).decode(), False
    return run_id, True


# Each step reads the clock of Redis, the one clock all workers share.
NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
# expired leases back to the front of the queue
REAP = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, portal in ipairs(expired) do
  redis.call('ZREM', KEYS[2], portal) redis.call('HDEL', KEYS[3], portal) redis.call('LPUSH', KEYS[1], portal)
end
"""
# nothing queued nor leased: run_end, once
END = """
if redis.call('LLEN', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0
   and redis.call('SET', KEYS[5], '1', 'NX') then
  redis.call('XADD', KEYS[6], '*', 'event', ARGV[3])
end
"""
# KEYS: queue leases holders done ended stream; ARGV: worker, lease ms, run_end event
TAKE = NOW + REAP + """
if redis.call('EXISTS', KEYS[5]) == 1 then return {'', #expired, 1} end
local portal = redis.call('LPOP', KEYS[1])
if portal then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), portal) redis.call('HSET', KEYS[3], portal, ARGV[1])
  return {portal, #expired, 0}
end
""" + END + "return {'', #expired, redis.call('EXISTS', KEYS[5])}"
# ARGV: worker, portal, run_end event, portal_done event ('' when the portal is not done)
ACK = """
if redis.call('HGET', KEYS[3], ARGV[2]) ~= ARGV[1] then return -1 end
redis.call('ZREM', KEYS[2], ARGV[2]) redis.call('HDEL', KEYS[3], ARGV[2])
local done = 0
if ARGV[4] ~= '' and redis.call('SADD', KEYS[4], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[6], '*', 'event', ARGV[4]) done = 1
end
""" + END + "return done"
# ARGV: worker, lease ms, portals…; answers the leases reaped, then the portals no
# longer held by this worker
RENEW = NOW + REAP + """
local lost = {#expired}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""
# ARGV: worker, portals…: given back to the front of the queue (a worker stopping)
RELEASE = """
local released = 0
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[1] then
    redis.call('ZREM', KEYS[2], ARGV[i]) redis.call('HDEL', KEYS[3], ARGV[i]) redis.call('LPUSH', KEYS[1], ARGV[i])
    released = released + 1
  end
end
return released
"""


def worker_name() -> str:
    """Unique per worker process, here and on other machines."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class PortalLeases:
    """One worker's side of the portal queue."""

    def __init__(self, client: redis.Redis, prefix: str, run_id: str, lease_seconds: float, worker: str):
        self.keys = Keys(prefix)
        self.run_id = run_id
        self.lease_ms = int(lease_seconds * 1000)
        self.worker = worker
        self.order = [self.keys.queue, self.keys.leases, self.keys.holders, self.keys.done, self.keys.ended,
                      self.keys.stream]
        self.run_end = event_json("run_end", run_id=run_id)
        self._take, self._ack, self._renew, self._release = (
            client.register_script(script) for script in (TAKE, ACK, RENEW, RELEASE))

    def take(self) -> str | None:
        """A portal leased to this worker; None if none is queued now; ENDED once the run ended."""
        portal, reaped, ended = self._take(self.order, [self.worker, self.lease_ms, self.run_end])
        if reaped:
            logger.info("%d expired portal leases put back in the queue", reaped)
        return portal.decode() if portal else ENDED if ended else None

    def ack(self, portal_id: str, done: bool) -> int:
        """The portal walked to the end, all its items in the stream: its lease ends, and
        with `done` its portal_done is appended. 1: done now; 0: not done (lost, or done
        before); -1: the lease was no longer this worker's (it expired)."""
        done_event = event_json("portal_done", run_id=self.run_id, portal_id=portal_id) if done else ""
        return self._ack(self.order, [self.worker, portal_id, self.run_end, done_event])

    def renew(self, portal_ids) -> list[str]:
        """Extend these leases; returns those that are no longer this worker's."""
        reaped, *lost = self._renew(self.order, [self.worker, self.lease_ms, *portal_ids])
        if reaped:
            logger.info("%d expired portal leases put back in the queue", reaped)
        return [portal.decode() for portal in lost]

    def release(self, portal_ids) -> int:
        return self._release(self.order, [self.worker, *portal_ids]) if portal_ids else 0


class DistributedFrontier(Frontier):
    """The Frontier of a worker: the run is the one seeded in Redis; the portals walked
    are those leased from its queue (NIANBAO_WORKER_PORTALS at a time), acknowledged
    once walked to the end; what is lost without a record is a `lost` event."""

    def __init__(self, crawler):
        super().__init__(crawler)
        settings = crawler.settings
        self.prefix = settings.get("NIANBAO_REDIS_PREFIX")
        self.client = connect(settings.get("NIANBAO_REDIS_URL"))
        # seeded: StreamPipeline.check_settings refuses a worker before `nianbao crawl-seed`
        self.run_id = self.client.get(Keys(self.prefix).run).decode()
        self.lease_seconds = settings.getfloat("NIANBAO_LEASE_SECONDS")
        self.leases = PortalLeases(self.client, self.prefix, self.run_id, self.lease_seconds, worker_name())
        self.capacity = settings.getint("NIANBAO_WORKER_PORTALS")
        self.held: set[str] = set()  # leased, not acknowledged
        crawler.signals.connect(self.spider_opened, signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signals.spider_closed)

    async def process_start(self, start):
        """The spider's start requests, leased portal after leased portal (portals())."""
        async for output in start:
            if not isinstance(output, Request):
                self.start_items[id(output)] = portal_of(output)
            yield output

    async def portals(self, registry: list[dict]):
        """The registry rows of the portals leased to this worker, each with its columns
        found by earlier crawls ({id: [(url, found via)]}, none with NIANBAO_REDISCOVER),
        as it has room for them, until the run ends. The spider asks for the next one only
        once every start request of the previous one went to the scheduler: that one is
        then walked."""
        rows = {portal["id"]: portal for portal in registry}
        while True:
            if len(self.held) >= self.capacity:
                await asyncio.sleep(POLL_SECONDS)
                continue
            try:
                portal_id = self.leases.take()
            except redis.RedisError as error:  # Redis restarting: the leases wait, so does this
                logger.error("cannot lease a portal: %s", error)
                await asyncio.sleep(POLL_SECONDS * 4)
                continue
            if portal_id == ENDED:
                return
            if portal_id is None:
                await asyncio.sleep(POLL_SECONDS * (0.5 + random.random()))
                continue
            self.held.add(portal_id)
            if portal_id not in rows:
                self.lose("portals not in the worker's registry", portal_id)
            else:
                yield rows[portal_id], self.stored_columns(portal_id)
            self.walking.add(portal_id)

    def stored_columns(self, portal_id: str) -> dict[str, list[tuple[str, str]]]:
        if self.crawler.settings.getbool("NIANBAO_REDISCOVER"):
            return {}
        stored = self.client.hget(Keys(self.prefix).columns, portal_id)
        return {portal_id: [tuple(column) for column in json.loads(stored)]} if stored else {}

    def walked(self) -> list[str]:
        """The portals walked to the end: none of their requests queued or in progress."""
        return sorted(self.walking - self.busy())

    def acknowledge(self) -> None:
        for portal_id in self.walked():
            done = not self.unattributed and portal_id not in self.lost_portals
            if self.leases.ack(portal_id, done) < 0:
                logger.warning("%s: its lease expired while walked here; it is walked again elsewhere", portal_id)
            self.walking.discard(portal_id)
            self.held.discard(portal_id)

    async def keep(self) -> None:
        """Acknowledge the portals walked to the end, and renew the other leases. While
        Redis cannot be reached, both wait (a lease that expires meanwhile is walked again)."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                self.acknowledge()
                if time.monotonic() - renewed > self.lease_seconds / 3:
                    for portal_id in self.leases.renew(sorted(self.held)):
                        logger.warning("%s: its lease expired while walked here; it is walked again elsewhere",
                                       portal_id)
                    renewed = time.monotonic()
            except redis.RedisError as error:
                logger.error("cannot acknowledge or renew portal leases: %s", error)

    def lose(self, kind: str, portal_id: str | None) -> None:
        """Counted here, then told to the ingest. Redis out of reach loses only the telling:
        the portal is acknowledged without portal_done (or, unattributed, none is), so the
        ingest ends the run incomplete all the same ("portals not done")."""
        super().lose(kind, portal_id)
        try:
            publish(self.client, self.prefix, "lost", {"run_id": self.run_id, "portal_id": portal_id, "reason": kind})
        except redis.RedisError as error:
            logger.error("run %s: lost (%s) not told to the ingest: %s", self.run_id, kind, error)

    def spider_opened(self, spider):
        self.keeping = asyncio.get_event_loop().create_task(self.keep())

    def spider_closed(self, spider, reason):
        """Acknowledge what was walked to the end; give the rest back to the queue at
        once (a worker stopped by Ctrl-C or SIGTERM), for other workers to walk."""
        self.keeping.cancel()
        self.acknowledge()
        released = self.leases.release(sorted(self.held))
        if released:
            logger.info("%d portals not walked to the end given back to the queue", released)
        self.held.clear()


class RunDupeFilter(RFPDupeFilter):
    """scrapy-redis's duplicate filter, shared by the workers of a run, with the portal
    that asked first: a request is a duplicate when this worker asked for it already, or
    another portal did. A portal walked again (its lease expired) keeps its pages."""

    def __init__(self, server, key, debug=False):
        super().__init__(server, key, debug)
        self.seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(connect(settings.get("NIANBAO_REDIS_URL")), Keys(settings.get("NIANBAO_REDIS_PREFIX")).dupefilter,
                   settings.getbool("DUPEFILTER_DEBUG"))

    def request_seen(self, request) -> bool:
        fingerprint = self.request_fingerprint(request)
        if fingerprint in self.seen:
            return True
        self.seen.add(fingerprint)
        portal_id = (request.cb_kwargs.get("portal_id") or "").encode()
        if self.server.hsetnx(self.key, fingerprint, portal_id):
            return False
        return self.server.hget(self.key, fingerprint) != portal_id

    def close(self, reason=""):
        """The filter belongs to the run, not to one worker: kept."""


class HostLimiter:
    """At most `limit` requests in flight per host across all workers: tokens in a sorted
    set per host, scored by their expiry (a killed worker's come back)."""

    ACQUIRE = NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3]) redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

    def __init__(self, url: str, prefix: str, limit: int, token_seconds: float):
        self.url = url
        self.prefix = prefix
        self.limit = limit
        self.token_ms = int(token_seconds * 1000)
        self.client = None

    async def acquire(self, host: str) -> str:
        if self.client is None:  # made in the crawl's event loop
            self.client = redis.asyncio.Redis.from_url(self.url, socket_timeout=30)
            self._acquire = self.client.register_script(self.ACQUIRE)
        token = uuid.uuid4().hex
        wait = 0.02
        while not await self._acquire([f"{self.prefix}:host:{host}"], [self.limit, self.token_ms, token]):
            await asyncio.sleep(wait * (0.5 + random.random()))
            wait = min(wait * 2, 0.5)
        return token

    async def release(self, host: str, token: str) -> None:
        await self.client.zrem(f"{self.prefix}:host:{host}", token)


class HostLimitedHandler(TimeBudgetHandler):
    """The crawl's HTTP(S) download handler, each download holding one of its host's
    tokens while it is sent and answered (not while it waits for a retry)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        settings = crawler.settings
        self.limiter = HostLimiter(settings.get("NIANBAO_REDIS_URL"), settings.get("NIANBAO_REDIS_PREFIX"),
                                   settings.getint("NIANBAO_HOST_CONCURRENCY"),
                                   settings.getfloat("DOWNLOAD_TIMEOUT") + 5)

    async def download_request(self, request):
        host = urlparse_cached(request).hostname or ""
        token = await self.limiter.acquire(host)
        try:
            return await super().download_request(request)
        finally:
            await self.limiter.release(host, token)


def worker_settings(settings) -> None:
    """A worker's settings (NIANBAO_REDIS_URL set): leased portals, the shared duplicate
    filter and host tokens."""
    middlewares = {**settings.getdict("SPIDER_MIDDLEWARES"), "crawler.frontier.Frontier": None,
                   "crawler.distributed.DistributedFrontier": 50}
    handlers = {scheme: "crawler.distributed.HostLimitedHandler" for scheme in ("http", "https")}
    settings.set("SPIDER_MIDDLEWARES", middlewares, priority="spider")
    settings.set("DOWNLOAD_HANDLERS", {**settings.getdict("DOWNLOAD_HANDLERS"), **handlers}, priority="spider")
    settings.set("DUPEFILTER_CLASS", "crawler.distributed.RunDupeFilter", priority="spider")
