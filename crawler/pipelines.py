"""Item pipelines: parse each fetched document, then archive it. One job each."""
import asyncio
import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from scrapy import signals
from scrapy.exceptions import NotConfigured, UsageError

import redis

from archive import coverage, flags, revisions, runs, store, stream, warc
from archive.db import ArchiveError, open_archive
from crawler.columns import ColumnItem, record_column
from crawler.frontier import Frontier, incomplete_reason
from crawler.items import DocumentItem, FailureItem, ReportItem, SkippedItem
from crawler.middlewares import SkipArchivedReports
from crawler.stats import YIELD_COUNTS, count, portal_counts
from parsers.workers import Limits, ParseFailed, WorkerPool, one_line

logger = logging.getLogger(__name__)
PROGRESS_INTERVAL = 1.0  # seconds between two records of the portals walked to the end
# failures that cost a report's own documents, not the walk of its column's listing
DOCUMENT_STAGES = ("report", "attachment", "parse")


class ParsePipeline:
    """Turn a fetched report page or attachment into data with `parsers`, and into what
    the archive keeps of it (store.prepare), in worker processes (NIANBAO_PARSE_WORKERS,
    default one per core) so that parsing does not hold up the downloads; 0 parses in
    the crawl's own process.

    Each parse runs within NIANBAO_PARSE_MEMORY_MB and NIANBAO_PARSE_TIMEOUT
    (parsers/workers.py). A parse that gives no result (its worker crashed, ran out of
    memory or time, or it raised) costs its document only: the document goes on to be
    archived with a parse carrying the error (`nianbao reparse` tries it again), and the
    archive records a `parse` failure; the rest of the crawl goes on."""

    def __init__(self, workers: int, limits: Limits, stats):
        self.workers = workers
        self.limits = limits
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        limits = Limits(settings.getint("NIANBAO_PARSE_MEMORY_MB", Limits().memory_mb),
                        settings.getfloat("NIANBAO_PARSE_TIMEOUT", Limits().timeout))
        return cls(settings.getint("NIANBAO_PARSE_WORKERS", os.cpu_count() or 1), limits, crawler.stats)

    def open_spider(self):
        self.pool = WorkerPool(self.workers, self.limits) if self.workers > 0 else None

    async def process_item(self, item):
        if isinstance(item, ReportItem):
            await asyncio.gather(*(self.parse(document) for document in item.documents))
        return item

    async def parse(self, document: DocumentItem) -> None:
        arguments = (document.content, document.url, document.content_type)
        try:
            if self.pool is None:
                document.prepared = store.prepare(*arguments)
            else:
                document.prepared = await asyncio.wrap_future(self.pool.submit(store.prepare, *arguments))
        except Exception as error:
            reason = str(error) if isinstance(error, ParseFailed) else one_line(error)
            document.prepared = store.prepare_failed(document.url, reason)
        if document.prepared.error:  # the worker failed, or the parser could not read the file
            logger.warning("%s: parse failed: %s (%s)", document.portal_id, document.url, document.prepared.error)
            count(self.stats, document.portal_id, "failed")
            document.parse_error = document.prepared.error

    def close_spider(self):
        if self.pool is not None:
            self.pool.shutdown()


