"""A report whose figures are only in a spreadsheet attachment (附表.xlsx) linked from a
page that carries the title and text: the crawl fetches the sheet, reads its tables, and
archives one report with the page's year and the sheet's figures. The link is written the
old way (<A HREF=…>, a Chinese file name)."""
import io
from urllib.parse import quote

import openpyxl

from conftest import one_portal_registry, run_crawl, serve_folder
from archive.db import connect as connect_archive

TITLE = "某县人民政府2022年政府信息公开工作年度报告"


def sheet_of_requests() -> bytes:
    book = openpyxl.Workbook()
    for row in (["附表：收到和处理政府信息公开申请情况"],
                ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
                ["自然人", "法人或其他组织", "总计"], ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"],
                ["一、本年新收政府信息公开申请数量", 12, 3, 0, 0, 1, 0, 16],
                ["二、上年结转政府信息公开申请数量", 1, 0, 0, 0, 0, 0, 1]):
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_figures_from_a_spreadsheet_attachment(tmp_path):
    site = tmp_path / "site"
    (site / "nb").mkdir(parents=True)
    (site / "nb" / "index.html").write_text(
        f'<html><body><ul><li><a href="t20230120_1.html">{TITLE}</a><span>2023-01-20</span></li></ul></body></html>',
        encoding="utf-8")
    (site / "nb" / "t20230120_1.html").write_text(
        f"<html><head><title>{TITLE}</title></head><body><h1>{TITLE}</h1><p>一、总体情况</p>"
        "<p>2022年，某县人民政府认真贯彻落实《中华人民共和国政府信息公开条例》，依申请公开办理规范。</p>"
        '<p>收到和处理政府信息公开申请情况见附表。</p><P>附件：<A HREF="附表.XLSX">附表</A></P>'
        "</body></html>", encoding="utf-8")
    (site / "nb" / "附表.XLSX").write_bytes(sheet_of_requests())
    server = serve_folder(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    db = tmp_path / "archive.db"
    try:
        result = run_crawl(one_portal_registry(tmp_path, f"{base}/", f"{base}/nb/index.html"), db)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-2000:]
    conn = connect_archive(db)
    assert conn.execute("select title, year, source_url from reports").fetchall() == [
        (TITLE, 2022, f"{base}/nb/{quote('附表')}.XLSX")]
    figures = dict(conn.execute("select code, value from cells where value is not null"))
    assert (figures["requests.new.natural_person"], figures["requests.new.research"],
            figures["requests.new.total"], figures["requests.carried_in.total"]) == (12, 0, 16, 1)
