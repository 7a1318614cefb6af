"""Read the three standard tables from an item stream (see tokens.py) into cell codes.

Rows are known by their place in the form's order and their label's likeness together
(align.py); columns by their header words (formats.json `column_headers`), so short and
reordered tables read right. Where the written figures do not fit a row's cells one to
one, every reading is tried (bounded): figures printed in pieces are joined, fused figures
split (fused.py), and the table's arithmetic (row totals, column balances, group totals)
picks one. A figure stands only when it is printed unambiguously or the checks confirm
the reading that gave it; otherwise the cell is null with a note. Never a guess.
"""
import re
from functools import lru_cache
from itertools import combinations, product
from math import comb

from . import align, checks, formats
from .fused import LIMIT, readings
from .values import parse_value

Item = tuple[str, str | None]
# Pieces of one figure printed apart: a head (sign, digits, a point) and a tail (digits, a point, unit).
_JOIN_LEFT = re.compile(r"(?:增|减|\+|-)?[\d.]+")
_JOIN_RIGHT = re.compile(r"[\d.]+(?:万元|元)?")
_FIGURE = re.compile(r"(?:增|减|\+|-)?(?:0|[1-9]\d*)(?:\.\d+)?(?:万元|元)?")
_FUSABLE = re.compile(r"\d{2,}(\.\d+)?(万元|元)?")


def segments(items: list[Item]) -> list[tuple[str, list[Item]]]:
    """(label, following cells) pairs: consecutive label items form one label."""
    out: list[tuple[str, list[Item]]] = []
    label, vals, prev = "", [], None
    for item in items:
        kind, text = item
        if kind == "T":
            if prev != "T" and (label or vals):
                out.append((label, vals))
                label, vals = "", []
            label += text
        else:
            vals.append(item)
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


@lru_cache(maxsize=512)
def _row_groups(codes: tuple) -> tuple:
    """(index of total, indices of its parts) of each whole group of cells in a row's codes."""
    s = formats.spec()
    width = {"requests": len(s["requests_columns"]), "appeals": len(s["appeals_columns"])}
    groups: dict[str, dict[str, int]] = {}
    for i, code in enumerate(codes):
        if code:
            head, col = code.rsplit(".", 1)
            groups.setdefault(head, {})[col] = i
    return tuple((cols["total"], tuple(i for c, i in cols.items() if c != "total"))
                 for head, cols in groups.items()
                 if "total" in cols and len(cols) == width.get(head.split(".", 1)[0]))


def _row_ok(codes, raws) -> bool:
    """The row's own arithmetic: in each whole group of cells, total = sum of the others."""
    for t, parts in _row_groups(tuple(codes)):
        total = _num(raws[t])
        vals = [_num(raws[i]) for i in parts]
        if total is not None and None not in vals and abs(sum(vals) - total) > 1e-6:
            return False
    return True


def joins(raws: list[str | None], n: int) -> list[list[str | None]]:
    """Readings of more written pieces than cells: adjacent pieces joined into one figure
    (`1` / `62` → `162`) until n remain. A figure never starts with 0, so few joins are possible."""
    k = len(raws) - n
    gaps = [i for i in range(len(raws) - 1) if raws[i] is not None and raws[i + 1] is not None
            and _JOIN_LEFT.fullmatch(raws[i]) and _JOIN_RIGHT.fullmatch(raws[i + 1])]
    if k <= 0 or k > len(gaps) or comb(len(gaps), k) > LIMIT:
        return []
    out = []
    for chosen in combinations(gaps, k):
        reading = _joined(raws, set(chosen))
        if reading is not None:
            out.append(reading)
    return out


def without_blanks(raws: list[str | None], n: int) -> list[list[str | None]]:
    """Readings of more written pieces than cells where some are empty cells: that many empties
    left out (an export that adds an empty column, `64 | 0 |  | 0 | 2 | 0 | 4 | 70`)."""
    blanks = [i for i, raw in enumerate(raws) if raw is None]
    k = len(raws) - n
    if k <= 0 or k > len(blanks) or comb(len(blanks), k) > LIMIT:
        return []
    return [[raw for i, raw in enumerate(raws) if i not in drop] for drop in map(set, combinations(blanks, k))]


def _joined(pieces: list, gaps: set[int]) -> list | None:
    """The pieces with each chosen gap closed; None when a joined figure is not a figure
    (a leading zero, two points)."""
    reading, i = [], 0
    while i < len(pieces):
        piece = pieces[i]
        while i in gaps:
            i += 1
            piece += pieces[i]
        if piece != pieces[i] and not _FIGURE.fullmatch(piece):
            return None
        reading.append(piece)
        i += 1
    return reading


