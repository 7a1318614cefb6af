"""OFD (GB/T 33190, 版式文档) reader: the text with its positions and the drawn lines, read from
the package's XML, and the ruled tables found the way the PDF reader finds them.

An OFD file is a zip: OFD.xml names each document's Document.xml (DocRoot), which lists its
pages (Pages/Page/@BaseLoc → Content.xml). A page draws TextObjects (a Boundary box, an
optional CTM, a Size; TextCode runs placed at X, Y with the advance of each further character
in DeltaX/DeltaY, where `g N d` stands for N advances of d) and PathObjects (AbbreviatedData:
M/L/Q/B/A/C/S commands, relative to the Boundary's origin, through the CTM). Units are
millimetres, y downwards. The lines go to pdfplumber's table finder and the characters into
the cells exactly as for a PDF (readers._ruled_tables, readers._grid), in points.
"""
import io
import posixpath
import re
import zipfile

from . import limits, readers

POINTS_PER_MM = 72 / 25.4
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGUMENTS = {"S": 0, "M": 2, "L": 2, "Q": 4, "B": 6, "A": 7, "C": 0}  # AbbreviatedData: numbers per command


def read(data: bytes) -> tuple[str, list, list[str], int]:
    """(text, grids, notes, pages read by OCR) of an OFD file: each page's text line by
    line, the grids of its ruled tables; a page that is a picture (a scan: an ImageObject and
    no text) read by OCR. The zip is checked before anything inflates; bounded like a PDF
    (pages, objects and lines per page, the table finder's budget)."""
    from . import ocr

    limits.check_zip(data)
    texts, grids, notes, unruled, scanned = [], [], [], [], []
    budget = [limits.MAX_PDF_DOCUMENT_CROSSINGS, limits.MAX_PDF_TABLE_CHARACTERS, limits.MAX_PDF_TABLE_WORK]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        package = _Package(archive)
        pages = package.pages()
        if len(pages) > limits.MAX_PDF_PAGES:
            notes.append(f"OFD of {len(pages)} pages: only the first {limits.MAX_PDF_PAGES} read (the page limit)")
        for number, (content, templates, media) in enumerate(pages[:limits.MAX_PDF_PAGES], start=1):
            characters, edges, images = [], [], []
            for part in [*templates, content]:
                root = package.xml(part)
                if root is not None:
                    _draw(root, characters, edges, [limits.MAX_PDF_PAGE_OBJECTS], images)
            picture = max((image for image in images if image[1] in media), default=None)
            if len(characters) < ocr.MIN_TEXT_CHARACTERS and picture and len(scanned) < ocr.MAX_OCR_PAGES:
                scanned.append(number)
                if ocr.available():
                    page_text, page_grids, page_notes = ocr.image(package.read(media[picture[1]]))
                    texts.append(page_text)
                    grids += page_grids
                    notes += page_notes
                    continue
            texts.append(_page_text(characters))
            try:
                tables = readers._ruled_tables(edges, budget)
                if tables:
                    readers._spend(budget, len(characters), tables)
            except limits.LimitExceeded as exc:
                unruled.append((number, str(exc)))
                continue
            characters.sort(key=lambda c: (round(c.top, 1), c.left))
            grids += [grid for grid in (readers._grid(table, characters) for table in tables)
                      if any(any(cell for cell in row) for row in grid)]
    if unruled:
        notes.append(f"tables not read on {len(unruled)} page(s) ({', '.join(str(n) for n, _ in unruled[:10])}"
                     f"{' …' if len(unruled) > 10 else ''}): {unruled[0][1]}")
    if scanned:
        pages_named = ", ".join(str(n) for n in scanned[:10]) + (" …" if len(scanned) > 10 else "")
        notes.append(f"OFD page(s) {pages_named} an image without text: "
                     + ("read by OCR" if ocr.available() else f"not read ({ocr.INSTALL_HINT})"))
    return "\n".join(texts), grids, notes, len(scanned) if ocr.available() else 0


