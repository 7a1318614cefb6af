"""Accuracy and wrong figures: every gold report of ../shared, and the variants real exports
make of them (tests/variants.py: label typos and spaces, in texts and in the HTML pages, one-row
（六）, figures split across lines, short section 二, table 三 with its columns reordered, collapsed
repeated lines), plus the bundled sample-portal pages.

Run `.venv/bin/python benchmarks/accuracy.py [-v] [--ocr]` (--ocr: also every gold report
scanned, read by OCR; some minutes). For each group it prints `cells right %`,
`cells wrong: N` (a figure that differs from the gold: worse than a null) and `cells null: N`
(left null where the gold has a figure). -v lists every wrong cell.
"""
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from parsers import parse  # noqa: E402
from ofd_writer import render_ofd  # noqa: E402
from scan_writer import scanned_pdf  # noqa: E402
from variants import base_texts, gold_reports, html_pages, html_variants, sample_pages, variants  # noqa: E402


def score(expected: dict, got: dict) -> tuple[int, int, list[str]]:
    """(right, null, wrong codes) of one reading."""
    right, null, wrong = 0, 0, []
    for code, value in expected.items():
        have = got.get(code)
        if have == value:
            right += 1
        elif have is None:
            null += 1
        else:
            wrong.append(f"{code}: {have!r} for {value!r}")
    return right, null, wrong


def main() -> None:
    verbose = "-v" in sys.argv
    reports = gold_reports()
    if not reports:
        print("../shared/gold is not present: nothing to measure")
        return
    totals = defaultdict(lambda: [0, 0, 0, 0, 0])  # cells, right, null, wrong, documents
    wrong_lines = []

    def add(group: str, name: str, expected: dict, text_or_bytes, file_name: str) -> None:
        out = parse(text_or_bytes, name=file_name)
        right, null, wrong = score(expected, out["cells"])
        t = totals[group]
        t[0] += len(expected)
        t[1] += right
        t[2] += null
        t[3] += len(wrong)
        t[4] += 1
        wrong_lines.extend(f"  {group} {name} {w}" for w in wrong)

    for r in reports:
        add(f"gold/{r['name'].split('/')[0]}", r["name"], r["gold"]["cells"], r["data"], r["path"])
    for r in sample_pages():
        add("sample portals", r["name"], r["gold"]["cells"], r["data"], r["path"])
    for name, text, expected in variants(base_texts(reports)):
        kind = name.split("|", 1)[1].split(":")[0].split("@")[0]
        add(f"variants/{kind}", name, expected, text, "variant.txt")
    for name, page, expected in html_variants(html_pages(reports + sample_pages())):
        kind = name.split("|", 1)[1].split(":")[0]
        add(f"variants/{kind}", name, expected, page, "variant.html")
    for r in reports:  # the gold reports as OFD packages (tests/ofd_writer.py)
        g = r["gold"]
        add("ofd", r["name"], g["cells"], render_ofd(g["format"], g["cells"], g["units"], g["year"]), "report.ofd")
    if "--ocr" in sys.argv:  # slow (seconds a page): every gold report scanned at 150 and 200 dpi (tests/scan_writer.py)
        for r in reports:
            g = r["gold"]
            for dpi, skew in ((150, 0.5), (200, -0.7)):
                add(f"ocr/{dpi} dpi", r["name"], g["cells"],
                    scanned_pdf(g["format"], g["cells"], g["units"], g["year"], dpi, skew, 70), "scan.pdf")
    print(f"{'group':<28}{'docs':>6}{'cells':>8}{'right %':>10}{'wrong':>7}{'null':>7}")
    for group, (cells, right, null, wrong, docs) in totals.items():
        print(f"{group:<28}{docs:>6}{cells:>8}{100 * right / cells:>9.2f}%{wrong:>7}{null:>7}")
    cells = sum(t[0] for t in totals.values())
    print(f"{'all':<28}{sum(t[4] for t in totals.values()):>6}{cells:>8}"
          f"{100 * sum(t[1] for t in totals.values()) / cells:>9.2f}%"
          f"{sum(t[3] for t in totals.values()):>7}{sum(t[2] for t in totals.values()):>7}")
    print(f"cells wrong: {sum(t[3] for t in totals.values())}  cells null: {sum(t[2] for t in totals.values())}")
    if verbose:
        print("\n".join(wrong_lines))


if __name__ == "__main__":
    main()
