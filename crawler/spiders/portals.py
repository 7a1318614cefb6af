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

from crawler.discovery import column_links, disclosure_links
from crawler.items import DocumentItem, FailureItem, ReportItem, SkippedItem
from crawler.listing import adapter_for
from crawler.policy import shown_url
from crawler.registry import DEFAULT_REGISTRY, RegistryError, load_registry, select_portals
from crawler.stats import count
from parsers.titles import classify_title

# href="….pdf" (or .doc .docx .wps .xls .xlsx, with or without a query string), matched
# in the page's bytes lowercased: the same length, so the link is cut from the original
# bytes; and a lowercase literal lets the scan skip ahead (a case-blind one is 5× slower)
ATTACHMENT_HREF = re.compile(rb"""href\s*=\s*["']?([^"'\s>]+?\.(?:pdf|docx?|wps|xlsx?))(?:\?[^"'\s>]*)?["'\s>]""")
DISCOVERY_DEPTH = 2


def parse_years(spec: str) -> range | None:
    """`2021-2024` or `2023` to a range of years; empty means every year."""
    if not spec:
        return None
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*", spec)
    if not match:
        raise UsageError(f"years must look like 2021-2024 or 2023, not {spec!r}", print_help=False)
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    return range(first, last + 1)


def document_item(response, portal_id: str, role: str, report_url: str, **listing) -> DocumentItem:
    return DocumentItem(
        url=response.url, portal_id=portal_id, role=role, report_url=report_url, content=response.body,
        content_type=response.headers.get("Content-Type", b"").decode("latin-1"), status=response.status,
        **listing,
    )


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

    @classmethod
    def update_settings(cls, settings) -> None:
        """Name the project and the operator's contact URL in the User-Agent (an
        explicit -s USER_AGENT still wins)."""
        super().update_settings(settings)
        contact = settings.get("NIANBAO_CONTACT_URL")
        settings.set("USER_AGENT", f"nianbao/{version('nianbao')} (+{contact}; government annual report archive)",
                     priority="spider")

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
        for portal in self.portals:
            if portal["column_urls"]:
                for url in portal["column_urls"]:
                    yield self.request(url, self.parse_listing, portal["id"])
            elif portal.get("homepage"):
                yield self.request(portal["homepage"], self.discover_column, portal["id"], cb_kwargs={"depth": 0})
            else:
                self.logger.warning("%s: neither a 年报 column nor a homepage in the registry", portal["id"])

    def discover_column(self, response, portal_id: str, depth: int):
        """Find the 年报 column from a homepage or a 政府信息公开 page, by link text."""
        if not hasattr(response, "text"):
            return
        columns = column_links(response)
        if columns:
            self.logger.info("%s: 年报 column found at %s", portal_id, columns[0])
            yield self.request(columns[0], self.parse_listing, portal_id)
        elif depth < DISCOVERY_DEPTH:
            for url in disclosure_links(response):
                yield self.request(url, self.discover_column, portal_id, cb_kwargs={"depth": depth + 1})
        elif depth == DISCOVERY_DEPTH:
            count(self.crawler.stats, portal_id, "failed")
            yield FailureItem(response.url, portal_id, "discovery",
                              f"no 年报 column found within {DISCOVERY_DEPTH} links of the homepage")

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
        """Fetch the page's attachments one after another, then hand the report on
        with all its documents."""
        report = ReportItem(document_item(response, portal_id, "page", response.url,
                                          listing_title=title, listing_date=date))
        attachments = []
        if hasattr(response, "text"):
            for match in ATTACHMENT_HREF.finditer(response.body.lower()):
                href = response.body[match.start(1):match.end(1)].decode(response.encoding, errors="replace")
                url = response.urljoin(html.unescape(href))
                if url not in attachments:
                    attachments.append(url)
        yield from self.next_attachment(report, attachments)

    def next_attachment(self, report: ReportItem, pending: list[str]):
        if not pending:
            yield report
            return
        yield self.request(pending[0], self.parse_attachment, report.page.portal_id, dont_filter=True,
                           cb_kwargs={"report": report, "pending": pending[1:]})

    def parse_attachment(self, response, portal_id: str, report: ReportItem, pending: list[str]):
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
