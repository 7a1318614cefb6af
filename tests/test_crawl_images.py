"""A report page whose statutory tables are a picture (a gold report's pages rendered to one
long PNG, tests/scan_writer.py), in a sample-portal-style page with a header logo, a 备案
badge and QR codes: the real crawl fetches the body's picture (not the page's furniture,
not an icon declared 16 pixels wide), the parser reads it by OCR, and the archive holds the
report with its figures, read_by ocr."""
import json

import pytest

from conftest import one_portal_registry, run_crawl, serve_folder
from parsers import ocr
from scan_writer import report_png
from test_parsers_roundtrip import GOLD
from archive.db import connect as connect_archive

TITLE = "某县人民政府{year}年政府信息公开工作年度报告"


def _gold() -> dict:
    if not GOLD.is_dir():
        pytest.skip("../shared (gold answers) is not present")
    return json.loads((GOLD / "real" / "pingtan-2021.json").read_text(encoding="utf-8"))


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (width, height), 0).save(buffer, "PNG")
    return buffer.getvalue()


def _site(folder, gold: dict):
    title = TITLE.format(year=gold["year"])
    (folder / "nb").mkdir(parents=True)
    (folder / "images").mkdir()
    (folder / "nb" / "index.html").write_text(
        f'<html><body><ul><li><a href="t20220120_1.html">{title}</a><span>2022-01-20</span></li></ul>'
        "</body></html>", encoding="utf-8")
    (folder / "nb" / "t20220120_1.html").write_text(
        f"<html><head><title>{title}</title></head><body>"
        '<div class="header"><img src="/images/site_logo.png" /><div><img src="/images/mzt_ewm.png" /></div></div>'
        '<div class="nav"><a href="/">首页</a><a href="/nb/index.html">政府信息公开年报</a></div>'
        f'<div class="article"><h1>{title}</h1>'
        f"<p>本报告根据《中华人民共和国政府信息公开条例》要求编制，全文包括总体情况、主动公开政府信息情况、"
        f"收到和处理政府信息公开申请情况、政府信息公开行政复议和行政诉讼情况、存在的主要问题及改进情况。</p>"
        f"<p>一、总体情况</p><p>{gold['year']}年，某县人民政府认真贯彻落实政府信息公开条例，各项工作有序推进。</p>"
        '<p><img src="/images/pdf_icon.png" width="16" height="16" />报告全文如下：</p>'
        '<p style="text-align:center"><img src="/upload/nb2022_tables.png" alt="" /></p>'
        "<p>六、其他需要报告的事项</p><p>本年度无其他需要报告的事项。</p></div>"
        '<div class="footer"><img src="/images/babs.png" /> 公安备案号<div class="ewm_tu">'
        '<img src="/images/wechat.jpg" alt="微信公众号" /></div></div></body></html>', encoding="utf-8")
    (folder / "upload").mkdir()
    (folder / "upload" / "nb2022_tables.png").write_bytes(
        report_png(gold["format"], gold["cells"], gold["units"], gold["year"]))
    for name, size in (("site_logo.png", (300, 80)), ("mzt_ewm.png", (120, 120)), ("pdf_icon.png", (16, 16)),
                       ("babs.png", (20, 20)), ("wechat.jpg", (120, 120))):
        (folder / "images" / name).write_bytes(_png(*size))


def _crawl(tmp_path, site, *settings: str):
    """Serve `site` on 127.0.0.1 and crawl its column nb/index.html: (base URL, archive)."""
    server = serve_folder(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    db = tmp_path / "archive.db"
    try:
        result = run_crawl(one_portal_registry(tmp_path, f"{base}/", f"{base}/nb/index.html"), db, *settings,
                           timeout=300)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-2000:]
    return base, db


def _one_report(site, body: str) -> None:
    """A column listing one report page, nb/t1.html, whose <body> is `body`."""
    title = TITLE.format(year=2022)
    (site / "nb").mkdir(parents=True)
    (site / "nb" / "index.html").write_text(
        f'<html><body><ul><li><a href="t1.html">{title}</a><span>2023-01-20</span></li></ul></body></html>',
        encoding="utf-8")
    (site / "nb" / "t1.html").write_text(f"<html><head><title>{title}</title></head><body>{body}</body></html>",
                                         encoding="utf-8")


