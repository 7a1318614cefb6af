"""PDF, Word and spreadsheet readers: text plus table grids, in the same shapes the HTML
reader gives."""
import ctypes
import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

# pdfplumber's table finder, with its default tolerances (points)
TABLE_TOLERANCE = 3
_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def pdf(data: bytes) -> tuple[str, list]:
    """Text of every page and the grids of its ruled tables.

    PDFium (pypdfium2) reads the text, the characters' boxes and the drawn lines, in C;
    pdfplumber's table finder turns the lines into cells. That is the table reading of
    pdfplumber at about a sixth of its cost: pdfminer, under pdfplumber, decodes every
    character in Python."""
    import pypdfium2

    texts, grids = [], []
    document = pypdfium2.PdfDocument(data)
    try:
        for page in document:
            height = page.get_height()
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            tables = _ruled_tables(_edges(page, height))
            if tables:
                characters = _characters(textpage, height)
                grids += [grid for grid in (_grid(table, characters) for table in tables)
                          if any(any(cell for cell in row) for row in grid)]
    finally:
        document.close()
    return "\n".join(texts), grids


def _ruled_tables(edges: list[dict]) -> list:
    from pdfplumber import table, utils

    edges = utils.filter_edges(table.merge_edges(edges, *[TABLE_TOLERANCE] * 4), min_length=TABLE_TOLERANCE)
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


def _segments(container, count, get, matrix):
    """Every straight segment of the paths drawn in a page or form, in page space."""
    import pypdfium2.raw as pdfium

    x, y = ctypes.c_float(), ctypes.c_float()
    for index in range(count(container)):
        handle = get(container, index)
        kind = pdfium.FPDFPageObj_GetType(handle)
        if kind == pdfium.FPDF_PAGEOBJ_FORM:
            yield from _segments(handle, pdfium.FPDFFormObj_CountObjects, pdfium.FPDFFormObj_GetObject,
                                 _then(_matrix(handle), matrix))
        if kind != pdfium.FPDF_PAGEOBJ_PATH:
            continue
        a, b, c, d, e, f = _then(_matrix(handle), matrix)
        start = current = None
        for number in range(pdfium.FPDFPath_CountSegments(handle)):
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
    for (x0, y0), (x1, y1) in _segments(page.raw, pdfium.FPDFPage_CountObjects, pdfium.FPDFPage_GetObject, _IDENTITY):
        left, right = sorted((x0, x1))
        low, high = sorted((y0, y1))
        if high - low < 1 <= right - left:
            edges.append({"x0": left, "x1": right, "top": height - high, "bottom": height - high,
                          "width": right - left, "height": 0, "orientation": "h"})
        elif right - left < 1 <= high - low:
            edges.append({"x0": left, "x1": left, "top": height - high, "bottom": height - low,
                          "width": 0, "height": high - low, "orientation": "v"})
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


def docx(data: bytes) -> tuple[str, list]:
    """Paragraph text and table grids of a .docx; merged cells appear once."""
    import docx as python_docx

    document = python_docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    grids = []
    for table in document.tables:
        grid, seen, alive = [], set(), []
        for row in table.rows:
            line = []
            for cell in row.cells:
                alive.append(cell._tc)  # keeps lxml proxies alive so id() stays unique
                key = id(cell._tc)
                line.append(None if key in seen else cell.text)
                seen.add(key)
            grid.append(line)
        grids.append(grid)
    return text, grids


def xlsx(data: bytes) -> tuple[str, list]:
    """Every sheet of an .xlsx as a grid (the statutory tables are sometimes published as a
    spreadsheet), and its cells' text row by row."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    sheets = []
    for sheet in book.worksheets:
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        spans = [(r.min_row - 1, r.max_row, r.min_col - 1, r.max_col) for r in sheet.merged_cells.ranges]
        sheets.append(_sheet_grid(values, spans))
    return _sheets_text(sheets), [grid for grid in sheets if grid]


def xls(data: bytes) -> tuple[str, list]:
    """The same for the older binary .xls."""
    import xlrd

    book = xlrd.open_workbook(file_contents=data, formatting_info=True)  # for the merged cells
    sheets = []
    for sheet in book.sheets():
        values = [[None if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK) else value
                   for kind, value in zip(sheet.row_types(r), sheet.row_values(r))] for r in range(sheet.nrows)]
        sheets.append(_sheet_grid(values, sheet.merged_cells))
    return _sheets_text(sheets), [grid for grid in sheets if grid]


def _sheet_grid(values: list[list], spans) -> list[list[str | None]]:
    """Cell values as text (12.0 → "12"), a merged range's other cells None, empty cells "",
    without the empty rows and the columns right of the last filled one."""
    grid = [["" if value is None else _cell_value(value) for value in row] for row in values]
    for first_row, end_row, first_column, end_column in spans:
        for r in range(first_row, min(end_row, len(grid))):
            for c in range(first_column, min(end_column, len(grid[r]))):
                if (r, c) != (first_row, first_column):
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
