"""Parse throughput on one core: text reports/s, HTML reports/s, the HTML parse time over
trafilatura.extract's alone (with the options the parser gives it) on the same pages, and
PDF reports/s (the sample portals' PDF attachments), and OCR seconds per scanned page.

Run `.venv/bin/python benchmarks/parse.py`. Reads ../shared/corpus when present, else the
bundled sample portal pages (HTML only). Times are the process's CPU time, on one core (its
affinity, and one thread for onnxruntime and OpenMP): the machine may be shared, and its
load (printed) then stretches wall times, not CPU times.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy, OpenCV and onnxruntime load
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from parsers import parse  # noqa: E402
from parsers.html import EXTRACT  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLES = ROOT / "nianbao" / "sample_portals"


def corpus() -> tuple[list[Path], list[Path]]:
    """(text files, HTML pages) to time."""
    if CORPUS.is_dir():
        text = sorted(CORPUS.glob("seeds/*.txt")) + sorted(CORPUS.glob("real/*.txt"))
        html = sorted(CORPUS.glob("real/r009.html")) + sorted(CORPUS.glob("pingtan/*/*/page.html"))
        return text, html
    html = sorted(p for p in SAMPLES.glob("*/site/**/*.htm*") if p.is_file())
    return [], html


def per_item(fns: list, items: list, budget: float = 2.0, rounds: int = 5) -> list[float]:
    """Best CPU seconds per item of each function; their rounds alternate so machine load hits all alike."""
    reps = []
    for fn in fns:
        start = time.process_time()
        for it in items:
            fn(it)
        reps.append(max(1, int(budget / rounds / max(time.process_time() - start, 1e-9))))
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start = time.process_time()
            for _ in range(reps[i]):
                for it in items:
                    fn(it)
            best[i] = min(best[i], (time.process_time() - start) / (reps[i] * len(items)))
    return best


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    text_files, html_files = corpus()
    if text_files:
        docs = [(p.read_bytes(), str(p)) for p in text_files]
        [t] = per_item([lambda d: parse(d[0], name=d[1])], docs)
        print(f"text: {1 / t:.1f} reports/s (load {os.getloadavg()[0]:.1f})")
    if html_files:
        pages = [(p.read_bytes(), str(p)) for p in html_files]
        h, base = per_item([lambda d: parse(d[0], name=d[1]), lambda d: trafilatura.extract(d[0], **EXTRACT)], pages)
        print(f"html: {1 / h:.1f} reports/s")
        print(f"html/trafilatura: {h / base:.1f}x")
    pdfs = list({p.read_bytes(): str(p) for p in sorted(SAMPLES.glob("*/site/**/*.pdf"))}.items())  # distinct files
    if pdfs:
        [p] = per_item([lambda d: parse(d[0], name=d[1])], pdfs)
        print(f"pdf: {1 / p:.1f} reports/s")
    ocr_seconds_per_page()


def ocr_seconds_per_page() -> None:
    """CPU seconds per scanned page: two gold reports rasterised at 150 and at 200 dpi
    (tests/scan_writer.py), after a first page that loads the models."""
    from parsers import ocr

    golds = sorted((ROOT.parent / "shared" / "gold").glob("*/*.json"))
    if not golds or not ocr.available():
        print("ocr: not measured (needs ../shared/gold and the ocr extra)")
        return
    import json

    import pypdfium2

    sys.path.insert(0, str(ROOT / "tests"))
    from scan_writer import scanned_pdf

    reports = [json.loads(p.read_text(encoding="utf-8")) for p in golds[:3]]
    parse(scanned_pdf(reports[0]["format"], reports[0]["cells"], reports[0]["units"], reports[0]["year"]),
          name="warm-up.pdf")
    for dpi, skew in ((150, 0.5), (200, -0.7)):
        scans = [scanned_pdf(g["format"], g["cells"], g["units"], g["year"], dpi, skew, 70) for g in reports[1:]]
        wall, cpu, pages = time.perf_counter(), time.process_time(), 0
        for scan in scans:
            out = parse(scan, name="scan.pdf")
            if out["read_by"] != "ocr":
                print(f"ocr: a scan not read by OCR: {out.get('error') or out['notes']}")
            pages += len(pypdfium2.PdfDocument(scan))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"ocr: {cpu / pages:.2f} s/page (CPU on one core; {pages} pages at {dpi} dpi; wall {wall / pages:.2f} s,"
              f" load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