def merged_readings(toks: list[str], n: int) -> list[list[str]]:
    """Readings of fused figures whose run a separator cut inside a figure (`1` / `91000020`):
    the run read again with adjacent digit pieces put back together."""
    gaps = [i for i in range(len(toks) - 1) if _JOIN_LEFT.fullmatch(toks[i]) and _JOIN_RIGHT.fullmatch(toks[i + 1])]
    out: list[list[str]] = []
    for k in range(1, len(gaps) + 1):
        for chosen in combinations(gaps, k):
            merged = _joined(toks, set(chosen))
            if merged is not None:
                out.extend(readings(merged, n))
            if len(out) > LIMIT:
                return out
    return out


def _rows_of(codes) -> str:
    """The rows (or groups) a run of cells belongs to, for notes: `requests.new`, `appeals.review/appeals.suit_direct`."""
    return "/".join(dict.fromkeys(c.rsplit(".", 1)[0] for c in codes if c))


_GROUP_LABELS = {f"appeals.{g}": label for g, label in zip(formats.spec()["appeals_groups"],
                                                             formats.spec()["appeals_group_labels"])}


_NUMBERING = re.compile(r"(?:[一二三四五六七八九十]、|[(（][一二三四五六七八九十][)）]|\d[.、])*$")


def _own_label(row: dict, label: str) -> str:
    """A row's printed label without the header text printed before it (the first row's
    label segment holds the table's header): from its numbering and words on."""
    m = row["pattern"].search(label) if len(label) > 40 else None
    if not m:
        return label
    return label[_NUMBERING.search(label, 0, m.start()).start():]


def _unique(cands: list) -> list:
    return list({tuple(c): None for c in cands})


def _pieces_of(reading: list, items: list) -> list[list]:
    """For each piece of a reading, the written items it was read from: a reading only joins
    written pieces or splits them, so its pieces and the items spell the same characters in the
    same order."""
    spans, pos = [], 0
    for item in items:
        if item[1] is not None:
            spans.append((pos, pos + len(item[1]), item))
            pos += len(item[1])
    out, pos, k = [], 0, 0
    for piece in reading:
        end = pos + len(piece or "")
        while k < len(spans) and spans[k][1] <= pos:
            k += 1
        found, i = [], k
        while piece and i < len(spans) and spans[i][0] < end:
            found.append(spans[i][2])
            i += 1
        out.append(found)
        pos = end
    return out


