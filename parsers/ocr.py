"""OCR of scanned report pages and table images, with RapidOCR (PP-OCR's detection and
recognition models in ONNX, shipped inside the rapidocr-onnxruntime wheel: nothing is
downloaded at run time). Optional: without it (the `ocr` extra) such pages are recorded in
a note and read as having no text.

A page image is straightened (the skew of its long rules), its ruled lines found in the
pixels (OpenCV morphology) and given, in points, to the PDF reader's table finder
(readers._ruled_tables); each cell's lines of ink are cut out and read by the recogniser
alone (a lone 0 that detection would miss is read too), and the rest of the page, the bands
above, between and below the tables, by detection and recognition. The page's text is both,
top to bottom; tables without rules are read from that text, as a PDF's are.
"""
import functools
import io
import math
import re
import time

from . import limits, readers

RENDER_DPI = 200  # scanned PDF pages are rendered at this resolution …
MAX_SIDE = 2000  # … or less, so that the longer side stays within the detector's input
MIN_TEXT_CHARACTERS = 10  # a PDF page printing fewer characters has no text layer worth reading
MAX_OCR_PAGES = 30  # pages of one document read by OCR (a report has 5-20)
MAX_OCR_SECONDS = 120  # OCR time of one document, within the parse time limit (NIANBAO_PARSE_TIMEOUT, 180 s)
IMAGE_SEARCH_OBJECTS = 1000  # objects of a page (and of each form in it) looked at for an image
MAX_IMAGE_PIXELS = 50_000_000  # an image past this is not decoded (a decompression bomb)
MIN_IMAGE_SIDE = 64  # pixels: a picture narrower or lower holds no table (an icon, a bullet)
LINE_SHAPE = (48, 96)  # pixels: the recogniser's input height (PP-OCRv4's) and least width
LABEL_HEIGHT = 32  # … and the height a wide line of a table is read at first (see _recognise)
WIDE_LINE = 3  # a cell's line wider than this many times its height is read as a label first
FIGURE_BATCH = 6  # lines of like widths read together (RapidOCR's default batch)
TEXT_SCORE = 0.3  # recognitions below this confidence are dropped (RapidOCR's default 0.5 drops lone 0s)
INSTALL_HINT = "OCR needs rapidocr-onnxruntime (pip install 'nianbao[ocr]')"


@functools.cache
def available() -> bool:
    """Whether the ocr extra imports: installed, and OpenCV under it finds its system
    libraries (libGL, libglib); otherwise a scan gets a note, never an error."""
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


@functools.cache
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    # one thread per operator: a parse worker runs per core already
    engine = RapidOCR(text_score=TEXT_SCORE, use_cls=False, intra_op_num_threads=1, inter_op_num_threads=1)
    # the recogniser scales each line to 48 pixels high and pads every line of a batch to its
    # widest, and to at least 320 pixels wide: its work grows with the area (some 0.07 ms of
    # CPU a column of 48 pixels). A line of the page's text (a band's) is read alone, at its
    # own width: batches of 6 lines of unlike widths cost 1.7 times more
    engine.text_rec.rec_batch_num, engine.text_rec.rec_image_shape = 1, [3, *LINE_SHAPE]
    # the detector would scale a band of text up to 736 pixels high ("min"), padded to an
    # eighth of its width first: read it at the size it has (scaled down only past 2000)
    engine.text_det.limit_type, engine.width_height_ratio = "max", -1
    return engine


def image(data: bytes) -> tuple[str, list, list[str]]:
    """(text, grids, notes) of an image file (a table published as a picture); a picture too
    small to hold a table (an icon) is not read."""
    if not available():
        return "", [], [f"an image: not read ({INSTALL_HINT})"]
    from PIL import Image

    picture = Image.open(io.BytesIO(data))
    if picture.width * picture.height > MAX_IMAGE_PIXELS:
        raise limits.LimitExceeded(f"image of {picture.width} × {picture.height} pixels, over the limit of"
                                   f" {MAX_IMAGE_PIXELS}")
    if min(picture.width, picture.height) < MIN_IMAGE_SIDE:
        return "", [], [f"an image of {picture.width} × {picture.height} pixels: too small to hold a table, not read"]
    scale = min(1.0, MAX_SIDE / max(picture.width, picture.height))
    dpi = (picture.info.get("dpi") or (RENDER_DPI, RENDER_DPI))[0] or RENDER_DPI
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        picture = picture.convert("RGBA")  # transparent pixels are the paper, not ink
        picture = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture)
    if scale < 1:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    return page(picture, float(dpi) * scale)


