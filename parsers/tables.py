"""Read the three standard tables from an item stream (see tokens.py) into cell codes.

Rows are found by their labels, in table order; each row takes the figures that
follow its label. Where cells were fused, every reading is tried and the table's
arithmetic (row totals, column balances, group totals) picks one; what stays
undecided is left null with a note.
"""
import re
from itertools import product

from . import checks, formats
from .fused import readings
from .values import parse_value

Item = tuple[str, str | None]


def segments(items: list[Item]) -> list[tuple[str, list[Item]]]:
    """(label, following cells) pairs: consecutive label items form one label."""
    out: list[tuple[str, list[Item]]] = []
    label, vals, prev = "", [], None
    for kind, text in items:
        if kind == "T":
            if prev != "T" and (label or vals):
                out.append((label, vals))
                label, vals = "", []
            label += text
        else:
            vals.append((kind, text))
        prev = kind
    if label or vals:
        out.append((label, vals))
    return out


def split_regions(items: list[Item]) -> dict[str, list[Item]]:
    """Cut the stream into the active / requests / appeals tables by their header words."""
    keys = formats.spec()["region_keys"]
    bounds, start = {}, 0
    for name in ("requests", "appeals"):
        for i in range(start, len(items)):
            if items[i][0] == "T" and re.search(keys[name], items[i][1]):
                bounds[name] = start = i
                break
    a = bounds.get("requests", bounds.get("appeals", len(items)))
    r_end = bounds.get("appeals", len(items))
    return {"active": items[:a], "requests": items[a:r_end] if "requests" in bounds else [],
            "appeals": items[r_end:] if "appeals" in bounds else []}


def _strip(vals: list[Item]) -> list[Item]:
    i = 0
    while i < len(vals) and vals[i][0] == "E":
        i += 1
    return vals[i:]


def _num(raw):
    return parse_value(raw)[0]


def _sum_ok(groups: int, size: int):
    """Row check: in each group of `size` cells the last is the sum of the others."""
    def accept(raws: list[str]) -> bool:
        nums = [_num(r) for r in raws]
        for g in range(groups):
            part = nums[g * size:(g + 1) * size]
            if None in part or abs(sum(part[:-1]) - part[-1]) > 1e-6:
                return False
        return True
    return accept


