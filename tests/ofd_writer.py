"""Minimal valid OFD packages (GB/T 33190). render_ofd: a gold report's text lines and its three
tables, each character placed by TextCode X/Y and DeltaX (written in the `g N d` short form
where advances repeat), each table ruled by PathObjects (a line, or a closed rectangle) in
several coordinate styles (Boundary origin, CTM), cell texts wrapped inside their cells, a
table continued on the next page when it passes the page's foot. image_package: scanned pages,
each an ImageObject of a JPEG resource.
"""
import io
import zipfile
from xml.sax.saxutils import escape

from test_parsers_roundtrip import HEAD, TAIL, _sections

NS = "http://www.ofdspec.org/2016"
PAGE_W, PAGE_H, MARGIN = 297.0, 210.0, 12.0  # A4 landscape, mm
SIZE = 2.5  # font size, mm
LINE = 4.2  # text line pitch, mm
MAX_COLUMN = 80.0  # widest column, mm


def _advance(character: str) -> float:
    return SIZE if ord(character) > 0x2e7f else SIZE * 0.55


def _width(text: str) -> float:
    return sum(_advance(c) for c in text)


def _wrap(text: str, width: float) -> list[str]:
    lines, line = [], ""
    for character in text:
        if line and _width(line + character) > width:
            lines.append(line)
            line = ""
        line += character
    return lines + [line] if line or not lines else lines


class _Pages:
    def __init__(self):
        self.pages: list[list[str]] = [[]]
        self.y = MARGIN
        self.ids = 0

    def id(self) -> int:
        self.ids += 1
        return self.ids

    def room(self, height: float) -> bool:
        if self.y + height > PAGE_H - MARGIN:
            self.pages.append([])
            self.y = MARGIN
            return False
        return True

    def text(self, x: float, top: float, text: str, style: int = 0) -> None:
        """One line of text, its baseline at top + SIZE; three ways of placing it."""
        if not text:
            return
        deltas = [_advance(c) for c in text[:-1]]
        if deltas and len(set(deltas)) == 1:
            delta = f"g {len(deltas)} {deltas[0]:g}"
        else:
            delta = " ".join(f"{d:g}" for d in deltas)
        width = _width(text)
        if style == 1:  # CTM scaling a unit-size font, the way some converters write it
            attrs = f'Boundary="{x:.3f} {top:.3f} {width:.3f} {SIZE * 1.2:.3f}" Size="1" CTM="{SIZE} 0 0 {SIZE} 0 0"'
            delta = " ".join(f"{d / SIZE:g}" for d in deltas)
            code = f'<ofd:TextCode X="0" Y="1" DeltaX="{delta}">{escape(text)}</ofd:TextCode>'
        else:
            attrs = f'Boundary="{x:.3f} {top:.3f} {width:.3f} {SIZE * 1.2:.3f}" Size="{SIZE}"'
            code = f'<ofd:TextCode X="0" Y="{SIZE:g}" DeltaX="{delta}">{escape(text)}</ofd:TextCode>'
        self.pages[-1].append(f'<ofd:TextObject ID="{self.id()}" Font="1" {attrs}>{code}</ofd:TextObject>')

    def line(self, page: int, x0: float, y0: float, x1: float, y1: float) -> None:
        self.pages[page].append(
            f'<ofd:PathObject ID="{self.id()}" Boundary="{x0:.3f} {y0:.3f} {max(x1 - x0, 0.1):.3f} {max(y1 - y0, 0.1):.3f}"'
            f' LineWidth="0.25"><ofd:AbbreviatedData>M 0 0 L {x1 - x0:.3f} {y1 - y0:.3f}</ofd:AbbreviatedData>'
            "</ofd:PathObject>")

    def frame(self, page: int, x0: float, y0: float, x1: float, y1: float) -> None:
        """A table fragment's outer frame: one closed rectangle placed by its CTM."""
        self.pages[page].append(
            f'<ofd:PathObject ID="{self.id()}" Boundary="0 0 {PAGE_W} {PAGE_H}" CTM="1 0 0 1 {x0:.3f} {y0:.3f}"'
            f' LineWidth="0.35"><ofd:AbbreviatedData>S M 0 0 L {x1 - x0:.3f} 0 L {x1 - x0:.3f} {y1 - y0:.3f}'
            f" L 0 {y1 - y0:.3f} C</ofd:AbbreviatedData></ofd:PathObject>")


