"""Find a portal's 年报 column by link text, for portals registered with a homepage only."""
import re

from scrapy.http import TextResponse

# Link texts that name the column itself (not one report: those carry a year).
COLUMN_TEXT = re.compile(r"(政府)?信息公开(工作)?(年报|年度报告)|^年度报告$|^年报$")
# Link texts of the pages that usually hold the column: one level closer to it.
DISCLOSURE_TEXT = re.compile(r"^(政府信息公开|信息公开|政务公开|法定主动公开内容|政府信息公开专栏)$")
YEAR = re.compile(r"(19|20)\d\d")


def _links(response: TextResponse):
    for link in response.xpath("//a[@href]"):
        href = link.attrib["href"].strip()
        if href and not href.startswith(("javascript:", "#", "mailto:")):
            text = re.sub(r"\s+", "", link.attrib.get("title") or "".join(link.xpath(".//text()").getall()))
            yield text, response.urljoin(href)


def column_links(response: TextResponse) -> list[str]:
    """Links that name a 年报 column, best first (shortest text: the column, not a report)."""
    found = {url: text for text, url in _links(response) if COLUMN_TEXT.search(text) and not YEAR.search(text)}
    return sorted(found, key=lambda url: len(found[url]))


def disclosure_links(response: TextResponse) -> list[str]:
    """Links to the 政府信息公开 pages where a 年报 column usually hangs."""
    return list(dict.fromkeys(url for text, url in _links(response) if DISCLOSURE_TEXT.match(text)))
