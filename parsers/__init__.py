"""Turn one annual report (HTML, text, PDF, DOCX, DOC/WPS, XLSX/XLS, OFD, a scanned PDF or an
image of its tables) into the project's data contract.

`parse()` is the only entry point the rest of nianbao needs: bytes or text in, a plain
dict out (see shared/spec/FORMATS.md, "The parse contract"). It never raises. Beside the
contract's keys it gives `verified`: per table (active, requests, appeals), true when every
arithmetic check of that table passes, false when one fails or cannot run, null for a table
without checks (二); `notes`, saying why a cell the report prints was left null; and
`read_by`, how the figures were read (`text`, `grid`: from table grids, `ocr`: from page
images).
"""
import re

from . import checks, decode, formats, grid, html, limits, meta, ocr, ofd, readers, sections, tables, tokens

__all__ = ["parse"]


def _empty(name: str) -> dict:
    return {"source": name, "title": None, "agency": None, "year": None, "format": "none", "cells": {},
            "units": {}, "checks": {}, "check_details": [], "verified": {}, "published": None, "sections": {}, "body": "",
            "notes": [], "tokens": {}, "read_by": None}


def _read_tables(items, fmt_text: str, body: str, layout: str = "cells") -> tuple[str, dict]:
    fmt = formats.detect(fmt_text)
    return fmt, tables.read(items, fmt, body, layout)


def _score(fmt: str, result: dict) -> float:
    filled = sum(v is not None for v in result["cells"].values())
    fails = sum(c["status"] == "fail" for c in checks.run(fmt, result["cells"]))
    return filled - 5 * fails


def _tables(text: str, grids: list, body: str) -> tuple[str, dict, str | None]:
    """Read the tables from real grids and from the flattened text; keep the better reading
    (and say which: `grid` or `text`)."""
    options = []
    if grids:
        items = grid.items(grids)
        label_text = "".join(t for k, t in items if k == "T")
        options.append((*_read_tables(items, label_text, body), "grid"))
    begin, end = sections.table_span(text)
    region = text[begin:end]
    options.append((*_read_tables(tokens.stream(region), "".join(region.split()), body, tokens.layout(region)), "text"))
    usable = [o for o in options if o[0] != "none"]
    if not usable:
        return "none", tables.read([], "none"), None
    if len(usable) == 1:
        return usable[0]
    return max(usable, key=lambda o: _score(o[0], o[1]))


def _split_archive_header(text: str) -> tuple[str, str]:
    """Texts saved by crawlers may carry a header (标题:/发布时间:) before a 正文 marker."""
    m = re.search(r"^=+\s*正文\s*=+\s*$", text, re.M)
    return (text[:m.start()], text[m.end():]) if m else ("", text)


def _parse(data, name: str, content_type: str) -> dict:
    out = _empty(name)
    kind = decode.kind(data, name, content_type)
    if isinstance(data, str) and kind in ("pdf", "docx", "doc", "xlsx", "xls", "ofd", "image"):
        kind = "text"
    grids, title, published, source, header_text, read_notes = [], None, None, None, "", []
    ocr_pages = 0  # pages (or images) whose text only OCR could read
    if kind == "doc":
        data, kind = readers.doc_to_docx(data, ".wps" if name.lower().endswith(".wps") else ".doc"), "docx"
    if kind == "pdf":
        body, grids, read_notes = readers.pdf(data)
        body, grids, read_notes, ocr_pages = ocr.scanned_pdf(data, body, grids, read_notes)
        table_text = body
    elif kind == "ofd":
        body, grids, read_notes = ofd.read(data)
        table_text = body
    elif kind == "image":
        body, grids, read_notes = ocr.image(data)
        table_text, ocr_pages = body, int(ocr.available())
    elif kind in ("docx", "xlsx", "xls"):
        body, grids, read_notes = getattr(readers, kind)(data)
        table_text = body
    elif kind == "html":
        page = html.read(decode.to_text(data))
        body, grids, title = page["body"], page["grids"], page["title"]
        published, source, table_text = page["published"], page["source"], page["plain"]
        header_text, read_notes = page["plain"], page["notes"]
    else:
        raw = limits.cut_text(decode.to_text(data), read_notes)
        header, body = _split_archive_header(raw)
        title = meta.title_from_text(header) if header else None
        published = meta.published_from_text(header or raw)
        source = meta.source_from_text(header or raw)
        header_text = header or raw
        table_text = body
    nbody = tokens.normalize(body)
    ntext = nbody if table_text is body else tokens.normalize(table_text)
    title = title or meta.title_from_text(body)
    if title and not meta.year_of(title, "") and not re.search(r"报告|年报", title):
        title = meta.title_from_text(body) or title
    fmt, result, read_by = _tables(ntext, grids, nbody)
    details = checks.run(fmt, result["cells"])
    parts = sections.split(nbody)
    out.update({
        "title": title,
        "agency": meta.agency_from_title(title) or meta.agency_from_text(nbody) or (source.strip() if source else None),
        "year": meta.year_of(title, nbody, parts.get("1", "")[:300]),
        "format": fmt,
        "cells": result["cells"],
        "units": result["units"],
        "checks": {c["id"]: c["status"] for c in details},
        "check_details": details,
        "verified": checks.verified(details) if fmt != "none" else {},
        "published": published or meta.published_from_text(body),
        "source_name": source.strip() if source else None,
        **meta.labelled_fields(header_text or body),
        "sections": parts,
        "body": body.strip(),
        "notes": read_notes + result["notes"],
        "tokens": result["tokens"],
        # how the figures were read: from the text, from table grids, or from OCR of page images
        "read_by": ("ocr" if ocr_pages else read_by) if fmt != "none" else None,
    })
    return out


def parse(data: bytes | str, *, name: str = "", content_type: str = "") -> dict:
    """Parse one report; on unreadable input return {"source", "error", ...} instead of raising."""
    try:
        if not isinstance(data, (bytes, bytearray, str)):
            raise TypeError(f"expected bytes or str, got {type(data).__name__}")
        return _parse(bytes(data) if isinstance(data, bytearray) else data, name or "", content_type or "")
    except Exception as exc:  # the contract: never raise, report why instead
        out = _empty(name if isinstance(name, str) else "")
        out["error"] = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line, whatever the library wrote
        return out
