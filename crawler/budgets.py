"""Crawl budgets: how far the crawl of one portal may go.

A portal can announce ten million listing pages, chain 下一页 links without end or
answer so slowly that it would hold the crawl for days. Four settings bound it:
NIANBAO_WALK_PAGES (the pages of one column's pagination), NIANBAO_PORTAL_LISTING_PAGES
(the listing pages of one portal), NIANBAO_CRAWL_DEPTH (discovery and listing hops from
the registry's address) and NIANBAO_PORTAL_SECONDS (time since the portal's first
request). A request beyond a budget is not made. The first time a portal meets a budget
its reason is a `failures` row (stage `budget`); every request a budget stops counts in
the portal's `budget_hits`; the other portals go on.
"""
from datetime import datetime, timezone

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import IgnoreRequest

from crawler.items import FailureItem
from crawler.stats import count

# what a request is for, by the spider callback that reads its answer
ROLES = {"discover_column": "discovery", "parse_listing": "listing", "parse_column": "listing",
         "parse_report": "report", "parse_attachment": "attachment"}


def role(request) -> str:
    return ROLES.get(getattr(request.callback, "__name__", ""), "")


def stopped(stats, request: Request, budget: str, url: str, reason: str) -> list[FailureItem]:
    """Count `request` as stopped by `budget`; the portal's first stop by that budget
    gives the failure to record, for `url` (what the budget cut short)."""
    portal_id = request.cb_kwargs.get("portal_id", "")
    count(stats, portal_id, "budget_hits")
    key = f"portal/{portal_id}/budget/{budget}"
    if stats.get_value(key):
        return []
    stats.set_value(key, reason)
    return [FailureItem(url, portal_id, "budget", reason)]


class ListingBudgets:
    """Spider middleware: walk pages, listing pages per portal and depth, counted on the
    discovery and listing requests the spider yields, in the order it yields them (so
    a walk keeps its first pages). A walk is one column's pagination: it starts at a
    listing request that does not come from a listing page, and its pages are counted
    once each, however many pages link to them. The spider takes at most one page more
    than the walk budget from a page's announcements (crawler/listing.py), so that this
    middleware sees the walk overflow."""

    def __init__(self, crawler):
        settings = crawler.settings
        self.stats = crawler.stats
        self.walk_pages = settings.getint("NIANBAO_WALK_PAGES")
        self.portal_pages = settings.getint("NIANBAO_PORTAL_LISTING_PAGES")
        self.depth = settings.getint("NIANBAO_CRAWL_DEPTH")
        self.walks: dict[str, set[str]] = {}  # walk → its pages' URLs (at most walk_pages)
        self.listings: dict[str, int] = {}  # portal → listing pages asked for

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_start(self, start):
        async for output in start:
            refused = self.refusal(output, depth=0, walk=None)
            if refused:
                for failure in stopped(self.stats, output, *refused):
                    yield failure
            else:
                yield output

    async def process_spider_output(self, response, result):
        depth = response.meta.get("depth", 0) + 1
        walk = response.meta.get("nianbao_walk")  # set on listing pages only
        async for output in result:
            refused = self.refusal(output, depth, walk)
            if refused:
                for failure in stopped(self.stats, output, *refused):
                    yield failure
            else:
                yield output

    def refusal(self, output, depth: int, walk: str | None) -> tuple[str, str, str] | None:
        """(budget, URL cut short, reason) if a budget stops `output`, else None. A
        listing request let through counts in its walk (a new one if `walk` is None, the
        walk named by its first page) and its portal."""
        if not isinstance(output, Request) or role(output) not in ("discovery", "listing"):
            return None
        if depth > self.depth:
            return "depth", output.url, (f"{output.url} is {depth} hops from the registry's address, "
                                         f"beyond NIANBAO_CRAWL_DEPTH={self.depth}")
        if role(output) == "discovery":
            return None
        walk = output.meta.setdefault("nianbao_walk", walk or output.url)
        pages = self.walks.setdefault(walk, set())
        if output.url in pages:
            return None  # asked for again: the duplicate filter drops it
        if len(pages) >= self.walk_pages:
            return "walk", walk, (f"the listing pages from {walk} go on past {self.walk_pages} pages "
                                  f"(NIANBAO_WALK_PAGES={self.walk_pages}): {output.url} and the pages "
                                  f"after it not fetched")
        portal_id = output.cb_kwargs.get("portal_id", "")
        if self.listings.get(portal_id, 0) >= self.portal_pages:
            return "portal", output.url, (f"the portal has more than {self.portal_pages} listing pages "
                                          f"(NIANBAO_PORTAL_LISTING_PAGES={self.portal_pages}): "
                                          f"{output.url} and its further listing pages not fetched")
        pages.add(output.url)
        self.listings[portal_id] = self.listings.get(portal_id, 0) + 1
        return None


class TimeBudgetHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP(S) download handler, which first checks the request's portal against
    NIANBAO_PORTAL_SECONDS: once they have passed since the portal's first request, its
    further requests are not made. The check is made as the request is about to be
    sent, not when it entered the downloader: requests queued behind a slow portal's
    busy download slot are stopped too. Attachments are still fetched (they complete a
    report whose page is in hand). A stopped request's errback becomes the budget's
    record, once per portal, instead of the spider's failure per request."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.stats = crawler.stats
        self.seconds = crawler.settings.getfloat("NIANBAO_PORTAL_SECONDS")

    async def download_request(self, request):
        portal_id = request.cb_kwargs.get("portal_id")
        if portal_id and self.seconds and role(request) != "attachment":
            # in the stats, which the http and https handlers share
            started = self.stats.get_value(f"portal/{portal_id}/first_request_at")
            now = datetime.now(timezone.utc)
            if started is None:
                self.stats.set_value(f"portal/{portal_id}/first_request_at", now)
            elif (now - started).total_seconds() > self.seconds:
                reason = (f"the portal's crawl reached {(now - started).total_seconds():.1f} s, beyond "
                          f"NIANBAO_PORTAL_SECONDS={self.seconds:g}: {request.url} and its further "
                          f"requests not made")
                request.errback = recording(stopped(self.stats, request, "time", request.url, reason))
                raise IgnoreRequest(reason)
        return await super().download_request(request)


def recording(failures: list[FailureItem]):
    """An errback handing on `failures` instead of calling the spider's own."""
    def record(_):
        return failures
    return record
