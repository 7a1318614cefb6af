"""PDF, Word and spreadsheet readers: text plus table grids, in the same shapes the HTML
reader gives."""
import bisect
import ctypes
import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

from . import limits

# pdfplumber's table finder, with its default tolerances (points)
TABLE_TOLERANCE = 3
_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def pdf(data: bytes, pages: list | None = None) -> tuple[str, list, list[str]]:
    """Text of every page and the grids of its ruled tables.

    PDFium (pypdfium2) reads the text, the characters' boxes and the drawn lines, in C;
    pdfplumber's table finder turns the lines into cells. That is the table reading of
    pdfplumber at about a sixth of its cost: pdfminer, under pdfplumber, decodes every
    character in Python. Bounded (see limits.py): the first MAX_PDF_PAGES pages, and no table
    reading on a page drawn with more objects or rules than the limits, nor on the pages
    past the document's budget of table reading (notes say which). `pages`, when given, gets
    each page's (offset of its text in the text returned, number of grids before it)."""
    import pypdfium2

    texts, grids, notes, unruled, read = [], [], [], [], 0
    budget = [limits.MAX_PDF_DOCUMENT_CROSSINGS, limits.MAX_PDF_TABLE_CHARACTERS, limits.MAX_PDF_TABLE_WORK]
    document = pypdfium2.PdfDocument(data)
    try:
        count = len(document)
        if count > limits.MAX_PDF_PAGES:
            notes.append(f"PDF of {count} pages: only the first {limits.MAX_PDF_PAGES} read (the page limit)")
        for number in range(min(count, limits.MAX_PDF_PAGES)):
            if read > limits.MAX_TEXT:
                notes.append(f"PDF text past {limits.MAX_TEXT} characters: the pages from {number + 1} on not"
                             " read (the text limit)")
                break
            if pages is not None:
                pages.append((read + len(texts), len(grids)))
            page = document[number]
            height = page.get_height()
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            read += len(texts[-1])
            try:
                tables = _ruled_tables(_edges(page, height), budget)
                if tables:
                    _spend(budget, textpage.count_chars(), tables)
            except limits.LimitExceeded as exc:
                unruled.append((number + 1, str(exc)))
                continue
            if tables:
                characters = _characters(textpage, height)
                grids += [grid for grid in (_grid(table, characters) for table in tables)
                          if any(any(cell for cell in row) for row in grid)]
    finally:
        document.close()
    if unruled:
        notes.append(f"tables not read on {len(unruled)} page(s) ({', '.join(str(n) for n, _ in unruled[:10])}"
                     f"{' …' if len(unruled) > 10 else ''}): {unruled[0][1]}")
    return limits.cut_text("\n".join(texts), notes), grids, notes


def _spend(budget: list[int], characters: int, tables: list) -> None:
    """Take a page's table reading from the document's budget ([…, characters to box,
    character × row-or-column visits]); LimitExceeded when it is spent."""
    budget[1] -= characters
    budget[2] -= characters * sum(len(table.rows) + len(table.columns) for table in tables)
    if budget[1] < 0 or budget[2] < 0:
        raise limits.LimitExceeded(f"tables of more than {limits.MAX_PDF_TABLE_CHARACTERS} characters"
                                   f" or {limits.MAX_PDF_TABLE_WORK} character visits in the document")


def _ruled_tables(edges: list[dict], budget: list[int]) -> list:
    """pdfplumber's tables from the page's lines; the finder's work grows faster than the
    crossings of horizontal and vertical rules, so these are bounded per page and, through
    `budget` ([crossings left, …]), per document (LimitExceeded)."""
    from pdfplumber import table, utils

    edges = utils.filter_edges(table.merge_edges(edges, *[TABLE_TOLERANCE] * 4), min_length=TABLE_TOLERANCE)
    horizontal = sum(edge["orientation"] == "h" for edge in edges)
    crossings = horizontal * (len(edges) - horizontal)
    if crossings > limits.MAX_PDF_CROSSINGS:
        raise limits.LimitExceeded(f"a page ruled by {horizontal} × {len(edges) - horizontal} lines, over the table"
                                   f" finder's limit of {limits.MAX_PDF_CROSSINGS} crossings")
    budget[0] -= crossings
    if budget[0] < 0:
        raise limits.LimitExceeded(f"rules crossing more than {limits.MAX_PDF_DOCUMENT_CROSSINGS} times in the"
                                   " document (the table finder's limit)")
    intersections = table.edges_to_intersections(edges, TABLE_TOLERANCE, TABLE_TOLERANCE)
    return [table.Table(None, cells) for cells in table.cells_to_tables(table.intersections_to_cells(intersections))]


