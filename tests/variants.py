"""Variants of real reports as real exports bend them, each with the figures a reader must give.

Sources are real: the gold reports of ../shared (their texts, and their HTML pages exported
as text one cell per line, the way crawlers' text exports print a table) and the bundled
sample-portal pages. Each variant is (name, text, expected cells); expected = the gold, but
for cells the variant no longer prints (null). Used by tests/test_parsers_variants.py and
benchmarks/accuracy.py.
"""
import json
import re
from pathlib import Path

import lxml.html

from parsers import decode, formats, parse
from parsers.values import parse_value

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLD = SHARED / "gold"
SAMPLES = REPO / "nianbao" / "sample_portals"

_SEP = r"[\s|?]*"
_VAL = r"(?:增|减)?\d+(?:\.\d+)?(?:万元|元)?"
_QUOTES = "“”\"'「」"


def text_export(page: bytes) -> str:
    """A page's text with every table cell and paragraph on its own line."""
    doc = lxml.html.fromstring(decode.to_text(page))
    for bad in doc.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for el in doc.iter("br", "p", "div", "tr", "td", "th", "li", "h1", "h2", "h3", "table"):
        el.tail = "\n" + (el.tail or "")
        if el.tag in ("td", "th"):
            el.text = "\n" + (el.text or "")
    lines = (re.sub(r"\s+", " ", ln.replace("\xa0", " ")).strip() for ln in doc.text_content().split("\n"))
    return "\n".join(ln for ln in lines if ln) + "\n"


def gold_reports() -> list[dict]:
    """Every gold report of ../shared: {name, gold, data (bytes as published), kind}."""
    out = []
    for path in sorted(GOLD.glob("*/*.json")) if GOLD.is_dir() else []:
        gold = json.loads(path.read_text(encoding="utf-8"))
        src = SHARED / gold["source"]
        out.append({"name": f"{path.parent.name}/{path.stem}", "gold": gold, "data": src.read_bytes(),
                    "kind": "html" if src.suffix.startswith(".htm") else "text", "path": str(src)})
    return out


def sample_pages() -> list[dict]:
    """The bundled sample portals' report pages that hold the tables, with their gold when present
    (else the page's own reading, kept only when all its checks pass)."""
    out, seen = [], set()
    for manifest in sorted(SAMPLES.glob("*/manifest.json")):
        for item in json.loads(manifest.read_text(encoding="utf-8"))["items"]:
            page = manifest.parent / "site" / item["url"].lstrip("/")
            if not item.get("gold") or item.get("report_in") != "page" or not page.is_file():
                continue
            data = page.read_bytes()
            if data in seen:
                continue
            seen.add(data)
            gold_path = GOLD / item["gold"]
            if gold_path.is_file():
                gold = json.loads(gold_path.read_text(encoding="utf-8"))
            else:
                got = parse(data, name=page.name)
                if got["format"] == "none" or "fail" in got["checks"].values() or None in got["cells"].values():
                    continue
                gold = {"format": got["format"], "cells": got["cells"], "year": got["year"]}
            out.append({"name": f"portal/{manifest.parent.name}{item['url']}", "gold": gold, "data": data,
                        "kind": "html", "path": str(page)})
    return out


def base_texts(reports: list[dict]) -> list[tuple[str, str, dict]]:
    """(name, text, gold) of each report as a text: texts as they are, pages exported one cell per line."""
    out = []
    for r in reports:
        text = text_export(r["data"]) if r["kind"] == "html" else decode.to_text(r["data"])
        out.append((r["name"] + (":export" if r["kind"] == "html" else ""), text, r["gold"]))
    return out


def core(label: str) -> str:
    """The distinctive words of a row label: no numbering, no bracketed remark."""
    last = label.split()[-1]
    last = re.sub(r"^(?:[一二三四五六七八九十]、|（[一二三四五六七八九十]）|\d[.、])+", "", last)
    return re.sub(r"（[^）]*）$", "", last)


def label_regex(text: str) -> str:
    """A label as printed: any whitespace, stray `?` or bracket width between its characters."""
    parts = []
    for ch in text:
        if ch in _QUOTES:
            parts.append(f"[{_QUOTES}]?")
        elif ch in "（(":
            parts.append("[（(]")
        elif ch in "）)":
            parts.append("[）)]")
        else:
            parts.append(re.escape(ch))
    return r"[\s?]*".join(parts)


def _table_start(text: str) -> int:
    m = re.search(r"三\s*[、.]\s*收到和处理", text)
    return m.start() if m else 0


