"""`scrapy crawl portals`: walk each registered portal's 年报 column.

Arguments (-a): registry=PATH (default: the bundled registry), portal=ID,ID,
level=LEVEL, province=NAME, years=2021-2024. The spider only finds and fetches;
parsing and storing are item pipelines, skipping archived reports a middleware.
"""
import html
import re
from importlib.metadata import version
from itertools import islice

import scrapy
from scrapy.exceptions import UsageError
from scrapy.spidermiddlewares.httperror import HttpError

from archive.columns import cached_columns
from archive.db import open_archive
from crawler.columns import ColumnItem, Search
from crawler.distributed import DistributedFrontier, worker_settings
from crawler.discovery import Link, read_page
from crawler.images import report_images
from crawler.items import DocumentItem, FailureItem, ReportItem, SkippedItem
from crawler.listing import adapter_for
from crawler.policy import shown_url
from crawler.registry import DEFAULT_REGISTRY, RegistryError, load_registry, select_portals
from crawler.stats import count
from parsers.titles import classify_title

# href="….pdf" (or .doc .docx .wps .xls .xlsx .ofd, with or without a query string), matched
# in the page's bytes lowercased: the same length, so the link is cut from the original
# bytes; and a lowercase literal lets the scan skip ahead (a case-blind one is 5× slower)
ATTACHMENT_HREF = re.compile(rb"""href\s*=\s*["']?([^"'\s>]+?\.(?:pdf|docx?|wps|xlsx?|ofd))(?:\?[^"'\s>]*)?["'\s>]""")


def parse_years(spec: str) -> range | None:
    """`2021-2024` or `2023` to a range of years; empty means every year."""
    if not spec:
        return None
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*", spec)
    if not match:
        raise UsageError(f"years must look like 2021-2024 or 2023, not {spec!r}", print_help=False)
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    return range(first, last + 1)


def lists_nothing(response) -> bool:
    """A listing page with no item and no further page to ask for."""
    if not hasattr(response, "text"):
        return True
    adapter = adapter_for(response)
    return not adapter.items(response) and next(iter(adapter.next_requests(response)), None) is None


def document_item(response, portal_id: str, role: str, report_url: str, **listing) -> DocumentItem:
    return DocumentItem(
        url=response.url, portal_id=portal_id, role=role, report_url=report_url, content=response.body,
        content_type=response.headers.get("Content-Type", b"").decode("latin-1"), status=response.status,
        http=http_exchange(response), **listing,
    )


def _header_pairs(headers) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values]


def http_exchange(response) -> dict:
    """The response's protocol and headers and its request's, as the WARC records keep them."""
    return {"protocol": response.protocol or "HTTP/1.1", "headers": _header_pairs(response.headers),
            "request": {"method": response.request.method, "headers": _header_pairs(response.request.headers)}}