class ArchivePipeline:
    """Store documents, their parses and the crawl's bookkeeping in the SQLite archive:
    the run (archive/runs.py) and each portal's yield (`crawls`), recorded with the
    portal `done` as soon as the Frontier finds it walked to the end.

    All writes go through one writer thread that owns the connection: SQLite does its
    work outside the GIL, so the crawl goes on while it writes, and items are stored in
    the order they come."""

    def __init__(self, path: str, crawler):
        self.path = path
        self.crawler = crawler
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="archive")
        crawler.signals.connect(self.spider_closed, signals.spider_closed)
        # for reports no longer listed (archive/revisions.py): report pages stored per
        # portal, portals whose walk met a failure, why the run lost anything
        self.fetched: dict[str, set[str]] = {}
        self.walk_faults: set[str] = set()
        self.lost = ""
        # raw responses to WARC files instead of `blobs` (archive/warc.py), when set
        self.warc_dir = crawler.settings.get("NIANBAO_WARC_DIR") or None
        self.warc_files = None

    @classmethod
    def from_crawler(cls, crawler):
        if crawler.settings.get("NIANBAO_REDIS_URL"):
            raise NotConfigured("a distributed crawl's worker hands its items to StreamPipeline")
        path = crawler.settings.get("NIANBAO_DB")
        if not path:
            raise NotConfigured("NIANBAO_DB is not set")
        return cls(path, crawler)

    @classmethod
    def check_settings(cls, settings) -> None:
        """Refuse an archive path that cannot be opened, before the crawl starts."""
        if settings.get("NIANBAO_REDIS_URL"):
            return
        try:
            db = open_archive(settings.get("NIANBAO_DB"))
        except ArchiveError as error:
            raise UsageError(f"cannot open the archive: {error}", print_help=False) from error
        try:
            if settings.get("NIANBAO_WARC_DIR"):
                warc.attach(db, settings.get("NIANBAO_WARC_DIR"))
        except warc.WarcDirError as error:
            raise UsageError(str(error), print_help=False) from error
        finally:
            db.close()

    def open_spider(self):
        self.frontier = self.crawler.get_spider_middleware(Frontier)
        self.listings = self.crawler.get_spider_middleware(SkipArchivedReports)
        self.frontier.done |= self.writer.submit(self._open).result()
        self.progress = asyncio.get_event_loop().create_task(self._record_progress())

    def _open(self) -> set[str]:
        self.db = open_archive(self.path)
        if self.warc_dir:
            warc.attach(self.db, self.warc_dir)
            self.warc_files = warc.WarcFiles(self.warc_dir, self.crawler.settings.getint(
                "NIANBAO_WARC_MAX_BYTES", warc.MAX_BYTES))
        with self.db.conn:
            store.upsert_portals(self.db, self.crawler.spider.portals)
            return runs.start_run(self.db, self.frontier.run_id, [portal["id"] for portal in self.crawler.spider.portals])

    async def process_item(self, item):
        is_new = await asyncio.wrap_future(self.writer.submit(self._store, item))
        if is_new:
            count(self.crawler.stats, item.page.portal_id, "reports_new")
        return item

    def _store(self, item) -> bool:
        """Store one item; True for a report not archived before."""
        with self.db.conn:
            if isinstance(item, ReportItem):
                return self._store_report(item)
            elif isinstance(item, SkippedItem):
                store.record_skipped(self.db, url=item.url, portal_id=item.portal_id,
                                     title=item.title, reason=item.reason)
            elif isinstance(item, FailureItem):
                if item.stage not in DOCUMENT_STAGES:
                    self.walk_faults.add(item.portal_id)
                store.record_failure(self.db, portal_id=item.portal_id, url=item.url,
                                     stage=item.stage, error=item.error)
            elif isinstance(item, ColumnItem):
                record_column(self.db, item)
        return False

    def _store_report(self, report: ReportItem) -> bool:
        """Attachments, then the page, then the derived report: the archive counts a
        report as held only once its report row exists, so a crawl killed half-way
        through fetches it again."""
        page = report.page
        is_new = store.document_sha256(self.db, page.url) is None
        for document in [*report.attachments, page]:
            document_id = store.store_document(
                self.db, url=document.url, content=document.content, portal_id=document.portal_id,
                role=document.role, report_url=document.report_url, status=document.status,
                content_type=document.content_type, listing_title=document.listing_title,
                listing_date=document.listing_date, run_id=self.frontier.run_id,
                warc_files=self.warc_files, http=document.http,
            )
            store.store_parses(self.db, [(document_id, document.prepared.parser_version, document.prepared.result)])
            if document.parse_error:
                store.record_failure(self.db, portal_id=document.portal_id, url=document.url, stage="parse",
                                     error=document.parse_error)
        store.derive_report(self.db, page.url, {document.url: document.prepared.search_text
                                                for document in report.documents})
        revisions.record_changes(self.db, page.url)
        self.fetched.setdefault(page.portal_id, set()).add(page.url)
        return is_new

    async def _record_progress(self):
        """Every second, the portals walked to the end: done, with their yield."""
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            try:
                await asyncio.wrap_future(self.writer.submit(self._record_portals, self._yields(self.frontier.settle()), True))
            except Exception as error:
                self.frontier.lose("progress not recorded", None)
                logger.error("run %s: progress not recorded: %s", self.frontier.run_id, error)

    def _yields(self, portal_ids) -> list[dict]:
        finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return [{"portal_id": portal_id, "started_at": self.started_at, "finished_at": finished_at,
                 **portal_counts(self.crawler.stats, portal_id)} for portal_id in portal_ids]

    def _record_portals(self, crawls: list[dict], done: bool) -> None:
        with self.db.conn:
            for crawl in crawls:
                crawl_id = store.record_crawl(self.db, crawl)
                if done:
                    runs.portal_done(self.db, self.frontier.run_id, crawl["portal_id"], crawl_id)
                    self._mark_removed(crawl["portal_id"])

    def _mark_removed(self, portal_id: str) -> None:
        """The portal's reports no longer listed, once its walk is known complete: done,
        within every budget, without a failure but of reports' own documents, for every
        year, in a run that lost nothing. Listed = the report requests of its listings
        (SkipArchivedReports) and the pages stored (a report page may have redirected)."""
        if self.listings is None:  # the middleware is off: what was listed is unknown
            return
        listed = self.listings.listed.pop(portal_id, set()) | self.fetched.pop(portal_id, set())
        if (self.lost or self.crawler.spider.years or portal_id in self.walk_faults
                or portal_counts(self.crawler.stats, portal_id)["budget_hits"]):
            return
        removed = revisions.mark_removed(self.db, portal_id, listed, self.frontier.run_id)
        if removed:
            logger.info("%s: %d archived reports no longer listed, marked removed", portal_id, removed)

    def spider_closed(self, spider, reason):
        """End the run's process: the portals it walked to the end are done; those it
        walked in part keep their yield only; the run says why it is incomplete, if so."""
        self.progress.cancel()
        lost = incomplete_reason(self.crawler.stats, reason)
        done = self.frontier.settle()
        if not lost:  # portals without any request to make (nothing in the registry) are done too
            done += [portal["id"] for portal in spider.portals
                     if portal["id"] not in self.frontier.done and portal["id"] not in done]
        partial = sorted(self.frontier.walking | self.frontier.lost_portals)
        status, why = self.writer.submit(self._end, self._yields(done), self._yields(partial), lost).result()
        self.writer.shutdown()
        self.crawler.stats.set_value("nianbao/run", self.frontier.run_id)
        self.crawler.stats.set_value("nianbao/run_status", status)
        self.crawler.stats.set_value("nianbao/run_reason", why)

    def _end(self, done: list[dict], partial: list[dict], lost: str) -> tuple[str, str]:
        """Record the portals and the run's end, then refresh coverage and flags (which
        read the run's status). A refresh that fails leaves the run incomplete saying so,
        and the same command (resumed) tries it again: not a nameless "engine error" of
        a run the archive calls finished."""
        self.lost = lost
        try:
            self._record_portals(done, True)
            self._record_portals(partial, False)
            with self.db.conn:
                result = runs.end_run(self.db, self.frontier.run_id, lost)
            try:
                coverage.refresh(self.db)
                flags.refresh(self.db)
            except Exception as error:
                why = f"coverage and flags not refreshed: {one_line(error)}"
                logger.error("run %s: %s", self.frontier.run_id, why)
                with self.db.conn:
                    result = runs.end_run(self.db, self.frontier.run_id, "; ".join(filter(None, [lost, why])))
            return result
        finally:
            self.db.close()
            if self.warc_files:
                self.warc_files.close()