class _Package:
    """The package's parts by path, resolved the way OFD resolves them (relative to the part
    that names them, or from the root when they begin with /)."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.names = {name.lstrip("/").lower(): name for name in archive.namelist()}

    def read(self, path: str) -> bytes:
        return self.archive.read(self.names[path.lstrip("/").lower()])

    def xml(self, path: str):
        from lxml import etree

        name = self.names.get(path.lstrip("/").lower())
        if name is None:
            return None
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        return etree.fromstring(self.archive.read(name), parser)

    def pages(self) -> list[tuple[str, list[str], dict]]:
        """(Content.xml path, its template pages' paths, the document's media files by
        resource ID) of every page of every document."""
        root = self.xml("OFD.xml")
        if root is None:
            raise ValueError("OFD package without OFD.xml")
        pages = []
        for doc_root in _all(root, "DocRoot"):
            document_path = _join("", doc_root.text or "")
            document = self.xml(document_path)
            if document is None:
                raise ValueError(f"OFD DocRoot {document_path} is missing from the package")
            base = posixpath.dirname(document_path)
            templates = {t.get("ID"): _join(base, t.get("BaseLoc", "")) for t in _all(document, "TemplatePage")}
            media = self._media(base, document)
            for page in _all(document, "Page"):
                if page.get("BaseLoc"):
                    content = _join(base, page.get("BaseLoc"))
                    pages.append((content, self._templates(content, templates), media))
        return pages

    def _media(self, base: str, document) -> dict[str, str]:
        """The package path of each MultiMedia (an image) of the document's resource files,
        by ID: MediaFile under the resource file's BaseLoc."""
        media = {}
        for declared in [*_all(document, "PublicRes"), *_all(document, "DocumentRes")]:
            path = _join(base, declared.text or "")
            resources = self.xml(path)
            if resources is None:
                continue
            folder = _join(posixpath.dirname(path), resources.get("BaseLoc", ""))
            for item in _all(resources, "MultiMedia"):
                name = next((e.text for e in item if _local(e) == "MediaFile" and e.text), None)
                if item.get("ID") and name and _join(folder, name).lower() in self.names:
                    media[item.get("ID")] = _join(folder, name)
        return media

    def _templates(self, content: str, templates: dict) -> list[str]:
        root = self.xml(content)
        if root is None:
            return []
        return [templates[t.get("TemplateID")] for t in _all(root, "Template") if t.get("TemplateID") in templates]


def _join(base: str, path: str) -> str:
    path = path.strip()
    return posixpath.normpath(path.lstrip("/") if path.startswith("/") else posixpath.join(base, path))


