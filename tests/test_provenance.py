"""Provenance (issue 13): every figure keeps the token it was read from, where it stands in the
document and how it was read; the archive stores it in `cells`, and the report page links each
figure to its place in the archived copy."""
import json
import re
import urllib.parse
from pathlib import Path

import pytest

from archive_fixtures import chromium, get, start_datasette, stop
from parsers import decode, html, parse, readers
from parsers.tokens import normalize
from parsers.values import parse_value

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLES = ROOT / "nianbao" / "sample_portals"
READ_BY = {"text", "grid", "ocr", "arithmetic"}


def _grids(data: bytes, name: str) -> list:
    kind = decode.kind(data, name)
    if kind == "html":
        return html.read(decode.to_text(data))["grids"]
    return getattr(readers, kind)(data)[1]


def _pdf_pages(data: bytes) -> list[str]:
    import pypdfium2
    document = pypdfium2.PdfDocument(data)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def assert_located(data: bytes, name: str, out: dict) -> int:
    """Every non-null cell has a token and a place, and the document gives the token there.
    Returns the number of cells checked."""
    assert out["format"] != "none", name
    prov, checked, grids, plain = out["provenance"], 0, None, None
    pages = _pdf_pages(data) if decode.kind(data, name) == "pdf" else None
    for code, value in out["cells"].items():
        if value is None:
            continue
        p = prov.get(code)
        assert p and p["token"] and p["locator"], f"{name} {code}: no provenance"
        assert p["read_by"] in READ_BY, (name, code, p)
        kind, _, where = p["locator"].partition(":")
        if kind == "body":
            start = int(where)
            assert out["body"][start:start + len(p["token"])] == p["token"], (name, code, p)
        elif kind == "plain":
            plain = plain if plain is not None else html.read(decode.to_text(data))["plain"]
            start = int(where)
            assert plain[start:start + len(p["token"])] == p["token"], (name, code, p)
        else:
            assert kind == "grid", (name, code, p)
            grids = grids if grids is not None else _grids(data, name)
            t, r, c = map(int, where.split("/"))
            cell = grids[t][r][c]
            assert p["token"].split()[0] in " ".join(cell.split()), (name, code, p, cell)
        # the figure is the token, or a piece of it (a fused `000023`), or pieces joined (`1 62`)
        digits = re.sub(r"\D", "", normalize(p["token"]))
        assert parse_value(normalize(p["token"]))[0] == value or re.sub(r"\D", "", str(value)) in digits, (name, code, p)
        assert p["read_by"] != "arithmetic" or value not in p["alternatives"], (name, code, p)
        if pages is not None:
            assert p["page"], (name, code, p)
            on_page = "".join(normalize(pages[p["page"] - 1]).split())
            assert "".join(normalize(p["token"]).split()) in on_page, (name, code, p)
        checked += 1
    return checked


def test_every_gold_figure_is_found_where_the_parse_says():
    gold = SHARED / "gold"
    if not gold.is_dir():
        pytest.skip("../shared (gold answers) is not present")
    checked = arithmetic = 0
    for path in sorted(gold.glob("*/*.json")):
        source = SHARED / json.loads(path.read_text(encoding="utf-8"))["source"]
        data = source.read_bytes()
        out = parse(data, name=str(source))
        checked += assert_located(data, str(source), out)
        arithmetic += sum(p["read_by"] == "arithmetic" for p in out["provenance"].values())
    assert checked > 1000
    assert arithmetic > 50  # the hard reports' fused rows: chosen by the checks, alternatives kept


def test_sample_portal_reports_pages_and_pdfs_are_located():
    kinds = set()
    for path in sorted(SAMPLES.rglob("*")):
        if path.suffix not in (".html", ".htm", ".pdf", ".docx", ".txt") or not path.is_file():
            continue
        data = path.read_bytes()
        out = parse(data, name=str(path))
        if out["format"] == "none":
            continue
        assert_located(data, str(path), out)
        kinds.add((path.suffix, next(iter(out["provenance"].values()))["locator"].split(":")[0]))
    assert {".pdf", ".html"} <= {suffix for suffix, _ in kinds}, kinds
    assert {"grid", "plain"} & {kind for _, kind in kinds}, kinds


