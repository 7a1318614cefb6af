"""Openings of real reports (../shared/corpus/openings): partial tables in many shapes.

The expected cells below were written by reading the texts, not taken from gold answers.
Every cell not listed must be null: a table cut off mid-way gives nulls, never guesses.
"""
import csv
from pathlib import Path

import pytest

from parsers import formats, parse

OPENINGS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "openings"

ZERO_2019_ACTIVE = {c: 0 for c in formats.codes("2019") if c.startswith("active.")}
REQ_COLS = formats.spec()["requests_columns"]


def _row(row: str, values) -> dict:
    return {f"requests.{row}.{c}": v for c, v in zip(REQ_COLS, values)}


EXPECTED = {
    # 2021 table, cell per line ending ' |', '现行有效件数 (历史累计)' header, 规章 现行有效 empty.
    "r039.txt": ("2021", {
        "active.rules.issued": 0, "active.rules.repealed": 0,
        "active.normative.issued": 5, "active.normative.repealed": 12, "active.normative.in_force": 8,
        "active.licensing.decisions": 0, "active.penalty.decisions": 0, "active.coercion.decisions": 0,
        "active.fees.amount": 0,
        **_row("new", [8, 0, 0, 0, 0, 0, 8]), **_row("carried_in", [0] * 7),
    }),
    # Hubei variant: long row labels, an extra 其他主动公开文件 row; cut off in 第二十条第(五)项.
    "r033.txt": ("2019", {
        "active.rules.made": 0, "active.rules.published": 0, "active.rules.total": 0,
        "active.normative.made": 34, "active.normative.published": 4, "active.normative.total": 47,
    }),
    # Pipe rows with trailing empty cells and truncated headers ('本年新 | 本年新'); reaches table 三.
    "r029.txt": ("2019", {**ZERO_2019_ACTIVE, **_row("new", [0] * 7), **_row("carried_in", [0] * 7)}),
    # One value per line, blank lines between, stray spaces; cut after '1.属于国家秘密' and a lone '2'.
    "r032.txt": ("2019", {**ZERO_2019_ACTIVE, **{k: 0 for row in ("new", "carried_in", "granted", "partly_granted",
                                                                  "withheld.state_secret")
                                                for k in _row(row, REQ_COLS)}}),
    # Header words with inner spaces ('本年 制发件数'); complete table 二 only.
    "r044.txt": ("2021", {c: 0 for c in formats.codes("2021") if c.startswith("active.")}),
    # Pipe rows, cut at '第二十' after 行政许可.
    "r010.txt": ("2021", {"active.rules.issued": 0, "active.rules.repealed": 0, "active.rules.in_force": 0,
                          "active.normative.issued": 0, "active.normative.repealed": 0,
                          "active.normative.in_force": 0, "active.licensing.decisions": 0}),
}


def _index() -> dict:
    if not OPENINGS.is_dir():
        pytest.skip("../shared (openings corpus) is not present")
    with (OPENINGS / "index.csv").open(encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_opening_cells(name):
    _index()
    fmt, expected = EXPECTED[name]
    out = parse((OPENINGS / name).read_bytes(), name=name)
    assert out["format"] == fmt
    assert set(out["cells"]) == set(formats.codes(fmt))
    for code, value in out["cells"].items():
        assert value == expected.get(code), f"{name} {code}: {value!r} != {expected.get(code)!r}"


def test_openings_never_raise_and_year():
    for name, row in _index().items():
        data = (OPENINGS / name).read_bytes()
        out = parse(data, name=name)
        assert "error" not in out, (name, out.get("error"))
        assert out["year"] == int(row["year_covered"]), name
        for cut in range(0, len(data), 97):  # every truncation of the opening still parses
            assert "error" not in parse(data[:cut], name=name), (name, cut)


def test_fees_unit_from_header():
    _index()
    out = parse((OPENINGS / "r039.txt").read_bytes(), name="r039.txt")
    assert out["units"].get("active.fees.amount") == "万元"


def test_traditional_with_pinyin_reads_like_simplified():
    """Mirrors (r017, r018) serve 繁體 with pinyin after some characters: same cells as the original."""
    from parsers.tokens import _SIMPLIFIED

    seed = OPENINGS.parent / "seeds" / "000_857cb4fc1b3092db.txt"
    if not seed.is_file():
        pytest.skip("../shared (seeds corpus) is not present")
    text = seed.read_text(encoding="utf-8")
    back = {}
    for trad, simp in _SIMPLIFIED.items():
        back.setdefault(simp, trad)
    mirror = text.translate(back).replace("機", "機(jī)").replace("議", "議(yì)").replace("處", "處(chǔ)")
    want, got = parse(text, name="a.txt"), parse(mirror, name="b.txt")
    assert got["format"] == want["format"] and got["year"] == want["year"]
    assert got["cells"] == want["cells"]
