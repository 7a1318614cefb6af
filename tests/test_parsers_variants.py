"""Real reports bent the ways real exports bend them (tests/variants.py), read against their gold:
label typos and spaces, （六）其他处理 printed as one row, figures split across lines, section 二
with fewer columns, table 三 with its columns reordered, lossy exports that collapsed repeated
lines. A figure is right or null with a note — never wrong."""
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import formats, parse
from parsers.align import MIN_WORDS, align, words
from parsers.tables import joins
from variants import (PAGE_BREAKS, PAGE_MARKS, base_texts, collapse_repeats, crawler_export, fused_cells, gold_reports,
                      markdown_rules, one_org_column,
                      html_pages, rows_fill_table_three,
                      line_per_cell, mutate_label, number_tokens, one_row_other, page_break, reorder_appeals,
                      reorder_requests, sample_pages, short_active, split_number, turn_appeals, zeros_as_wu)


@lru_cache(maxsize=1)
def _reports() -> tuple:
    """Gold reports of ../shared and the bundled sample-portal pages (their gold, or without
    ../shared their own reading when every check passes)."""
    return tuple(gold_reports() + sample_pages())


@lru_cache(maxsize=1)
def _bases() -> tuple:
    """(name, text, gold, the text's own reading) of each distinct report as a text."""
    out, seen = [], set()
    for name, text, gold in base_texts(list(_reports())):
        if text not in seen:
            seen.add(text)
            out.append((name, text, gold, parse(text, name="base.txt")["cells"]))
    return tuple(out)


def _bases_or_skip():
    bases = _bases()
    if not bases:
        pytest.skip("no report to bend (../shared absent and no sample portal page)")
    return bases


def assert_reads(out: dict, expected: dict, base: dict, exact: bool = True, what: str = "") -> None:
    """No figure differs from the expected one; with `exact`, every cell the unbent text reads
    right is read right; a null where a figure is expected carries a note on its row."""
    assert "error" not in out, out.get("error")
    wrong = {c: (out["cells"].get(c), v) for c, v in expected.items()
             if out["cells"].get(c) is not None and out["cells"].get(c) != v}
    assert not wrong, (what, wrong)
    if exact:
        lost = [c for c, v in expected.items() if base.get(c) == v and out["cells"].get(c) != v]
        assert not lost, (what, lost)
    for code, value in expected.items():
        if value is not None and out["cells"].get(code) is None:
            assert any(code.rsplit(".", 1)[0] in n for n in out["notes"]), (what, code, "null without a note")


