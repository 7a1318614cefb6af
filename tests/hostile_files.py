"""Hostile input files, generated, and a way to parse one in a child process under a memory
limit: shared by tests/test_parsers_hostile.py and benchmarks/hostile.py.

Every generator returns the file's bytes; `HOSTILE` names each with the file name the
parser is given (its suffix is part of what it tells the parser).
"""
import io
import json
import os
import random
import resource
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = 1 << 30  # RLIMIT_AS of the child: generous, far below the 2.5-8 GB of the unbounded parsers
TIMEOUT = 30

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
DEEP_TEXT, AFTER_TEXT = "深处的文字", "结尾的文字"


# --- HTML ---------------------------------------------------------------------------------

def html_span_bomb(rows: int = 20, cells: int = 30) -> bytes:
    """~22 KB: every cell claims rowspan=colspan=100000 (2.5 GB in the unbounded grid)."""
    row = "<tr>" + "<td rowspan=100000 colspan=100000>1</td>" * cells + "</tr>"
    return f"<html><body><p>某县2023年政府信息公开工作年度报告</p><table>{row * rows}</table></body></html>".encode()


def html_span_bomb_large() -> bytes:
    """~441 KB of the same."""
    return html_span_bomb(rows=110, cells=100)


def html_deep(levels: int = 1000) -> bytes:
    """A page nested `levels` deep, with text inside the deepest element and after it."""
    filler = "某县人民政府办公室发布的政府信息公开工作年度报告正文。" * 10
    return (f"<html><head><title>某县2023年政府信息公开工作年度报告</title></head><body><p>{filler}</p>"
            + "<div>" * levels + f"<p>{DEEP_TEXT}</p>" + "</div>" * levels
            + f"<p>{AFTER_TEXT}{filler}</p></body></html>").encode()


def html_long_text_node() -> bytes:
    """One text node past libxml2's 10 MB limit (mostly spaces, so that what follows the
    parse stays quick), then more text."""
    return ("<html><body><p>" + ("公开" + " " * 1000) * 10_500 + f"</p><p>{AFTER_TEXT}</p></body></html>").encode()


def text_long() -> bytes:
    """A text file of 4.5 million characters in short lines."""
    return ("某县2023年政府信息公开工作年度报告\n" + "公开。\n" * 1_500_000).encode()


def html_billion_laughs() -> bytes:
    return (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                       for i in range(1, 10))
            + b"]><html><body><p>&lol9;</p></body></html>")


# --- Office Open XML (zip) -----------------------------------------------------------------

