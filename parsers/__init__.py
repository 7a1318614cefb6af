"""Turn one annual report (HTML, text, PDF, DOCX, DOC/WPS, XLSX/XLS, OFD, a scanned PDF or an
image of its tables) into the project's data contract.

`parse()` is the only entry point the rest of nianbao needs: bytes or text in, a plain
dict out (see shared/spec/FORMATS.md, "The parse contract"). It never raises. Beside the
contract's keys it gives `verified`: per table (active, requests, appeals), true when every
arithmetic check of that table passes, false when one fails or cannot run, null for a table
without checks (二); `notes`, saying why a cell the report prints was left null; and
`read_by`, how the figures were read (`text`, `grid`: from table grids, `ocr`: from page
images); and `provenance`, per figure where and how it was read (see _provenance).
"""
import re
from bisect import bisect_right
from functools import lru_cache

from . import checks, decode, formats, grid, html, limits, meta, ocr, ofd, readers, sections, tables, tokens

__all__ = ["parse"]


def _empty(name: str) -> dict:
    return {"source": name, "title": None, "agency": None, "year": None, "format": "none", "cells": {},
            "units": {}, "checks": {}, "check_details": [], "verified": {}, "published": None, "sections": {}, "body": "",
            "notes": [], "tokens": {}, "read_by": None, "provenance": {}}


def _read_tables(items, fmt_text: str, body: str, layout: str = "cells") -> tuple[str, dict]:
    fmt = formats.detect(fmt_text)
    return fmt, tables.read(items, fmt, body, layout)


def _score(fmt: str, result: dict) -> float:
    filled = sum(v is not None for v in result["cells"].values())
    fails = sum(c["status"] == "fail" for c in checks.run(fmt, result["cells"]))
    return filled - 5 * fails


def _tables(text: str, grids: list, body: str) -> tuple[str, dict, str | None]:
    """Read the tables from real grids and from the flattened text; keep the better reading
    (and say which: `grid` or `text`). A text reading's items are placed in `text`."""
    options = []
    if grids:
        items = grid.items(grids)
        label_text = "".join(t for k, t in items if k == "T")
        options.append((*_read_tables(items, label_text, body), "grid"))
    begin, end = sections.table_span(text)
    region = text[begin:end]
    options.append((*_read_tables(tokens.stream(region, begin), "".join(region.split()), body, tokens.layout(region)), "text"))
    usable = [o for o in options if o[0] != "none"]
    if not usable:
        return "none", tables.read([], "none"), None
    if len(usable) == 1:
        return usable[0]
    return max(usable, key=lambda o: _score(o[0], o[1]))


@lru_cache(maxsize=1024)
def _column_label(fmt: str, code: str) -> str | None:
    """The form's header of a cell's column (for a figure read from text, whose printed header
    is not beside it)."""
    spec = formats.spec()
    table, rest = code.split(".", 1)
    head, column = rest.rsplit(".", 1)
    if table == "active":
        row = next((r for r in formats.rows(fmt, "active") if r["row"] == head), None)
        return dict(zip(row["columns"], row["column_labels"])).get(column) if row else None
    labels = dict(zip(spec[f"{table}_columns"], spec[f"{table}_column_labels"]))
    return labels.get(column)


_NEAR = [0] + [step for radius in range(1, 400) for step in (-radius, radius)]  # offsets searched, nearest first


def _in_original(original: str, offset: int, text: str, shift: int) -> tuple[int, int] | None:
    """(start, end) in `original` of what normalises to `text` at `offset` of the normalised
    text: at the same place (shifted as the last token was) unless normalising changed lengths
    before it (a stray `?`, a dropped pinyin), then searched outward; last, a token printed
    longer than it reads (a stray mark or a sign's space inside it)."""
    n, base = len(text), offset + shift
    if original.startswith(text, base):
        return base, base + n
    for step in _NEAR:
        start = base + step
        piece = original[start:start + n] if start >= 0 else ""
        if piece and (piece == text or tokens.fold(piece) == text):
            return start, start + n
    for step in _NEAR[:16]:
        for length in range(n + 1, n + 4):
            if base + step >= 0 and tokens.normalize(original[base + step:base + step + length]) == text:
                return base + step, base + step + length
    return None


def _provenance(fmt: str, found: dict, read_by: str | None, grids: list, table_text: str, ntext: str,
                locator: str, lead: int, page_starts: list, grid_pages: list) -> dict:
    """code → {token, row_label, column_label, page, locator, read_by, alternatives}: the figure
    as printed (the written piece(s) it was read from: `898989` for each of its fused cells),
    where (`body:N` / `plain:N`: character offset in the parse's body / the HTML page's whole
    text; `grid:T/R/C`: table, row and column of the tables read as grids), and how."""
    out, shift = {}, 0
    for code, entry in sorted(found.items(), key=lambda e: e[1]["items"][0].at):
        items = entry["items"]
        first = items[0].at
        page, column_label = None, None
        if isinstance(first, tuple):
            t, r, c = first
            printed = []
            for item in items:
                cell = grids[item.at[0]][item.at[1]][item.at[2]] or ""
                alone = len(tokens.cell_items(cell)) == 1
                printed.append(" ".join(cell.split()) if alone else item[1])
            token = " ".join(dict.fromkeys(printed))
            where = f"grid:{t}/{r}/{c}"
            column_label = grid.header_above(grids[t], r, c)
            if grid_pages:
                page = bisect_right(grid_pages, t)
        else:
            last = items[-1]
            span = _in_original(table_text, first, ntext[first:last.at + len(last[1])], shift)
            if span is None:
                continue
            shift = span[0] - first
            token = table_text[span[0]:span[1]]
            where = f"{locator}:{span[0] - lead}"
            if page_starts:
                page = bisect_right(page_starts, span[0])
        out[code] = {"token": token, "row_label": entry["row_label"],
                     "column_label": column_label or _column_label(fmt, code), "page": page, "locator": where,
                     "read_by": entry.get("read_by", read_by), "alternatives": entry.get("alternatives", [])}
    return out


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
    pages: list[tuple[int, int]] = []  # PDF: (text offset, grids before) of each page
    if kind == "doc":
        data, kind = readers.doc_to_docx(data, ".wps" if name.lower().endswith(".wps") else ".doc"), "docx"
    if kind == "pdf":
        body, grids, read_notes = readers.pdf(data, pages)
        body, grids, read_notes, ocr_pages = ocr.scanned_pdf(data, body, grids, read_notes)
        pages = [] if ocr_pages else pages
        table_text = body
    elif kind == "ofd":
        body, grids, read_notes, ocr_pages = ofd.read(data)
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
    read_by = ("ocr" if ocr_pages else read_by) if fmt != "none" else None
    provenance = _provenance(
        fmt, result.get("provenance", {}), read_by, grids, table_text, ntext,
        "plain" if kind == "html" else "body", 0 if kind == "html" else len(body) - len(body.lstrip()),
        [start for start, _ in pages], [before for _, before in pages])
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
        "read_by": read_by,
        "provenance": provenance,
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
