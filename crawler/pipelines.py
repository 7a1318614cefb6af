"""Item pipelines: parse each fetched document, then archive it. One job each."""
import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from scrapy.exceptions import NotConfigured, UsageError

from archive import store
from archive.db import ArchiveError, open_archive
from crawler.items import DocumentItem, FailureItem, ReportItem, SkippedItem
from crawler.stats import count, portal_counts
from parsers.workers import Limits, ParseFailed, WorkerPool, one_line

logger = logging.getLogger(__name__)


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
            logger.warning("%s: parse failed: %s (%s)", document.portal_id, document.url, reason)
            count(self.stats, document.portal_id, "failed")
            document.prepared = store.prepare_failed(document.url, reason)
            document.parse_error = reason

    def close_spider(self):
        if self.pool is not None:
            self.pool.shutdown()


class ArchivePipeline:
    """Store documents, their parses and the crawl's bookkeeping in the SQLite archive.

    All writes go through one writer thread that owns the connection: SQLite does its
    work outside the GIL, so the crawl goes on while it writes, and items are stored in
    the order they come."""

    def __init__(self, path: str, crawler):
        self.path = path
        self.crawler = crawler
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="archive")

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("NIANBAO_DB")
        if not path:
            raise NotConfigured("NIANBAO_DB is not set")
        return cls(path, crawler)

    @classmethod
    def check_settings(cls, settings) -> None:
        """Refuse an archive path that cannot be opened, before the crawl starts."""
        try:
            open_archive(settings.get("NIANBAO_DB")).close()
        except ArchiveError as error:
            raise UsageError(f"cannot open the archive: {error}", print_help=False) from error

    def open_spider(self):
        self.writer.submit(self._open).result()

    def _open(self):
        self.db = open_archive(self.path)
        store.upsert_portals(self.db, self.crawler.spider.portals)

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
                store.record_failure(self.db, portal_id=item.portal_id, url=item.url,
                                     stage=item.stage, error=item.error)
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
                listing_date=document.listing_date,
            )
            store.store_parses(self.db, [(document_id, document.prepared.parser_version, document.prepared.result)])
            if document.parse_error:
                store.record_failure(self.db, portal_id=document.portal_id, url=document.url, stage="parse",
                                     error=document.parse_error)
        store.derive_report(self.db, page.url, {document.url: document.prepared.search_text
                                                for document in report.documents})
        return is_new

    def close_spider(self):
        stats = self.crawler.stats
        finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        crawls = [{"portal_id": portal["id"], "started_at": self.started_at, "finished_at": finished_at,
                   **portal_counts(stats, portal["id"])}
                  for portal in self.crawler.spider.portals]
        self.writer.submit(self._close, crawls).result()
        self.writer.shutdown()

    def _close(self, crawls: list[dict]) -> None:
        with self.db.conn:
            for crawl in crawls:
                store.record_crawl(self.db, crawl)
        self.db.close()
