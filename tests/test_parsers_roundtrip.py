"""Round trip: gold cells rendered as an HTML table (rowspan/colspan) and as several
flattened text shapes must parse back to the same cells."""
import json
from functools import partial
from pathlib import Path

import pytest

from parsers import formats, parse

GOLD = Path(__file__).resolve().parents[1].parent / "shared" / "gold"
HEAD = "某县人民政府{year}年政府信息公开工作年度报告\n一、总体情况\n本年度工作平稳。\n二、主动公开政府信息情况\n"
TAIL = "五、存在的主要问题及改进情况\n无。\n六、其他需要报告的事项\n无。\n"


def _show(value, code, units, empty):
    if value is None:
        return empty
    if code.endswith(".change") and value < 0:
        return f"减{-value}"
    return f"{value}{units.get(code, '')}"


def _rows(fmt, cells, units, empty):
    """Table rows as lists of strings: [labels..., values...]."""
    s = formats.spec()
    out = []
    group = None
    for r in formats.rows(fmt, "active"):
        if r["group"] != group:
            group = r["group"]
            out.append(("group", [group]))
            out.append(("head", ["信息内容", *r["column_labels"]]))
        out.append(("row", [r["label"], *[_show(cells[f"active.{r['row']}.{c}"], f"active.{r['row']}.{c}", units, empty)
                                          for c in r["columns"]]]))
    out.append(("section", ["三、收到和处理政府信息公开申请情况"]))
    out.append(("head", ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"]))
    out.append(("head", ["自然人", "法人或其他组织", "总计"]))
    out.append(("head", s["requests_column_labels"][1:6]))
    for r in formats.rows(fmt, "requests"):
        out.append(("row", [r["label"], *[_show(cells[f"requests.{r['row']}.{c}"], "", {}, empty)
                                          for c in s["requests_columns"]]]))
    out.append(("section", ["四、政府信息公开行政复议、行政诉讼情况"]))
    out.append(("head", ["行政复议", "行政诉讼"]))
    out.append(("head", [*s["appeals_column_labels"], *s["appeals_group_labels"][1:]]))
    out.append(("head", s["appeals_column_labels"] * 2))
    out.append(("row", [_show(cells[f"appeals.{g}.{c}"], "", {}, empty)
                        for g in s["appeals_groups"] for c in s["appeals_columns"]]))
    return out


def render_text(fmt, cells, units, shape, year):
    empty = "" if shape == "pipe" else "/"
    lines = [HEAD.format(year=year)]
    for kind, row in _rows(fmt, cells, units, empty):
        if kind == "section":
            lines.append(row[0])
        elif shape == "pipe":
            lines.append(" | ".join(row) + " | ||")
        elif shape == "lines":
            lines.extend(row + [""])
        elif shape == "tabs":
            lines.extend("\t" + c for c in row)
            lines.append("")
        else:
            lines.append(" ".join(row))
    return "\n".join(lines) + "\n" + TAIL


def render_html(fmt, cells, units, year):
    """Three tables built the way CMS pages build them: spans in the headers and labels."""
    s = formats.spec()
    parts = [f"<html><head><meta name='ArticleTitle' content='某县{year}年政府信息公开工作年度报告'></head><body>",
             "<p>一、总体情况</p><p>二、主动公开政府信息情况</p><table>"]
    group = None
    for r in formats.rows(fmt, "active"):
        if r["group"] != group:
            group = r["group"]
            parts.append(f"<tr><td colspan='4'>{group}</td></tr><tr><td>信息内容</td>"
                         + "".join(f"<td colspan='{3 // len(r['columns'])}'>{c}</td>" for c in r["column_labels"]) + "</tr>")
        vals = [_show(cells[f"active.{r['row']}.{c}"], f"active.{r['row']}.{c}", units, "&nbsp;") for c in r["columns"]]
        parts.append(f"<tr><td>{r['label']}</td>" + "".join(f"<td colspan='{3 // len(vals)}'>{v}</td>" for v in vals) + "</tr>")
    parts.append("</table><p>三、收到和处理政府信息公开申请情况</p><table>")
    parts.append("<tr><td rowspan='3' colspan='3'>（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>"
                 "<td colspan='7'>申请人情况</td></tr><tr><td rowspan='2'>自然人</td><td colspan='5'>法人或其他组织</td>"
                 "<td rowspan='2'>总计</td></tr><tr>" + "".join(f"<td><p>{c[:2]}</p><p>{c[2:]}</p></td>"
                                                           for c in s["requests_column_labels"][1:6]) + "</tr>")
    rows = formats.rows(fmt, "requests")
    results = [r for r in rows if r["row"] not in ("new", "carried_in", "total", "carried_forward")]
    for r in rows:
        name = r["row"]
        vals = "".join("<td>" + _show(cells[f"requests.{name}.{c}"], "", {}, "&nbsp;") + "</td>" for c in s["requests_columns"])
        if r is results[0]:
            label = f"<td rowspan='{len(results)}'>三、本年度办理结果</td><td colspan='2'>{r['label']}</td>"
        elif r in results:
            label = f"<td colspan='2'>{r['label']}</td>"
        else:
            label = f"<td colspan='3'>{r['label']}</td>"
        parts.append(f"<tr>{label}{vals}</tr>")
    parts.append("</table><p>四、政府信息公开行政复议、行政诉讼情况</p><table>")
    parts.append("<tr><td colspan='5'>行政复议</td><td colspan='10'>行政诉讼</td></tr><tr>"
                 + "".join(f"<td rowspan='2'>{c}</td>" for c in s["appeals_column_labels"])
                 + "<td colspan='5'>未经复议<br/>直接起诉</td><td colspan='5'>复议后起诉</td></tr><tr>"
                 + "".join(f"<td>{c}</td>" for c in s["appeals_column_labels"] * 2) + "</tr><tr>"
                 + "".join("<td>" + _show(cells[f"appeals.{g}.{c}"], "", {}, "&nbsp;") + "</td>"
                           for g in s["appeals_groups"] for c in s["appeals_columns"]) + "</tr></table>")
    parts.append("<p>五、存在的主要问题及改进情况</p><p>无。</p><p>六、其他需要报告的事项</p><p>无。</p></body></html>")
    return "".join(parts)


def _golds():
    if not GOLD.is_dir():
        pytest.skip("../shared (gold answers) is not present")
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLD.glob("*/*.json"))]