def _table(pages: _Pages, rows: list[list[str]]) -> None:
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    columns = [min(max(_width(row[c]) for row in rows) + 2, MAX_COLUMN) for c in range(width)]
    if sum(columns) > PAGE_W - 2 * MARGIN:
        scale = (PAGE_W - 2 * MARGIN) / sum(columns)
        columns = [w * scale for w in columns]
    xs = [MARGIN]
    for w in columns:
        xs.append(xs[-1] + w)
    fragment_top, bottoms = pages.y, []

    def rule(page: int) -> None:
        """The rules of the rows drawn since fragment_top, on that page."""
        if not bottoms:
            return
        pages.frame(page, xs[0], fragment_top, xs[-1], bottoms[-1])
        for y in bottoms[:-1]:
            pages.line(page, xs[0], y, xs[-1], y)
        for x in xs[1:-1]:
            pages.line(page, x, fragment_top, x, bottoms[-1])

    for number, row in enumerate(rows):
        wrapped = [_wrap(cell, columns[c] - 1.5) for c, cell in enumerate(row)]
        height = max(len(lines) for lines in wrapped) * LINE + 1.5
        if not pages.room(height):
            rule(-2)
            fragment_top, bottoms = pages.y, []
        for c, lines in enumerate(wrapped):
            for k, line in enumerate(lines):
                pages.text(xs[c] + 0.8, pages.y + 0.75 + k * LINE, line, style=(number + c) % 2)
        pages.y += height
        bottoms.append(pages.y)
    rule(-1)
    pages.y += LINE


def render_ofd(fmt: str, cells: dict, units: dict, year: int) -> bytes:
    pages = _Pages()
    for line in HEAD.format(year=year).splitlines()[:-1]:
        pages.room(LINE)
        pages.text(MARGIN, pages.y, line)
        pages.y += LINE
    for heading, rows in _sections(fmt, cells, units, ""):
        pages.room(LINE)
        pages.text(MARGIN, pages.y, heading)
        pages.y += LINE
        _table(pages, rows)
    for line in TAIL.splitlines():
        pages.room(LINE)
        pages.text(MARGIN, pages.y, line)
        pages.y += LINE
    return package(pages.pages, pages.ids)


def package(pages: list[list[str]], max_id: int) -> bytes:
    """The zip: OFD.xml → Doc_0/Document.xml → Pages/Page_N/Content.xml, with a font resource."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    files = {
        "OFD.xml": f'{head}<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
                   "<ofd:DocID>nianbao-test</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
                   "</ofd:DocBody></ofd:OFD>",
        "Doc_0/Document.xml": f'{head}<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData><ofd:MaxUnitID>{max_id + 1}'
                              f"</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 {PAGE_W} {PAGE_H}</ofd:PhysicalBox>"
                              "</ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>"
                              + "".join(f'<ofd:Page ID="{max_id + 2 + n}" BaseLoc="Pages/Page_{n}/Content.xml"/>'
                                        for n in range(len(pages)))
                              + "</ofd:Pages></ofd:Document>",
        "Doc_0/PublicRes.xml": f'{head}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="1"'
                               ' FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>',
    }
    for n, objects in enumerate(pages):
        files[f"Doc_0/Pages/Page_{n}/Content.xml"] = (
            f'{head}<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="{max_id + 100 + n}" Type="Body">'
            + "".join(objects) + "</ofd:Layer></ofd:Content></ofd:Page>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


def image_package(pictures: list[bytes], width_mm: float, height_mm: float) -> bytes:
    """An OFD of scanned pages: each page one ImageObject drawing a JPEG (a MultiMedia of the
    document's resources, Res/image_N.jpg), no text."""
    pages = [[f'<ofd:ImageObject ID="{10 + n}" ResourceID="{100 + n}" Boundary="0 0 {width_mm} {height_mm}"'
              f' CTM="{width_mm} 0 0 {height_mm} 0 0"/>'] for n in range(len(pictures))]
    data = package(pages, 10 + len(pictures))
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    members = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["Doc_0/Document.xml"] = members["Doc_0/Document.xml"].replace(
        b"</ofd:PublicRes>", b"</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>").replace(
        f"0 0 {PAGE_W} {PAGE_H}".encode(), f"0 0 {width_mm} {height_mm}".encode())
    members["Doc_0/DocumentRes.xml"] = (
        f'{head}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:MultiMedias>'
        + "".join(f'<ofd:MultiMedia ID="{100 + n}" Type="Image" Format="JPEG"><ofd:MediaFile>image_{n}.jpg'
                  "</ofd:MediaFile></ofd:MultiMedia>" for n in range(len(pictures)))
        + "</ofd:MultiMedias></ofd:Res>").encode("utf-8")
    for n, picture in enumerate(pictures):
        members[f"Doc_0/Res/image_{n}.jpg"] = picture
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()
