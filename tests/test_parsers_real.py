"""Real reports from bodies and provinces the gold does not cover (tests/real_reports/, sources in
its SOURCES.md), with the figures read from the report by hand: every cell right, blank cells null."""
from pathlib import Path

from parsers import formats, parse

REAL = Path(__file__).resolve().parent / "real_reports"
REQ_COLS = formats.spec()["requests_columns"]


def _rows(table: dict) -> dict:
    """row → seven printed cells (`_` blank) as cell codes of table 三."""
    out = {}
    for row, printed in table.items():
        for col, cell in zip(REQ_COLS, printed.split(), strict=True):
            out[f"requests.{row}.{col}"] = None if cell == "_" else int(cell)
    return out


# 2019年上海市人民政府办公厅政府信息公开工作年度报告: blank cells in most of table 三 and 四.
SH_2019 = {
    "active.rules.made": 13, "active.rules.published": 13, "active.rules.total": 524,
    "active.normative.made": 60, "active.normative.published": 60, "active.normative.total": 368,
    **{f"active.{r}.{c}": 0 for r in ("licensing", "services", "penalty", "coercion")
       for c in ("prev", "change", "decisions")},
    "active.fees.prev": 0, "active.fees.change": 0,
    "active.procurement.count": 6, "active.procurement.amount": 251000,
    **_rows({
        "new": "821 35 _ _ 2 1 859", "carried_in": "18 _ _ _ _ _ 18", "granted": "258 12 _ _ 1 1 _",
        "partly_granted": "3 _ _ _ _ _ _", "withheld.state_secret": "14 _ _ _ _ _ _",
        "withheld.prohibited_by_law": "_ _ _ _ _ _ _", "withheld.three_safeties": "_ _ _ _ _ _ _",
        "withheld.third_party": "_ _ _ _ _ _ _", "withheld.internal_affairs": "5 _ _ _ _ _ _",
        "withheld.process_info": "3 1 _ _ _ _ _", "withheld.enforcement_files": "_ _ _ _ _ _ _",
        "withheld.query_matter": "10 2 _ _ _ _ _", "unavailable.not_held": "252 12 _ _ 1 _ _",
        "unavailable.needs_creation": "44 3 _ _ _ _ _", "unavailable.unclear": "25 _ _ _ _ _ _",
        "not_processed.petition": "148 1 _ _ _ _ _", "not_processed.repeat": "5 4 _ _ _ _ _",
        "not_processed.publication": "_ _ _ _ _ _ _", "not_processed.excessive": "_ _ _ _ _ _ _",
        "not_processed.reconfirm": "_ _ _ _ _ _ _", "other": "_ _ _ _ _ _ _",
        "total": "767 35 _ _ 2 1 805", "carried_forward": "72 _ _ _ _ _ 72",
    }),
    **dict(zip([f"appeals.{g}.{c}" for g in formats.spec()["appeals_groups"]
                for c in formats.spec()["appeals_columns"]],
               [5, None, None, 2, 7, 8, None, None, 1, 9, None, None, None, None, None])),
}


def test_shanghai_general_office_2019_every_cell():
    out = parse((REAL / "sh-gov-office-2019.html").read_bytes(), name="sh-gov-office-2019.html")
    assert (out["format"], out["year"]) == ("2019", 2019)
    assert set(SH_2019) == set(formats.codes("2019"))
    wrong = {c: (out["cells"][c], v) for c, v in SH_2019.items() if out["cells"][c] != v}
    assert not wrong
    assert out["units"].get("active.procurement.amount") == "元"
    assert out["checks"]["requests.balance.total"] == "pass"
    assert out["checks"]["requests.balance.natural_person"] == "pass"