def _local(element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _all(root, name: str):
    return (e for e in root.iter() if _local(e) == name)


def _numbers(text: str | None) -> list[float]:
    return [float(n) for n in _NUMBER.findall(text or "")]


def _box(element) -> tuple[float, float, float, float]:
    values = _numbers(element.get("Boundary"))
    return tuple(values[:4]) if len(values) >= 4 else (0.0, 0.0, 0.0, 0.0)


def _ctm(element) -> tuple:
    values = _numbers(element.get("CTM"))
    return tuple(values[:6]) if len(values) >= 6 else readers._IDENTITY


def _apply(matrix: tuple, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


def _draw(root, characters: list, edges: list, budget: list[int], images: list) -> None:
    """Every character and straight line of a page's content (its layers, page blocks and
    composite objects), in points, and its images as (area, resource ID); `budget`
    ([objects left]) bounds what is looked at."""
    for element in root.iter():
        name = _local(element)
        if name == "ImageObject":
            _, _, width, height = _box(element)
            images.append((width * height, element.get("ResourceID")))
        if name not in ("TextObject", "PathObject"):
            continue
        budget[0] -= 1
        if budget[0] < 0:
            raise limits.LimitExceeded(f"more than {limits.MAX_PDF_PAGE_OBJECTS} objects drawn on an OFD page")
        x0, y0, _, _ = _box(element)
        matrix = readers._then(_ctm(element), (1.0, 0.0, 0.0, 1.0, x0, y0))
        if name == "TextObject":
            _text(element, matrix, characters, budget)
        elif element.get("Stroke", "true") != "false" or element.get("Fill", "false") == "true":
            _lines(element, matrix, edges, budget)
        if len(edges) > limits.MAX_PDF_EDGES:
            raise limits.LimitExceeded(f"more than {limits.MAX_PDF_EDGES} lines drawn on an OFD page")


def _deltas(text: str | None) -> list[float]:
    """DeltaX/DeltaY: numbers, `g N d` meaning N times d."""
    tokens, out, i = (text or "").split(), [], 0
    while i < len(tokens):
        if tokens[i] == "g" and i + 2 < len(tokens):
            out += [float(tokens[i + 2])] * min(int(float(tokens[i + 1])), 100_000)
            i += 3
        else:
            out.append(float(tokens[i]))
            i += 1
    return out


def _text(element, matrix: tuple, characters: list, budget: list[int]) -> None:
    size = float((_numbers(element.get("Size")) or [3.5])[0])
    a, b, c, d, _, _ = matrix
    height = size * abs(d or c or 1.0)
    x = y = 0.0
    for code in element:
        if _local(code) != "TextCode":
            continue
        x = float(code.get("X", x))
        y = float(code.get("Y", y))
        dx, dy = _deltas(code.get("DeltaX")), _deltas(code.get("DeltaY"))
        text = code.text or ""
        budget[0] -= len(text)
        if budget[0] < 0:
            raise limits.LimitExceeded(f"more than {limits.MAX_PDF_PAGE_OBJECTS} objects drawn on an OFD page")
        for i, character in enumerate(text):
            # without a DeltaX the font's own advance: a CJK character's is its size, others' about half
            advance = dx[i] if i < len(dx) else (size if ord(character) > 0x2e7f else size / 2)
            if not character.isspace():
                px, py = _apply(matrix, x, y)  # the baseline's left end
                px, py = px * POINTS_PER_MM, py * POINTS_PER_MM
                w = advance * abs(a or 1.0) * POINTS_PER_MM
                h = height * POINTS_PER_MM
                top, bottom = py - 0.88 * h, py + 0.12 * h  # a CJK font's ascent and descent, loosely
                characters.append(readers.Character(character, px + w / 2, (top + bottom) / 2, px, px + w, top, bottom))
            x += advance
            y += dy[i] if i < len(dy) else 0.0


def _lines(element, matrix: tuple, edges: list, budget: list[int]) -> None:
    """The straight segments of a path (M, L, C closing the subpath) as pdfplumber edges;
    curves only move the pen."""
    data = next((e.text for e in element if _local(e) == "AbbreviatedData"), None)
    tokens = re.findall(r"[A-Za-z]|" + _NUMBER.pattern, data or "")
    budget[0] -= len(tokens) // 3
    if budget[0] < 0:
        raise limits.LimitExceeded(f"more than {limits.MAX_PDF_PAGE_OBJECTS} objects and path segments drawn on"
                                   " an OFD page")
    start = current = None
    i = 0
    while i < len(tokens):
        command = tokens[i]
        count = _ARGUMENTS.get(command)
        if count is None:
            i += 1
            continue
        try:
            args = [float(t) for t in tokens[i + 1:i + 1 + count]]
        except ValueError:
            break
        i += 1 + count
        if len(args) < count:
            break
        if command == "C":
            if current is not None and start is not None:
                _edge(current, start, edges)
                current = start
            continue
        if command == "S":
            continue
        point = _apply(matrix, args[-2], args[-1])
        if command == "M":
            start = current = point
        elif command == "L" and current is not None:
            _edge(current, point, edges)
            current = point
        else:
            current = point


def _edge(first: tuple, second: tuple, edges: list) -> None:
    (x0, y0), (x1, y1) = first, second
    left, right = sorted((x0 * POINTS_PER_MM, x1 * POINTS_PER_MM))
    top, bottom = sorted((y0 * POINTS_PER_MM, y1 * POINTS_PER_MM))
    if bottom - top < 1 <= right - left:
        edges.append({"x0": left, "x1": right, "top": top, "bottom": top, "width": right - left, "height": 0,
                      "orientation": "h"})
    elif right - left < 1 <= bottom - top:
        edges.append({"x0": left, "x1": left, "top": top, "bottom": bottom, "width": 0, "height": bottom - top,
                      "orientation": "v"})


def _page_text(characters: list) -> str:
    """The page's characters line by line (by baseline, then left to right), a space where
    they stand apart, as a PDF's text reads."""
    lines: list[list] = []
    for character in sorted(characters, key=lambda c: (c.bottom, c.left)):
        if lines and abs(character.bottom - lines[-1][0].bottom) < 0.4 * (character.bottom - character.top):
            lines[-1].append(character)
        else:
            lines.append([character])
    out = []
    for line in lines:
        line.sort(key=lambda c: c.left)
        text, previous = "", None
        for character in line:
            if previous is not None and character.left - previous.right > readers.TABLE_TOLERANCE:
                text += " "
            text += character.text
            previous = character
        out.append(text)
    return "\n".join(out)