def _replace(container: bytes, replacements: dict[str, bytes], level: int = 6) -> bytes:
    """The zip `container` with some members' bytes replaced (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(container)) as old, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as new:
        for info in old.infolist():
            if info.filename not in replacements:
                new.writestr(info.filename, old.read(info.filename))
        for name, data in replacements.items():
            new.writestr(name, data)
    return out.getvalue()


def _docx_base() -> bytes:
    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    return out.getvalue()


def _document(body: str, prolog: bytes = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>') -> bytes:
    return prolog + f"<w:document {W}><w:body>{body}</w:body></w:document>".encode()


def _p(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def _tc(text: str, props: str = "") -> str:
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{_p(text)}</w:tc>"


def docx_grid_span_bomb(rows: int = 200) -> bytes:
    """1-2 KB: cells of gridSpan=100000 (python-docx makes a cell object per spanned column)."""
    row = "<w:tr>" + _tc("1", '<w:gridSpan w:val="100000"/>') * 3 + "</w:tr>"
    table = f'<w:tbl><w:tblGrid><w:gridCol w:w="100"/></w:tblGrid>{row * rows}</w:tbl>'
    return _replace(_docx_base(), {"word/document.xml": _document(_p("某县2023年政府信息公开工作年度报告") + table)}, 9)


def docx_vmerge_bomb(rows: int = 3000) -> bytes:
    """A column merged down thousands of rows, each row also wide: python-docx walks every
    continued cell up to its first row (rows² steps)."""
    first = "<w:tr>" + _tc("1", '<w:gridSpan w:val="20"/><w:vMerge w:val="restart"/>') + "</w:tr>"
    rest = "<w:tr>" + _tc("", '<w:gridSpan w:val="20"/><w:vMerge/>') + "</w:tr>"
    grid = '<w:gridCol w:w="100"/>' * 20
    table = f"<w:tbl><w:tblGrid>{grid}</w:tblGrid>{first}{rest * rows}</w:tbl>"
    return _replace(_docx_base(), {"word/document.xml": _document(_p("某县2023年政府信息公开工作年度报告") + table)}, 9)


class _SameBlocks:
    """A raw-deflate compressor for a member written as the same block over and over: the
    block is deflated once and its bytes repeated (each piece is deflated on its own and
    ends on a byte boundary, so the pieces join into one valid stream), so a 1 GB member
    takes a second to write, not the minute of deflating it."""

    def __init__(self):
        self.deflated = {}

    def compress(self, data: bytes) -> bytes:
        if data not in self.deflated:
            deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
            self.deflated[data] = deflate.compress(data) + deflate.flush(zlib.Z_FULL_FLUSH)
        return self.deflated[data]

    def flush(self) -> bytes:
        return zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final, empty block


def _bomb_member(container: bytes, name: str, head: bytes, unit: bytes, tail: bytes, size: int) -> bytes:
    """`container` with member `name` = head + unit repeated to `size` bytes + tail, deflated
    as it is written (the file stays small, its member inflates to `size`)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(container)) as old, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as new:
        for info in old.infolist():
            if info.filename != name:
                new.writestr(info.filename, old.read(info.filename))
        block = unit * (1_000_000 // len(unit))
        with new.open(name, "w", force_zip64=True) as member:
            member._compressor = _SameBlocks()
            member.write(head)
            for _ in range(size // len(block)):
                member.write(block)
            member.write(tail)
    return out.getvalue()


def docx_zip_bomb(size: int = 1 << 30) -> bytes:
    """A DOCX whose document.xml inflates to `size` bytes of paragraphs."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>'.encode()
    return _bomb_member(_docx_base(), "word/document.xml", head, _p("政府信息公开").encode(),
                        b"</w:body></w:document>", size)


def docx_large_xml(size: int = 80 << 20) -> bytes:
    """A DOCX whose document.xml is `size` bytes of numbered paragraphs: an ordinary
    compression ratio (about 7), too big to parse whole."""
    numbers = random.Random(0)
    block = "".join(_p(f"{numbers.getrandbits(32):08x}政府信息公开工作") for _ in range(4096))
    return _replace(_docx_base(), {"word/document.xml": _document(block * (size // len(block.encode())))}, 1)


def docx_many_headers(parts: int = 6) -> bytes:
    """A DOCX with `parts` header parts of 12 MB each: every part within the part limit, all
    of them past the XML limit (python-docx parses every part the document refers to)."""
    numbers = random.Random(1)
    block = "".join(_p(f"{numbers.getrandbits(32):08x}页眉") for _ in range(4096))
    header = (f'<?xml version="1.0" encoding="UTF-8"?><w:hdr {W}>' + block * ((12 << 20) // len(block.encode()))
              + "</w:hdr>").encode()
    base = _docx_base()
    with zipfile.ZipFile(io.BytesIO(base)) as old:
        types, rels = old.read("[Content_Types].xml").decode(), old.read("word/_rels/document.xml.rels").decode()
    kind = "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"
    relation = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header"
    types = types.replace("</Types>", "".join(f'<Override PartName="/word/header{n}.xml" ContentType="{kind}"/>'
                                              for n in range(1, parts + 1)) + "</Types>")
    rels = rels.replace("</Relationships>", "".join(f'<Relationship Id="rIdHeader{n}" Type="{relation}"'
                                                    f' Target="header{n}.xml"/>' for n in range(1, parts + 1))
                        + "</Relationships>")
    return _replace(base, {"[Content_Types].xml": types.encode(), "word/_rels/document.xml.rels": rels.encode(),
                           **{f"word/header{n}.xml": header for n in range(1, parts + 1)}}, 1)


def docx_long_text() -> bytes:
    """A DOCX of 12 MB of paragraphs: within the zip limits, its text past the text limit."""
    return docx_large_xml(12 << 20)


def _xlsx_base() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["规章", 1, 0, 5])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(data: str, after: str = "", dimension: str = "A1:D1", prolog: bytes = b'<?xml version="1.0"?>') -> bytes:
    return prolog + (f'<worksheet {S}><dimension ref="{dimension}"/>'
                     f"<sheetData>{data}</sheetData>{after}</worksheet>").encode()


_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>规章</t></is></c><c r="B1"><v>1</v></c></row>'


def xlsx_merge_bomb(ranges: int = 50) -> bytes:
    """Merged ranges covering the whole sheet (openpyxl makes an object per merged cell)."""
    merges = '<mergeCell ref="A1:XFD1048576"/>' * ranges
    sheet = _sheet(_ROW, f'<mergeCells count="{ranges}">{merges}</mergeCells>')
    return _replace(_xlsx_base(), {"xl/worksheets/sheet1.xml": sheet}, 9)


def xlsx_dimension_bomb() -> bytes:
    """A sheet declaring its whole extent and holding a cell in its last row and column."""
    far = '<row r="1048576"><c r="XFD1048576"><v>7</v></c></row>'
    sheet = _sheet(_ROW + far, dimension="A1:XFD1048576")
    return _replace(_xlsx_base(), {"xl/worksheets/sheet1.xml": sheet}, 9)


def xlsx_zip_bomb(size: int = 1 << 30) -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet {S}><sheetData>'.encode()
    unit = b'<row><c t="inlineStr"><is><t>1</t></is></c></row>'
    return _bomb_member(_xlsx_base(), "xl/worksheets/sheet1.xml", head, unit, b"</sheetData></worksheet>", size)


_XXE = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "lollollollollollollollollollol">'
           + b"".join(b'<!ENTITY %c "%s">' % (c, (b"&%c;" % (c - 1)) * 10) for c in b"bcdefghij") + b"]>")


def docx_xxe() -> bytes:
    return _replace(_docx_base(), {"word/document.xml": _document(_p("&x;"), _XXE)})


def docx_billion_laughs() -> bytes:
    return _replace(_docx_base(), {"word/document.xml": _document(_p("&j;"), _LAUGHS)})


def xlsx_xxe() -> bytes:
    sheet = _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&x;</t></is></c></row>', prolog=_XXE)
    return _replace(_xlsx_base(), {"xl/worksheets/sheet1.xml": sheet})


def xlsx_billion_laughs() -> bytes:
    sheet = _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&j;</t></is></c></row>', prolog=_LAUGHS)
    return _replace(_xlsx_base(), {"xl/worksheets/sheet1.xml": sheet})


# --- PDF ----------------------------------------------------------------------------------

def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of `objects` (1-based, the first the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(content: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_many_pages(pages: int = 100_000) -> bytes:
    """`pages` pages sharing one small content stream."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>"
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
                 _stream(b"BT /F1 12 Tf 72 712 Td (2023 annual report page) Tj ET"), _FONT] + [page] * pages)


