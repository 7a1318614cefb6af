"""OFD (GB/T 33190) reports: every gold report written as an OFD package (tests/ofd_writer.py:
positioned TextCodes, ruled PathObjects, tables continued across pages) reads back with every
cell right; an OFD is known by its content; a hostile package costs an error, not the
process; a crawl fetches a report's .ofd attachment and archives its figures; and a page that
is a picture (a scan) is read by OCR."""
import io
import json
import zipfile

import pytest

from conftest import one_portal_registry, run_crawl, serve_folder
from ofd_writer import image_package, render_ofd
from parsers import decode, ocr, ofd, parse
from scan_writer import page_images
from test_parsers_roundtrip import GOLD
from archive.db import connect as connect_archive

TITLE = "某县人民政府2021年政府信息公开工作年度报告"


def _golds():
    if not GOLD.is_dir():
        pytest.skip("../shared (gold answers) is not present")
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLD.glob("*/*.json"))]


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_every_gold_report_round_trips_through_ofd():
    for gold in _golds():
        data = render_ofd(gold["format"], gold["cells"], gold["units"], gold["year"])
        out = parse(data, name="report.ofd")
        assert "error" not in out, out.get("error")
        assert (out["format"], out["year"], out["read_by"]) == (gold["format"], gold["year"], "grid"), gold["source"]
        wrong = {k: (v, out["cells"].get(k)) for k, v in gold["cells"].items() if out["cells"].get(k) != v}
        assert not wrong, (gold["source"], wrong)
        assert out["units"] == gold["units"]


def test_ofd_text_and_tables_as_drawn():
    gold = _golds()[0]
    text, grids, notes, _ = ofd.read(render_ofd(gold["format"], gold["cells"], gold["units"], gold["year"]))
    assert text.splitlines()[0] == f"某县人民政府{gold['year']}年政府信息公开工作年度报告"
    assert "三、收到和处理政府信息公开申请情况" in text.splitlines()
    assert notes == []
    # the requests table, split across two pages by the writer, is two ruled tables
    labels = [row[0] for grid in grids for row in grid if row[0]]
    assert labels.count("（七）总计") == 1 and labels.count("一、本年新收政府信息公开申请数量") == 1
    assert len(grids) >= 4


def test_ofd_known_by_content_whatever_its_name():
    gold = _golds()[0]
    data = render_ofd(gold["format"], gold["cells"], gold["units"], gold["year"])
    assert decode.kind(data, "download.do?id=7", "application/octet-stream") == "ofd"
    assert decode.kind(data, "附件.zip") == "ofd"
    assert parse(data, name="download.do")["cells"] == gold["cells"]


def test_ofd_text_placed_through_delta_shorthand_and_ctm():
    """`g N d` advances and a CTM scaling a unit font place the characters where drawn: two
    words far apart on one baseline stay apart, words on two baselines are two lines."""
    content = ('<?xml version="1.0"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="1">'
               '<ofd:TextObject ID="2" Boundary="10 10 100 5" Size="4"><ofd:TextCode X="0" Y="4" DeltaX="g 3 4">本年新收'
               '</ofd:TextCode><ofd:TextCode X="60" Y="4">12</ofd:TextCode></ofd:TextObject>'
               '<ofd:TextObject ID="3" Boundary="10 20 100 5" Size="1" CTM="4 0 0 4 0 0"><ofd:TextCode X="0" Y="1"'
               ' DeltaX="1 1">总计值</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>')
    members = _members(render_ofd("2019", _golds()[0]["cells"], {}, 2019))
    pages = [name for name in members if name.endswith("Content.xml")]
    members[pages[0]] = content.encode("utf-8")
    text, _, _, _ = ofd.read(_zip({name: members[name] for name in members if name not in pages[1:]}))
    assert text.splitlines()[:2] == ["本年新收 12", "总计值"]


def test_hostile_ofd_costs_an_error_not_the_process():
    gold = _golds()[0]
    members = _members(render_ofd(gold["format"], gold["cells"], gold["units"], gold["year"]))
    missing = parse(_zip({"OFD.xml": members["OFD.xml"]}), name="x.ofd")
    assert "Document.xml is missing" in missing["error"]
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
              "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i else "")) * 10}">' for i in range(1, 9)) +
              ']><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer><ofd:TextObject'
              ' Boundary="0 0 10 10" Size="3"><ofd:TextCode X="0" Y="3">&lol8;</ofd:TextCode></ofd:TextObject>'
              "</ofd:Layer></ofd:Content></ofd:Page>")
    members["Doc_0/Pages/Page_0/Content.xml"] = laughs.encode()
    out = parse(_zip(members), name="x.ofd")
    assert len(out["body"]) < 100_000  # the entities were not expanded
    bomb = dict(members)
    bomb["Doc_0/Pages/Page_1/Content.xml"] = b"<a>" + b" " * (20 << 20) + b"</a>"
    assert "limit" in parse(_zip(bomb), name="x.ofd")["error"]


def test_a_crawl_archives_the_figures_of_an_ofd_attachment(tmp_path):
    gold = next(g for g in _golds() if g["format"] == "2021")
    site = tmp_path / "site"
    (site / "nb").mkdir(parents=True)
    (site / "nb" / "index.html").write_text(
        f'<html><body><ul><li><a href="t20220120_1.html">{TITLE}</a><span>2022-01-20</span></li></ul></body></html>',
        encoding="utf-8")
    (site / "nb" / "t20220120_1.html").write_text(
        f"<html><head><title>{TITLE}</title></head><body><h1>{TITLE}</h1><p>一、总体情况</p>"
        "<p>2021年，某县人民政府认真贯彻落实《中华人民共和国政府信息公开条例》。</p>"
        '<p>附件：<a href="P020220120.ofd">年度报告（版式文件）</a></p></body></html>', encoding="utf-8")
    (site / "nb" / "P020220120.ofd").write_bytes(render_ofd(gold["format"], gold["cells"], gold["units"], 2021))
    server = serve_folder(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    db = tmp_path / "archive.db"
    try:
        result = run_crawl(one_portal_registry(tmp_path, f"{base}/", f"{base}/nb/index.html"), db)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-2000:]
    conn = connect_archive(db)
    assert conn.execute("select year, format, source_url from reports").fetchall() == [
        (2021, "2021", f"{base}/nb/P020220120.ofd")]
    figures = dict(conn.execute("select code, value from cells"))
    assert {code: figures.get(code) for code in gold["cells"]} == gold["cells"]


@pytest.mark.skipif(not ocr.available(), reason="the ocr extra (rapidocr-onnxruntime) is not installed")
def test_a_scanned_ofd_page_is_read_by_ocr():
    """An OFD whose page is a picture (its last page scanned: table 四) is read by OCR."""
    gold = next(g for g in _golds() if g["format"] == "2021")
    image = page_images(gold["format"], gold["cells"], gold["units"], gold["year"], 200, 0.4, 80)[-1]
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    out = parse(image_package([buffer.getvalue()], image.width / 200 * 25.4, image.height / 200 * 25.4),
                name="scan.ofd")
    assert "error" not in out, out.get("error")
    assert out["read_by"] == "ocr" and "OFD page(s) 1 an image without text: read by OCR" in out["notes"]
    appeals = {code: value for code, value in gold["cells"].items() if code.startswith("appeals.")}
    assert {code: out["cells"].get(code) for code in appeals} == appeals