class PortalsSpider(scrapy.Spider):
    name = "portals"

    def __init__(self, registry: str = "", portal: str = "", level: str = "", province: str = "",
                 years: str = "", **kwargs):
        super().__init__(**kwargs)
        try:
            self.portals = select_portals(
                load_registry(registry or DEFAULT_REGISTRY), ids=portal, level=level, province=province
            )
        except RegistryError as error:
            raise UsageError(str(error), print_help=False) from error
        self.years = parse_years(years)
        self.robots_override = {p["id"]: p.get("robots_override", "") for p in self.portals}
        # discovery (see discover_column): the searches under way, the columns asked for
        # per portal, the portals searched again after their stored column failed
        self.searches: dict[str, Search] = {}
        self.columns_asked: dict[str, set[str]] = {}
        self.searched_again: set[str] = set()
        self.homepages = {p["id"]: p.get("homepage") for p in self.portals}

    @classmethod
    def update_settings(cls, settings) -> None:
        """Name the project and the operator's contact URL in the User-Agent (an
        explicit -s USER_AGENT still wins)."""
        super().update_settings(settings)
        contact = settings.get("NIANBAO_CONTACT_URL")
        settings.set("USER_AGENT", f"nianbao/{version('nianbao')} (+{contact}; government annual report archive)",
                     priority="spider")
        if settings.get("NIANBAO_REDIS_URL"):  # a worker of a distributed crawl
            worker_settings(settings)

    @classmethod
    def check_arguments(cls, **arguments) -> None:
        """Raise UsageError for bad -a arguments before the crawl starts."""
        cls(**arguments)

    def request(self, url: str, callback, portal_id: str, **kwargs) -> scrapy.Request:
        """A request of this crawl: failures recorded, robots.txt obeyed unless the
        registry states a reason to override it for the portal."""
        return scrapy.Request(url, callback=callback, errback=self.failed,
                              meta=self.portal_meta(portal_id, kwargs.pop("meta", {})),
                              cb_kwargs={"portal_id": portal_id, **kwargs.pop("cb_kwargs", {})}, **kwargs)

    def portal_meta(self, portal_id: str, meta: dict) -> dict:
        if self.robots_override.get(portal_id):
            return {**meta, "dont_obey_robotstxt": True}
        return meta

    async def start(self):
        if self.settings.get("NIANBAO_REDIS_URL"):  # the portals leased to this worker, columns from the seed
            async for portal, cached in self.crawler.get_spider_middleware(DistributedFrontier).portals(self.portals):
                for request in self.portal_requests(portal, cached):
                    yield request
            return
        cached = self.cached_columns()
        for portal in self.portals:
            for request in self.portal_requests(portal, cached):
                yield request

    def portal_requests(self, portal: dict, cached: dict):
        """A portal's start requests: its registered columns, else those an earlier crawl
        found (`cached`), else a search from its homepage."""
        if portal["column_urls"]:
            for url in portal["column_urls"]:
                yield self.request(url, self.parse_listing, portal["id"])
        elif cached.get(portal["id"]):
            for url, found_via in cached[portal["id"]]:
                yield self.column_request(url, portal["id"], found_via, cached=True)
        elif portal.get("homepage"):
            yield self.search_from(portal["id"], portal["homepage"])
        else:
            self.logger.warning("%s: neither a 年报 column nor a homepage in the registry", portal["id"])

    # Discovery: a homepage-only portal's column is searched for, link by link, within
    # NIANBAO_DISCOVERY_* (and the crawl budgets); the columns found are stored, and a
    # later crawl starts from them until one fails, when the search starts again.

    def cached_columns(self) -> dict[str, list[tuple[str, str]]]:
        """The columns found by earlier crawls and still answering, per portal."""
        if self.settings.getbool("NIANBAO_REDISCOVER"):
            return {}
        db = open_archive(self.settings.get("NIANBAO_DB"))
        try:
            return cached_columns(db)
        finally:
            db.close()

    def search_from(self, portal_id: str, homepage: str) -> scrapy.Request:
        self.searches[portal_id] = Search(homepage)
        return self.search_request(homepage, portal_id, depth=0, via=[])

    def search_request(self, url: str, portal_id: str, depth: int, via: list[str]) -> scrapy.Request:
        search = self.searches[portal_id]
        search.pending += 1
        search.pages += 1
        search.seen.add(url)
        return self.request(url, self.discover_column, portal_id, dont_filter=True,
                            cb_kwargs={"depth": depth, "via": via}).replace(errback=self.discovery_failed)

    def column_request(self, url: str, portal_id: str, found_via: str, cached: bool = False) -> scrapy.Request:
        self.columns_asked.setdefault(portal_id, set()).add(url)
        return self.request(url, self.parse_column, portal_id, dont_filter=True, meta={"nianbao_walk": url},
                            cb_kwargs={"found_via": found_via, "cached": cached}).replace(errback=self.column_failed)

    def discover_column(self, response, portal_id: str, depth: int, via: list[str]):
        """Read a homepage or a page below it: ask for the 年报 columns it links to, else
        follow its likeliest 政府信息公开 links one level deeper."""
        search = self.searches.get(portal_id)
        if search is None:
            return
        search.pending -= 1
        if depth and via and via[-1] != "→":
            search.platform = True
        if hasattr(response, "text") and not search.found:
            page = read_page(response)
            asked = self.columns_asked.setdefault(portal_id, set())
            for link in page.columns:
                if link.url not in asked and len(asked) < self.settings.getint("NIANBAO_DISCOVERY_COLUMNS"):
                    search.found = True
                    self.logger.info("%s: 年报 column found at %s (%s)", portal_id, link.url,
                                     " → ".join([*via, link.text]))
                    yield self.column_request(link.url, portal_id, " → ".join([*via, link.text]))
            if not search.found and depth < self.settings.getint("NIANBAO_DISCOVERY_DEPTH"):
                follow = ([Link(page.redirect, "→")] if page.redirect else []) + page.platforms
                branches = 0
                for link in follow:
                    if link.url in search.seen:
                        continue
                    if branches == self.settings.getint("NIANBAO_DISCOVERY_BRANCHES") or \
                            search.pages >= self.settings.getint("NIANBAO_DISCOVERY_PAGES"):
                        search.cut = True
                        break
                    branches += 1
                    yield self.search_request(link.url, portal_id, depth + 1, [*via, link.text])
        yield from self.search_ended(portal_id)

    def search_ended(self, portal_id: str):
        """Once nothing is awaited: the portal's failure if no column was found, with the
        reason (`unreachable` was recorded with the homepage's failure)."""
        search = self.searches[portal_id]
        if search.pending:
            return
        del self.searches[portal_id]
        if search.found or search.unreachable:
            return
        depth, pages = self.settings.getint("NIANBAO_DISCOVERY_DEPTH"), self.settings.getint("NIANBAO_DISCOVERY_PAGES")
        if search.platform:
            error = (f"no column: no 年报 column found on the 政府信息公开 pages within {depth} links of the "
                     f"homepage ({search.pages} pages read" + (f", NIANBAO_DISCOVERY_PAGES={pages} reached)"
                                                               if search.cut else ")"))
        else:
            error = "no platform: no 年报 column found: the homepage links to no 政府信息公开 page"
        count(self.crawler.stats, portal_id, "failed")
        self.logger.warning("%s: discovery failed: %s (%s)", portal_id, search.homepage, error)
        yield FailureItem(search.homepage, portal_id, "discovery", error)

    def discovery_failed(self, failure):
        """A page of the search failed: recorded; the homepage's failure says the portal
        is unreachable."""
        portal_id = failure.request.cb_kwargs["portal_id"]
        homepage = failure.request.cb_kwargs["depth"] == 0
        for item in self.failed(failure):
            if homepage and item.stage == "discovery":
                item.error = f"unreachable: {item.error}"
            yield item
        search = self.searches.get(portal_id)
        if search is None:
            return
        search.pending -= 1
        search.unreachable |= homepage
        yield from self.search_ended(portal_id)

    def parse_column(self, response, portal_id: str, found_via: str, cached: bool):
        """A column found (or cached) answered: stored; a column found now may list the
        portal's other 年报 columns (部门, 乡镇), asked for too; then read as a listing."""
        url = response.request.url if "#" in response.request.url else response.url
        if cached and lists_nothing(response):  # a redesigned site answering 200 for it
            error = "the stored column lists nothing any more"
            self.logger.warning("%s: listing failed: %s (%s)", portal_id, url, error)
            count(self.crawler.stats, portal_id, "failed")
            yield FailureItem(url, portal_id, "listing", error)
            yield ColumnItem(portal_id, response.request.url, found_via, error=error)
            yield from self.search_again(portal_id, response.request.url)
            return
        yield ColumnItem(portal_id, url, found_via)
        if not cached and hasattr(response, "text"):
            asked = self.columns_asked.setdefault(portal_id, set())
            asked.add(response.url)
            listed = {item.url for item in adapter_for(response).items(response)}
            for link in read_page(response).columns:
                if link.url not in asked and link.url not in listed and \
                        len(asked) < self.settings.getint("NIANBAO_DISCOVERY_COLUMNS"):
                    yield self.column_request(link.url, portal_id, f"{found_via} → {link.text}")
        yield from self.parse_listing(response, portal_id)

    def column_failed(self, failure):
        """A column failed for good: recorded (a `listing` failure) and no longer cached; a
        cached one means the portal moved it: search again from the homepage, once."""
        request = failure.request
        portal_id = request.cb_kwargs["portal_id"]
        for item in self.failed(failure):
            if item.stage == "discovery":
                item.stage = "listing"
            yield item
            yield ColumnItem(portal_id, request.url, request.cb_kwargs["found_via"], error=item.error)
        if request.cb_kwargs["cached"]:
            yield from self.search_again(portal_id, request.url)

    def search_again(self, portal_id: str, column: str):
        """Search the portal's homepage again (once a crawl) for a stored column that failed."""
        homepage = self.homepages.get(portal_id)
        if homepage and portal_id not in self.searched_again:
            self.searched_again.add(portal_id)
            self.logger.info("%s: the stored column %s failed; searching again from %s", portal_id, column, homepage)
            yield self.search_from(portal_id, homepage)

    def parse_listing(self, response, portal_id: str):
        count(self.crawler.stats, portal_id, "listings_seen")
        if not hasattr(response, "text"):
            yield FailureItem(response.url, portal_id, "listing", "listing page is not text")
            return
        adapter = adapter_for(response)
        if adapter.name == "generic":
            self.logger.info("%s: %s has no known CMS layout; read as a generic list", portal_id, response.url)
        for item in adapter.items(response):
            verdict = classify_title(item.title)
            if not verdict["is_report"]:
                count(self.crawler.stats, portal_id, "skipped")
                yield SkippedItem(item.url, portal_id, item.title, verdict["reason"])
            elif self.years and verdict["year"] not in self.years:
                continue
            else:
                count(self.crawler.stats, portal_id, "reports_found")
                yield self.request(item.url, self.parse_report, portal_id, meta={"nianbao_role": "report"},
                                   cb_kwargs={"title": item.title, "date": item.date})
        # one page more than a walk may hold, taken one at a time from what the page
        # announces: crawler.budgets sees the walk overflow and records it
        for request in islice(adapter.next_requests(response), self.settings.getint("NIANBAO_WALK_PAGES") + 1):
            yield request.replace(callback=self.parse_listing, errback=self.failed,
                                  cb_kwargs={"portal_id": portal_id},
                                  meta=self.portal_meta(portal_id, request.meta))

    def parse_report(self, response, portal_id: str, title: str, date: str):
        """Fetch the page's attachments and the images of its body (tables published as
        pictures, crawler/images.py; bounded in count and bytes) one after another, then hand
        the report on with all its documents."""
        report = ReportItem(document_item(response, portal_id, "page", response.url,
                                          listing_title=title, listing_date=date))
        attachments = []  # (url, request meta)
        if hasattr(response, "text"):
            for match in ATTACHMENT_HREF.finditer(response.body.lower()):
                href = response.body[match.start(1):match.end(1)].decode(response.encoding, errors="replace")
                url = response.urljoin(html.unescape(href))
                if url not in (seen for seen, _ in attachments):
                    attachments.append((url, {}))
            image_bytes = {"download_maxsize": self.settings.getint("NIANBAO_REPORT_IMAGE_BYTES")}
            for url in report_images(response, self.settings.getint("NIANBAO_REPORT_IMAGES")):
                if url not in (seen for seen, _ in attachments):
                    attachments.append((url, image_bytes))
        yield from self.next_attachment(report, attachments)

    def next_attachment(self, report: ReportItem, pending: list[tuple[str, dict]]):
        if not pending:
            yield report
            return
        url, meta = pending[0]
        yield self.request(url, self.parse_attachment, report.page.portal_id, dont_filter=True, meta=dict(meta),
                           cb_kwargs={"report": report, "pending": pending[1:]})

    def parse_attachment(self, response, portal_id: str, report: ReportItem, pending: list[tuple[str, dict]]):
        report.attachments.append(document_item(response, portal_id, "attachment", report.page.url))
        yield from self.next_attachment(report, pending)

    def failed(self, failure):
        request = failure.request
        portal_id = request.cb_kwargs.get("portal_id", "")
        if failure.check(HttpError):
            error = f"HTTP {failure.value.response.status}"
        elif hasattr(failure.value, "stage"):  # refused by policy, redirects or throttling
            error = str(failure.value)
        else:
            error = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        error = " ".join(error.split())[:1000]  # one line, whatever the exception says
        stage = getattr(failure.value, "stage", None) or {
            self.parse_listing: "listing", self.parse_report: "report",
            self.parse_attachment: "attachment"}.get(request.callback, "discovery")
        count(self.crawler.stats, portal_id, "failed")
        url = shown_url(request.url)
        self.logger.warning("%s: %s failed: %s (%s)", portal_id, stage, url, error)
        yield FailureItem(url, portal_id, stage, error)
        if request.callback == self.parse_attachment:
            yield from self.next_attachment(request.cb_kwargs["report"], request.cb_kwargs["pending"])
