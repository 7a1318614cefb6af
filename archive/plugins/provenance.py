"""Datasette plugin (loaded with --plugins-dir): a figure at its place in the archived copy.

/-/provenance/<report_id>/<code> shows the archived document the report's figure was read
from, at the place the parse recorded (`cells.locator`; the printed labels whole, from the view
`cell_provenance`): the text around a `body:N` / `plain:N` offset, or the table of a
`grid:T/R/C` slot, with the printed token marked
(`<mark id="cell">`, the page's own anchor, so the link `…#cell` scrolls to it). The portal's
markup is never rendered here: the text and the grid are read again from the archived bytes
by the parser and escaped. Links to the raw archived copy follow: `#page=N` for a PDF, a
text fragment (`#:~:text=`) that browsers highlight for a page or a text.
"""
import html as html_escape
import zlib
from urllib.parse import quote

from datasette import hookimpl
from datasette.utils.asgi import NotFound, Response

from archive import warc
from parsers import decode, html, ofd, readers

CONTEXT = 600  # characters of text shown either side of a figure


def _figure(conn, report_id: str, code: str):
    found = conn.execute(
        """select c.value, c.token, c.row_label, c.column_label, c.page, c.locator, c.read_by,
                  r.sha256, r.title, d.url, d.content_type, t.body, b.content, b.compression
           from cell_provenance c join reports r on r.id = c.report_id
           left join documents d on d.id = r.document_id
           left join report_texts t on t.report_id = r.id
           left join blobs b on b.sha256 = r.sha256
           where c.report_id = ? and c.code = ?""", [report_id, code]).fetchone()
    if found is None:
        return None
    keys = ["value", "token", "row_label", "column_label", "page", "locator", "read_by", "sha256", "title",
            "url", "content_type", "body", "content", "compression"]
    figure = dict(zip(keys, found))
    if figure["compression"] == "warc":  # the bytes are in a WARC record (archive/warc.py)
        figure["content"], figure["compression"] = warc.load(conn, figure["sha256"]), ""
    return figure


def _document(figure: dict) -> bytes:
    content = figure["content"] or b""
    return zlib.decompress(content) if figure["compression"] == "zlib" else content


def _grids(data: bytes, url: str, content_type: str) -> list:
    """The tables of the archived document as the parser read them (grid locators count these)."""
    kind = decode.kind(data, url or "", content_type or "")
    if kind == "html":
        return html.read(decode.to_text(data))["grids"]
    if kind == "ofd":
        return ofd.read(data)[1]
    if kind in ("pdf", "docx", "xlsx", "xls"):
        return getattr(readers, kind)(data)[1]
    return []


def marked_text(text: str, start: int, token: str) -> str | None:
    """Escaped text around `start` with the token marked; None when the token is not there."""
    if not token or text[start:start + len(token)] != token:
        return None
    before = text[max(0, start - CONTEXT):start]
    after = text[start + len(token):start + len(token) + CONTEXT]
    return (f'<pre class="at">{html_escape.escape(before)}<mark id="cell">{html_escape.escape(token)}</mark>'
            f'{html_escape.escape(after)}</pre>')


def marked_grid(grid: list, r: int, c: int) -> str:
    rows = []
    for i, row in enumerate(grid):
        cells = []
        for j, cell in enumerate(row):
            if cell is None:
                continue
            text = html_escape.escape(cell)
            cells.append(f'<td><mark id="cell">{text}</mark></td>' if (i, j) == (r, c) else f"<td>{text}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="at">{"".join(rows)}</table>'


def place(figure: dict) -> str | None:
    """The HTML of the figure's place in the document, or None when it cannot be shown."""
    kind, _, where = (figure["locator"] or "").partition(":")
    try:
        if kind == "body":
            return marked_text(figure["body"] or "", int(where), figure["token"])
        data = _document(figure)
        if kind == "plain":
            return marked_text(html.read(decode.to_text(data))["plain"], int(where), figure["token"])
        if kind == "grid":
            t, r, c = (int(x) for x in where.split("/"))
            grids = _grids(data, figure["url"], figure["content_type"])
            return marked_grid(grids[t], r, c) if t < len(grids) else None
    except (ValueError, IndexError):
        return None
    return None


def archived_link(figure: dict, archived: str) -> str:
    """The raw archived copy at the figure: its PDF page, else a text fragment of the token."""
    if figure["page"]:
        return f"{archived}#page={figure['page']}"
    return f"{archived}#:~:text={quote(figure['token'] or '', safe='')}"


async def provenance_page(request, datasette):
    report_id, code = request.url_vars["report_id"], request.url_vars["code"]
    for database in datasette.databases.values():
        if database.name == "_internal" or not await database.table_exists("cell_values"):
            continue
        figure = await database.execute_fn(lambda conn: _figure(conn, report_id, code))
        if figure:
            break
    else:
        raise NotFound(f"no figure {code} of report {report_id}")
    shown = await database.execute_fn(lambda conn: place(figure))
    archived = datasette.urls.path(f"/-/archived/{figure['sha256']}")
    e = html_escape.escape
    facts = "".join(f"<tr><th>{e(label)}</th><td>{e('' if figure[key] is None else str(figure[key]))}</td></tr>"
                    for key, label in (("value", "数值 value"), ("token", "原文 token as printed"),
                                       ("row_label", "行 printed row"), ("column_label", "列 column header"),
                                       ("page", "页 page"), ("locator", "位置 locator"), ("read_by", "读取方式 read by")))
    body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(code)} — {e(figure['title'] or '')}</title>"
            "<style>mark{background:#ff0;outline:2px solid #f80} pre.at{white-space:pre-wrap;max-width:60em}"
            " table.at td{border:1px solid #999;padding:2px 5px} table.at{border-collapse:collapse}</style></head><body>"
            f"<h1>{e(code)}</h1><p>{e(figure['title'] or '')}</p><table>{facts}</table>"
            f"<p><a class='archived' href='{e(archived_link(figure, archived))}'>存档副本中的位置 archived copy at this place</a>"
            f" · <a href='{e(figure['url'] or '')}'>来源 source</a></p>"
            + (shown or "<p>这一位置无法显示 the place cannot be shown.</p>") + "</body></html>")
    return Response.html(body)


@hookimpl
def register_routes(datasette):
    return [(r"^/-/provenance/(?P<report_id>\d+)/(?P<code>[a-z_.]+)$", provenance_page)]
