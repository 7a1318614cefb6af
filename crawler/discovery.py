"""Find a portal's 年报 column from its homepage, for portals registered with a homepage only.

Real portals hang the column 1 to 4 links below the homepage (政务公开 → 政府信息公开 →
法定主动公开内容 → 政府信息公开年报), often on another host (xxgk.…, zwgk.…), under
many names (年度报告, 信息公开年报, 政务公开年报, 政府信息公开年度报告), and build their
menus by script (links in JavaScript strings and JSON, onclick handlers). A page is read
for two kinds of link: columns (their text names a 年报 column, not one report: no
year) and platform links (政府信息公开 and the pages between it and the column), ranked
so that the spider follows the likeliest few within its discovery budget. A Guangdong
gkmlpt platform names its 年报 category in a script tree: the platform page is then
the column itself.
"""
import json
import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from crawler.listing import GkmlptAdapter

YEAR = re.compile(r"(19|20)\d\d")
# a 年报 column: 政府信息公开年报, 信息公开年度报告, 政务公开年报, 部门年报, 乡镇年报, 年报专栏 …
COLUMN_TEXT = re.compile(r"(年报|年度报告|年度工作报告)(专栏|栏目|专题)?$")
# reports of other kinds that share the words
NOT_COLUMN = re.compile(r"企业|统计|财务|决算|预算|工商|质量|社会责任|审计|环境|信用|征求|解读|指南|目录")
# pages between the homepage and the column, best first
PLATFORM_TEXTS = [
    (re.compile(r"^政府信息公开(专栏|平台|网|目录|工作)?$"), 6),
    (re.compile(r"^(法定)?主动公开(内容|目录)?$|^信息公开(专栏|平台|目录|网)?$"), 5),
    (re.compile(r"^政务公开(专栏|平台)?$|^政务信息公开$"), 4),
    (re.compile(r"公开目录$|^(政府|政务)信息$|^政府公开$"), 3),
    (re.compile(r"信息公开|政务公开"), 2),
]
# leaves of a platform, not the way to its column
NOT_PLATFORM = re.compile(r"指南|制度|申请|条例|规定|办法|意见|通知|流程|电话|表$|年报|年度报告")
PLATFORM_PATH = re.compile(r"(^|[/._-])(xxgk|zfxxgk|zwgk|gkml|gkmlpt|zfgk|zwxxgk|openness|xxgkml)([/._-]|$)", re.I)
# links written in scripts: <a href=…>…</a> inside a string, JSON/object menu entries,
# location.href = … handlers
SCRIPT_ANCHOR = re.compile(r"""<a\s[^>]*?href\s*=\s*\\?["']([^"'\\]+)\\?["'][^>]*>(.{0,300}?)<\\?/a>""", re.I | re.S)
OBJECT = re.compile(r"\{[^{}]{1,600}\}", re.S)
OBJECT_TEXT = re.compile(r"""["']?(?:name|title|text|label|menuName|chnlName|catName)["']?\s*:\s*("(?:[^"\\]|\\.)*"|'[^']*')""")
OBJECT_URL = re.compile(r"""["']?(?:url|href|link|path|linkUrl|chnlUrl|catUrl)["']?\s*:\s*("(?:[^"\\]|\\.)*"|'[^']*')""")
GO_TO = re.compile(r"""(?:location(?:\.href)?\s*=|location\.(?:replace|assign)\(|window\.open\()\s*["']([^"']+)["']""")
TAGS = re.compile(r"<[^>]+>")
SKIP_HREF = ("javascript:", "#", "mailto:", "tel:")


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass
class PageLinks:
    """What a page offers discovery: column links (best first), platform links (best
    first) and, for a gkmlpt platform, the page itself as the column."""

    columns: list[Link]
    platforms: list[Link]
    redirect: str = ""  # a script-only page sending the browser elsewhere (a moved site)


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", unescape(TAGS.sub("", text)))


def _string(literal: str) -> str:
    """The value of a JS/JSON string literal."""
    if literal.startswith('"'):
        try:
            return json.loads(literal)
        except ValueError:
            return literal[1:-1]
    return literal[1:-1]