class StreamPipeline:
    """In a distributed crawl (NIANBAO_REDIS_URL set), in place of ArchivePipeline: the
    worker never opens the archive. It writes each fetched document's bytes to its own
    rolling WARC files (NIANBAO_WARC_DIR, archive/warc.py) and publishes each item, the
    documents' parses with where their bytes are, to the Redis stream that `nianbao
    ingest`, the archive's one writer, reads (archive/stream.py). Every second, and at
    the end, it publishes what it counted per portal since (the `crawls` counts) and the
    report URLs its listings gave (reports no longer listed, archive/revisions.py).

    An item is in the stream before the pipeline returns it, so before the engine counts
    its request done. WARC writes and publishing run in one thread, in the items' order."""

    def __init__(self, crawler, client: redis.Redis, prefix: str, warc_dir: str):
        self.crawler = crawler
        self.client = client
        self.prefix = prefix
        self.warc_dir = warc_dir
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="stream")
        self.published: dict[str, int] = {}  # stats key → the count already published
        self.serial = 0

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.get("NIANBAO_REDIS_URL"):  # the embedded crawl: ArchivePipeline writes the archive
            raise NotConfigured()  # without a message, so that Scrapy logs no warning for the default
        return cls(crawler, redis.Redis.from_url(settings.get("NIANBAO_REDIS_URL")),
                   settings.get("NIANBAO_REDIS_PREFIX") or "nianbao", settings.get("NIANBAO_WARC_DIR"))

    @classmethod
    def check_settings(cls, settings) -> None:
        """Refuse a worker without its WARC directory, its Redis or its run, before the crawl starts."""
        url = settings.get("NIANBAO_REDIS_URL")
        if not url:
            return
        if not settings.get("NIANBAO_WARC_DIR"):
            raise UsageError("a distributed crawl's worker needs NIANBAO_WARC_DIR (its raw responses go there)",
                             print_help=False)
        key = f"{settings.get('NIANBAO_REDIS_PREFIX') or 'nianbao'}:run"
        try:
            seeded = redis.Redis.from_url(url).get(key)
        except (ValueError, redis.RedisError) as error:
            raise UsageError(f"cannot reach Redis at {url}: {one_line(error)}", print_help=False) from error
        if not seeded:
            raise UsageError(f"no run at {key} in {url}: seed the crawl first (nianbao crawl-seed)",
                             print_help=False)

    def open_spider(self):
        self.run_id = self.client.get(f"{self.prefix}:run").decode()
        self.warc_files = warc.WarcFiles(self.warc_dir, self.crawler.settings.getint("NIANBAO_WARC_MAX_BYTES",
                                                                                      warc.MAX_BYTES))
        self.worker = self.warc_files.prefix  # host, process and start time: unique per worker process
        self.listings = self.crawler.get_spider_middleware(SkipArchivedReports)
        spider = self.crawler.spider
        years = f"{spider.years[0]}-{spider.years[-1]}" if spider.years else None
        self.writer.submit(self._publish, "portals", {"worker": self.worker, "portals": spider.portals,
                                                      "years": years}).result()
        self.progress = asyncio.get_event_loop().create_task(self._publish_progress())

    async def process_item(self, item):
        await asyncio.wrap_future(self.writer.submit(self._hand_on, item))
        return item

    def _publish(self, kind: str, payload: dict) -> None:
        stream.publish(self.client, self.prefix, kind, {"run_id": self.run_id, **payload})

    def _hand_on(self, item) -> None:
        if isinstance(item, ReportItem):
            self._publish("report", {"portal_id": item.page.portal_id,
                                     "documents": [self._document(document) for document in item.documents]})
        elif isinstance(item, SkippedItem):
            self._publish("skipped", {"portal_id": item.portal_id, "url": item.url, "title": item.title,
                                      "reason": item.reason})
        elif isinstance(item, FailureItem):
            self._publish("failure", {"portal_id": item.portal_id, "url": item.url, "stage": item.stage,
                                      "error": item.error})
        elif isinstance(item, ColumnItem):
            self._publish("column", {"portal_id": item.portal_id, "url": item.url, "found_via": item.found_via,
                                     "error": item.error})

    def _document(self, document: DocumentItem) -> dict:
        """A document's event: its bytes written to a WARC record, where it lies, its parse."""
        sha256 = hashlib.sha256(document.content).hexdigest()
        file, offset, length = self.warc_files.write(document.url, document.content, sha256, status=document.status,
                                                     content_type=document.content_type, http=document.http)
        prepared = document.prepared
        return {"url": document.url, "portal_id": document.portal_id, "role": document.role,
                "report_url": document.report_url, "status": document.status,
                "content_type": document.content_type, "listing_title": document.listing_title,
                "listing_date": document.listing_date, "sha256": sha256, "size": len(document.content),
                "warc": {"file": file, "offset": offset, "length": length},
                "parse": {"parser_version": prepared.parser_version, "result": stream.pack(prepared.result),
                          "search_text": prepared.search_text, "error": document.parse_error}}

    def _progress(self) -> dict:
        """The counts since the last call and the report URLs listed since, per portal."""
        counts: dict[str, dict[str, int]] = {}
        for key, value in self.crawler.stats.get_stats().items():
            parts = key.split("/")
            if len(parts) == 3 and parts[0] == "portal" and parts[2] in YIELD_COUNTS and parts[2] != "reports_new":
                if value != self.published.get(key, 0):
                    counts.setdefault(parts[1], {})[parts[2]] = value - self.published.get(key, 0)
                    self.published[key] = value
        listed = {}
        if self.listings is not None:
            listed = {portal_id: sorted(urls) for portal_id, urls in self.listings.listed.items()}
            self.listings.listed.clear()
        return {"counts": counts, "listed": listed}

    async def _publish_progress(self):
        """Every second; progress not published (Redis unreachable) is a loss of the run:
        the portals' listed reports would be missing (see ArchivePipeline._record_progress)."""
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            try:
                await asyncio.wrap_future(self.writer.submit(self._publish_changes, self._progress()))
            except Exception as error:
                self.crawler.get_spider_middleware(Frontier).lose("progress not published", None)
                logger.error("run %s: progress not published: %s", self.run_id, one_line(error))

    def _publish_changes(self, progress: dict, closed: bool = False) -> None:
        if progress["counts"] or progress["listed"] or closed:
            self.serial += 1
            self._publish("progress", {"worker": self.worker, "serial": self.serial, "closed": closed, **progress})

    def close_spider(self):
        """The last progress, saying so: the ingest waits for it to end the run."""
        self.progress.cancel()
        try:
            self.writer.submit(self._publish_changes, self._progress(), True).result()
        finally:
            self.writer.shutdown()
            self.warc_files.close()
