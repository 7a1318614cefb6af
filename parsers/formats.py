"""Load the table formats (formats.json) and derive every cell code from them.

Formats are data so a new national template means editing JSON, not code.
"""
import json
import re
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def spec() -> dict:
    """The parsed formats.json, with each row's keys compiled to one regex."""
    data = json.loads((Path(__file__).with_name("formats.json")).read_text(encoding="utf-8"))
    for fmt in data["formats"].values():
        for row in fmt["active"] + fmt["requests"]:
            row["pattern"] = re.compile("|".join(f"(?:{k})" for k in row["keys"]))
            row["lines_pattern"] = re.compile(row["pattern"].pattern, re.M)  # keys over labels one per line
    for table, words in data["column_headers"].items():
        if table != "_doc":
            data["column_headers"][table] = (re.compile("|".join(f"(?P<h{i}>{w})" for i, (w, _) in enumerate(words))),
                                             [code for _, code in words])
    return data


def header_columns(table: str, text: str) -> list[str | None]:
    """Codes of the columns a header names, in printed order (see column_headers in formats.json)."""
    pattern, codes = spec()["column_headers"][table]
    return [codes[int(m.lastgroup[1:])] for m in pattern.finditer(text)]


def rows(fmt: str, table: str) -> list[dict]:
    """Row definitions of one table ("active" or "requests") of a format."""
    return spec()["formats"][fmt][table]


def codes(fmt: str) -> list[str]:
    """Every cell code of a format, in table order."""
    if fmt not in spec()["formats"]:
        return []
    out = [f"active.{r['row']}.{c}" for r in rows(fmt, "active") for c in r["columns"]]
    out += [f"requests.{r['row']}.{c}" for r in rows(fmt, "requests") for c in spec()["requests_columns"]]
    out += [f"appeals.{g}.{c}" for g in spec()["appeals_groups"] for c in spec()["appeals_columns"]]
    return out


def detect(text: str) -> str:
    """'2019', '2021' or 'none' from the table labels found in whitespace-free text, never the year."""
    scores = {name: sum(1 for m in f["markers"] if re.search(m, text)) for name, f in spec()["formats"].items()}
    best = max(scores, key=scores.get)
    if scores[best] < 2 or list(scores.values()).count(scores[best]) > 1:
        if re.search(r"本年新收.{0,10}申请", text):
            return "2021" if re.search(r"逾期不补正|缴纳费用", text) else "2019"
        return "none"
    return best