@pytest.mark.parametrize("shape", ["html", "pipe", "lines", "tabs", "spaces"])
def test_round_trip(shape):
    for gold in _golds():
        cells = gold["cells"]
        if shape == "html":
            doc = render_html(gold["format"], cells, gold["units"], gold["year"])
            out = parse(doc.encode("utf-8"), name="x.html")
        else:
            doc = render_text(gold["format"], cells, gold["units"], shape, gold["year"])
            out = parse(doc, name="x.txt")
        assert out["format"] == gold["format"], (shape, gold["source"])
        assert out["year"] == gold["year"]
        assert out["cells"] == cells, (shape, gold["source"],
                                       {k: (v, out["cells"].get(k)) for k, v in cells.items() if out["cells"].get(k) != v})


def _sections(fmt, cells, units, empty):
    """_rows split into the three tables, each preceded by its section heading."""
    tables, heading = [], "二、主动公开政府信息情况"
    current = []
    for kind, row in _rows(fmt, cells, units, empty):
        if kind == "section":
            tables.append((heading, current))
            heading, current = row[0], []
        else:
            current.append(row)
    tables.append((heading, current))
    return tables


def render_docx(fmt, cells, units, year) -> bytes:
    """A Word document: each table a real Word table, labels in the first columns."""
    import io

    import docx

    document = docx.Document()
    for line in HEAD.format(year=year).splitlines()[:-1]:
        document.add_paragraph(line)
    for heading, rows in _sections(fmt, cells, units, ""):
        document.add_paragraph(heading)
        width = max(len(row) for row in rows)
        table = document.add_table(rows=len(rows), cols=width)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
    for line in TAIL.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_pdf(fmt, cells, units, year, rules="lines") -> bytes:
    """A PDF with ruled tables (reportlab, the STSong-Light CID font). The rules are
    stroked lines, or with rules="cells" each cell is a filled rectangle (no line drawn),
    the way office suites often export borders."""
    import io

    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("body", fontName="STSong-Light", fontSize=9, leading=12)
    story = [Paragraph(line, style) for line in HEAD.format(year=year).splitlines()[:-1]]
    for heading, rows in _sections(fmt, cells, units, ""):
        story.append(Paragraph(heading, style))
        width = max(len(row) for row in rows)
        table = Table([row + [""] * (width - len(row)) for row in rows], repeatRows=0)
        style_rules = ([("GRID", (0, 0), (-1, -1), 0.5, "black")] if rules == "lines" else
                       [("BACKGROUND", (c, r), (c, r), "#f0f0f0" if (r + c) % 2 else "#ffffff")
                        for r in range(len(rows)) for c in range(width)])
        table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "STSong-Light", 6), *style_rules]))
        story.append(table)
    story += [Paragraph(line, style) for line in TAIL.splitlines()]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=landscape(A4)).build(story)
    return buffer.getvalue()


def _spreadsheet_rows(fmt, cells, units, year):
    """(row, merged across the width?) of a one-sheet report: title, then each section's
    heading and table rows; plain figures as numbers, as a spreadsheet stores them."""
    yield [f"某县人民政府{year}年政府信息公开工作年度报告"], True
    for heading, rows in _sections(fmt, cells, units, ""):
        yield [heading], True
        for row in rows:
            yield [int(v) if v.isdigit() else float(v) if v.replace(".", "", 1).isdigit() else v for v in row], False


def render_xlsx(fmt, cells, units, year) -> bytes:
    """An .xlsx (openpyxl) with headings in merged cells."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    width = max(len(row) for _, rows in _sections(fmt, cells, units, "") for row in rows)
    for number, (row, merged) in enumerate(_spreadsheet_rows(fmt, cells, units, year), start=1):
        sheet.append(row)
        if merged:
            sheet.merge_cells(start_row=number, start_column=1, end_row=number, end_column=width)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def render_xls(fmt, cells, units, year) -> bytes:
    """The same as a binary .xls (xlwt)."""
    import io

    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("附表")
    width = max(len(row) for _, rows in _sections(fmt, cells, units, "") for row in rows)
    for number, (row, merged) in enumerate(_spreadsheet_rows(fmt, cells, units, year)):
        if merged:
            sheet.write_merge(number, number, 0, width - 1, row[0])
        else:
            for column, value in enumerate(row):
                sheet.write(number, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


RENDERERS = {"docx": render_docx, "pdf": render_pdf, "pdf-cell-rectangles": partial(render_pdf, rules="cells"),
             "xlsx": render_xlsx, "xls": render_xls}


@pytest.mark.parametrize("shape", list(RENDERERS))
def test_round_trip_through_office_files(shape):
    for gold in _golds():
        out = parse(RENDERERS[shape](gold["format"], gold["cells"], gold["units"], gold["year"]),
                    name=f"x.{shape.split('-')[0]}")
        assert "error" not in out, out.get("error")
        assert (out["format"], out["year"]) == (gold["format"], gold["year"]), (shape, gold["source"])
        wrong = {k: (v, out["cells"].get(k)) for k, v in gold["cells"].items() if out["cells"].get(k) != v}
        assert not wrong, (shape, gold["source"], wrong)
