"""Real tables (HTML, DOCX, PDF) as grids, and grids as the item stream tables.py reads.

A grid is a list of rows of cells; a cell spanning several rows or columns appears once,
at its top-left slot, and its other slots hold None, so a figure is never read twice.
"""
import re

from .tokens import cell_items


def html_grid(table) -> list[list[str | None]]:
    """Grid of an innermost lxml <table>, honouring rowspan/colspan; <br>/<p> inside cells are joined."""
    grid: list[list[str | None]] = []
    taken: dict[tuple[int, int], bool] = {}
    for r, tr in enumerate(table.iter("tr")):
        line: list[str | None] = []
        c = 0
        for td in tr:
            if not isinstance(td.tag, str) or td.tag.lower() not in ("td", "th"):
                continue
            while taken.get((r, c)):
                line.append(None)
                c += 1
            rs, cs = _span(td.get("rowspan")), _span(td.get("colspan"))
            line.append(cell_text(td))
            for dr in range(rs):
                for dc in range(cs):
                    if dr or dc:
                        taken[(r + dr, c + dc)] = True
            line.extend([None] * (cs - 1))
            c += cs
        while taken.get((r, c)):
            line.append(None)
            c += 1
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


def items(grids: list[list[list[str | None]]]):
    """Item stream of grids: every real cell once, row by row, an empty cell as E."""
    out = []
    for grid in grids:
        for row in grid:
            for cell in row:
                if cell is not None:
                    out.extend(cell_items(cell))
    return out
