"""The images of a report page that may be its tables (some portals publish the statutory
tables as pictures): fetched with the page's attachments and read by OCR.

Only the images inside the report's body are taken, the element whose paragraphs hold most
of the page's text outside its header, menus and footer, so that the site's frame (logos,
QR codes, 备案 badges) is left; and of those, not the ones named or sized like icons, logos,
QR codes or banners. The count is bounded by the caller (NIANBAO_REPORT_IMAGES), the bytes by the
request (NIANBAO_REPORT_IMAGE_BYTES)."""
import re
from collections import Counter

# an image's src, alt, class or id naming page furniture, not a table
FURNITURE = re.compile(r"logo|icon|ewm|erweima|qr|code|二维码|banner|share|weixin|wechat|weibo|btn|button|arrow"
                       r"|print|close|bg|babs|beian|conac|jiucuo|spacer|blank|loading", re.I)
# an element of the site's frame, by its tag, class or id
CHROME = re.compile(r"^(?:header|footer|nav)\b|\b(?:head|foot|nav|menu|bottom|copyright|sidebar)", re.I)
MIN_SIDE = 100  # pixels: an image declared narrower or lower holds no table
_SIZE = re.compile(r"(width|height)\s*:\s*(\d+)\s*px", re.I)


def report_images(response, limit: int) -> list[str]:
    """Absolute URLs of at most `limit` images of the report's body, in page order."""
    body = _body(response.selector.root) if limit > 0 else None
    if body is None:
        return []
    urls = []
    for image in body.iter("img"):
        src = (image.get("src") or image.get("data-src") or "").strip()
        if not src or src.startswith(("data:", "javascript:")) or _furniture(image, src) or _small(image):
            continue
        url = response.urljoin(src)
        if url.startswith(("http://", "https://")) and url not in urls:
            urls.append(url)
        if len(urls) == limit:
            break
    return urls


def _body(root):
    """The element whose paragraphs (<p>, and the text <div>s and cells hold themselves)
    carry the most text: the report's body (an lxml element), or None."""
    if not hasattr(root, "iter"):
        return None
    text, chrome = Counter(), {}
    for node in root.iter("p", "div", "td"):
        parent = node.getparent()
        if parent is None or _in_chrome(parent, chrome):
            continue
        if node.tag == "p":
            own = node.text_content() if hasattr(node, "text_content") else "".join(node.itertext())
        else:
            own = (node.text or "") + "".join(child.tail or "" for child in node)
        text[parent] += len("".join(own.split()))
    return text.most_common(1)[0][0] if text else None


def _in_chrome(element, seen: dict) -> bool:
    """Whether the element is or lies in the site's header, menus or footer (by its or an
    ancestor's tag, class or id): their text (addresses, copyright) is not the report's.
    `seen` keeps the answers (walked up without recursion: a page may nest thousands deep)."""
    chain = []
    while element is not None and element not in seen:
        chain.append(element)
        element = element.getparent()
    inside = seen.get(element, False) if element is not None else False
    for element in reversed(chain):
        tag = element.tag if isinstance(element.tag, str) else ""
        inside = inside or bool(CHROME.search(f"{tag} {element.get('class') or ''} {element.get('id') or ''}"))
        seen[element] = inside
    return inside


def _furniture(image, src: str) -> bool:
    names = " ".join([src.rsplit("/", 1)[-1], *(image.get(a) or "" for a in ("alt", "class", "id"))])
    return bool(FURNITURE.search(names))


def _small(image) -> bool:
    """Declared (attribute or inline style) narrower or lower than MIN_SIDE pixels."""
    sizes = {name.lower(): value for name, value in _SIZE.findall(image.get("style") or "")}
    for name in ("width", "height"):
        value = (image.get(name) or sizes.get(name) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) < MIN_SIDE:
            return True
    return False