class Reader:
    """Collects cells, units, notes and raw tokens while reading one report's tables."""

    def __init__(self, fmt: str, body: str = "", layout: str = "cells"):
        self.fmt, self.body, self.layout = fmt, body, layout
        self.raw: dict[str, str | None] = {c: None for c in formats.codes(fmt)}
        self.notes: list[str] = []
        # codes of a row → (every reading of its pieces, the readings its own arithmetic allows)
        self.pending: dict[tuple[str | None, ...], tuple[list[list], list[list]]] = {}
        self.decided: dict[str, str] = {}  # code → why: figures chosen among readings by arithmetic
        # provenance: code → the written items its figure was read from; the row label it was
        # printed with; the other values the readings gave it
        self.source: dict[str, list] = {}
        self.label: dict[str, str] = {}
        self.alternatives: dict[str, list] = {}
        self.written: dict[tuple, list] = {}  # codes of a pending row → the items its readings split or join

    def _assign(self, codes, raws) -> None:
        for code, raw in zip(codes, raws):
            if code:
                self.raw[code] = raw

    def place(self, codes: list[str | None], vals: list[Item], check: bool = False, label: str = "") -> None:
        """Give a row's cells their figures; when the written pieces do not fit the cells one
        to one, every reading of them is kept for the arithmetic to choose (resolve)."""
        vals = _strip(vals)
        for code in codes:
            if code:  # table 四's figures stand under its group headers, not beside a row label
                self.label[code] = label or _GROUP_LABELS.get(code.rsplit(".", 1)[0], "")
        if self.layout == "lossy":  # an empty after the figures may stand for lost ones: not a cell
            while vals and vals[-1][0] == "E":
                vals = vals[:-1]
        n = len(codes)
        if len(vals) >= n and all(kind == "E" for kind, _ in vals[n:]):
            self._assign(codes, [raw for _, raw in vals[:n]])
            self.source.update((code, [item]) for code, item in zip(codes, vals) if code and item[0] == "V")
            blank = sum(kind == "E" for kind, _ in vals[:n]) if self.layout != "cells" else 0
            if blank:
                self.notes.append(f"{_rows_of(codes)}: {n - blank} figures for {n} cells, the empty lines among them read "
                                  "as empty cells")
            return
        row = _rows_of(codes)
        while len(vals) > n and vals[-1][0] == "E":
            vals = vals[:-1]
        fallback: list[list] = []
        if len(vals) > n:
            raws = [raw for _, raw in vals]
            written = vals
            emptied = without_blanks(raws, n)
            # (leaving empties out is a reading that keeps every figure where it fills every cell)
            cands = joins(raws, n) + [c for c in emptied if None not in c or not check]
            # What follows (or precedes) the row's cells may be something else: a page number printed
            # between two rows, or inside the header, of a table split across pages. So the row as
            # printed is a reading even when its last figure could join what follows (a figure split
            # across lines); without arithmetic to choose, a cell the two readings dispute is null.
            # Where arithmetic chooses, these readings that leave a written figure out come only
            # when no reading that keeps every figure and fills every cell adds up.
            fallback = [raws[:n], raws[-n:]] if check else []
            if not check:
                cands.append(raws[:n])
            why = f"{len(raws)} written pieces for {n} cells"
        else:
            written = [item for item in vals if item[0] == "V"]
            toks = [raw for _, raw in written]
            if toks and all(_num(t) is None and t != "无" for t in toks):
                return  # one dash across the whole row: every cell null
            fusable = self.layout == "cells" and any(_FUSABLE.fullmatch(t) for t in toks)
            cands = readings(toks, n) if fusable else []
            why = f"figures {' '.join(toks)} fused"
            if not cands:
                if toks:
                    lossy = {"cells": "", "lines": " (one figure a line: cells lost)",
                             "lossy": " (the export dropped repeated lines)"}[self.layout]
                    self.notes.append(f"{row}: {len(toks)} figures ({' '.join(toks)}) for {n} cells{lossy}; "
                                      "left null")
                return
        if check:
            if len(vals) < n and self.layout == "cells":
                cands += merged_readings(toks, n)
            passing = [c for c in cands if _row_ok(codes, c)]
            full = [c for c in passing if None not in c]  # the row's check ran on every cell
            if full:
                passing = full
            else:
                passing += [c for c in fallback if _row_ok(codes, c)]
            cands += fallback
            if not passing:
                self.notes.append(f"{row}: {why}; no reading of them adds up, left null")
                return
        else:
            passing = cands
        self.pending[tuple(codes)] = (_unique(cands), _unique(passing), why)
        self.written[tuple(codes)] = written

    def read_rows(self, table: str, items: list[Item], check: bool = False) -> None:
        """Align the label segments to the table's rows in order and place their figures."""
        rows = formats.rows(self.fmt, table)
        segs = segments(items)
        header: list | None = None
        usable, above = [], ""
        for label, vals in segs:
            has_figures = any(k == "V" for k, _ in vals)
            if table == "active":
                above += label
                found = formats.header_columns("active", above)
                if len(found) >= 2 or (found and "信息内容" in above):
                    header = found
                if has_figures:
                    above = ""
            if label and has_figures:
                usable.append((label, vals, header))
        matched = align.align(rows, [label for label, _, _ in usable])
        if table == "requests" and matched:
            first = min(matched)
            request_cols = self._request_columns(segs, usable[first][0], len(_strip(usable[first][1])))
        seen = set()
        for j, i in sorted(matched.items()):
            label, vals, head = usable[j]
            r = rows[i]
            seen.add(i)
            cols = self._columns(r, head) if table == "active" else request_cols
            codes = [f"{table}.{r['row']}.{c}" if c else None for c in cols]
            if any(codes):
                self.place(codes, vals, check, _own_label(r, label))
        if usable and seen:
            missing = [rows[i]["row"] for i in range(len(rows)) if i not in seen]
            for name in missing:
                self.notes.append(f"{table}.{name}: row not found; left null")

    def _columns(self, row: dict, header: list | None) -> list[str | None]:
        """The printed columns of an active-table row: the form's, unless its header names others."""
        default = row["columns"]
        if not header:
            return default
        if len(header) == len(default) and all(h in (d, "?") for h, d in zip(header, default)):
            return default
        known = [h for h in header if h not in (None, "?")]
        if len(set(known)) != len(known) or not set(known) <= set(default) or header == default:
            return default
        printed = [h if h in default else None for h in header]
        left = [c for c in default if c not in printed]
        if left:
            self.notes.append(f"active.{row['row']}: its header prints {len(header)} columns; "
                              f"{', '.join(left)} not printed, left null")
        return printed

    def _request_columns(self, segs, first_label: str, first_width: int) -> list[str | None]:
        """Columns of table 三 by its header (法人或其他组织 opening onto its five kinds): the form's
        order unless the header names all seven in another order, or fewer, as many as its first row prints."""
        default = formats.spec()["requests_columns"]
        text = ""
        for label, _ in segs:
            text += label
            if label == first_label:
                break
        m = formats.rows(self.fmt, "requests")[0]["pattern"].search(text)
        found = formats.header_columns("requests", text[:m.start()] if m else text)
        if "group" in found and not set(found) & set(default[1:6]) and first_width == len(found) == 3:
            printed = [None if c == "group" else c for c in found]  # 法人或其他组织 as one column
            if sorted(c for c in printed if c) == ["natural_person", "total"]:
                self.notes.append(f"requests: 法人或其他组织 printed as one column; "
                                  f"{', '.join(default[1:6])} not printed, left null")
                return printed
        if "group" in found:
            g = found.index("group")
            found = (found[:g] + [c for c in found[g + 1:] if c in default[1:6]]
                     + [c for c in found[g + 1:] if c not in default[1:6]])
        if found == default or len(set(found)) != len(found) or not set(found) <= set(default):
            return default
        if len(found) < len(default) and (len(found) < 4 or first_width != len(found)):
            return default
        left = [c for c in default if c not in found]
        self.notes.append(f"requests: columns printed in the order {', '.join(found)}"
                          + (f"; {', '.join(left)} not printed, left null" if left else ""))
        return found

    def read_appeals(self, items: list[Item]) -> None:
        vals = [item for item in items if item[0] != "T"]
        if any(kind == "V" for kind, _ in vals):
            first = next((i for i, (k, _) in enumerate(items) if k == "V"), len(items))
            header = "".join(t for k, t in items[:first] if k == "T")
            transposed = self._appeals_by_column(items, header)
            if transposed:
                self.place(*transposed, check=True)
            else:
                self.place(self._appeal_codes(header), vals, check=True)
        elif items:  # its header without a figure (an export that lost them)
            self.notes.append(f"{_rows_of(self._appeal_codes(''))}: the table prints no figures; left null")

    def _appeals_by_column(self, items: list[Item], header: str) -> tuple[list[str], list[Item]] | None:
        """Table 四 printed turned (a row per result: `结果维持 | 1 | 2 | 3`, a column per group): its
        codes and figures in the form's order, when each of the five result labels heads a row of three."""
        s = formats.spec()
        rows = {}
        for label, vals in segments(items):
            cols = [w for w in formats.header_columns("appeals", label) if w in s["appeals_columns"]]
            cells = _strip(vals)
            while cells and cells[-1][0] == "E":
                cells = cells[:-1]
            if len(cols) == 1 and any(k == "V" for k, _ in cells):
                if len(cells) != len(s["appeals_groups"]) or cols[0] in rows:
                    return None
                rows[cols[0]] = cells
        if sorted(rows) != sorted(s["appeals_columns"]):
            return None
        header = re.sub(r".*行政诉讼情况", "", header, count=1)  # the section's heading names 行政复议 too
        found = list(dict.fromkeys(w for w in formats.header_columns("appeals", header) if w in s["appeals_groups"]))
        groups = found if sorted(found) == sorted(s["appeals_groups"]) else s["appeals_groups"]
        self.notes.append(f"appeals: printed a row per result ({', '.join(rows)}), a column per group")
        return ([f"appeals.{g}.{c}" for g in groups for c in s["appeals_columns"]],
                [rows[c][i] for i in range(len(groups)) for c in s["appeals_columns"]])

    def _appeal_codes(self, header: str) -> list[str]:
        """Codes of table 四's figures in printed order: groups and columns in the order of their
        header words when it names each once (else the form's order)."""
        s = formats.spec()
        groups, cols = s["appeals_groups"], s["appeals_columns"]
        found = formats.header_columns("appeals", header)
        seen_groups = list(dict.fromkeys(w for w in found if w in groups))
        seen_cols = [w for w in found if w in cols][:len(cols)]
        if sorted(seen_groups) == sorted(groups) and seen_groups != groups:
            self.notes.append(f"appeals: groups printed in the order {', '.join(seen_groups)}")
            groups = seen_groups
        if sorted(seen_cols) == sorted(cols) and seen_cols != cols:
            self.notes.append(f"appeals: columns printed in the order {', '.join(seen_cols)}")
            cols = seen_cols
        return [f"appeals.{g}.{c}" for g in groups for c in cols]

    def resolve(self) -> None:
        """Choose among readings: jointly by the request checks, then confirmed by every check."""
        req = [k for k in self.pending if k[0] and k[0].startswith("requests.")]
        choice = {k: self.pending[k][1] for k in self.pending}
        combos = 1
        for k in req:
            combos *= len(choice[k])
        if req and 1 < combos <= 5000:
            best, best_score = [], -1
            for pick in product(*(choice[k] for k in req)):
                trial = dict(self.raw)
                for k, raws in zip(req, pick):
                    trial.update((c, r) for c, r in zip(k, raws) if c)
                score = checks.column_score(self.fmt, {c: _num(v) for c, v in trial.items()})
                if score > best_score:
                    best, best_score = [pick], score
                elif score == best_score:
                    best.append(pick)
            for i, k in enumerate(req):
                choice[k] = list({tuple(p[i]): None for p in best})
        for codes, (every, _, why) in self.pending.items():
            cands = self._anchor(codes, choice[codes])
            row = _rows_of(codes)
            undecided = []
            varies = [len(set(col)) > 1 for col in zip(*every)]
            sources = _pieces_of(cands[0], self.written[codes]) if cands else []
            for j, (code, seen) in enumerate(zip(codes, map(set, zip(*cands)))):
                if not code:
                    continue
                if len(seen) == 1:
                    self.raw[code] = seen.pop()
                    self.source[code] = sources[j]
                    if varies[j]:
                        self.decided[code] = why
                        self.alternatives[code] = sorted({_num(c[j]) for c in every} - {_num(self.raw[code])},
                                                         key=lambda v: (v is None, v or 0))
                else:
                    undecided.append(code.rsplit(".", 1)[1])
            if undecided:
                shown = "; ".join("/".join(x or "" for x in c) for c in cands[:6])
                more = f" (+{len(cands) - 6} more)" if len(cands) > 6 else ""
                self.notes.append(f"{row}: {why} admit {len(cands)} readings ({shown}{more}); "
                                  f"{', '.join(undecided)} left null")
        self.pending, self.written = {}, {}
        self._confirm()

    def _confirm(self) -> None:
        """A figure chosen among readings stands only if every check over it passes."""
        if not self.decided:
            return
        cells = {c: _num(v) for c, v in self.raw.items()}
        for result in checks.run(self.fmt, cells):
            if result["status"] != "fail":
                continue
            for code in checks.inputs(self.fmt, result["id"]):
                if code in self.decided and self.raw.get(code) is not None:
                    self.notes.append(f"{code.rsplit('.', 1)[0]}: {self.decided[code]}; no reading satisfies "
                                      f"{result['id']}, {code.rsplit('.', 1)[1]} left null")
                    self.raw[code] = None

    def _anchor(self, codes: tuple, cands: list) -> list:
        """Keep the readings whose figures the report's own prose states next to the row's label."""
        if len(cands) < 2 or not self.body or not codes[0] or not codes[0].startswith("active."):
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

    def provenance(self) -> dict[str, dict]:
        """code → where and how its figure was read: the written items (their text and where
        they stand: `at`), the printed row label, `arithmetic` with the values the other
        readings gave when the table's checks chose it. Filled in by parsers/__init__.py."""
        out = {}
        for code, raw in self.raw.items():
            items = self.source.get(code)
            if raw is None or not items:
                continue
            entry = {"items": items, "row_label": " ".join(self.label.get(code, "").split()) or None}
            if code in self.decided:
                entry["read_by"] = "arithmetic"
                entry["alternatives"] = self.alternatives.get(code, [])
            out[code] = entry
        return out


def read(items: list[Item], fmt: str, body: str = "", layout: str = "cells") -> dict:
    """cells / units / notes / tokens of a format from one report's item stream, printed in a
    `layout` of tokens.layout (figures fused only in "cells")."""
    if fmt not in formats.spec()["formats"]:
        return {"cells": {}, "units": {}, "notes": [], "tokens": {}, "provenance": {}}
    regions = split_regions(items)
    r = Reader(fmt, body, layout)
    r.read_rows("active", regions["active"])
    r.read_rows("requests", regions["requests"], check=True)
    r.read_appeals(regions["appeals"])
    r.resolve()
    cells, units, toks = r.cells_and_units()
    amount = formats.spec()["formats"][fmt]["amount_column"]
    if amount not in units and cells.get(amount) is not None:
        header = "".join(t for k, t in regions["active"] if k == "T")
        m = re.search(rf"(?:{formats.spec()['formats'][fmt]['amount_header']})[^万元]{{0,8}}(万元|元)", header)
        if m:
            units[amount] = m.group(1)
    return {"cells": cells, "units": units, "notes": r.notes, "tokens": toks, "provenance": r.provenance()}