class Reader:
    """Collects cells, units, notes and raw tokens while reading one report's tables."""

    def __init__(self, fmt: str, body: str = ""):
        self.fmt, self.body = fmt, body
        self.raw: dict[str, str | None] = {c: None for c in formats.codes(fmt)}
        self.notes: list[str] = []
        self.pending: dict[tuple[str, ...], list[list[str]]] = {}

    def place(self, codes: list[str], vals: list[Item], accept=None) -> None:
        """Give a row's cells their figures, splitting fused runs when too few are written."""
        vals = _strip(vals)
        n = len(codes)
        if len(vals) >= n:
            for code, (_, raw) in zip(codes, vals):
                self.raw[code] = raw
            return
        toks = [raw for kind, raw in vals if kind == "V"]
        fusable = any(re.fullmatch(r"\d{2,}(\.\d+)?(万元|元)?", t) for t in toks)
        cands = readings(toks, n, accept) if fusable else []
        if fusable and not cands and accept is not None:
            cands = readings(toks, n)
        if len(cands) == 1:
            for code, raw in zip(codes, cands[0]):
                self.raw[code] = raw
        elif cands:
            self.pending[tuple(codes)] = cands
        elif fusable:
            self.notes.append(f"{codes[0].rsplit('.', 1)[0]}: figures {' '.join(toks)} cannot be split into "
                              f"{n} cells; left null")
        else:
            for code, (_, raw) in zip(codes, vals):
                self.raw[code] = raw
            if vals:
                self.notes.append(f"{codes[0].rsplit('.', 1)[0]}: {len(vals)} figures for {n} cells; "
                                  "the rest left null")

    def read_rows(self, table: str, items: list[Item], columns=None, accept=None) -> None:
        """Match label segments to the table's rows in order and place their figures."""
        rows = formats.rows(self.fmt, table)
        cursor = 0
        for label, vals in segments(items):
            if not any(k == "V" for k, _ in vals) or not label:
                continue
            for i in range(cursor, len(rows)):
                if rows[i]["pattern"].search(label):
                    cols = columns or rows[i]["columns"]
                    self.place([f"{table}.{rows[i]['row']}.{c}" for c in cols], vals, accept)
                    cursor = i + 1
                    break

    def read_appeals(self, items: list[Item]) -> None:
        s = formats.spec()
        codes = [f"appeals.{g}.{c}" for g in s["appeals_groups"] for c in s["appeals_columns"]]
        vals = [(k, t) for k, t in items if k != "T"]
        size = len(s["appeals_columns"])
        self.place(codes, vals, _sum_ok(len(s["appeals_groups"]), size))

    def resolve(self) -> None:
        """Choose among fused readings: jointly by the request checks, else by agreement."""
        req = {k: v for k, v in self.pending.items() if k[0].startswith("requests.")}
        if req:
            keys = list(req)
            combos = 1
            for k in keys:
                combos *= len(req[k])
            if combos <= 5000:
                best, best_score = [], -1
                for choice in product(*(req[k] for k in keys)):
                    trial = dict(self.raw)
                    for k, raws in zip(keys, choice):
                        trial.update(zip(k, raws))
                    score = checks.column_score(self.fmt, {c: _num(v) for c, v in trial.items()})
                    if score > best_score:
                        best, best_score = [choice], score
                    elif score == best_score:
                        best.append(choice)
                for i, k in enumerate(keys):
                    self.pending[k] = list({tuple(ch[i]): None for ch in best})
        for codes, cands in self.pending.items():
            cands = self._anchor(codes, cands)
            row = codes[0].rsplit(".", 1)[0]
            undecided = []
            for j, code in enumerate(codes):
                seen = {c[j] for c in cands}
                if len(seen) == 1:
                    self.raw[code] = seen.pop()
                else:
                    undecided.append(code.rsplit(".", 1)[1])
            if undecided:
                shown = "; ".join("/".join(c) for c in cands[:6])
                more = f" (+{len(cands) - 6} more)" if len(cands) > 6 else ""
                self.notes.append(f"{row}: fused figures admit {len(cands)} readings ({shown}{more}); "
                                  f"{', '.join(undecided)} left null")
        self.pending = {}

    def _anchor(self, codes: tuple[str, ...], cands: list[list[str]]) -> list[list[str]]:
        """Keep the readings whose figures the report's own prose states next to the row's label."""
        if len(cands) < 2 or not self.body or not codes[0].startswith("active."):
            return cands
        row = codes[0].split(".")[1]
        pattern = next(r["pattern"] for r in formats.rows(self.fmt, "active") if r["row"] == row)
        said = set()
        for m in pattern.finditer(self.body):
            said.update(re.findall(r"(\d+(?:\.\d+)?)\s*(?:件|条|个|项|万元|元)", self.body[m.end():m.end() + 12]))
        scored = [(sum(1 for p in c if p in said), c) for c in cands]
        top = max(s for s, _ in scored)
        if top == 0:
            return cands
        self.notes.append(f"active.{row}: reading chosen with figures stated in the report text")
        return [c for s, c in scored if s == top]

    def cells_and_units(self) -> tuple[dict, dict, dict]:
        cells, units = {}, {}
        for code, raw in self.raw.items():
            value, unit = parse_value(raw)
            cells[code] = value
            if unit and value is not None:
                units[code] = unit
        return cells, units, {c: r for c, r in self.raw.items() if r is not None}


def read(items: list[Item], fmt: str, body: str = "") -> dict:
    """cells / units / notes / tokens of a format from one report's item stream."""
    if fmt not in formats.spec()["formats"]:
        return {"cells": {}, "units": {}, "notes": [], "tokens": {}}
    regions = split_regions(items)
    r = Reader(fmt, body)
    r.read_rows("active", regions["active"])
    cols = formats.spec()["requests_columns"]
    r.read_rows("requests", regions["requests"], cols, _sum_ok(1, len(cols)))
    r.read_appeals(regions["appeals"])
    r.resolve()
    cells, units, toks = r.cells_and_units()
    amount = formats.spec()["formats"][fmt]["amount_column"]
    if amount not in units and cells.get(amount) is not None:
        header = "".join(t for k, t in regions["active"] if k == "T")
        m = re.search(rf"(?:{formats.spec()['formats'][fmt]['amount_header']})[^万元]{{0,8}}(万元|元)", header)
        if m:
            units[amount] = m.group(1)
    return {"cells": cells, "units": units, "notes": r.notes, "tokens": toks}
