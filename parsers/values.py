"""Turn one written table figure into a number, following the value rules of FORMATS.md."""
import re
from functools import lru_cache

NULL_MARKS = {"/", "-", "—", "–", "－", "--", "——", "\\", "、"}
_NUM = re.compile(r"^(增加|增|减少|减|\+|-)?(\d[\d,]*(?:\.\d+)?)(万元|元|件|个|项|条)?$")


@lru_cache(maxsize=8192)
def parse_value(raw: str | None):
    """Return (value, unit) for a raw token; value None when the cell is empty or a dash.

    `无` is 0; stray `?` from broken encodings are ignored; 增/减 and +/- give a signed number.
    """
    if raw is None:
        return None, None
    s = raw.replace("?", "").replace("？", "").strip()
    if not s or s in NULL_MARKS or set(s) <= set("/-—–－\\"):
        return None, None
    if s == "无":
        return 0, None
    m = _NUM.match(s)
    if not m:
        return None, None
    sign, digits, unit = m.groups()
    digits = digits.replace(",", "")
    value = float(digits) if "." in digits else int(digits)
    if sign in ("减", "减少", "-"):
        value = -value
    return value, unit if unit in ("万元", "元") else None


def is_value_token(tok: str) -> bool:
    """True for tokens that fill a cell: numbers, dashes, 无."""
    s = tok.replace("?", "").strip()
    if not s:
        return False
    return s == "无" or s in NULL_MARKS or set(s) <= set("/-—–－\\") or bool(_NUM.match(s))
