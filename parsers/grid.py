"""Real tables (HTML, DOCX, PDF) as grids, and grids as the item stream tables.py reads.

A grid is a list of rows of cells; a cell spanning several rows or columns appears once,
at its top-left slot, and its other slots hold None, so a figure is never read twice.
"""
import re

from . import limits
from .tokens import Item, cell_items


def html_grid(table, budget: list[int] | None = None) -> list[list[str | None]]:
    """Grid of an innermost lxml <table>, honouring rowspan/colspan; <br>/<p> inside cells are joined.

    A span never reaches past the table's rows, nor past its width (the widest row's
    columns: in a well-formed table, the first row's); `budget` ([grid slots left]) bounds
    the slots of all tables of a document together: LimitExceeded when they would pass it."""
    budget = budget if budget is not None else [limits.MAX_TABLE_CELLS]
    rows = [[td for td in tr if isinstance(td.tag, str) and td.tag.lower() in ("td", "th")]
            for tr in table.iter("tr")]
    width = max((sum(_span(td.get("colspan")) for td in cells) for cells in rows), default=0)
    grid: list[list[str | None]] = []
    covered: list[int] = []  # per column, the last row a rowspan above covers
    for r, cells in enumerate(rows):
        line: list[str | None] = []
        c = 0
        for td in cells:
            while c < len(covered) and covered[c] >= r:
                line.append(None)
                c += 1
            rs = min(_span(td.get("rowspan")), len(rows) - r)
            cs = min(_span(td.get("colspan")), max(width - c, 1))
            line.append(cell_text(td))
            if len(covered) < c + cs:
                covered.extend([-1] * (c + cs - len(covered)))
            for column in range(c, c + cs):
                covered[column] = max(covered[column], r + rs - 1)
            line.extend([None] * (cs - 1))
            c += cs
        while c < len(covered) and covered[c] >= r:
            line.append(None)
            c += 1
        budget[0] -= len(line)
        if budget[0] < 0:
            raise limits.LimitExceeded(f"tables of more than {limits.MAX_TABLE_CELLS} cells (spans counted)")
        grid.append(line)
    return grid


def _span(value) -> int:
    m = re.match(r"\s*(\d+)", value or "")
    return max(1, min(int(m.group(1)), 200)) if m else 1


def cell_text(td) -> str:
    """Text of a cell; line breaks from <br>/<p> are dropped so split header words rejoin."""
    text = "".join(td.itertext()).replace("\xa0", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if all(re.fullmatch(r"[\d.,增减+\-元万/]+", ln) for ln in lines) and len(lines) > 1:
        return " ".join(lines)
    return "".join(lines)


def has_figures(grid: list[list[str | None]]) -> bool:
    """True when a cell holds a figure: a number, or `无` or a dash standing for one (a table whose
    every cell says 无 is a table of figures; a layout table holds none)."""
    return any(cell and any(kind == "V" for kind, _ in cell_items(cell)) for row in grid for cell in row)


def items(grids: list[list[list[str | None]]]):
    """Item stream of grids: every real cell once, row by row, an empty cell as E; each figure
    an Item placed at (table, row, column) of its grid."""
    out = []
    for t, grid in enumerate(grids):
        for r, row in enumerate(grid):
            for c, cell in enumerate(row):
                if cell is not None:
                    out.extend(Item(kind, text, (t, r, c)) if kind == "V" else (kind, text)
                               for kind, text in cell_items(cell))
    return out


def header_above(grid: list[list[str | None]], r: int, c: int) -> str | None:
    """The printed column header of slot (r, c): the nearest cell above it holding no figure."""
    for above in range(r - 1, max(r - 12, -1), -1):
        cell = grid[above][c] if c < len(grid[above]) else None
        if cell and not re.search(r"\d", cell):
            return " ".join(cell.split())
    return None
