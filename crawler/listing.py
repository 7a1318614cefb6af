"""Read a column's listing pages: its items and the other pages of the column.

Each CMS family has a small adapter, chosen by what the page shows (first match in
ADAPTERS wins); unknown layouts fall back to the generic one. An adapter answers
`matches(response)`, `items(response)` (the documents listed) and
`next_requests(response)` (requests for the column's other pages, without callback:
the spider sets it). Items on HTML pages are found the same way on every CMS: a link
whose list row carries a date, or a TRS document address.
"""
import re
from dataclasses import dataclass

import scrapy
from scrapy.http import TextResponse

DATE = re.compile(r"((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
TRS_DOCUMENT = re.compile(r"/\d{6}/t\d{8}_\d+\.s?html?$")
ROW_TAGS = ("li", "dl", "tr", "p", "div")
NEXT_PAGE_TEXT = ("下一页", "下页", "后一页", "next")


@dataclass
class ListedItem:
    url: str
    title: str
    date: str


def _date(text: str) -> str:
    match = DATE.search(text)
    if not match:
        return ""
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _row_text(link) -> str:
    """The text of the list row that holds `link` (the nearest row-like ancestor)."""
    for ancestor in link.xpath("ancestor::*[position() <= 3]")[::-1]:
        if ancestor.root.tag in ROW_TAGS:
            return " ".join(ancestor.xpath(".//text()").getall())
    return ""


def listed_items(response: TextResponse) -> list[ListedItem]:
    """Every document listed on the page, in page order, without duplicates."""
    items, seen = [], set()
    for link in response.xpath("//a[@href]"):
        href = link.attrib["href"].strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        url = response.urljoin(href)
        title = (link.attrib.get("title") or " ".join(link.xpath(".//text()").getall())).strip()
        title = re.sub(r"\s+", "", title)
        date = _date(_row_text(link))
        if not title or url in seen or not (date or TRS_DOCUMENT.search(url)):
            continue
        seen.add(url)
        items.append(ListedItem(url=url, title=title, date=date))
    return items


class HtmlListAdapter:
    """Base: the items of an HTML listing page are its dated links."""

    def items(self, response: TextResponse) -> list[ListedItem]:
        return listed_items(response)


class TrsStaticAdapter(HtmlListAdapter):
    """TRS WCM static columns: index.htm, index_1.htm, … announced by createPageHTML()."""

    name = "trs"
    # createPageHTML(pages, current, "index", "htm"), or with a container id first:
    # createPageHTML('page_div', pages, current, 'index', 'shtml', records)
    CALL = re.compile(
        r"createPageHTML\(\s*(?:['\"][^'\"]*['\"]\s*,\s*)?(\d+)\s*,\s*(\d+)\s*,"
        r"\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]"
    )

    def matches(self, response: TextResponse) -> bool:
        return bool(self.CALL.search(response.text))

    def next_requests(self, response: TextResponse) -> list[scrapy.Request]:
        pages, _, base, ext = self.CALL.search(response.text).groups()
        return [scrapy.Request(response.urljoin(f"{base}.{ext}" if page == 0 else f"{base}_{page}.{ext}"))
                for page in range(int(pages))]


class NextLinkAdapter(HtmlListAdapter):
    """Any column with a plain 下一页 / next link: the fallback for unknown layouts."""

    name = "generic"

    def matches(self, response: TextResponse) -> bool:
        return True

    def next_requests(self, response: TextResponse) -> list[scrapy.Request]:
        pages = []
        for link in response.xpath("//a[@href]"):
            text = "".join(link.xpath(".//text()").getall()).strip().lower()
            href = link.attrib["href"].strip()
            if text in NEXT_PAGE_TEXT and href and not href.startswith(("javascript:", "#")):
                pages.append(scrapy.Request(response.urljoin(href)))
        return pages


ADAPTERS = [TrsStaticAdapter(), NextLinkAdapter()]


def adapter_for(response: TextResponse):
    return next(adapter for adapter in ADAPTERS if adapter.matches(response))
