"""Read an HTML page or fragment: metadata, the report's plain body, and its table grids.

trafilatura isolates the body text from the page chrome; the figures come from the
real <table> elements (lxml), because the text rendering of a table loses its cells.
"""
import re

import lxml.html

from . import grid, limits, meta

_META_TITLE = ("ArticleTitle", "articletitle", "og:title", "title", "dc.title")
_META_DATE = ("PubDate", "pubdate", "publishdate", "PublishDate", "article:published_time", "firstpublishedtime",
              "dc.date", "date")
_META_SOURCE = ("ContentSource", "contentsource", "source", "author", "Author")
# trafilatura.extract options; fast: no second-opinion extractors (the page text is our fallback)
EXTRACT = {"include_tables": False, "include_comments": False, "favor_recall": True, "fast": True}


def _metas(doc) -> dict[str, str]:
    out = {}
    for m in doc.iter("meta"):
        key = m.get("name") or m.get("property") or m.get("http-equiv")
        if key and m.get("content") and m.get("content").strip():
            out.setdefault(key, m.get("content").strip())
    return out


def _first(metas: dict, keys) -> str | None:
    for k in keys:
        if metas.get(k):
            return metas[k]
    return None


def _plain(doc) -> str:
    """Fallback body: visible text with block elements on their own lines (edits `doc`)."""
    for bad in doc.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for el in doc.iter("br", "p", "div", "tr", "td", "th", "li", "h1", "h2", "h3", "h4", "table"):
        el.tail = "\n" + (el.tail or "")
    return re.sub(r"\n\s*\n+", "\n", doc.text_content())


def _tree(text: str, notes: list[str]):
    """(tree, is_page): trafilatura's own loader, so the page is parsed once for everything;
    lxml alone for what trafilatura rejects as not a page (fragments). A parse that hit one
    of libxml2's limits (nesting past 256 levels, a text node past 10 MB), which ends the
    parse there and drops the rest, is done again on the page flattened (a note says so)."""
    try:
        import trafilatura
        from trafilatura.utils import HTML_PARSER
        doc = trafilatura.load_html(text)
        parser = HTML_PARSER
    except Exception:  # trafilatura is an aid, never a reason to fail
        doc = None
    if doc is None:
        parser = _PARSER
        try:
            doc = lxml.html.fromstring(text, parser=parser)
        except Exception:  # lxml refuses some inputs (empty, only comments): treat as no page
            return lxml.html.fromstring("<html><body></body></html>"), False
        is_page = False
    else:
        is_page = True
    stopped = _stopped(parser)
    if stopped:
        doc = lxml.html.document_fromstring(_flatten(text, limits.MAX_HTML_DEPTH), parser=_HUGE_PARSER)
        notes.append(f"HTML parser stopped early ({stopped}): parsed again without its size limits and with"
                     f" the elements nested deeper than {limits.MAX_HTML_DEPTH} levels flattened, their text kept")
        stopped = _stopped(_HUGE_PARSER)
        if stopped:
            notes.append(f"HTML parser stopped early again ({stopped}): text after that point is missing")
    return doc, is_page


_PARSER = lxml.html.HTMLParser()
# like trafilatura's parser, without libxml2's size limits (the page's size is the crawl's to bound)
_HUGE_PARSER = lxml.html.HTMLParser(collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True,
                                    huge_tree=True)
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}


def _stopped(parser) -> str | None:
    """The message of the resource-limit error that ended the parser's last parse, if any."""
    for error in parser.error_log:
        if error.type_name == "ERR_RESOURCE_LIMIT" or "XML_PARSE_HUGE" in error.message:
            return error.message.strip()
    return None


def _flatten(text: str, depth: int) -> str:
    """`text` without the tags of elements opened more than `depth` deep (their text stays).
    Depth is counted from the tags as written, so unclosed <p> or <li> count too: at worst
    a few more tags go."""
    out, stack, open_names, last = [], [], {}, 0
    for m in _TAG.finditer(text):
        closing, name = m.group(1), m.group(2).lower()
        keep = True
        if name in _VOID or m.group(0).endswith("/>"):
            pass
        elif not closing:
            keep = len(stack) < depth
            stack.append((name, keep))
            open_names[name] = open_names.get(name, 0) + 1
        elif open_names.get(name):
            while True:
                top, keep = stack.pop()
                open_names[top] -= 1
                if top == name:
                    break
        if not keep:
            out.append(text[last:m.start()])
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def read(text: str) -> dict:
    """{title, published, source, body, grids, notes} of an HTML page or fragment."""
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    notes: list[str] = []
    doc, is_page = _tree(text, notes)
    metas = _metas(doc)
    budget, grids = [limits.MAX_TABLE_CELLS], []
    for table in doc.iter("table"):
        if table.xpath(".//table"):
            continue
        try:
            grids.append(grid.html_grid(table, budget))
        except limits.LimitExceeded as exc:
            notes.append(f"{exc}: the tables past it read from the text only, not as grids")
            break
    grids = [g for g in grids if grid.has_figures(g)]
    body = None
    if is_page:
        try:
            import trafilatura
            body = trafilatura.extract(doc, **EXTRACT)
        except Exception:  # trafilatura is an aid, never a reason to fail
            body = None
    title = _first(metas, _META_TITLE)
    if not title:
        node = doc.find(".//title")
        title = node.text_content().strip() if node is not None else None
    cut: list[str] = []
    plain = limits.cut_text(_plain(doc), cut)
    if not body or len(body) < 200:
        body = plain
    body = limits.cut_text(body, cut)
    notes += cut[:1]
    if title:
        title = re.split(r"\s*[_|｜]\s*", title)[0].strip() or None
    published = meta.date_of(_first(metas, _META_DATE)) or meta.published_from_text(plain)
    source = _first(metas, _META_SOURCE) or meta.source_from_text(plain)
    return {"title": title, "published": published, "source": source, "body": body.strip(),
            "plain": plain, "grids": grids, "notes": notes}
