"""Spider middleware: incremental crawls skip reports the archive already holds."""
import scrapy

from archive.db import open_archive
from archive.store import archived_reports


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
                portal_id = output.cb_kwargs.get("portal_id", "")
                self.crawler.stats.inc_value(f"portal/{portal_id}/reports_unchanged")
                continue
            yield output

    def unchanged(self, request: scrapy.Request) -> bool:
        if request.meta.get("nianbao_role") != "report" or request.url not in self.archived:
            return False
        listed = (request.cb_kwargs.get("title", ""), request.cb_kwargs.get("date", ""))
        return self.archived[request.url] == listed
