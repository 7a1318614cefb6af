"""Recognise annual reports among the items of a disclosure column, by their title.

A 年报 column also holds guides (指南), catalogues (目录), letters (函) and notices
(通知); the crawler keeps only reports, and records why it skipped the rest.
"""
import re

_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_REPORT = re.compile(r"(政府)?信息公开.{0,12}?(年度)?(工作)?(年度报告|年报|工作报告)")
_NOT_REPORT = [
    ("指南", "guide"),
    ("目录", "catalogue"),
    ("的函", "letter"),
    ("通知", "notice"),
    ("要点", "work plan"),
    ("制度", "rules"),
    ("办法", "rules"),
]
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*年?度?")


def year_covered(text: str) -> int | None:
    """The year a report covers, from its title: the first plausible year named in it."""
    for match in _YEAR.finditer(text.translate(_DIGITS)):
        year = int(match.group(1))
        if 2000 <= year <= 2100:
            return year
    return None


def classify_title(title: str) -> dict:
    """Return {"is_report", "year", "reason"} for one column item's title."""
    clean = re.sub(r"\s+", "", title or "").translate(_DIGITS)
    for word, kind in _NOT_REPORT:
        if word in clean:
            return {"is_report": False, "year": year_covered(clean), "reason": f"{kind} ({word})"}
    if not _REPORT.search(clean):
        return {"is_report": False, "year": year_covered(clean), "reason": "title does not name an annual report"}
    return {"is_report": True, "year": year_covered(clean), "reason": "title names an annual report"}
