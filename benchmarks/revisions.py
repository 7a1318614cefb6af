"""What keeping revisions costs the archive's writer: storing report pages (a first
crawl, a re-fetch that finds every page changed, one that finds them unchanged) with
and without archive.revisions.observe, the comparison of each changed report
(record_changes), and marking a portal's removed reports.

    .venv/bin/python benchmarks/revisions.py [--documents N]
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # before benchmarks/, whose archive.py would shadow the package

from archive import revisions, store  # noqa: E402
from archive.db import open_archive  # noqa: E402

PAGE = REPO / "nianbao/sample_portals/pingtan/site/zwgk/zfxxgk/zfxxgknb/202603/t20260313_105587.htm"


def crawl_thrice(folder: str, documents: int, keep_revisions: bool) -> tuple[float, ...]:
    """Seconds to store `documents` pages, to store them again changed (with their parses
    and, with revisions, the comparison), again unchanged, and to mark 90% of them removed."""
    page = PAGE.read_bytes()
    prepared = store.prepare(page, "http://x/a.htm")
    db = open_archive(os.path.join(folder, f"{keep_revisions}.db"))
    store.upsert_portals(db, [{"id": "p", "name": "样例", "level": "county", "province": "福建省"}])
    observe = revisions.observe
    if not keep_revisions:
        revisions.observe = lambda *args: False
    timings = []
    try:
        for edition in range(3):
            started = time.perf_counter()
            with db.conn:
                for number in range(documents):
                    url = f"http://x/{number}.htm"
                    document_id = store.store_document(db, url=url, content=page + f"<!-- {min(edition, 1)} -->".encode(),
                                                       portal_id="p", role="page", report_url=url)
                    store.store_parses(db, [(document_id, prepared.parser_version, prepared.result)])
                    if edition == 0:
                        store.derive_report(db, url)
                    elif keep_revisions:
                        revisions.record_changes(db, url)
            timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        with db.conn:
            revisions.mark_removed(db, "p", {f"http://x/{n}.htm" for n in range(documents // 10)}, None)
        timings.append(time.perf_counter() - started)
    finally:
        revisions.observe = observe
        db.close()
    return tuple(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    documents = parser.parse_args().documents
    with tempfile.TemporaryDirectory() as folder:
        for keep in (False, True):
            first, changed, unchanged, removed = crawl_thrice(folder, documents, keep)
            print(f"{'with' if keep else 'without'} revisions: {documents} pages stored and derived "
                  f"{first:.2f} s; stored again changed {changed / documents * 1000:.2f} ms a page, "
                  f"unchanged {unchanged / documents * 1000:.2f} ms a page; "
                  f"{documents - documents // 10} marked removed {removed * 1000:.0f} ms "
                  f"(load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
