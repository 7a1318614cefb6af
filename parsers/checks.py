"""The arithmetic checks (勾稽关系) of FORMATS.md; a check with a null input is skipped."""
from functools import lru_cache

from . import formats


def _sum_check(cid: str, cells: dict, total: str, parts: tuple[str, ...]) -> dict:
    vals = [cells.get(p) for p in parts]
    tot = cells.get(total)
    if tot is None or None in vals:
        return {"id": cid, "status": "skip", "expected": None, "actual": tot}
    expected = sum(vals)
    ok = abs(expected - tot) < 1e-6
    return {"id": cid, "status": "pass" if ok else "fail", "expected": expected, "actual": tot}


def _result_rows(fmt: str) -> list[str]:
    names = [r["row"] for r in formats.rows(fmt, "requests")]
    s = formats.spec()
    return names[names.index(s["result_rows_start"]):names.index(s["result_rows_end"])]


@lru_cache(maxsize=8)
def _plan(fmt: str) -> tuple[list[tuple[str, tuple[str, ...]]], list[tuple[str, str, tuple[str, ...]]]]:
    """The format's checks with their cells' codes, made once ([(id, balance codes)], [(id,
    total, parts)]): a parse runs the checks for every reading it weighs."""
    s = formats.spec()
    cols = s["requests_columns"]
    balances = [(f"requests.balance.{c}", tuple(f"requests.{x}.{c}" for x in ("new", "carried_in", "total",
                                                                              "carried_forward")))
                for c in cols]
    sums = [(f"requests.total_row.{c}", f"requests.total.{c}", tuple(f"requests.{row}.{c}" for row in _result_rows(fmt)))
            for c in cols]
    sums += [(f"requests.total_col.{row}", f"requests.{row}.total", tuple(f"requests.{row}.{c}" for c in cols[:-1]))
             for row in [r["row"] for r in formats.rows(fmt, "requests")]]
    sums += [(f"appeals.{g}.total", f"appeals.{g}.total", tuple(f"appeals.{g}.{c}" for c in s["appeals_columns"][:-1]))
             for g in s["appeals_groups"]]
    return balances, sums


def run(fmt: str, cells: dict) -> list[dict]:
    """Every check of the format, as {"id", "status", "expected", "actual"}."""
    if fmt not in formats.spec()["formats"]:
        return []
    balances, sums = _plan(fmt)
    out = []
    for cid, codes in balances:
        new, cin, tot, cfw = (cells.get(code) for code in codes)
        if None in (new, cin, tot, cfw):
            out.append({"id": cid, "status": "skip", "expected": None, "actual": None})
        else:
            ok = abs((new + cin) - (tot + cfw)) < 1e-6
            out.append({"id": cid, "status": "pass" if ok else "fail", "expected": new + cin, "actual": tot + cfw})
    out += [_sum_check(cid, cells, total, parts) for cid, total, parts in sums]
    return out


@lru_cache(maxsize=4)
def _inputs(fmt: str) -> dict[str, tuple[str, ...]]:
    s = formats.spec()
    cols = s["requests_columns"]
    rows = [r["row"] for r in formats.rows(fmt, "requests")]
    out = {}
    for c in cols:
        out[f"requests.balance.{c}"] = tuple(f"requests.{r}.{c}" for r in ("new", "carried_in", "total", "carried_forward"))
        out[f"requests.total_row.{c}"] = (f"requests.total.{c}", *(f"requests.{r}.{c}" for r in _result_rows(fmt)))
    for r in rows:
        out[f"requests.total_col.{r}"] = tuple(f"requests.{r}.{c}" for c in cols)
    for g in s["appeals_groups"]:
        out[f"appeals.{g}.total"] = tuple(f"appeals.{g}.{c}" for c in s["appeals_columns"])
    return out


def inputs(fmt: str, check_id: str) -> tuple[str, ...]:
    """The cell codes a check reads."""
    return _inputs(fmt).get(check_id, ())


def verified(details: list[dict]) -> dict:
    """Per table: True when every check of it passes, False when one fails or cannot run (skip);
    null for a table without checks (二)."""
    out = {"active": None, "requests": None, "appeals": None}
    for result in details:
        table = result["id"].split(".", 1)[0]
        out[table] = out[table] is not False and result["status"] == "pass"
    return out


def column_score(fmt: str, cells: dict) -> int:
    """How many column-wise request checks pass (used to choose between fused readings)."""
    return sum(1 for c in run(fmt, cells) if c["status"] == "pass" and
               (c["id"].startswith("requests.balance") or c["id"].startswith("requests.total_row")))