def scanned_pdf(data: bytes, text: str, grids: list, notes: list[str]) -> tuple[str, list, list[str], int]:
    """The PDF reader's (text, grids, notes) completed by OCR of the pages without a text
    layer, and the number of pages OCR read. A PDF whose every page prints text is left
    as it was (one look at each page's objects, and the character count of those drawing an
    image)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        count = min(len(document), limits.MAX_PDF_PAGES)
        scanned = [n for n in range(count)  # the image first: looking for one costs less than reading the text
                   if _has_image(document[n]) and document[n].get_textpage().count_chars() < MIN_TEXT_CHARACTERS]
        if not scanned:
            return text, grids, notes, 0
        pages = ", ".join(str(n + 1) for n in scanned[:10]) + (" …" if len(scanned) > 10 else "")
        if not available():
            return text, grids, notes + [f"PDF page(s) {pages} without a text layer: not read ({INSTALL_HINT})"], 0
        notes = list(notes)
        if len(scanned) > MAX_OCR_PAGES:
            notes.append(f"PDF of {len(scanned)} pages without a text layer: only the first {MAX_OCR_PAGES} read"
                         " by OCR (the OCR page limit)")
            scanned = scanned[:MAX_OCR_PAGES]
        texts, grids, start = [], list(grids), time.monotonic()
        for n in range(count):
            pdf_page = document[n]
            if n in scanned and time.monotonic() - start > MAX_OCR_SECONDS:
                notes.append(f"PDF page {n + 1} not read by OCR: {MAX_OCR_SECONDS} s spent on the pages before"
                             " (the OCR time limit)")
                scanned = [m for m in scanned if m < n]
            if n not in scanned:
                texts.append(pdf_page.get_textpage().get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
                continue
            width, height = pdf_page.get_size()
            scale = min(RENDER_DPI / 72, MAX_SIDE / max(width, height, 1))
            page_text, page_grids, page_notes = page(pdf_page.render(scale=scale, grayscale=True).to_pil(),
                                                     72 * scale)
            texts.append(page_text)
            grids += page_grids
            notes += page_notes
        notes.append(f"PDF page(s) {pages} without a text layer: read by OCR")
        return "\n".join(texts), grids, notes, len(scanned)
    finally:
        document.close()


def _has_image(pdf_page) -> bool:
    """Whether a page draws an image (directly or in a form), among its first objects: a
    page without text nor image has nothing for OCR to read."""
    import pypdfium2.raw as pdfium

    def find(container, count, get, depth: int) -> bool:
        for index in range(min(count(container), IMAGE_SEARCH_OBJECTS)):
            handle = get(container, index)
            kind = pdfium.FPDFPageObj_GetType(handle)
            if kind == pdfium.FPDF_PAGEOBJ_IMAGE:
                return True
            if kind == pdfium.FPDF_PAGEOBJ_FORM and depth < 3 and \
                    find(handle, pdfium.FPDFFormObj_CountObjects, pdfium.FPDFFormObj_GetObject, depth + 1):
                return True
        return False

    return find(pdf_page.raw, pdfium.FPDFPage_CountObjects, pdfium.FPDFPage_GetObject, 0)


def page(picture, dpi: float) -> tuple[str, list, list[str]]:
    """(text, grids, notes) of one page image at `dpi` pixels per inch: the ruled tables
    cell by cell (each cell's lines of ink read by the recogniser, no detection needed), the
    rest of the page (bands above, between and below the tables) by detection and
    recognition; the text is both, top to bottom."""
    import cv2
    import numpy as np

    gray = np.asarray(picture.convert("L"))
    ink = _binary(gray)
    angle = _skew(ink)
    notes = [f"an image page straightened by {angle:.2f}°"] if abs(angle) > 0.05 else []
    if notes:
        gray = _rotate(gray, angle)
        ink = _binary(gray)
    points = 72 / dpi  # pixels to points, the table finder's unit
    rules = _rules(ink, dpi)
    try:
        tables = readers._ruled_tables(_edges(rules, points), [limits.MAX_PDF_DOCUMENT_CROSSINGS])
    except limits.LimitExceeded as exc:
        tables, notes = [], notes + [f"tables of an OCR page not read: {exc}"]
    grids, rows_text = [], []  # rows_text: (top in pixels, the row's cells joined)
    text_gray, text_ink = _without_rules(gray, ink, rules) if tables else (gray, ink)
    for table in tables:
        grid = _read_cells(table, text_gray, text_ink, points)
        if any(any(cell for cell in row) for row in grid):
            grids.append(grid)
            rows_text += [(round(row.bbox[1] / points), " ".join(c.replace("\n", "") for c in line if c))
                          for row, line in zip(table.rows, grid)]
    covered = sorted((round(t.bbox[1] / points) - 2, round(t.bbox[3] / points) + 2) for t in tables)
    lines_text = []
    for top, bottom in _bands(gray.shape[0], covered):
        rows = np.nonzero((ink[top:bottom] > 0).sum(axis=1) > 1)[0]  # a speck of noise is no text
        columns = np.nonzero((ink[top:bottom] > 0).sum(axis=0) > 1)[0]
        if len(rows) < 3 or len(columns) < 3:
            continue
        pad = 12
        top, bottom = max(top + rows[0] - pad, 0), min(top + rows[-1] + pad + 1, gray.shape[0])
        left, right = max(columns[0] - pad, 0), min(columns[-1] + pad + 1, gray.shape[1])
        band = np.ascontiguousarray(gray[top:bottom, left:right])
        for line in _lines(_read(cv2.cvtColor(band, cv2.COLOR_GRAY2BGR))):
            lines_text.append((top + min(p[1] for p in line[0][0]), " ".join(_figure(t) for _, t in line)))
    text = "\n".join(t for _, t in sorted(rows_text + lines_text) if t)
    return text, grids, notes


def _bands(height: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The rows of pixels outside the `covered` spans, as (top, bottom) spans."""
    bands, top = [], 0
    for start, end in covered:
        if start > top:
            bands.append((top, start))
        top = max(top, end)
    if top < height:
        bands.append((top, height))
    return [(max(t, 0), min(b, height)) for t, b in bands if b - t > 8]


def _binary(gray):
    import cv2

    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return ink


def _skew(ink) -> float:
    """Degrees the page is turned by, from its long straight lines (a table's rules, text
    lines drawn thick enough); 0 when it shows none. Only the lines within 5° of the
    horizontal are looked for (0.05° steps): 30 times less work than every angle."""
    import cv2
    import numpy as np

    ink = cv2.resize(ink, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # a quarter of the work
    width = ink.shape[1]
    lines = cv2.HoughLines(ink, 1, math.pi / 3600, threshold=max(width // 4, 50),
                           min_theta=math.pi / 2 - math.radians(5), max_theta=math.pi / 2 + math.radians(5))
    if lines is None:
        return 0.0
    return float(np.median([math.degrees(theta) - 90 for theta in lines[:, 0, 1]]))


def _rotate(gray, angle: float):
    import cv2

    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(gray, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=255)


def _read(bgr) -> list:
    """[(quad, text)] of the text boxes found and read on the page."""
    result, _ = _engine()(bgr)
    return [(quad, text) for quad, text, _ in (result or []) if text.strip()]


def _rules(ink, dpi: float) -> tuple:
    """The page's rules as two masks: vertical strokes longer than 14 pt (no character's
    is), horizontal ones longer than 60 pt (the strokes of a few characters side by side in
    a small font join into one of 20-30 pt; a rule spans cells)."""
    import cv2
    import numpy as np

    masks = []
    for kernel, shortest in (((int(dpi / 72 * 14), 1), dpi / 72 * 60), ((1, int(dpi / 72 * 14)), dpi / 72 * 14)):
        mask = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        keep = np.zeros(count, np.uint8)
        keep[1:] = np.where(np.maximum(stats[1:, 2], stats[1:, 3]) >= shortest, 255, 0)
        masks.append(keep[labels])
    return tuple(masks)


def _edges(rules: tuple, points: float) -> list[dict]:
    """The strokes of `rules` as pdfplumber edges, in points."""
    import cv2

    edges = []
    for orientation, mask in zip("hv", rules):
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for x, y, w, h, _ in stats[1:count]:
            if orientation == "h":
                middle = (y + h / 2) * points
                edges.append({"x0": x * points, "x1": (x + w) * points, "top": middle, "bottom": middle,
                              "width": w * points, "height": 0, "orientation": "h"})
            else:
                middle = (x + w / 2) * points
                edges.append({"x0": middle, "x1": middle, "top": y * points, "bottom": (y + h) * points,
                              "width": 0, "height": h * points, "orientation": "v"})
            if len(edges) > limits.MAX_PDF_EDGES:
                raise limits.LimitExceeded(f"more than {limits.MAX_PDF_EDGES} lines on an image page")
    return edges


def _without_rules(gray, ink, rules: tuple) -> tuple:
    """The page with its rules (and their blurred edges) whitened: a cell's crop then holds
    its text only."""
    import cv2
    import numpy as np

    drawn = cv2.dilate(rules[0] | rules[1], np.ones((5, 5), np.uint8)) > 0
    gray, ink = gray.copy(), ink.copy()
    gray[drawn], ink[drawn] = 255, 0
    return gray, ink


def _read_cells(table, gray, ink, points: float) -> list[list[str | None]]:
    """A table's grid read cell by cell: each cell's lines of ink (split where a row of
    pixels holds none) cut out and read by the recogniser, all in one batch; lines apart."""
    import cv2

    crops, slots, grid = [], [], []
    for r, row in enumerate(table.rows):
        grid.append([None if cell is None else "" for cell in row.cells])
        for c, cell in enumerate(row.cells):
            if cell is None:
                continue
            inset = 3
            x0, top, x1, bottom = (round(v / points) for v in cell)
            x0, top, x1, bottom = x0 + inset, top + inset, x1 - inset, bottom - inset
            if x1 - x0 < 4 or bottom - top < 4:
                continue
            for line_top, line_bottom in _ink_lines(ink[top:bottom, x0:x1]):
                crops.append(_tight(gray[top + line_top:top + line_bottom, x0:x1],
                                    ink[top + line_top:top + line_bottom, x0:x1]))
                slots.append((r, c))
    if crops:
        for (r, c), (text, score) in zip(slots, _recognise([cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) for crop in crops])):
            if score >= TEXT_SCORE and text.strip():
                grid[r][c] = (grid[r][c] + "\n" if grid[r][c] else "") + text.strip()
    return [[None if cell is None else _label(_figure(cell)) for cell in row] for row in grid]


def _recognise(crops: list) -> list[tuple[str, float]]:
    """(text, score) of each line crop. A wide line (a label, mostly) is read alone, 32 pixels
    high: 2.3 times less work than 48, its characters read as well (the table reader aligns
    labels by likeness anyway). A narrow one (a figure), or a wide one read as holding no
    Chinese character or some figure (a long figure, an amount with its unit), is read at the
    recogniser's 48 × 96 or more, in batches of lines of like widths (at 32 high, or 48 wide,
    a 0 may read as 9 or nothing)."""
    wide = [n for n, crop in enumerate(crops) if crop.shape[1] > WIDE_LINE * crop.shape[0]]
    results = [None] * len(crops)
    for n, result in zip(wide, _read_lines([crops[n] for n in wide], LABEL_HEIGHT, LABEL_HEIGHT, 1)):
        results[n] = result
    again = [n for n, result in enumerate(results)
             if result is None or not _CHINESE.search(result[0]) or _FIGURE.search(result[0])]
    for n, result in zip(again, _read_lines([crops[n] for n in again], *LINE_SHAPE, FIGURE_BATCH)):
        results[n] = result
    return results


def _read_lines(crops: list, height: int, width: int, batch: int) -> list[tuple[str, float]]:
    """The recogniser's (text, score) of each crop, read `height` pixels high, at least `width`
    wide, `batch` at a time (the engine's settings put back after)."""
    if not crops:
        return []
    recogniser = _engine().text_rec
    saved = recogniser.rec_image_shape, recogniser.rec_batch_num
    recogniser.rec_image_shape, recogniser.rec_batch_num = [3, height, width], batch
    try:
        return recogniser(crops)[0]
    finally:
        recogniser.rec_image_shape, recogniser.rec_batch_num = saved


_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_FIGURE = re.compile(r"\d{2}|\d[.,]\d")  # not a list number (1.) alone


def _ink_lines(ink) -> list[tuple[int, int]]:
    """The runs of pixel rows holding ink (a text line each), without specks."""
    rows = (ink > 0).sum(axis=1)
    runs, start = [], None
    for y, count in enumerate(list(rows) + [0]):
        if count and start is None:
            start = y
        elif not count and start is not None:
            if y - start >= 3 and int(rows[start:y].sum()) >= 8:
                runs.append((start, y))
            start = None
    merged = []
    for run in runs:  # a gap of a pixel or two inside a line (JPEG noise, thin strokes) is no line break
        if merged and run[0] - merged[-1][1] <= 2:
            merged[-1] = (merged[-1][0], run[1])
        else:
            merged.append(run)
    return merged


def _tight(gray, ink):
    """The crop around a cell's ink, with a margin, as the recogniser expects a text line."""
    import numpy as np

    rows, columns = np.nonzero(ink)
    pad = max(4, (rows.max() - rows.min()) // 3)  # the margin detection leaves around a line
    top, bottom = max(rows.min() - pad, 0), min(rows.max() + pad + 1, gray.shape[0])
    left, right = max(columns.min() - pad, 0), min(columns.max() + pad + 1, gray.shape[1])
    crop = gray[top:bottom, left:right]
    if crop.shape[1] < crop.shape[0]:  # a lone narrow figure: widen it with white, as in a line of text
        margin = crop.shape[0] - crop.shape[1]
        crop = np.pad(crop, ((0, 0), (margin // 2, margin - margin // 2)), constant_values=255)
    return crop


_FIGURE_LOOKALIKES = str.maketrans({"o": "0", "O": "0", "〇": "0", "。": "0", "°": "0", "D": "0", "l": "1", "I": "1",
                                    "|": "1"})


def _figure(text: str) -> str:
    """A cell read as a figure with letters that look like digits (o for 0, l for 1) made
    digits, and without a stray full stop after it; any other text as read."""
    compact = text.replace(" ", "")
    if compact and all(c.isdigit() or c in "oO〇。°Dl|I" for c in compact) and \
            (any(c.isdigit() for c in compact) or len(compact) <= 2):
        return text.translate(_FIGURE_LOOKALIKES)
    if len(compact) > 1 and compact.strip(".。,，").isdigit():
        return compact.strip(".。,，")
    return text


# the recogniser's usual misreadings in the forms' labels (予 read as 子), and a list
# number whose full stop it dropped ("4保护第三方合法权益": the 4 would be read as a figure)
_LABEL_FIXES = (("子以公开", "予以公开"), ("不子", "不予"))
_BARE_LIST_NUMBER = re.compile(r"(?:(?<=^)|(?<=[）)\u4e00-\u9fff]))(\d)(?=[\u4e00-\u9fff])")


def _label(text: str) -> str:
    """A cell that is no figure: the misreadings above put right."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    for wrong, right in _LABEL_FIXES:
        text = text.replace(wrong, right)
    return _BARE_LIST_NUMBER.sub(r"\1.", text)


def _lines(boxes: list) -> list[list]:
    """The boxes [(quad, text)] line by line, each line left to right: a box joins the line
    whose span its middle falls in."""
    lines: list[list] = []
    for quad, text in sorted(boxes, key=lambda box: min(p[1] for p in box[0])):
        ys = [p[1] for p in quad]
        middle = (min(ys) + max(ys)) / 2
        if lines and lines[-1][0] <= middle <= lines[-1][1]:
            lines[-1][2].append((quad, text))
        else:
            lines.append([min(ys), max(ys), [(quad, text)]])
    return [sorted(line, key=lambda box: min(p[0] for p in box[0])) for _, _, line in lines]
