"""Guess what an input is (HTML, text, PDF, DOCX, DOC/WPS, XLSX/XLS, OFD) and decode bytes to text.

Government sites serve GBK/GB2312/GB18030 with missing or wrong declarations, so a
declared charset is only a hint: strict UTF-8 first, then GB18030, then detection.
"""
import re

_HTML_SUFFIXES = (".html", ".htm", ".shtml", ".jhtml", ".xhtml", ".jsp", ".asp", ".aspx", ".php")


def kind(data: bytes | str, name: str = "", content_type: str = "") -> str:
    """One of html, text, pdf, docx, doc, xlsx, xls, ofd, image."""
    head = data[:8] if isinstance(data, bytes) else b""
    if head.startswith(b"%PDF"):
        return "pdf"
    if isinstance(data, bytes) and data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        return "image"  # a table published as a picture (read by OCR)
    if head.startswith(b"PK\x03\x04") and (b"OFD.xml" in data or b"ofd.xml" in data):  # GB/T 33190's entry part
        return "ofd"
    if head.startswith(b"PK\x03\x04"):  # a zip: Word or Excel by the parts it holds
        return "xlsx" if b"xl/workbook" in data and b"word/document" not in data else "docx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE file: by its main stream, else as its name or type says
        for stream, k in (("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls")):
            if stream.encode("utf-16-le") in data:
                return k
        return "xls" if kind(b"", name, content_type) == "xls" else "doc"
    ct, low = (content_type or "").lower(), (name or "").lower()
    for key, k in (("pdf", "pdf"), ("wordprocessingml", "docx"), ("spreadsheetml", "xlsx"), ("msword", "doc"),
                   ("ms-excel", "xls"), ("wps", "doc"), ("html", "html"), ("text/plain", "text")):
        if key in ct:
            return k
    for suffix, k in ((".pdf", "pdf"), (".docx", "docx"), (".doc", "doc"), (".wps", "doc"), (".xlsx", "xlsx"),
                      (".xls", "xls"), (".txt", "text")):
        if low.endswith(suffix):
            return k
    if low.endswith(_HTML_SUFFIXES):
        return "html"
    sample = data[:4000]
    if isinstance(sample, bytes):
        sample = sample.decode("latin-1")
    if re.search(r"<(?:!doctype\s+html|html|body|table|div|p|meta|head)\b", sample, re.I):
        return "html"
    return "text"


def _declared(data: bytes) -> str | None:
    m = re.search(rb"""charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", data[:4000], re.I)
    return m.group(1).decode("ascii").lower() if m else None


def to_text(data: bytes | str) -> str:
    """Decode bytes whatever their (declared or real) encoding; str passes through."""
    if isinstance(data, str):
        return data
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared(data)
    if declared and declared.replace("-", "") not in ("utf8", "gb2312", "gbk", "gb18030"):
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes
        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    except Exception:  # detection is best effort; fall through to a lossy decode
        pass
    return data.decode("gb18030", errors="replace")
