"""PDF and Word readers: text plus table grids, in the same shapes the HTML reader gives."""
import io
import shutil
import subprocess
import tempfile
from pathlib import Path


def pdf(data: bytes) -> tuple[str, list]:
    """Text of every page (pdfplumber) and the grids of the tables it finds."""
    import pdfplumber

    texts, grids = [], []
    with pdfplumber.open(io.BytesIO(data)) as doc:
        for page in doc.pages:
            texts.append(page.extract_text() or "")
            for table in page.extract_tables() or []:
                if any(any(c for c in row) for row in table):
                    grids.append(table)
    return "\n".join(texts), grids


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