@pytest.mark.skipif(not ocr.available(), reason="the ocr extra (rapidocr-onnxruntime) is not installed")
def test_a_report_whose_tables_are_a_picture(tmp_path):
    gold = _gold()
    _site(tmp_path / "site", gold)
    base, db = _crawl(tmp_path, tmp_path / "site")
    conn = connect_archive(db)
    page = f"{base}/nb/t20220120_1.html"
    assert sorted(conn.execute("select url, role from documents")) == [
        (page, "page"), (f"{base}/upload/nb2022_tables.png", "attachment")]
    assert conn.execute("select title, year, format, source_url from reports").fetchall() == [
        (TITLE.format(year=gold["year"]), gold["year"], gold["format"], f"{base}/upload/nb2022_tables.png")]
    assert conn.execute("select count(*) from failures").fetchone()[0] == 0
    figures = dict(conn.execute("select code, value from cells where value is not null"))
    wrong = {code: value for code, value in figures.items() if value != gold["cells"].get(code)}
    assert not wrong
    assert len(figures) >= 0.99 * len(gold["cells"]), (len(figures), len(gold["cells"]))
    assert set(r for r, in conn.execute("select distinct read_by from cell_provenance where value is not null")) == {"ocr"}


def test_body_images_are_bounded_in_count_and_bytes(tmp_path):
    """NIANBAO_REPORT_IMAGES images a page at most, each within NIANBAO_REPORT_IMAGE_BYTES:
    the image past the bytes is an `attachment` failure, the one past the count is not asked
    for, and the report is archived all the same."""
    import os

    site = tmp_path / "site"
    _one_report(site, f"<div class='article'><h1>{TITLE.format(year=2022)}</h1>"
                "<p>一、总体情况。本年度政府信息公开工作有序推进，依申请公开办理规范，详见下列各表。</p>"
                '<p><img src="big.png" /></p><p><img src="a.png" /></p><p><img src="b.png" /></p></div>')
    (site / "nb" / "big.png").write_bytes(_png(400, 300)[:-12] + os.urandom(200_000) + _png(400, 300)[-12:])
    for name in ("a.png", "b.png"):
        (site / "nb" / name).write_bytes(_png(400, 300))
    base, db = _crawl(tmp_path, site, "-s", "NIANBAO_REPORT_IMAGES=2", "-s", "NIANBAO_REPORT_IMAGE_BYTES=100000")
    conn = connect_archive(db)
    assert sorted(conn.execute("select url, role from documents")) == [
        (f"{base}/nb/a.png", "attachment"), (f"{base}/nb/t1.html", "page")]
    [(url, stage, error)] = conn.execute("select url, stage, error from failures").fetchall()
    assert (url, stage) == (f"{base}/nb/big.png", "attachment"), error
    assert conn.execute("select count(*) from reports").fetchone()[0] == 1


def test_the_body_is_not_the_footer(tmp_path):
    """A report page saying little more than its title beside the picture, over a footer of
    much text (address, copyright): the picture of the body is fetched, not the footer's."""
    site = tmp_path / "site"
    _one_report(site, f"<div class='main'><h1>{TITLE.format(year=2022)}</h1><p>详见下图。</p>"
                '<p><img src="t1_01.png" /></p></div><div id="footer"><p>'
                + "主办：某县人民政府办公室 地址：某县某路1号 电话：0591-12345678 版权所有 未经授权不得转载 " * 5
                + '</p><p><img src="fwzx.png" /></p></div>')
    for name in ("t1_01.png", "fwzx.png"):
        (site / "nb" / name).write_bytes(_png(400, 300))
    base, db = _crawl(tmp_path, site)
    assert sorted(connect_archive(db).execute("select url, role from documents")) == [
        (f"{base}/nb/t1.html", "page"), (f"{base}/nb/t1_01.png", "attachment")]
