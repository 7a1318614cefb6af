"""`scrapy crawl portals`: walk each registered portal's 年报 column.

Arguments (-a): registry=PATH (default: the bundled registry), portal=ID,ID,
level=LEVEL, province=NAME, years=2021-2024. The spider only finds and fetches;
parsing and storing are item pipelines.
"""
import re

import scrapy
from scrapy.exceptions import UsageError
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.items import DocumentItem, FailureItem, SkippedItem
from crawler.listing import adapter_for
from crawler.registry import DEFAULT_REGISTRY, RegistryError, load_registry, select_portals
from parsers.titles import classify_title

ATTACHMENT = re.compile(r"\.(pdf|docx?|wps|xlsx?)$", re.IGNORECASE)


def parse_years(spec: str) -> range | None:
    """`2021-2024` or `2023` to a range of years; empty means every year."""
    if not spec:
        return None
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*", spec)
    if not match:
        raise UsageError(f"years must look like 2021-2024 or 2023, not {spec!r}")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    return range(first, last + 1)


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

    @classmethod
    def check_arguments(cls, **arguments) -> None:
        """Raise UsageError for bad -a arguments before the crawl starts."""
        cls(**arguments)

    def count(self, portal_id: str, key: str) -> None:
        self.crawler.stats.inc_value(f"portal/{portal_id}/{key}")

    async def start(self):
        for portal in self.portals:
            if not portal["column_urls"]:
                self.logger.warning("%s: no 年报 column URL in the registry; skipped", portal["id"])
                continue
            for url in portal["column_urls"]:
                yield scrapy.Request(url, callback=self.parse_listing, errback=self.failed,
                                     cb_kwargs={"portal_id": portal["id"]})

    def parse_listing(self, response, portal_id: str):
        self.count(portal_id, "listings_seen")
        if not hasattr(response, "text"):
            yield FailureItem(response.url, portal_id, "listing", "listing page is not text")
            return
        adapter = adapter_for(response)
        self.logger.debug("%s: %s read as %s", portal_id, response.url, adapter.name)
        for item in adapter.items(response):
            verdict = classify_title(item.title)
            if not verdict["is_report"]:
                self.count(portal_id, "skipped")
                yield SkippedItem(item.url, portal_id, item.title, verdict["reason"])
            elif self.years and verdict["year"] not in self.years:
                continue
            else:
                self.count(portal_id, "reports_found")
                yield scrapy.Request(
                    item.url, callback=self.parse_report, errback=self.failed,
                    cb_kwargs={"portal_id": portal_id, "title": item.title, "date": item.date},
                )
        for request in adapter.next_requests(response):
            yield request.replace(callback=self.parse_listing, errback=self.failed,
                                  cb_kwargs={"portal_id": portal_id})

    def parse_report(self, response, portal_id: str, title: str, date: str):
        yield DocumentItem(
            url=response.url, portal_id=portal_id, role="page", report_url=response.url,
            content=response.body, content_type=response.headers.get("Content-Type", b"").decode("latin-1"),
            status=response.status, listing_title=title, listing_date=date,
        )
        if not hasattr(response, "text"):
            return
        for href in response.xpath("//a/@href").getall():
            url = response.urljoin(href.strip())
            if ATTACHMENT.search(url.split("?")[0]):
                yield scrapy.Request(url, callback=self.parse_attachment, errback=self.failed,
                                     cb_kwargs={"portal_id": portal_id, "report_url": response.url})

    def parse_attachment(self, response, portal_id: str, report_url: str):
        yield DocumentItem(
            url=response.url, portal_id=portal_id, role="attachment", report_url=report_url,
            content=response.body, content_type=response.headers.get("Content-Type", b"").decode("latin-1"),
            status=response.status,
        )

    def failed(self, failure):
        request = failure.request
        portal_id = request.cb_kwargs.get("portal_id", "")
        if failure.check(HttpError):
            error = f"HTTP {failure.value.response.status}"
        else:
            error = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        stage = {self.parse_listing: "listing", self.parse_report: "report"}.get(request.callback, "attachment")
        self.count(portal_id, "failed")
        self.logger.warning("%s: %s failed: %s (%s)", portal_id, stage, request.url, error)
        yield FailureItem(request.url, portal_id, stage, error)