def _then(first: tuple, second: tuple) -> tuple:
    """The affine matrix (a, b, c, d, e, f) applying `first`, then `second`."""
    a, b, c, d, e, f = first
    A, B, C, D, E, F = second
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _matrix(handle) -> tuple:
    import pypdfium2.raw as pdfium

    matrix = pdfium.FS_MATRIX()
    if not pdfium.FPDFPageObj_GetMatrix(handle, matrix):
        return _IDENTITY
    return (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)


def _segments(container, count, get, matrix, budget: list[int]):
    """Every straight segment of the paths drawn in a page or form, in page space; `budget`
    ([objects left]) bounds the objects looked at (LimitExceeded past it)."""
    import pypdfium2.raw as pdfium

    x, y = ctypes.c_float(), ctypes.c_float()
    for index in range(count(container)):
        budget[0] -= 1
        if budget[0] < 0:
            raise limits.LimitExceeded(f"more than {limits.MAX_PDF_PAGE_OBJECTS} objects and path segments"
                                       " drawn on a page")
        handle = get(container, index)
        kind = pdfium.FPDFPageObj_GetType(handle)
        if kind == pdfium.FPDF_PAGEOBJ_FORM:
            yield from _segments(handle, pdfium.FPDFFormObj_CountObjects, pdfium.FPDFFormObj_GetObject,
                                 _then(_matrix(handle), matrix), budget)
        if kind != pdfium.FPDF_PAGEOBJ_PATH:
            continue
        a, b, c, d, e, f = _then(_matrix(handle), matrix)
        start = current = None
        count_segments = pdfium.FPDFPath_CountSegments(handle)
        budget[0] -= count_segments
        if budget[0] < 0:
            raise limits.LimitExceeded(f"more than {limits.MAX_PDF_PAGE_OBJECTS} objects and path segments"
                                       " drawn on a page")
        for number in range(count_segments):
            segment = pdfium.FPDFPath_GetPathSegment(handle, number)
            pdfium.FPDFPathSegment_GetPoint(segment, x, y)
            point = (a * x.value + c * y.value + e, b * x.value + d * y.value + f)
            step = pdfium.FPDFPathSegment_GetType(segment)
            if step == pdfium.FPDF_SEGMENT_MOVETO:
                start = current = point
                continue
            if step == pdfium.FPDF_SEGMENT_LINETO and current is not None:
                yield current, point
            current = point
            if pdfium.FPDFPathSegment_GetClose(segment) and start is not None:
                yield current, start
                current = start


def _edges(page, height: float) -> list[dict]:
    """Horizontal and vertical segments as pdfplumber's edges (top measured from the page top)."""
    import pypdfium2.raw as pdfium

    edges = []
    segments = _segments(page.raw, pdfium.FPDFPage_CountObjects, pdfium.FPDFPage_GetObject, _IDENTITY,
                         [limits.MAX_PDF_PAGE_OBJECTS])
    for (x0, y0), (x1, y1) in segments:
        left, right = sorted((x0, x1))
        low, high = sorted((y0, y1))
        if high - low < 1 <= right - left:
            edges.append({"x0": left, "x1": right, "top": height - high, "bottom": height - high,
                          "width": right - left, "height": 0, "orientation": "h"})
        elif right - left < 1 <= high - low:
            edges.append({"x0": left, "x1": left, "top": height - high, "bottom": height - low,
                          "width": 0, "height": high - low, "orientation": "v"})
        if len(edges) > limits.MAX_PDF_EDGES:
            raise limits.LimitExceeded(f"more than {limits.MAX_PDF_EDGES} lines drawn on a page")
    return edges


class Character(NamedTuple):
    """A printed character: its centre and box, measured from the page's top left."""
    text: str
    x: float
    y: float
    left: float
    right: float
    top: float
    bottom: float


def _characters(textpage, height: float) -> list[Character]:
    """Every printed character in text order; loose boxes (the font's ascent and
    descent), so that the characters of a line share a top."""
    import pypdfium2.raw as pdfium

    out = []
    for index in range(textpage.count_chars()):
        character = chr(pdfium.FPDFText_GetUnicode(textpage.raw, index))
        if not character.isspace():
            left, bottom, right, top = textpage.get_charbox(index, loose=True)
            out.append(Character(character, (left + right) / 2, height - (top + bottom) / 2,
                                 left, right, height - top, height - bottom))
    return out


def _inside(characters: list[Character], box: tuple) -> list[Character]:
    """pdfplumber's rule: a character belongs to the box holding its centre."""
    x0, top, x1, bottom = box
    return [c for c in characters if x0 <= c.x < x1 and top <= c.y < bottom]


