"""Read a column's listing pages: its items and the other pages of the column.

Each CMS family has a small adapter, chosen by what the page shows (first match in
ADAPTERS wins); unknown layouts fall back to the generic one. An adapter answers
`matches(response)`, `items(response)` (the documents listed) and
`next_requests(response)` (requests for the column's other pages, without callback:
the spider sets it). `next_requests` is a generator: a page may announce ten million
pages, so requests are made one at a time as the spider takes them, and the spider
takes no more than the walk budget (crawler/budgets.py). Items on HTML pages are found the same way on every CMS: a link
whose list row carries a date, or a TRS document address. Families whose lists are not
in the page's HTML (Hanweb jcms XML datastores, Guangdong gkmlpt JSON) read their own
data; their paging requests may be POSTs (FormRequest): the spider only sets callbacks.
"""
import json
import logging
import math
from collections.abc import Iterator
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import unescape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from scrapy.http import TextResponse
from scrapy.selector import Selector

logger = logging.getLogger(__name__)

DATE = re.compile(r"((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
TRS_DOCUMENT = re.compile(r"/\d{6}/t\d{8}_\d+\.s?html?$")
ROW_TAGS = ("li", "dl", "tr", "p", "div")
NEXT_PAGE_TEXT = ("下一页", "下页", "后一页", "next")
BEIJING = timezone(timedelta(hours=8))


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


def _row_text(element) -> str:
    """The text of the list row that holds the link `element` (its nearest row-like
    ancestor, at most three levels up)."""
    for depth, ancestor in enumerate(element.iterancestors()):
        if depth == 3:
            break
        if ancestor.tag in ROW_TAGS:
            return " ".join(ancestor.itertext())
    return ""


def listed_items(response: TextResponse, selector=None) -> list[ListedItem]:
    """Every document listed on the page (or on `selector`, a fragment of it), in page
    order, without duplicates."""
    items, seen = [], set()
    for link in (selector or response).xpath("//a[@href]"):
        href = link.attrib["href"].strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        url = response.urljoin(href)
        title = re.sub(r"\s+", "", link.attrib.get("title") or "".join(link.root.itertext()))
        date = _date(_row_text(link.root))
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

    def next_requests(self, response: TextResponse) -> Iterator[scrapy.Request]:
        """The pages after the first, asked for by the first page only: every page
        announces them all, and the first is where a walk of the column starts."""
        pages, current, base, ext = self.CALL.search(response.text).groups()
        if int(current) != 0:
            return
        for page in range(1, int(pages)):
            yield scrapy.Request(response.urljoin(f"{base}_{page}.{ext}"))


def _with_query(url: str, **params) -> str:
    """`url` with the query parameters `params` set (others kept, order kept)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({key: str(value) for key, value in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


class HanwebJcmsAdapter:
    """Hanweb (大汉) jcms columns, /col/colNNN/index.html.

    The page carries its first group of records in an XML datastore inside
    <script type="text/xml">: <datastore><nextgroup>…</nextgroup><recordset><record>
    <![CDATA[<li><a href=… title=…>…</a><span>date</span></li>]]></record>…; the other
    groups are POSTed to /module/web/jpage/dataproxy.jsp?startrecord=&endrecord=&perpage=
    with the form fields the page's script gives (col, appid, webid, path, columnid,
    sourceContentType, unitid, webname, permissiontype), answered by the same XML.
    """

    name = "jcms"
    PROXY = "/module/web/jpage/dataproxy.jsp"
    RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
    FIELDS = ("col", "appid", "webid", "path", "columnid", "sourceContentType", "unitid", "webname",
              "permissiontype")
    DEFAULTS = {"col": "1", "appid": "1", "path": "/", "sourceContentType": "1", "permissiontype": "0"}
    GROUP_PAGES = 3  # jcms fetches three pages of records per request

    def matches(self, response: TextResponse) -> bool:
        return "<datastore>" in response.text and ("<recordset>" in response.text or self.PROXY in response.text)

    def items(self, response: TextResponse) -> list[ListedItem]:
        items, seen = [], set()
        for fragment in self.RECORD.findall(response.text):
            for item in listed_items(response, Selector(text=fragment)):
                if item.url not in seen:
                    seen.add(item.url)
                    items.append(item)
        return items

    def _number(self, name: str, text: str) -> int | None:
        match = re.search(rf"""['"]?{name}['"]?\s*[:=]\s*['"]?(\d+)|<{name}>\s*(\d+)""", text, re.I)
        return int(match.group(1) or match.group(2)) if match else None

    def _params(self, response: TextResponse) -> tuple[str, dict]:
        """The proxy's address and form fields: from the page's jpage script, else from
        the nextgroup link (whose address is the proxy's, with the fields as its query)."""
        params, proxy = {}, None
        text = " ".join(script for script in response.xpath("//script[not(@type='text/xml')]/text()").getall()
                        if "columnid" in script)
        for field in self.FIELDS + ("proxyUrl",):
            match = re.search(rf"""['"]?\b{field}['"]?\s*:\s*(?:'([^']*)'|"([^"]*)"|([\w/.%-]+))""", text)
            if match:
                params[field] = unescape(next(group for group in match.groups() if group is not None))
        proxy = params.pop("proxyUrl", None)
        nextgroup = re.search(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>", response.text, re.S)
        href = nextgroup and re.search(r"""href\s*=\s*['"]([^'"]+)""", nextgroup.group(1))
        if href:
            link = urlsplit(unescape(href.group(1)))
            proxy = proxy or urlunsplit(link._replace(query="", fragment=""))
            query = dict(parse_qsl(link.query, keep_blank_values=True))
            params = {**{k: v for k, v in query.items() if k in self.FIELDS}, **params}
        for field, value in self.DEFAULTS.items():
            params.setdefault(field, value)
        return response.urljoin(proxy or self.PROXY), params

    def next_requests(self, response: TextResponse) -> Iterator[scrapy.Request]:
        if self.PROXY in urlsplit(response.url).path:
            return  # a group answered by the proxy: the column page asked for all of them
        text = response.text
        proxy, params = self._params(response)
        if not params.get("columnid"):
            logger.warning("jcms column without a columnid: %s", response.url)
            return
        total = self._number("totalRecord", text) or 0
        per_page = self._number("perPage", text) or 15
        group = per_page * self.GROUP_PAGES
        start = len(self.RECORD.findall(text)) + 1
        while start <= total:
            end = start + group - 1
            url = f"{proxy}?startrecord={start}&endrecord={end}&perpage={per_page}"
            yield scrapy.FormRequest(url, formdata=params, headers={"Referer": response.url})
            start = end + 1


class GkmlptAdapter:
    """Guangdong's 政府信息公开目录管理平台 (gkmlpt): …/gkmlpt/index pages.

    The page is a script application: window._CONFIG gives SID (the site) and TREE (the
    categories: id, name, children); the chosen category is the URL's #fragment, else the
    tree's 年报 node. Lists come from GET …/gkmlpt/api/all/{category}?page=N&sid=SID
    (pages from 1), JSON {"total": n, "classify": {"post_count": n}, "articles": [{"id",
    "title", "url", "post_url", "created_at": "YYYY-MM-DD HH:MM:SS", "date": epoch, …}]}.
    """

    name = "gkmlpt"
    API = re.compile(r"/gkmlpt/api/all/(\d+)")
    SID = re.compile(r"""\bSID\s*:\s*['"]?(\d+)""")
    NODE = re.compile(r""""id"\s*:\s*(\d+)\s*,\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")""")
    REPORT_NODE = ("年报", "年度报告")

    def matches(self, response: TextResponse) -> bool:
        path = urlsplit(response.url).path
        return bool(self.API.search(path)) or ("/gkmlpt/" in path and bool(self.SID.search(response.text)))

    def _data(self, response: TextResponse) -> dict | None:
        if not self.API.search(urlsplit(response.url).path):
            return None
        try:
            data = json.loads(response.text)
        except ValueError:
            logger.warning("gkmlpt API answered something else than JSON: %s", response.url)
            return None
        return data if isinstance(data, dict) else None

    def items(self, response: TextResponse) -> list[ListedItem]:
        data = self._data(response)
        if data is None:
            return []  # the index page: its list is drawn by script from the API
        items = []
        for article in data.get("articles") or []:
            href = article.get("url") or article.get("post_url")
            title = re.sub(r"\s+", "", article.get("title") or "")
            if not href or not title:
                continue
            date = _date(str(article.get("created_at") or article.get("publish_time") or ""))
            if not date and str(article.get("date") or "").isdigit():  # epoch seconds, Beijing time
                date = datetime.fromtimestamp(int(article["date"]), BEIJING).date().isoformat()
            items.append(ListedItem(url=response.urljoin(href), title=title, date=date))
        return items

    def _category(self, response: TextResponse) -> str | None:
        fragment = urlsplit(response.url).fragment
        if fragment.isdigit():
            return fragment
        for node_id, raw_name in self.NODE.findall(response.text):
            if any(word in json.loads(raw_name) for word in self.REPORT_NODE):
                return node_id
        return None

    def next_requests(self, response: TextResponse) -> Iterator[scrapy.Request]:
        data = self._data(response)
        if data is None:  # the index page: ask the API for the category's first page
            sid, category = self.SID.search(response.text), self._category(response)
            if not (sid and category):
                logger.warning("gkmlpt page without SID or 年报 category: %s", response.url)
                return
            base = response.url.split("#")[0].rsplit("/gkmlpt/", 1)[0]
            yield scrapy.Request(f"{base}/gkmlpt/api/all/{category}?page=1&sid={sid.group(1)}")
            return
        page = int(dict(parse_qsl(urlsplit(response.url).query)).get("page") or 1)
        articles = data.get("articles") or []
        if page > 1 or not articles:
            return
        total = data.get("total") or (data.get("classify") or {}).get("post_count") or 0
        for number in range(2, math.ceil(int(total) / len(articles)) + 1):
            yield scrapy.Request(_with_query(response.url, page=number))


class XxgkAnnualReportAdapter(HtmlListAdapter):
    """Hanweb's 信息公开 annual-report module: module/xxgk/xxgkAnnualReport.jsp?area=…&fbtime=YEAR
    lists one area's reports of one year; its other years are links (or options) with
    another fbtime for the same area."""

    name = "xxgk-annual"
    PAGE = "xxgkAnnualReport.jsp"

    def matches(self, response: TextResponse) -> bool:
        return self.PAGE in urlsplit(response.url).path

    def next_requests(self, response: TextResponse) -> Iterator[scrapy.Request]:
        here = dict(parse_qsl(urlsplit(response.url).query))
        years = set()
        for href in response.xpath("//a/@href | //option/@value").getall():
            href = href.strip()
            if re.fullmatch(r"(?:19|20)\d\d", href):
                years.add(href)
            elif self.PAGE in href:
                query = dict(parse_qsl(urlsplit(response.urljoin(href)).query))
                if query.get("fbtime") and query.get("area", here.get("area")) == here.get("area"):
                    years.add(query["fbtime"])
        years.discard(here.get("fbtime"))
        for year in sorted(years):
            yield scrapy.Request(_with_query(response.url, fbtime=year))


class NextLinkAdapter(HtmlListAdapter):
    """Any column with a plain 下一页 / next link: the fallback for unknown layouts."""

    name = "generic"

    def matches(self, response: TextResponse) -> bool:
        return True

    def items(self, response: TextResponse) -> list[ListedItem]:
        items = listed_items(response)
        if not items:
            logger.warning("unknown listing layout (no dated links): %s", response.url)
        return items

    def next_requests(self, response: TextResponse) -> Iterator[scrapy.Request]:
        seen = set()  # a 下一页 above the list and one below it are the same page
        for link in response.xpath("//a[@href]"):
            text = "".join(link.xpath(".//text()").getall()).strip().lower()
            href = link.attrib["href"].strip()
            if text in NEXT_PAGE_TEXT and href and not href.startswith(("javascript:", "#")):
                url = response.urljoin(href)
                if url not in seen:
                    seen.add(url)
                    yield scrapy.Request(url)


ADAPTERS = [HanwebJcmsAdapter(), GkmlptAdapter(), XxgkAnnualReportAdapter(), TrsStaticAdapter(), NextLinkAdapter()]


def adapter_for(response: TextResponse):
    return next(adapter for adapter in ADAPTERS if adapter.matches(response))
