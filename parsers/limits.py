"""Bounds on the work one document may cost, and the zip check every zip-based reader
(DOCX, XLSX) makes before it inflates anything.

A crawl meets hostile and broken files; one must cost bounded time and memory and end in
a one-line error naming the limit (LimitExceeded, which parse() reports) or in a note
saying what was left out, never in a process killed for its memory.
"""
import io
import zipfile

MAX_UNZIPPED = 256 << 20  # bytes a zip container's members may inflate to, together
MAX_RATIO = 100  # inflated / compressed size of one member (text XML: about 5-30)
RATIO_FLOOR = 1 << 20  # members smaller than this may have any ratio
MAX_MEMBERS = 10_000
MAX_XML_PART = 16 << 20  # bytes of one XML part a reader parses whole (document.xml: a report's is 0.1-3 MB)
MAX_XML_TOTAL = 32 << 20  # bytes of all XML parts together (python-docx parses every one)
MAX_TABLE_CELLS = 1_000_000  # grid slots of one document's tables, spans counted
MAX_PDF_PAGES = 300
MAX_PDF_PAGE_OBJECTS = 200_000  # page objects (paths, text runs, forms) and path segments looked at on one page
MAX_PDF_EDGES = 20_000  # straight lines drawn on one page, before they are joined into rules
MAX_PDF_CROSSINGS = 2_000  # horizontal × vertical rules of one page for the table finder (superlinear in them)
MAX_PDF_DOCUMENT_CROSSINGS = 10_000  # the same over the whole document
MAX_PDF_TABLE_CHARACTERS = 200_000  # characters boxed on the pages holding tables, in all
MAX_PDF_TABLE_WORK = 10_000_000  # characters × (rows + columns) of those pages' tables, in all
MAX_HTML_DEPTH = 200  # libxml2's HTML parser stops at 256 levels and drops the rest
MAX_TEXT = 500_000  # characters of a document's text read further (a report has some 10,000-100,000)

_CHUNK = 1 << 20


class LimitExceeded(ValueError):
    """A document past one of the bounds above; its message names the limit."""


def megabytes(size: int) -> str:
    return f"{size / (1 << 20):.0f} MB"


def check_zip(data: bytes) -> None:
    """Refuse a zip whose members would inflate past MAX_UNZIPPED (their XML past
    MAX_XML_TOTAL), or one member past MAX_RATIO or MAX_XML_PART, judged first by the sizes
    the zip declares and then by reading every member with a bounded read (a declared size
    may lie). Only stored and deflated members (all that Office files use): other methods
    inflate a whole chunk at once, unbounded."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise LimitExceeded(f"zip holds {len(members)} members, over the limit of {MAX_MEMBERS}")
        for member in members:
            if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise LimitExceeded(f"zip member {member.filename} uses compression method {member.compress_type},"
                                    " not stored or deflated")
            _check_sizes(member, member.file_size, "declares")
        _check_totals(sum(m.file_size for m in members), sum(m.file_size for m in members if _is_xml(m)), "declare")
        total = xml = 0
        for member in members:
            size = 0
            with archive.open(member) as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    xml += len(chunk) if _is_xml(member) else 0
                    _check_sizes(member, size, "inflates to")
                    _check_totals(total, xml, "inflate to")


def _is_xml(member: zipfile.ZipInfo) -> bool:
    return member.filename.lower().endswith((".xml", ".rels"))


def _check_totals(total: int, xml: int, verb: str) -> None:
    if total > MAX_UNZIPPED:
        raise LimitExceeded(f"zip members {verb} {megabytes(total)}, over the limit of {megabytes(MAX_UNZIPPED)}")
    if xml > MAX_XML_TOTAL:
        raise LimitExceeded(f"zip members {verb} {megabytes(xml)} of XML, over the limit of {megabytes(MAX_XML_TOTAL)}")


def _check_sizes(member: zipfile.ZipInfo, size: int, verb: str) -> None:
    name, compressed = member.filename, member.compress_size
    if size > RATIO_FLOOR and size > MAX_RATIO * max(compressed, 1):
        raise LimitExceeded(f"zip member {name} {verb} {megabytes(size)} from {compressed} bytes,"
                            f" over the compression ratio limit of {MAX_RATIO}:1")
    if size > MAX_XML_PART and _is_xml(member):
        raise LimitExceeded(f"zip member {name} {verb} {megabytes(size)} of XML,"
                            f" over the limit of {megabytes(MAX_XML_PART)} for one part")


def cut_text(text: str, notes: list[str]) -> str:
    """`text` up to MAX_TEXT characters; a note when it was longer (the table and section
    reading that follows costs tens of microseconds a character)."""
    if len(text) <= MAX_TEXT:
        return text
    notes.append(f"text of {len(text)} characters: only the first {MAX_TEXT} read (the text limit)")
    return text[:MAX_TEXT]