def test_fused_figures_keep_the_printed_token_and_the_other_readings():
    out = parse(_report_text(), name="r.txt")
    p = out["provenance"]["requests.new.natural_person"]
    assert p["token"] == "111" and p["read_by"] == "arithmetic" and p["row_label"] == "一、本年新收政府信息公开申请数量"
    assert out["cells"]["requests.new.natural_person"] == 11 and 1 in p["alternatives"] and 11 not in p["alternatives"]
    assert out["provenance"]["requests.new.business"]["token"] == "111"
    start = int(p["locator"].split(":")[1])
    assert out["body"][start:start + 3] == "111"
    q = out["provenance"]["appeals.review.total"]
    assert q["read_by"] == "text" and q["token"] == "3" and q["column_label"] == "总计"


def _report_text() -> str:
    """A 2021-format report whose first request row prints 11 (natural persons) and 1 (business)
    fused as 111: 1/11 or 11/1, which the column checks decide."""
    rows = ["一、本年新收政府信息公开申请数量 111 0 0 0 0 12", "二、上年结转政府信息公开申请数量 0 0 0 0 0 0 0",
            "三、本年度办理结果 （一）予以公开 11 1 0 0 0 0 12"]
    rest = ["（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "（三）不予公开 1.属于国家秘密", "2.其他法律行政法规禁止公开",
            "3.危及“三安全一稳定”", "4.保护第三方合法权益", "5.属于三类内部事务信息", "6.属于四类过程性信息",
            "7.属于行政执法案卷", "8.属于行政查询事项", "（四）无法提供 1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作",
            "3.补正后申请内容仍不明确", "（五）不予处理 1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物",
            "4.无正当理由大量反复申请", "5.要求行政机关确认或重新出具已获取信息",
            "（六）其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "3.其他"]
    rows += [f"{label} 0 0 0 0 0 0 0" for label in rest]
    rows += ["（七）总计 11 1 0 0 0 0 12", "四、结转下年度继续办理 0 0 0 0 0 0 0"]
    return "\n".join([
        "样例县人民政府2021年政府信息公开工作年度报告", "一、总体情况", "二、主动公开政府信息情况",
        "第二十条第（一）项", "信息内容 本年制发件数 本年废止件数 现行有效件数", "规章 0 0 0", "行政规范性文件 1 0 5",
        "三、收到和处理政府信息公开申请情况", "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
        "申请人情况 自然人 法人或其他组织 总计 商业企业 科研机构 社会公益组织 法律服务机构 其他", *rows,
        "四、政府信息公开行政复议、行政诉讼情况", "行政复议 行政诉讼 结果维持 结果纠正 其他结果 尚未审结 总计",
        "1 2 0 0 3 0 0 0 0 0 0 0 0 0 0", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"])


def test_cells_keep_provenance_after_a_crawl(crawled):
    conn = crawled["conn"]
    filled = conn.execute("select count(*) from cells where value is not null").fetchone()[0]
    read, missing = conn.execute(
        "select count(*), sum(token is null or locator is null or read_by is null) from cell_provenance "
        "where value is not null").fetchone()
    assert filled > 500 and read == filled and missing == 0
    assert conn.execute("select count(*) from cell_provenance where value is null").fetchone()[0] == 0
    kinds = {row[0] for row in conn.execute("select distinct substr(locator, 1, instr(locator, ':') - 1) "
                                            "from cell_provenance "
                                            "where locator is not null")}
    assert "grid" in kinds and kinds & {"body", "plain"}, kinds
    assert conn.execute("select count(*) from cell_provenance where page is not null").fetchone()[0] > 0  # PDFs
    sql = conn.execute("select sql from sqlite_master where name = 'cell_values'").fetchone()[0]
    assert "WITHOUT ROWID" in sql


@pytest.fixture(scope="module")
def site(crawled):
    process, base = start_datasette(crawled["db"])
    yield {"base": base, "db": f"{base}/{crawled['db'].stem}"}
    stop(process)


def test_report_page_links_each_figure_to_its_place(site, crawled):
    conn = crawled["conn"]
    for report_id, in conn.execute("select id from reports where cells_filled > 0 order by id").fetchall():
        page = get(f"{site['db']}/reports/{report_id}").decode()
        links = dict(re.findall(r'<a class="figure" data-code="([a-z_.]+)" href="([^"]+)"', page))
        cells = conn.execute("select code, token, locator from cell_provenance where report_id = ? and value is not null",
                             [report_id]).fetchall()
        assert set(links) == {code for code, _, _ in cells}, report_id
        for code, token, locator in cells[:: max(1, len(cells) // 4)]:
            assert links[code] == f"/-/provenance/{report_id}/{code}#cell"
            place = get(site["base"] + links[code].split("#")[0]).decode()
            escaped = token.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert re.search(r'<mark id="cell">[^<]*' + re.escape(escaped.split()[0]), place), (report_id, code, locator)
            sha256 = conn.execute("select sha256 from reports where id = ?", [report_id]).fetchone()[0]
            assert f"/-/archived/{sha256}#" in place


def test_report_page_shows_the_parse_notes_and_the_fused_figure(tmp_path):
    """A text report whose table 二 lacks rows and whose first request row is fused: its notes
    on the report page, and the fused figure linked to its token in the report's text."""
    from archive import store
    from archive.db import open_archive
    db = open_archive(tmp_path / "archive.db")
    store.upsert_portals(db, [{"id": "county", "name": "样例县人民政府", "level": "county", "province": "福建省"}])
    url = "http://127.0.0.1/county/report.txt"
    data = _report_text().encode("utf-8")
    with db.conn:
        document_id = store.store_document(db, url=url, content=data, portal_id="county", role="page", report_url=url,
                                           content_type="text/plain; charset=utf-8")
        store.store_parse(db, document_id, parse(data, name="report.txt"))
        report_id = store.derive_report(db, url)
    notes = parse(data, name="report.txt")["notes"]
    assert notes
    db.close()
    process, base = start_datasette(tmp_path / "archive.db")
    try:
        page = get(f"{base}/archive/reports/{report_id}").decode()
        assert "parse notes" in page
        for note in notes:
            assert note.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page
        link = f"/-/provenance/{report_id}/requests.new.natural_person"
        assert f'href="{link}#cell"' in page
        place = get(base + link).decode()
        assert '<mark id="cell">111</mark> 0 0 0 0 12' in place and "arithmetic" in place
    finally:
        stop(process)


def test_provenance_page_highlights_the_token_in_chromium(site, crawled, tmp_path):
    import subprocess
    from archive_fixtures import CHROMIUM_FLAGS
    from PIL import Image
    binary = chromium()
    conn = crawled["conn"]
    report_id, code = conn.execute("select report_id, code from cell_provenance where locator not like 'grid:%' and value is not null "
                                   "order by report_id, code limit 1").fetchone()
    out = tmp_path / "place.png"
    subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={out}",
                    # a window the whole page fits in: headless Chromium's screenshot after scrolling to a
                    # fragment repaints only part of the window (seen blank), so nothing needs scrolling
                    "--window-size=1000,6000", f"{site['base']}/-/provenance/{report_id}/{urllib.parse.quote(code)}#cell"],
                   check=True, capture_output=True, timeout=120)
    image = Image.open(out).convert("RGB")
    marked = sum(1 for pixel in image.get_flattened_data() if pixel[0] > 240 and pixel[1] > 240 and pixel[2] < 30)
    assert marked > 20  # the token's yellow mark is on screen
