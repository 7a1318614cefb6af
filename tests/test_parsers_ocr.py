"""Scanned reports and table images, read by OCR: gold reports rasterised into image-only PDFs
(150 and 200 dpi, a slight skew, JPEG noise; tests/scan_writer.py) read back with at least 99%
of their cells right and no figure wrong; a page image given alone reads as a table image;
without the OCR extra such a file is a note, not an error; a PDF with a text layer is not
OCR'd. OCR is slow (seconds a page): two reports here, all of them in benchmarks/accuracy.py."""
import io
import json

import pytest

from parsers import ocr, parse
from scan_writer import page_images, scanned_pdf
from test_parsers_roundtrip import GOLD, render_pdf

needs_ocr = pytest.mark.skipif(not ocr.available(), reason="the ocr extra (rapidocr-onnxruntime) is not installed")


def _gold(fmt: str) -> dict:
    if not GOLD.is_dir():
        pytest.skip("../shared (gold answers) is not present")
    return next(json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLD.glob("*/*.json"))
                if json.loads(p.read_text(encoding="utf-8"))["format"] == fmt)


def _score(gold: dict, out: dict) -> tuple[int, list]:
    """(cells right, the wrong figures: read, and not as the gold says)."""
    right = sum(out["cells"].get(code) == value for code, value in gold["cells"].items())
    wrong = [(code, value, out["cells"][code]) for code, value in gold["cells"].items()
             if out["cells"].get(code) is not None and out["cells"][code] != value]
    return right, wrong


@needs_ocr
@pytest.mark.parametrize("fmt, dpi, skew, quality", [("2019", 150, 0.5, 70), ("2021", 200, -0.7, 80)])
def test_scanned_report_read_by_ocr(fmt, dpi, skew, quality):
    gold = _gold(fmt)
    out = parse(scanned_pdf(gold["format"], gold["cells"], gold["units"], gold["year"], dpi, skew, quality),
                name="scan.pdf")
    assert "error" not in out, out.get("error")
    assert (out["format"], out["year"], out["read_by"]) == (gold["format"], gold["year"], "ocr")
    right, wrong = _score(gold, out)
    assert not wrong
    assert right >= 0.99 * len(gold["cells"]), (right, len(gold["cells"]))
    assert any("without a text layer: read by OCR" in note for note in out["notes"])
    assert out["title"] == f"某县人民政府{gold['year']}年政府信息公开工作年度报告"


@needs_ocr
def test_a_table_image_alone():
    """The last page as a PNG (table 三's end and table 四), as a page shows a table as <img>:
    table 四 reads whole (table 三's rows, without their header, are not placed)."""
    gold = _gold("2021")
    image = page_images(gold["format"], gold["cells"], gold["units"], gold["year"], 200, 0.3, 85)[-1]
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    out = parse(buffer.getvalue(), name="table.png")
    assert "error" not in out, out.get("error")
    assert out["read_by"] == "ocr"
    appeals = {code: value for code, value in gold["cells"].items() if code.startswith("appeals.")}
    assert {code: out["cells"].get(code) for code in appeals} == appeals


@needs_ocr
def test_a_transparent_table_image():
    """A PNG whose ink is drawn by its alpha channel over black pixels (as drawing programs
    export a table): the transparent pixels are paper, so the table reads as on white."""
    from PIL import Image, ImageOps

    gold = _gold("2021")
    gray = page_images(gold["format"], gold["cells"], gold["units"], gold["year"], 200, 0.3, 85)[-1].convert("L")
    black = Image.new("L", gray.size, 0)
    buffer = io.BytesIO()
    Image.merge("RGBA", (black, black, black, ImageOps.invert(gray))).save(buffer, "PNG")
    out = parse(buffer.getvalue(), name="table.png")
    appeals = {code: value for code, value in gold["cells"].items() if code.startswith("appeals.")}
    assert {code: out["cells"].get(code) for code in appeals} == appeals


@needs_ocr
def test_an_icon_is_not_read():
    """A picture too small to hold a table (a page's icon fetched with its body's images)
    is a note, and costs no OCR."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (32, 32), 0).save(buffer, "PNG")
    out = parse(buffer.getvalue(), name="icon.png")
    assert "error" not in out and out["read_by"] is None
    assert out["notes"] == ["an image of 32 × 32 pixels: too small to hold a table, not read"]


def test_without_the_ocr_extra_a_scan_is_a_note(monkeypatch):
    gold = _gold("2019")
    monkeypatch.setattr(ocr, "available", lambda: False)
    out = parse(scanned_pdf(gold["format"], gold["cells"], gold["units"], gold["year"]), name="scan.pdf")
    assert "error" not in out
    assert out["format"] == "none" and out["read_by"] is None
    assert any("page(s) 1, 2 without a text layer: not read" in note and "rapidocr-onnxruntime" in note
               for note in out["notes"]), out["notes"]
    image = parse(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, name="t.png")
    assert "error" not in image and any("rapidocr-onnxruntime" in note for note in image["notes"])


def test_a_pdf_with_text_is_not_ocrd(monkeypatch):
    gold = _gold("2021")
    monkeypatch.setattr(ocr, "page", lambda *a: pytest.fail("a page with a text layer went to OCR"))
    out = parse(render_pdf(gold["format"], gold["cells"], gold["units"], gold["year"]), name="x.pdf")
    assert out["read_by"] == "grid" and not any("OCR" in note for note in out["notes"])
    assert out["cells"] == gold["cells"]
