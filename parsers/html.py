"""Read an HTML page or fragment: metadata, the report's plain body, and its table grids.

trafilatura isolates the body text from the page chrome; the figures come from the
real <table> elements (lxml), because the text rendering of a table loses its cells.
"""
import re

import lxml.html

from . import grid, meta

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


def _tree(text: str):
    """(tree, is_page): trafilatura's own loader, so the page is parsed once for everything;
    lxml alone for what trafilatura rejects as not a page (fragments)."""
    try:
        import trafilatura
        doc = trafilatura.load_html(text)
    except Exception:  # trafilatura is an aid, never a reason to fail
        doc = None
    if doc is not None:
        return doc, True
    try:
        return lxml.html.fromstring(text), False
    except Exception:  # lxml refuses some inputs (empty, only comments): treat as no page
        return lxml.html.fromstring("<html><body></body></html>"), False


def read(text: str) -> dict:
    """{title, published, source, body, grids} of an HTML page or fragment."""
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    doc, is_page = _tree(text)
    metas = _metas(doc)
    grids = [grid.html_grid(t) for t in doc.iter("table") if not t.xpath(".//table")]
    grids = [g for g in grids if any(c and re.search(r"\d", c) for row in g for c in row)]
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
    plain = _plain(doc)
    if not body or len(body) < 200:
        body = plain
    if title:
        title = re.split(r"\s*[_|｜]\s*", title)[0].strip() or None
    published = meta.date_of(_first(metas, _META_DATE)) or meta.published_from_text(plain)
    source = _first(metas, _META_SOURCE) or meta.source_from_text(plain)
    return {"title": title, "published": published, "source": source, "body": body.strip(),
            "plain": plain, "grids": grids}
