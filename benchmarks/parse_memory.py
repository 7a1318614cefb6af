"""Memory of parsing the largest real reports, which sets the parse workers' default memory
limit (NIANBAO_PARSE_MEMORY_MB, an address-space limit): each document is parsed alone in a
fresh parse worker (parsers.workers, as in the crawl, with no limit) and the worker's peak
address space (VmPeak, what RLIMIT_AS bounds) and resident size (VmHWM) are printed, with
the parse time; then the same for a real report page written out 5, 20 and 60 times over
and a generated 100-page ruled PDF, to show how memory grows with a document's size.

Run `.venv/bin/python benchmarks/parse_memory.py [--largest N]`. Reads the bundled sample
portals' documents and ../shared/corpus when present.
"""
import argparse
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import store  # noqa: E402
from parsers.workers import Limits, WorkerPool  # noqa: E402

KINDS = {".htm", ".html", ".pdf", ".docx", ".xlsx", ".xls", ".doc", ".wps", ".txt"}
SOURCES = [ROOT / "nianbao" / "sample_portals", ROOT.parent / "shared" / "corpus"]


def peak(data: bytes, name: str) -> tuple[float, int, int]:
    """(seconds, VmPeak MB, VmHWM MB) of parsing one document, in the worker."""
    started = time.perf_counter()
    store.prepare(data, f"http://127.0.0.1/{name}")
    seconds = time.perf_counter() - started
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return seconds, int(status["VmPeak"].split()[0]) >> 10, int(status["VmHWM"].split()[0]) >> 10


def measure(data: bytes, name: str) -> None:
    with WorkerPool(1, Limits(0, 0)) as pool:
        seconds, vm_peak, vm_hwm = pool.submit(peak, data, name).result()
    print(f"{len(data) / 2**20:7.2f} MB  {seconds:6.2f} s  VmPeak {vm_peak:5d} MB  VmHWM {vm_hwm:5d} MB  {name}")


def ruled_pdf(pages: int, lines: list[str]) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    for page in range(pages):
        document.setFont("STSong-Light", 9)
        for row in range(60):
            document.drawString(40, 800 - row * 12.5, lines[(page * 60 + row) % len(lines)][:50])
            document.line(30, 795 - row * 12.5, 560, 795 - row * 12.5)
        for x in range(30, 561, 53):
            document.line(x, 50, x, 805)
        document.showPage()
    document.save()
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--largest", type=int, default=8, help="real documents measured, the largest first")
    args = parser.parse_args()
    documents = sorted({path.resolve() for source in SOURCES if source.is_dir()
                        for path in source.rglob("*") if path.is_file() and path.suffix.lower() in KINDS},
                       key=lambda path: path.stat().st_size, reverse=True)
    print(f"the {args.largest} largest of {len(documents)} real documents, each alone in a fresh worker:")
    for path in documents[:args.largest]:
        measure(path.read_bytes(), path.name)
    page = next(path for path in documents if path.suffix in (".htm", ".html")).read_bytes()
    start, end = page.find(b"<body"), page.rfind(b"</body>")
    print("larger than any real report:")
    for times in (5, 20, 60):
        measure(page[:end] + page[start:end] * (times - 1) + page[end:], f"the largest page x{times}.htm")
    lines = [line for line in store.load_parse(store.prepare(page, "http://127.0.0.1/page.htm").result)
             .get("body", "").splitlines() if line.strip()] or ["年度报告"]
    measure(ruled_pdf(100, lines), "100 ruled pages.pdf")


if __name__ == "__main__":
    main()