@settings(max_examples=80, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_label_typos_and_spaces(data):
    """A row label with missing characters, a wrong character or a stray space is still its row."""
    bases = _bases_or_skip()
    name, text, gold, base = bases[data.draw(st.integers(0, len(bases) - 1))]
    table = data.draw(st.sampled_from(["requests", "requests", "active"]))
    row = data.draw(st.sampled_from(formats.rows(gold["format"], table)))
    kind = data.draw(st.sampled_from(["drop", "swap", "space"]))
    bent = mutate_label(text, gold["format"], row["row"], kind, data.draw(st.floats(0, 0.999)), table)
    if bent is not None:
        # a two-character label (规章) with a wrong character is known only when the order leaves no doubt
        exact = len(words(row["label"])) >= MIN_WORDS
        assert_reads(parse(bent, name="v.txt"), gold["cells"], base, exact, what=(name, row["row"], kind))


def test_label_typos_in_html_pages():
    """The same typos inside the pages' real tables."""
    pages = html_pages(list(_reports()))
    if not pages:
        pytest.skip("no HTML page")
    for name, page, gold in pages:
        base = parse(page, name="p.html")["cells"]
        for i, r in enumerate(formats.rows(gold["format"], "requests")):
            bent = mutate_label(page, gold["format"], r["row"], ("drop", "space")[i % 2], 0.5)
            if bent:
                assert_reads(parse(bent, name="v.html"), gold["cells"], base, what=(name, r["row"]))


def test_the_example_typo_reads_its_row():
    """其他法律行政止公开 (法规禁 lost): the row and its figures, not a null row."""
    bases = [b for b in _bases_or_skip() if b[2]["cells"].get("requests.withheld.prohibited_by_law.total")]
    tried = 0
    for name, text, gold, base in _bases_or_skip():
        bent = text.replace("其他法律行政法规禁止公开", "其他法律行政止公开")
        if bent != text:
            tried += 1
            assert_reads(parse(bent, name="v.txt"), gold["cells"], base, what=name)
    assert tried or not bases


def test_one_row_other_in_2021_reports():
    """（六）其他处理 as one row in a 2021 report: its figures are other.other's, the two others null."""
    made = 0
    for name, text, gold, base in _bases_or_skip():
        bent = one_row_other(text, gold)
        if bent:
            made += 1
            out = parse(bent[0], name="v.txt")
            assert_reads(out, bent[1], base, what=name)
            assert all(out["cells"][f"requests.other.other.{c}"] is not None for c in formats.spec()["requests_columns"])
    if not made:
        pytest.skip("no 2021 report to bend")


def test_one_row_other_in_a_page_table():
    """The same in a real table (HTML, spans as CMS pages print them), from each 2021 gold report."""
    import re

    from test_parsers_roundtrip import render_html
    made = 0
    for r in _reports():
        gold = r["gold"]
        if gold["format"] != "2021" or None in gold["cells"].values():
            continue
        made += 1
        page = render_html("2021", gold["cells"], gold.get("units", {}), gold["year"])
        start = page.rfind("<tr>", 0, page.index("（六）其他处理"))
        end = page.rfind("<tr>", 0, page.index("（七）总计"))
        rows = [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", page[start:end])]
        sums = [sum(int(v[k]) for v in rows) for k in range(7)]
        page = page[:start] + "<tr><td colspan='3'>（六）其他处理</td>" + "".join(f"<td>{v}</td>" for v in sums) \
            + "</tr>" + page[end:]
        out = parse(page.encode("utf-8"), name="v.html")
        expected = dict(gold["cells"])
        for i, c in enumerate(formats.spec()["requests_columns"]):
            expected[f"requests.other.no_correction.{c}"] = expected[f"requests.other.unpaid_fee.{c}"] = None
            expected[f"requests.other.other.{c}"] = sums[i]
        assert out["cells"] == expected, r["name"]
        assert any("requests.other.no_correction" in n for n in out["notes"])
    if not made:
        pytest.skip("no 2021 report")


def test_zeros_written_wu_in_html_pages():
    """Tables that write every 0 as 无 (no digit in a whole table) are read as tables, 无 as 0."""
    made = 0
    for name, page, gold in html_pages(list(_reports())):
        bent = zeros_as_wu(page)
        if bent:
            made += 1
            assert_reads(parse(bent, name="v.html"), gold["cells"], parse(page, name="p.html")["cells"], what=name)
    if not made:
        pytest.skip("no HTML page with a 0")


def test_crawler_text_exports_of_the_pages():
    """The pages as a crawler exports them (trafilatura, tables as pipe rows): never a wrong figure;
    where every row of table 三 prints its seven figures, every cell of 三 right, though the export
    adds a column that is empty in every row (the row's arithmetic says which empty is no cell)."""
    full = 0
    for name, page, gold in html_pages(list(_reports())):
        text = crawler_export(page)
        if not text:
            continue
        out = parse(text, name="export.txt")
        assert_reads(out, gold["cells"], {}, exact=False, what=name)
        if rows_fill_table_three(text, gold["format"]):
            full += 1
            lost = [c for c, v in gold["cells"].items() if c.startswith("requests.") and out["cells"].get(c) != v]
            assert not lost, (name, lost)
    if not full:
        pytest.skip("no page whose export prints every row of table 三 whole")


def test_table_four_turned_a_row_per_result():
    """Table 四 with a row per result and a column per group: each figure to its group and result."""
    made = 0
    for name, text, gold, base in _bases_or_skip():
        for sep in (" | ", " "):
            bent = turn_appeals(text, gold, sep)
            if bent:
                made += 1
                out = parse(bent[0], name="v.txt")
                appeals = {c: v for c, v in bent[1].items() if c.startswith("appeals.")}
                assert_reads(out, appeals, base, exact=False, what=(name, sep))
                assert {c: out["cells"][c] for c in appeals} == appeals, (name, sep)
    if not made:
        pytest.skip("no table 四 to turn")


def test_table_three_with_one_org_column():
    """法人或其他组织 printed as one column (its kinds summed): 自然人 and 总计 read, the kinds null with a note."""
    made = 0
    for name, text, gold, base in _bases_or_skip():
        bent = one_org_column(text, gold)
        if bent:
            made += 1
            out = parse(bent[0], name="v.txt")
            assert_reads(out, bent[1], base, exact=False, what=name)
            lost = [c for c, v in bent[1].items() if c.startswith("requests.") and v is not None and out["cells"][c] != v]
            assert not lost, (name, lost)
    if not made:
        pytest.skip("no table 三 printed one cell a line with its full header")


def test_markdown_table_rules_are_no_cells():
    """The crawler exports as Markdown (`|---|---|` under each table's first row) read as the exports do."""
    made = 0
    for name, page, gold in html_pages(list(_reports())):
        text = crawler_export(page)
        if text:
            made += 1
            plain = parse(text, name="export.txt")["cells"]
            assert parse(markdown_rules(text), name="export.md.txt")["cells"] == plain, name
    if not made:
        pytest.skip("no HTML page")


def test_figures_split_across_lines_in_table_three():
    """`162` printed as `1` / `62`: the one joining that makes the table add up, never `1`."""
    made = 0
    for name, text, gold, base in _bases_or_skip():
        for i, tok in enumerate(number_tokens(text, "requests")):
            made += 1
            assert_reads(parse(split_number(text, tok, i), name="v.txt"), gold["cells"], base, what=(name, tok))
    if not made:
        pytest.skip("no figure of two digits in table 三")


def test_figures_split_across_lines_in_table_two_are_never_guessed():
    """Table 二 has no checks: a figure in pieces is joined only when one reading is possible."""
    for name, text, gold, base in _bases_or_skip():
        for i, tok in enumerate(number_tokens(text, "active")):
            assert_reads(parse(split_number(text, tok, i), name="v.txt"), gold["cells"], base, exact=False,
                         what=(name, tok))


def test_short_section_two_columns_by_header():
    """`2019年项目数量 | 处理决定数量`: decisions read, prev/change null with a note, never a count as prev."""
    made = 0
    for name, text, gold, base in _bases_or_skip():
        bent = short_active(text, gold)
        if bent:
            made += 1
            out = parse(bent[0], name="v.txt")
            assert_reads(out, bent[1], base, what=name)
            decisions = gold["cells"]["active.licensing.decisions"]
            assert out["cells"]["active.licensing.decisions"] == decisions or base["active.licensing.decisions"] != decisions
            assert out["cells"]["active.licensing.prev"] is None
    if not made:
        pytest.skip("no 2019 report to bend")


def test_reordered_request_columns_by_header():
    """Table 三 printed with 总计 first: each figure goes to the column its header names."""
    made = 0
    for name, text, gold, base in _bases_or_skip():
        bent = reorder_requests(text, gold)
        if bent:
            made += 1
            assert_reads(parse(bent[0], name="v.txt"), bent[1], base, what=name)
    if not made:
        pytest.skip("no report printed one cell per line")


def test_reordered_appeal_columns_by_header():
    """Table 四 printed with 总计 first in each group: figures follow their header."""
    made = 0
    for name, text, gold, base in _bases_or_skip():
        bent = reorder_appeals(text, gold)
        if bent:
            made += any(v for c, v in gold["cells"].items() if c.startswith("appeals."))
            assert_reads(parse(bent[0], name="v.txt"), bent[1], base, what=name)
    if not made:
        pytest.skip("no report with lawsuits printed one cell per line")


def test_collapsed_repeated_lines_give_nulls_not_wrong_figures():
    """`46 0 0 0 0 0 46` stored as `46 0 46`: null with a note, never a guess."""
    made = 0
    for name, text, gold, base in _bases_or_skip():
        lossy = collapse_repeats(text) if line_per_cell(text) else None
        if lossy:
            made += 1
            out = parse(lossy, name="v.txt")
            assert_reads(out, gold["cells"], base, exact=False, what=name)
            assert any(v is None for v in out["cells"].values())
            assert out["verified"]["requests"] is not True
    if not made:
        pytest.skip("no report printed one cell per line")


def test_verified_per_table():
    """verified: every check of the table passes; a broken total makes it False."""
    for name, text, gold, base in _bases_or_skip():
        out = parse(text, name="v.txt")
        if all(s == "pass" for c, s in out["checks"].items() if c.startswith("requests.")):
            assert out["verified"]["requests"] is True, name
            assert out["verified"]["active"] is None
            total = gold["cells"]["requests.new.total"]
            if total is not None and line_per_cell(text):
                start = text.index("申请数量", text.index("本年新收"))
                figure = next(m for m in __import__("re").finditer(r"(?m)^\s*(\d+)\s*$", text[start:]))
                broken = text[:start + figure.start(1)] + str(int(figure.group(1)) + 1) + text[start + figure.end(1):]
                assert parse(broken, name="v.txt")["verified"]["requests"] is False, name
                return
    pytest.skip("no verified report printed one cell per line")


def test_align_rows_by_order_and_likeness():
    """Labels with typos and spaces, one row missing: each label to its row, the missing row known."""
    rows = formats.rows("2021", "requests")
    labels = [r["label"].replace(" ", "") for r in rows]
    labels[5] = "2.其他法律行政止公开"          # characters lost
    labels[21] = "2.申请人逾期未按收费通知要求缴 纳费用"  # a space, the rest cut
    labels[2] = "三、本 年度办理结果（一）予以公开"
    del labels[12]                              # unavailable.not_held not printed
    got = align(rows, labels)
    expected = {j: (j if j < 12 else j + 1) for j in range(len(labels))}
    assert got == expected
    assert 12 not in got.values()


def test_joins_are_bounded_and_never_start_a_figure_with_zero():
    assert joins(["1", "62", "0"], 2) == [["162", "0"], ["1", "620"]]
    assert joins(["0", "5"], 1) == []
    assert ["10", "0"] in joins(["1", "0", "0"], 2) and ["1", "00"] not in joins(["1", "0", "0"], 2)
    assert joins([str(i % 9 + 1) for i in range(40)], 20) == []  # too many readings: none tried


def test_one_row_other_known_by_likeness_in_its_place():
    """（六）其他处理情形 as one row, where 1./2./3. should be: it is 3.其他's row (other.other)."""
    rows = formats.rows("2021", "requests")
    labels = [r["label"].replace(" ", "") for r in rows]
    labels[20:23] = ["（六）其他处理情形"]
    got = {j: rows[i]["row"] for j, i in align(rows, labels).items()}
    assert got[20] == "other.other" and got[21] == "total"
    assert "other.no_correction" not in got.values()


def _page_breaks(marks):
    made = 0
    for name, text, gold, base in _bases_or_skip():
        for table, row in PAGE_BREAKS:
            for mark in marks:
                bent = page_break(text, gold["format"], table, row, mark)
                if bent is not None:
                    made += 1
                    yield name, bent, gold, base, (name, table, row, mark)
    if not made:
        pytest.skip("no table to split across pages")


def test_page_numbers_printed_inside_a_table_split_across_pages():
    """`- 3 -`, `— 12 —`, `第 3 页 共 6 页` on a line of their own between rows or inside table 四's
    header are no cells: every cell the unbroken text reads right is read right."""
    for name, bent, gold, base, what in _page_breaks(PAGE_MARKS[:3]):
        assert_reads(parse(bent, name="v.txt"), gold["cells"], base, what=what)


def test_a_bare_page_number_is_never_read_as_a_figure():
    """A bare `3` between two rows, or inside table 四's header: never a figure of the table (not
    joined to the figure before it in table 二: `42` / `3` may be `423`, or `42` and a page number);
    table 三's arithmetic keeps the row as printed where it adds up."""
    for name, bent, gold, base, what in _page_breaks(["3"]):
        if fused_cells(bent):
            continue  # fused cells (no PDF prints them): a lone figure after a run is its last cell
        out = parse(bent, name="v.txt")
        assert_reads(out, gold["cells"], base, exact=False, what=what)
        if what[1] == "requests" and all(v == "pass" for k, v in out["checks"].items() if k.startswith("requests.")):
            lost = [c for c, v in gold["cells"].items() if c.startswith("requests.") and base.get(c) == v
                    and out["cells"].get(c) != v]
            assert not lost, (what, lost)