def links(response: TextResponse) -> list[Link]:
    """Every link of the page with its text: anchors (their text, else title, else an
    image's alt), elements with a location.href onclick, and links written in scripts."""
    found = []
    for anchor in response.xpath("//a[@href]"):
        text = "".join(anchor.xpath(".//text()").getall())
        text = _clean(text) or _clean(anchor.attrib.get("title", "")) or _clean(
            " ".join(anchor.xpath(".//img/@alt").getall()))
        found.append((anchor.attrib["href"], text))
    for element in response.xpath("//*[@onclick]"):
        target = GO_TO.search(element.attrib["onclick"])
        if target:
            found.append((target.group(1), _clean("".join(element.xpath(".//text()").getall()))))
    for script in response.xpath("//script/text()").getall():
        script = script.replace("\\/", "/")
        for href, text in SCRIPT_ANCHOR.findall(script):
            found.append((href, _clean(text)))
        for body in OBJECT.findall(script):
            text, url = OBJECT_TEXT.search(body), OBJECT_URL.search(body)
            if text and url:
                found.append((_string(url.group(1)), _clean(_string(text.group(1)))))
    result, seen = [], set()
    for href, text in found:
        href = unescape(href.strip())
        if not href or href.lower().startswith(SKIP_HREF) or not text:
            continue
        url = response.urljoin(href).split("#")[0]
        if (url, text) not in seen and urlsplit(url).scheme in ("http", "https"):
            seen.add((url, text))
            result.append(Link(url, text))
    return result


def is_column_text(text: str) -> bool:
    """A link text naming a 年报 column (not one report, which names its year)."""
    return (bool(COLUMN_TEXT.search(text)) and not YEAR.search(text) and not NOT_COLUMN.search(text)
            and len(text) <= 20)


def is_address(host: str) -> bool:
    return host.split(".")[-1].isdigit() or ":" in host


def site(host: str) -> str:
    """The registrable domain of a host name (pingtan.gov.cn for xxgk.pingtan.gov.cn); an
    address stands for itself (and is never told apart from a portal's other hosts)."""
    if is_address(host):
        return host
    labels = host.lower().split(".")
    return ".".join(labels[-3:] if labels[-2:] == ["gov", "cn"] else labels[-2:])


def platform_score(link: Link, here: str) -> int:
    """How likely the link leads towards the column: by its text, then its address. A
    link to another site (the province's platform in a county's footer) comes after
    the portal's own hosts (www., xxgk., zwgk. … of the same domain)."""
    if YEAR.search(link.text) or len(link.text) > 16 or NOT_PLATFORM.search(link.text):
        return 0
    score = next((points for pattern, points in PLATFORM_TEXTS if pattern.search(link.text)), 0)
    target = urlsplit(link.url)
    if score and PLATFORM_PATH.search(target.netloc + target.path):
        score += 1
    sites = {site(target.hostname or ""), site(urlsplit(here).hostname or "")}
    if score and len(sites) == 2 and not any(is_address(name) for name in sites):
        score = max(1, score - 4)
    return score


def script_redirect(response: TextResponse) -> str:
    """The target of a page that only sends the browser elsewhere by script (a site
    moved to another domain leaves such a page behind)."""
    if len(response.xpath("//a[@href]")) > 2:
        return ""
    for script in response.xpath("//script/text()").getall():
        target = GO_TO.search(script)
        if target:
            return response.urljoin(target.group(1).strip())
    return ""


def gkmlpt_column(response: TextResponse) -> str:
    """The page's own address with its 年报 category when it is a gkmlpt platform whose
    tree has one, else ''."""
    adapter = GkmlptAdapter()
    if not adapter.matches(response):
        return ""
    category = adapter._category(response)
    return f"{response.url.split('#')[0]}#{category}" if category else ""


def read_page(response: TextResponse) -> PageLinks:
    """The column and platform links of a page, best first."""
    page_links = links(response)
    columns = [link for link in page_links if is_column_text(link.text)]
    # the column's own name first (政府信息公开年报), then the shortest (部门年报 …)
    columns.sort(key=lambda link: (0 if "公开" in link.text else 1, len(link.text)))
    gkmlpt = gkmlpt_column(response)
    if gkmlpt:
        columns.insert(0, Link(gkmlpt, "gkmlpt 年报"))
    scored = [(platform_score(link, response.url), index, link) for index, link in enumerate(page_links)]
    platforms = [link for score, _, link in sorted(scored, key=lambda t: (-t[0], t[1])) if score > 0]
    return PageLinks(columns=_first_by_url(columns), platforms=_first_by_url(platforms),
                     redirect=script_redirect(response))


def _first_by_url(found: list[Link]) -> list[Link]:
    """`found` without the later links to an address already listed."""
    first: dict[str, Link] = {}
    for link in found:
        first.setdefault(link.url, link)
    return list(first.values())
