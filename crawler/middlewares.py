"""Middlewares: incremental crawls skip reports the archive already holds; retries
back off."""
import asyncio

import scrapy
from scrapy.downloadermiddlewares.retry import RetryMiddleware

from archive.db import open_archive
from archive.store import archived_reports
from crawler.stats import count


class SkipArchivedReports:
    """Drop requests for report pages archived with the same listing title and date.

    A report whose title or date in the listing changed is fetched again. Set
    NIANBAO_REFETCH=True to fetch everything.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.archived = {}
        if not crawler.settings.getbool("NIANBAO_REFETCH"):
            db = open_archive(crawler.settings.get("NIANBAO_DB"))
            self.archived = archived_reports(db)
            db.close()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_spider_output(self, response, result):
        async for output in result:
            if isinstance(output, scrapy.Request) and self.unchanged(output):
                count(self.crawler.stats, output.cb_kwargs.get("portal_id", ""), "reports_unchanged")
                continue
            yield output

    def unchanged(self, request: scrapy.Request) -> bool:
        if request.meta.get("nianbao_role") != "report" or request.url not in self.archived:
            return False
        listed = (request.cb_kwargs.get("title", ""), request.cb_kwargs.get("date", ""))
        return self.archived[request.url] == listed


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, each after a pause that doubles (RETRY_BACKOFF_BASE seconds,
    then twice that, … at most RETRY_BACKOFF_MAX): a struggling government server gets
    time to recover instead of three quick hits."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.most = settings.getfloat("RETRY_BACKOFF_MAX")

    async def pause(self, result):
        if isinstance(result, scrapy.Request):
            await asyncio.sleep(min(self.most, self.base * 2 ** (result.meta["retry_times"] - 1)))
        return result

    async def process_response(self, request, response):
        return await self.pause(super().process_response(request, response))

    async def process_exception(self, request, exception):
        return await self.pause(super().process_exception(request, exception))