def find_label(text: str, fmt: str, row: str, table: str = "requests") -> re.Match | None:
    """Where the label of a row of table 三 (or 二) is printed (each row searched after the one before)."""
    if table == "requests":
        pos = _table_start(text)
    else:
        m = re.search(r"二\s*[、.]\s*主动公开", text)
        pos = m.end() if m else 0
    for spec in formats.rows(fmt, table):
        m = re.compile(label_regex(core(spec["label"]))).search(text, pos)
        if m is None:
            return None
        if spec["row"] == row:
            return m
        pos = m.end()
    return None


def mutate_label(text: str, fmt: str, row: str, kind: str, at: float, table: str = "requests") -> str | None:
    """A typo in one row label: `drop` characters, a `space` inside, or a `swap`ped character; `at` in [0, 1).
    Labels of two characters (规章, 总计) only get a wrong character."""
    m = find_label(text, fmt, row, table)
    if not m:
        return None
    chars = [i for i in range(m.start(), m.end()) if not text[i].isspace() and text[i] not in "?"]
    if len(chars) < (2 if kind == "swap" else 4):
        return None
    if kind == "space":
        i = chars[1 + int(at * (len(chars) - 1))] if len(chars) > 1 else chars[0]
        return text[:i] + " " + text[i:]
    width = 1 if kind == "swap" else max(1, len(chars) // 4)
    first = int(at * (len(chars) - width))
    i, j = chars[first], chars[first + width - 1] + 1
    return text[:i] + ("口" if kind == "swap" else "") + text[j:]


def _values_after(text: str, pos: int, n: int) -> list[re.Match]:
    out = []
    for m in re.finditer(rf"(?<![\w.]){_VAL}(?![\w.])", text[pos:pos + 600]):
        out.append(m)
        if len(out) == n:
            break
    return out


def one_row_other(text: str, gold: dict) -> tuple[str, dict] | None:
    """A 2021 report printing （六）其他处理 as one undivided row, as the 2019 form did."""
    if gold["format"] != "2021":
        return None
    cols = formats.spec()["requests_columns"]
    first, total = find_label(text, "2021", "other.no_correction"), find_label(text, "2021", "total")
    last = find_label(text, "2021", "other.other")
    if not (first and total and last) or not first.start() < last.start() < total.start():
        return None
    head = re.compile(r"[（(]\s*六\s*[）)]\s*其他处理").search(text, first.start() - 40, first.start())
    start = head.start() if head else first.start()
    vals = _values_after(text, last.end(), 7)
    if len(vals) < 2:
        return None
    sep = text[last.end() + vals[0].end():last.end() + vals[1].start()]
    cells = dict(gold["cells"])
    sums = []
    for c in cols:
        parts = [cells[f"requests.other.{r}.{c}"] for r in ("no_correction", "unpaid_fee", "other")]
        sums.append(None if None in parts else sum(parts))
        cells[f"requests.other.no_correction.{c}"] = cells[f"requests.other.unpaid_fee.{c}"] = None
        cells[f"requests.other.other.{c}"] = sums[-1]
    lead = text[last.end():last.end() + vals[0].start()]
    row = "（六）其他处理" + lead + sep.join("" if v is None else str(v) for v in sums) + sep
    line_start = text.rfind("\n", 0, total.start()) + 1
    end = line_start if text[line_start:total.start()].strip() in ("", "|") else total.start()
    return text[:start] + row + text[end:], cells


def number_tokens(text: str, table: str) -> list[tuple[int, str]]:
    """(offset, figure) of whole printed figures of two or more digits (or a decimal) in table 二
    (`active`) or 三 (`requests`)."""
    a = re.search(r"二\s*[、.]\s*主动公开", text)
    r = _table_start(text)
    q = re.search(r"四\s*[、.]\s*政府信息公开行政复议", text[r:])
    begin, end = (a.start() if a else 0, r) if table == "active" else (r, r + q.start() if q else len(text))
    return [(begin + m.start(), m.group())
            for m in re.finditer(r"(?<![\w.])(?:\d{2,}|\d\.\d)[\d.]*(?![\w.])", text[begin:end])]


def split_number(text: str, token: tuple[int, str], at: int) -> str:
    """One figure printed across two lines: `162` as `1` / `62`."""
    cut = token[0] + 1 + at % (len(token[1]) - 1)
    return text[:cut] + "\n" + text[cut:]


def short_active(text: str, gold: dict) -> tuple[str, dict] | None:
    """Section 二 of the 2019 form with the count of this year's items in place of
    上一年项目数量 and 本年增/减: `2019年项目数量 | 处理决定数量`."""
    if gold["format"] != "2019":
        return None
    year = gold.get("year") or 2019
    new, n = re.subn(rf"上一年项目数量({_SEP})本年增\s*/\s*减", f"{year}年项目数量", text)
    if not n:
        return None
    cells = dict(gold["cells"])
    for r in formats.rows("2019", "active"):
        if r["columns"][:2] != ["prev", "change"]:
            continue
        width = len(r["columns"])
        pat = re.compile(label_regex(r["label"]) + "".join(rf"({_SEP})({_VAL})" for _ in range(width)))
        m = pat.search(new)
        if not m:
            return None
        prev, change = (parse_value(m.group(i))[0] for i in (2, 4))
        count = None if None in (prev, change) else prev + change
        rebuilt = new[m.start():m.start(1)] + m.group(1) + ("" if count is None else str(count))
        if width == 3:
            rebuilt += m.group(5) + m.group(6)
        new = new[:m.start()] + rebuilt + new[m.end():]
        cells[f"active.{r['row']}.prev"] = cells[f"active.{r['row']}.change"] = None
    return new, cells


def reorder_requests(text: str, gold: dict) -> tuple[str, dict] | None:
    """Table 三 printed with its 总计 column first (header and every row), one cell per line."""
    head = re.compile(r"^自然人\n(法人或其他组织)\n总计\n", re.M).search(text, _table_start(text))
    if not head or not line_per_cell(text):
        return None
    rows = _request_rows(text, gold["format"], head.end())
    if rows is None:
        return None
    out, pos = text[:head.start()] + "总计\n自然人\n法人或其他组织\n", head.end()
    for _, m, vals in rows:
        figures = [v.group() for v in vals]
        out += text[pos:m.end()] + "\n" + "\n".join([figures[-1], *figures[:-1]])
        pos = m.end() + vals[-1].end()
    return out + text[pos:], gold["cells"]


def _request_rows(text: str, fmt: str, pos: int) -> list | None:
    """Table 三's rows after `pos`, each printed one cell per line: (form row, label match,
    its 7 figure matches) in order; None if a row is not printed so."""
    rows = []
    for r in formats.rows(fmt, "requests"):
        m = find_label(text, fmt, r["row"])
        if not m or m.start() < pos:
            return None
        vals = _values_after(text, m.end(), 7)
        if len(vals) < 7 or text[m.end():m.end() + vals[-1].end()].count("\n") != 7:
            return None
        rows.append((r, m, vals))
        pos = m.end() + vals[-1].end()
    return rows


def one_org_column(text: str, gold: dict) -> tuple[str, dict] | None:
    """Table 三 printed with 法人或其他组织 as one column (its five kinds summed), one cell per line:
    自然人 and 总计 are read, the five kinds are not printed (null)."""
    cols = formats.spec()["requests_columns"]
    kinds = formats.spec()["requests_column_labels"][1:6]
    head = re.compile(r"^自然人\n法人或其他组织\n总计\n" + "".join(rf"{k}\n" for k in kinds), re.M).search(
        text, _table_start(text))
    if not head or not line_per_cell(text):
        return None
    rows = _request_rows(text, gold["format"], head.end())
    if rows is None:
        return None
    out, cells = text[:head.start()] + "自然人\n法人或其他组织\n总计\n", dict(gold["cells"])
    pos = head.end()
    for r, m, vals in rows:
        figures = [parse_value(v.group())[0] for v in vals]
        if None in figures:
            return None
        out += text[pos:m.end()] + "\n" + "\n".join(vals[i].group() for i in (0,)) + f"\n{sum(figures[1:6])}\n" + vals[6].group()
        pos = m.end() + vals[-1].end()
        for c in cols[1:6]:
            cells[f"requests.{r['row']}.{c}"] = None
    return out + text[pos:], cells


def reorder_appeals(text: str, gold: dict) -> tuple[str, dict] | None:
    """Table 四 printed with 总计 first in each group (header and figures), one cell per line."""
    start = re.search(r"四\s*[、.]\s*政府信息公开行政复议", text)
    end = re.search(r"五\s*[、.]", text[start.end():]) if start else None
    if not end or not line_per_cell(text):
        return None
    region = text[start.end():start.end() + end.start()]
    words = [label_regex(w) for w in formats.spec()["appeals_column_labels"]]
    header = re.compile(r"\s*".join(words))
    region, n = header.subn("总计\n结果维持\n结果纠正\n其他结果\n尚未审结", region)
    figures = list(re.finditer(rf"(?m)^[\t ]*({_VAL})[\t ]*$", region))
    if n != 3 or len(figures) != 15:
        return None
    out, pos = [], 0
    for g in range(3):
        group = [m.group(1) for m in figures[5 * g:5 * g + 5]]
        for m, value in zip(figures[5 * g:5 * g + 5], [group[-1], *group[:-1]]):
            out.append(region[pos:m.start(1)] + value)
            pos = m.end(1)
    region = "".join(out) + region[pos:]
    return text[:start.end()] + region + text[start.end() + end.start():], gold["cells"]


def crawler_export(page: str) -> str | None:
    """The page as a crawler's text export prints it: trafilatura's text with its tables as pipe rows
    (`| 一、本年新收政府信息公开申请数量 |  |  | 64 | 0 |  | 0 | 2 | 0 | 4 | 70 |`: a header cell holding
    two blocks, 商业<p>企业</p>, becomes a column that is empty in every row)."""
    import trafilatura

    return trafilatura.extract(page, output_format="txt", include_tables=True, deduplicate=False) or None


def markdown_rules(text: str) -> str:
    """A pipe-row export as Markdown prints its tables: a rule (`|---|---|`) under each table's first row."""
    out, prev = [], False
    for line in text.split("\n"):
        out.append(line)
        row = line.strip().startswith("|")
        if row and not prev:
            out.append("|" + "---|" * max(1, line.strip().strip("|").count("|") + 1))
        prev = row
    return "\n".join(out)


def rows_fill_table_three(text: str, fmt: str) -> bool:
    """True when every row of table 三 is printed on its own line with its seven figures."""
    start = _table_start(text)
    end = re.search(r"四\s*[、.]\s*政府信息公开行政复议", text[start:])
    region = text[start:start + end.start()] if end else ""
    full = [ln for ln in region.split("\n")
            if sum(bool(re.fullmatch(r"\d+", c.strip())) for c in ln.split("|")) == 7]
    return len(full) == len(formats.rows(fmt, "requests"))


def turn_appeals(text: str, gold: dict, sep: str = " | ") -> tuple[str, dict] | None:
    """Table 四 printed turned: a row per result (结果维持 … 总计), a column per group, as narrow
    portrait pages print it."""
    start = re.search(r"四\s*[、.]\s*政府信息公开行政复议[^\n]*\n", text)
    end = re.search(r"五\s*[、.]", text[start.end():]) if start else None
    if not end:
        return None
    s = formats.spec()
    rows = [sep.join(["", "行政复议", "行政诉讼（未经复议直接起诉）", "行政诉讼（复议后起诉）"])]
    for col, label in zip(s["appeals_columns"], s["appeals_column_labels"]):
        figures = (gold["cells"][f"appeals.{g}.{col}"] for g in s["appeals_groups"])
        rows.append(sep.join([label, *("" if v is None else str(v) for v in figures)]))
    return text[:start.end()] + "\n".join(rows) + "\n" + text[start.end() + end.start():], gold["cells"]


def html_pages(reports: list[dict]) -> list[tuple[str, str, dict]]:
    """(name, page text, gold) of each distinct report published as an HTML page."""
    out, seen = [], set()
    for r in reports:
        key = json.dumps(r["gold"]["cells"], sort_keys=True)
        if r["kind"] == "html" and key not in seen:
            seen.add(key)
            out.append((r["name"] + ":html", decode.to_text(r["data"]), r["gold"]))
    return out


def zeros_as_wu(page: str) -> str | None:
    """A page whose tables write every 0 as `无` (FORMATS.md: 无 is 0): a table of 无 is still a table."""
    new = re.sub(r"(<t[dh][^>]*>(?:\s*<[^>]+>)*\s*)0(\s*(?:<[^>]+>\s*)*</t[dh]>)", r"\1无\2", page)
    return new if new != page else None


def html_variants(pages: list[tuple[str, str, dict]], kinds=("drop", "space"), at: float = 0.5):
    """Label typos in the HTML pages themselves (read through their real tables), and every 0 written 无."""
    out = []
    for name, page, gold in pages:
        wu = zeros_as_wu(page)
        if wu:
            out.append((f"{name}|html-无", wu, gold["cells"]))
        for r in formats.rows(gold["format"], "requests"):
            for kind in kinds:
                t = mutate_label(page, gold["format"], r["row"], kind, at)
                if t:
                    out.append((f"{name}|html-{kind}:{r['row']}@{at}", t, gold["cells"]))
    return out


def collapse_repeats(text: str) -> str | None:
    """A lossy export that kept one of each run of identical lines (`46 0 0 0 0 0 46` → `46 0 46`)."""
    out, prev = [], None
    for line in text.split("\n"):
        key = line.strip()
        if key and key == prev:
            continue
        out.append(line)
        prev = key if key else prev
    new = "\n".join(out)
    return new if new != text else None


PAGE_MARKS = ("- 3 -", "— 12 —", "第 3 页 共 6 页", "3")
PAGE_BREAKS = (("requests", "carried_in"), ("requests", "partly_granted"), ("requests", "total"),
               ("appeals", None), ("active", "penalty"), ("active", "第二十条第（八）项"))


def page_break(text: str, fmt: str, table: str, row: str | None, mark: str) -> str | None:
    """A table split across pages as a PDF's text prints it: the page's number on a line of its
    own (`- 3 -`, `第 3 页 共 6 页`, a bare `3`) before a row of table 二 or 三 or a heading of 二
    (`第二十条第（八）项`), or inside table 四's header (before 未经复议直接起诉). (variants() puts
    no bare `3` in a text whose cells are fused, as a PDF's never are: a lone figure after a
    fused run reads as the run's last cell.)"""
    if table == "appeals" or row.startswith("第"):
        start = re.search(r"四\s*[、.]\s*政府信息公开行政复议" if table == "appeals" else r"二\s*[、.]\s*主动公开", text)
        m = re.compile(label_regex(row or "未经复议")).search(text, start.end()) if start else None
    else:
        m = find_label(text, fmt, row, table)
    if not m:
        return None
    at = text.rfind("\n", 0, m.start()) + 1
    lead = text[at:m.start()]
    if lead.strip(" |?\t（(一二三四五六七八九十、)）"):  # the label does not open its line
        at, mark = m.start(), "\n" + mark
    return text[:at] + mark + "\n" + text[at:]


def fused_cells(text: str) -> bool:
    """True when table 三 prints runs of five digits or more (its cells fused with no separator)."""
    return re.search(r"\d{5,}", text[_table_start(text):]) is not None


def line_per_cell(text: str) -> bool:
    """True when most figures of table 三 stand alone on their line."""
    region = text[_table_start(text):]
    lines = [ln.strip(" |?\t") for ln in region.split("\n")[:400] if ln.strip(" |?\t")]
    alone = sum(bool(re.fullmatch(_VAL, ln)) for ln in lines)
    return alone > 60


def variants(base: list[tuple[str, str, dict]], typo_positions=(0.0, 0.5, 0.99)) -> list[tuple[str, str, dict]]:
    """Every variant of every base text: (name, text, expected cells)."""
    out = []
    for name, text, gold in base:
        fmt = gold["format"]
        for table in ("requests", "active"):
            for r in formats.rows(fmt, table):
                for kind in ("drop", "space", "swap"):
                    for at in typo_positions[:1 if kind == "space" else None]:
                        t = mutate_label(text, fmt, r["row"], kind, at, table)
                        if t:
                            out.append((f"{name}|{kind}:{table}.{r['row']}@{at}", t, gold["cells"]))
        for label, made in (("one-row-六", one_row_other(text, gold)), ("short-二", short_active(text, gold)),
                            ("reordered-三", reorder_requests(text, gold)),
                            ("reordered-四", reorder_appeals(text, gold)), ("turned-四", turn_appeals(text, gold)),
                            ("one-org-column", one_org_column(text, gold))):
            if made:
                out.append((f"{name}|{label}", made[0], made[1]))
        for table in ("requests", "active"):
            for i, tok in enumerate(number_tokens(text, table)):
                out.append((f"{name}|split-{table}:{tok[1]}#{i}", split_number(text, tok, i), gold["cells"]))
        marks = ("- 3 -",) if fused_cells(text) else ("- 3 -", "3")
        for table, row in PAGE_BREAKS:
            for mark in marks:
                t = page_break(text, fmt, table, row, mark)
                if t:
                    out.append((f"{name}|page-break:{table}.{row}@{mark}", t, gold["cells"]))
        if line_per_cell(text):
            lossy = collapse_repeats(text)
            if lossy:
                out.append((f"{name}|collapsed", lossy, gold["cells"]))
    return out