def pdf_ruled_bomb(lines: int = 3000) -> bytes:
    """One page ruled by `lines` horizontal and `lines` vertical lines 4 points apart
    (lines² crossings for the table finder), with a line of text."""
    size = 40 + 4 * lines
    content = b"".join(b"20 %d m %d %d l " % (20 + 4 * i, size - 20, 20 + 4 * i) for i in range(lines))
    content += b"".join(b"%d 20 m %d %d l " % (20 + 4 * i, 20 + 4 * i, size - 20) for i in range(lines)) + b"S "
    content += b"BT /F1 12 Tf 30 30 Td (2023 annual report, ruled page) Tj ET"
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 3 0 R"
            b" /Resources << /Font << /F1 4 0 R >> >> >>" % (size, size))
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
                 _stream(content), _FONT, page])


def pdf_dense_tables(pages: int = 100, lines: int = 40, characters: int = 40_000) -> bytes:
    """`pages` pages, each a ruled grid of `lines` × `lines` lines filled with `characters`
    characters (every page's table reading alone is fast; all of them together are not)."""
    rules = b"".join(b"20 %d m %d %d l " % (20 + 4 * i, 20 + 4 * (lines - 1), 20 + 4 * i) for i in range(lines))
    rules += b"".join(b"%d 20 m %d %d l " % (20 + 4 * i, 20 + 4 * i, 20 + 4 * (lines - 1)) for i in range(lines)) + b"S "
    per_line = 200
    text = b"".join(b"BT /F1 3 Tf 21 %.1f Td (%s) Tj ET " % (21 + 600 * i / (characters // per_line), b"7" * per_line)
                    for i in range(characters // per_line))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 640 640] /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>"
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
                 _stream(rules + text), _FONT] + [page] * pages)


# --- broken files of every kind ------------------------------------------------------------

def _xls() -> bytes:
    import xlwt

    book = xlwt.Workbook()
    book.add_sheet("附表").write(0, 0, "规章")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xls_far_cell(sheets: int = 3) -> bytes:
    """An .xls whose sheets hold a cell in the format's last row and column (65536 × 256
    slots each, when rows are padded to the sheet's width)."""
    import xlwt

    book = xlwt.Workbook()
    for number in range(sheets):
        sheet = book.add_sheet(f"附表{number + 1}")
        sheet.write(0, 0, "规章")
        sheet.write(0, 1, 1)
        sheet.write(65535, 255, 7)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _valid(kind: str) -> bytes:
    if kind == "pdf":
        return pdf_many_pages(3)
    return {"docx": _docx_base, "xlsx": _xlsx_base, "xls": _xls}[kind]()


def truncated(kind: str) -> bytes:
    data = _valid(kind)
    return data[:len(data) // 2]


def random_bytes(kind: str) -> bytes:
    """Random bytes behind the kind's magic number."""
    magic = {"pdf": b"%PDF-1.7\n", "docx": b"PK\x03\x04", "xlsx": b"PK\x03\x04", "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"}
    return magic[kind] + random.Random(kind).randbytes(20_000)


HOSTILE = {
    "html_span_bomb": ("span.html", html_span_bomb),
    "html_span_bomb_large": ("span-large.html", html_span_bomb_large),
    "html_deep": ("deep.html", html_deep),
    "html_deep_10000": ("deep-10000.html", lambda: html_deep(10_000)),
    "html_long_text_node": ("long-text.html", html_long_text_node),
    "html_billion_laughs": ("laughs.html", html_billion_laughs),
    "text_long": ("long.txt", text_long),
    "docx_grid_span_bomb": ("gridspan.docx", docx_grid_span_bomb),
    "docx_vmerge_bomb": ("vmerge.docx", docx_vmerge_bomb),
    "docx_zip_bomb": ("bomb.docx", docx_zip_bomb),
    "docx_large_xml": ("large.docx", docx_large_xml),
    "docx_long_text": ("long.docx", docx_long_text),
    "docx_many_headers": ("headers.docx", docx_many_headers),
    "docx_xxe": ("xxe.docx", docx_xxe),
    "docx_billion_laughs": ("laughs.docx", docx_billion_laughs),
    "xlsx_merge_bomb": ("merge.xlsx", xlsx_merge_bomb),
    "xlsx_dimension_bomb": ("dimension.xlsx", xlsx_dimension_bomb),
    "xlsx_zip_bomb": ("bomb.xlsx", xlsx_zip_bomb),
    "xlsx_xxe": ("xxe.xlsx", xlsx_xxe),
    "xlsx_billion_laughs": ("laughs.xlsx", xlsx_billion_laughs),
    "xls_far_cell": ("far.xls", xls_far_cell),
    "pdf_many_pages": ("pages.pdf", pdf_many_pages),
    "pdf_ruled_bomb": ("ruled.pdf", pdf_ruled_bomb),
    "pdf_dense_tables": ("dense.pdf", pdf_dense_tables),
    **{f"{kind}_truncated": (f"truncated.{kind}", lambda kind=kind: truncated(kind))
       for kind in ("pdf", "docx", "xlsx", "xls")},
    **{f"{kind}_random": (f"random.{kind}", lambda kind=kind: random_bytes(kind))
       for kind in ("pdf", "docx", "xlsx", "xls")},
}


# --- parsing one file in a child process -----------------------------------------------------

_CHILD = """
import json, re, sys, time
from parsers import parse
data = open(sys.argv[1], "rb").read()
start = time.perf_counter()
out = parse(data, name=sys.argv[2])
seconds = time.perf_counter() - start
print(json.dumps({"error": out.get("error"), "notes": out["notes"], "body": out["body"][:20000],
                  "body_length": len(out["body"]), "tail": out["body"][-2000:], "seconds": seconds,
                  "peak_rss_mb": int(re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read())[1]) / 1024},
                 ensure_ascii=False))
"""


def _limit_memory(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def parse_in_child(path: Path, name: str, memory: int | None = MEMORY_LIMIT, timeout: float = TIMEOUT) -> dict:
    """parse() of the file at `path` in a fresh interpreter, under RLIMIT_AS=`memory` (None: no
    limit) and a timeout. The parse's error, notes, body (its start and end), seconds and the
    child's peak RSS, and whatever else it printed (`stdout`); or {"crashed": why} when the
    child died, ran out of time or memory."""
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(path), name], capture_output=True, text=True,
                              timeout=timeout, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                              preexec_fn=_limit_memory(memory) if memory else None)
    except subprocess.TimeoutExpired:
        return {"crashed": f"no answer within {timeout} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"crashed": f"exit {done.returncode}: {last}"}
    *printed, last = done.stdout.strip().splitlines() or [""]
    return {**json.loads(last), "stdout": "\n".join(printed)}