def _cell_text(characters: list[Character]) -> str:
    """Lines apart, and a space where characters of a line stand apart (pdfplumber's
    tolerance of 3 points), so that two figures in one cell stay two."""
    text, previous, line_bottom = "", None, None
    for character in characters:
        if previous is not None and character.top >= line_bottom:
            text += "\n"
            line_bottom = None
        elif previous is not None and character.left - previous.right > TABLE_TOLERANCE:
            text += " "
        text += character.text
        previous = character
        line_bottom = character.bottom if line_bottom is None else max(line_bottom, character.bottom)
    return text


def _grid(table, characters: list[Character]) -> list[list[str | None]]:
    """A table's rows of cell texts (None where a merged cell spans)."""
    grid = []
    for row in table.rows:
        in_row = _inside(characters, row.bbox)
        grid.append([None if cell is None else _cell_text(_inside(in_row, cell)) for cell in row.cells])
    return grid


def docx(data: bytes) -> tuple[str, list, list[str]]:
    """Paragraph text and table grids of a .docx; merged cells appear once. The zip is checked
    before anything inflates; the tables are read from their XML with spans bounded (python-
    docx makes an object per spanned column and walks a vertical merge up to its first row)."""
    import docx as python_docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    limits.check_zip(data)
    document = python_docx.Document(io.BytesIO(data))
    parts, size, notes = [], 0, []
    # document.paragraphs, made one at a time: their text is slow to make, so only what is read
    for number, element in enumerate(document.element.body.iterchildren(qn("w:p"))):
        if size > limits.MAX_TEXT:
            notes.append(f"text past {limits.MAX_TEXT} characters: the paragraphs from {number + 1} on not read"
                         " (the text limit)")
            break
        parts.append(Paragraph(element, document._body).text)
        size += len(parts[-1]) + 1
    text = limits.cut_text("\n".join(parts), [] if notes else notes)
    grids, budget = [], [limits.MAX_TABLE_CELLS]
    for table in document.tables:
        try:
            grids.append(_docx_grid(table, budget))
        except limits.LimitExceeded as exc:
            notes.append(f"{exc}: the tables past it not read")
            break
    return text, grids, notes


def _docx_grid(table, budget: list[int]) -> list[list[str | None]]:
    """python-docx's `row.cells` of every row, each cell's text at its first slot and None at
    the others (the columns it spans, the rows a vertical merge continues it to); a span
    never reaches past the table's grid (its declared columns, or its widest row)."""
    from docx.table import _Cell

    rows = [(tr, tr.tc_lst) for tr in table._tbl.tr_lst]
    grid_columns = table._tbl.tblGrid.gridCol_lst if table._tbl.tblGrid is not None else []
    width = max([len(grid_columns)] + [tr.grid_before + len(tcs) for tr, tcs in rows])
    grid, seen, above = [], {}, {}
    for tr, tcs in rows:
        line, here, offset = [], {}, tr.grid_before
        for tc in tcs:
            root = above.get(offset, tc) if tc.vMerge == "continue" else tc
            here[offset] = root
            for _ in range(min(root.grid_span, max(width - offset, 1))):
                if id(root) in seen:
                    line.append(None)
                else:
                    seen[id(root)] = root  # kept, so that id() stays unique
                    line.append(_Cell(root, table).text)
            offset += max(tc.grid_span, 0)
        budget[0] -= len(line)
        if budget[0] < 0:
            raise limits.LimitExceeded(f"tables of more than {limits.MAX_TABLE_CELLS} cells (spans counted)")
        grid.append(line)
        above = here
    return grid


def xlsx(data: bytes) -> tuple[str, list, list[str]]:
    """Every sheet of an .xlsx as a grid (the statutory tables are sometimes published as a
    spreadsheet), and its cells' text row by row. The zip is checked first; each sheet's XML
    is streamed, its rows converted by openpyxl's own cell reader, so that neither a merged
    range nor a far cell makes a cell object per slot of the sheet."""
    import openpyxl

    limits.check_zip(data)
    book = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    budget, sheets = [limits.MAX_TABLE_CELLS], []
    try:
        for sheet in book.worksheets:
            rows, spans = _xlsx_rows(book, sheet)
            sheets.append(_sheet_grid(rows, spans, budget))
    finally:
        book.close()
    notes = []
    return limits.cut_text(_sheets_text(sheets), notes), [grid for grid in sheets if grid], notes


_SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _xlsx_rows(book, sheet) -> tuple[list, list]:
    """([(row index from 0, {column from 0: value})] of the rows holding a value, merged
    ranges as (first row, end row, first column, end column) from 0, ends excluded)."""
    from lxml import etree
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._reader import WorkSheetParser

    reader = WorkSheetParser(None, sheet._shared_strings, data_only=True, epoch=book.epoch,
                             date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
    rows, spans, cells = [], [], 0
    with sheet._get_source() as source:
        for _, element in etree.iterparse(source, tag=(f"{_SHEET}row", f"{_SHEET}mergeCell"), resolve_entities=False,
                                          no_network=True, load_dtd=False):
            if element.tag == f"{_SHEET}row":
                index, parsed = reader.parse_row(element)
                values = {cell["column"] - 1: cell["value"] for cell in parsed if cell["value"] is not None}
                cells += len(values)
                if values:
                    rows.append((index - 1, values))
            elif element.get("ref"):
                first_column, first_row, end_column, end_row = range_boundaries(element.get("ref"))
                spans.append((first_row - 1, end_row, first_column - 1, end_column))
            if cells + len(spans) > limits.MAX_TABLE_CELLS:
                raise limits.LimitExceeded(f"sheet of more than {limits.MAX_TABLE_CELLS} cells and merged ranges")
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return sorted(rows, key=lambda row: row[0]), spans


def xls(data: bytes) -> tuple[str, list, list[str]]:
    """The same for the older binary .xls."""
    import xlrd

    # formatting_info for the merged cells; ragged rows: xlrd pads none to the sheet's width
    # xlrd's warnings would go to stdout, where `nianbao parse` writes its JSON
    book = xlrd.open_workbook(file_contents=data, formatting_info=True, ragged_rows=True, logfile=io.StringIO())
    budget, sheets = [limits.MAX_TABLE_CELLS], []
    for sheet in book.sheets():
        rows = [(r, {c: value for c, (kind, value) in enumerate(zip(sheet.row_types(r), sheet.row_values(r)))
                     if kind not in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK)}) for r in range(sheet.nrows)]
        sheets.append(_sheet_grid([row for row in rows if row[1]], sheet.merged_cells, budget))
    notes = []
    return limits.cut_text(_sheets_text(sheets), notes), [grid for grid in sheets if grid], notes


def _sheet_grid(rows: list, spans, budget: list[int]) -> list[list[str | None]]:
    """Cell values as text (12.0 → "12"), a merged range's other cells None, empty cells "",
    without the empty rows and the columns right of the last filled one. `rows` are the
    sheet's rows holding a value, as (index, {column: value}); a range never reaches past them,
    and `budget` bounds the slots of all sheets together (LimitExceeded past it)."""
    width = max((max(values) + 1 for _, values in rows), default=0)
    budget[0] -= len(rows) * width
    if budget[0] < 0:
        raise limits.LimitExceeded(f"sheets of more than {limits.MAX_TABLE_CELLS} cells"
                                   f" ({len(rows)} rows × {width} columns)")
    indexes = [index for index, _ in rows]
    grid = [["" if values.get(c) is None else _cell_value(values[c]) for c in range(width)] for _, values in rows]
    work = 0
    for first_row, end_row, first_column, end_column in spans:
        for r in range(bisect.bisect_left(indexes, first_row), bisect.bisect_left(indexes, end_row)):
            columns = range(first_column, min(end_column, width))
            work += len(columns)
            if work > limits.MAX_TABLE_CELLS:
                raise limits.LimitExceeded(f"merged ranges covering more than {limits.MAX_TABLE_CELLS} cells")
            for c in columns:
                if (indexes[r], c) != (first_row, first_column):
                    grid[r][c] = None
    width = max((c + 1 for row in grid for c, cell in enumerate(row) if cell), default=0)
    return [row[:width] for row in grid if any(row[:width])]


def _cell_value(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheets_text(sheets: list) -> str:
    return "\n".join(" ".join(cell for cell in row if cell) for grid in sheets for row in grid)


def doc_to_docx(data: bytes, suffix: str = ".doc") -> bytes:
    """Convert DOC/WPS with LibreOffice; raises RuntimeError when it is not installed."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        raise RuntimeError("DOC/WPS input needs LibreOffice (soffice) on PATH to convert it to DOCX")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"input{suffix}"
        src.write_bytes(data)
        subprocess.run([exe, "--headless", "--convert-to", "docx", "--outdir", tmp, str(src)],
                       check=True, capture_output=True, timeout=120)
        out = Path(tmp) / "input.docx"
        if not out.exists():
            raise RuntimeError("LibreOffice did not produce a DOCX")
        return out.read_bytes()
