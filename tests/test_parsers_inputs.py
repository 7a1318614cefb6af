"""Input kinds: GBK bytes with a wrong declaration, PDF made with reportlab, DOCX tables."""
import io
import json
from pathlib import Path

import openpyxl
import pytest
import xlwt

from parsers import decode, parse

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = "corpus/seeds/001_6042ec2c999cb952.txt"


def _seed():
    path = SHARED / SEED
    if not path.exists():
        pytest.skip("../shared is not present")
    gold = json.loads((SHARED / "gold/seeds/001_6042ec2c999cb952.json").read_text(encoding="utf-8"))
    return path.read_text(encoding="utf-8"), gold


def test_gbk_bytes_with_wrong_declaration():
    text, gold = _seed()
    page = ("<html><head><meta charset='utf-8'><title>" + gold["title"] + "</title></head><body><pre>"
            + text + "</pre></body></html>")
    out = parse(page.encode("gbk", errors="replace"), name="a.html")
    assert out["year"] == gold["year"]
    assert out["cells"]["active.licensing.change"] == -6
    out = parse(text.encode("gb18030"))
    assert out["cells"] == gold["cells"]


def test_pdf_from_text():
    reportlab = pytest.importorskip("reportlab")
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    assert reportlab
    text, gold = _seed()
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = 800
    for line in text.splitlines():
        for start in range(0, max(len(line), 1), 40):
            c.setFont("STSong-Light", 9)
            c.drawString(30, y, line[start:start + 40])
            y -= 12
            if y < 40:
                c.showPage()
                y = 800
    c.save()
    out = parse(buf.getvalue(), name="r.pdf")
    assert "error" not in out, out.get("error")
    assert "政府信息公开" in out["body"]
    assert out["format"] == "2019" and out["year"] == 2019
    right = sum(out["cells"].get(k) == v for k, v in gold["cells"].items())
    assert right == len(gold["cells"])


def test_docx_table():
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("某局2022年政府信息公开工作年度报告")
    document.add_paragraph("二、主动公开政府信息情况")
    t = document.add_table(rows=3, cols=4)
    for r, row in enumerate([["第二十条第（一）项", "", "", ""], ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
                             ["规章", "1", "0", "5"]]):
        for c, v in enumerate(row):
            t.cell(r, c).text = v
    t.cell(0, 0).merge(t.cell(0, 3))
    buf = io.BytesIO()
    document.save(buf)
    out = parse(buf.getvalue(), name="r.docx")
    assert out["format"] == "2021" and out["year"] == 2022
    assert out["cells"]["active.rules.issued"] == 1 and out["cells"]["active.rules.in_force"] == 5
    assert out["cells"]["active.normative.issued"] is None


def test_doc_without_libreoffice_is_a_clear_error(monkeypatch):
    import shutil
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = parse(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, name="r.doc")
    assert "LibreOffice" in out["error"]


def test_spreadsheets_are_known_by_their_content():
    """Attachments often come from download.jsp?id=… with no suffix: a spreadsheet is told
    from a Word file by what it holds."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["规章", 1, 0, 5])
    xlsx = io.BytesIO()
    workbook.save(xlsx)
    old_workbook = xlwt.Workbook()
    old_workbook.add_sheet("附表").write(0, 0, "规章")
    xls = io.BytesIO()
    old_workbook.save(xls)
    assert decode.kind(xlsx.getvalue(), "download.jsp") == "xlsx"
    assert decode.kind(xls.getvalue(), "download.jsp") == "xls"
    assert parse(xlsx.getvalue(), name="download.jsp")["body"] == "规章 1 0 5"
