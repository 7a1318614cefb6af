"""Rebuild every derived table from the archived documents, without the network.

Parsing runs in worker processes (parsers.workers, one per core, as in the crawl,
within the same limits); the main process reads the blobs, writes the parses and
derives each report as soon as all its documents are parsed, in batched transactions.
A document whose parse gives no result (its worker crashed, ran out of memory or time)
gets a parse carrying the error, as in the crawl, and the reparse goes on.
"""
import os
import sys
import zlib
from collections import deque

import click

from archive import coverage, flags, search, store
from archive.db import open_archive
from parsers.workers import Limits, ParseFailed, WorkerPool

BATCH = 200  # documents per transaction


def parse_stored(content: bytes, compression: str, url: str, content_type: str) -> store.Prepared:
    """Parse one archived document (in a worker)."""
    data = zlib.decompress(content) if compression == "zlib" else content
    return store.prepare(data, url, content_type)


def _pending(db, documents):
    for document_id, url, content_type, sha256, report_url in documents:
        content, compression = db.execute(
            "select content, compression from blobs where sha256 = ?", [sha256]).fetchone()
        if compression == "warc":  # the bytes are in a WARC record (archive/warc.py)
            content, compression = store.load_blob(db, sha256), ""
        yield (document_id, url, report_url), (content, compression, url, content_type or "")


def _parsed(db, documents, workers: int, limits: Limits):
    """((document_id, url, report_url), Prepared) in the order of `documents`."""
    if workers <= 0:
        for key, job in _pending(db, documents):
            yield key, parse_stored(*job)
        return
    with WorkerPool(workers, limits) as pool:
        window: deque = deque()
        for key, job in _pending(db, documents):
            window.append((key, pool.submit(parse_stored, *job)))
            if len(window) >= workers * 8:
                yield _outcome(*window.popleft())
        while window:
            yield _outcome(*window.popleft())


def _outcome(key: tuple, future) -> tuple[tuple, store.Prepared]:
    try:
        return key, future.result()
    except ParseFailed as failure:
        click.echo(f"parse failed: {key[1]} ({failure})", err=True)
        return key, store.prepare_failed(key[1], str(failure))


def reparse(path: str, progress: bool = True, workers: int | None = None, limits: Limits = Limits()) -> int:
    """Parse every stored report page and attachment again; return how many."""
    db = open_archive(path)
    # a report's documents together, so that it is derived once they are all parsed
    documents = db.execute(
        "select id, url, content_type, sha256, report_url from documents "
        "where role in ('page', 'attachment') order by report_url, id"
    ).fetchall()
    reparse_documents(db, documents, progress, workers, limits)
    search.optimize(db)
    coverage.refresh(db)
    flags.refresh(db)
    db.close()
    return len(documents)


def reparse_documents(db, documents: list[tuple], progress: bool = True, workers: int | None = None,
                      limits: Limits = Limits()) -> None:
    """Reparse `documents` (id, url, content_type, sha256, report_url), grouped by
    report_url, and derive their reports; `workers` 0 parses in this process."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    rows, reports, search_texts = [], [], {}

    def flush():
        with db.conn:
            store.store_parses(db, rows)
            for report_url in reports:
                store.derive_report(db, report_url, search_texts)
        rows.clear()
        reports.clear()
        search_texts.clear()

    current = None
    with click.progressbar(length=len(documents), label="reparsing", file=sys.stderr,
                           hidden=not progress) as bar:
        for (document_id, url, report_url), prepared in _parsed(db, documents, workers, limits):
            if report_url != current:
                if current is not None:
                    reports.append(current)
                if len(rows) >= BATCH:
                    flush()
                current = report_url
            rows.append((document_id, prepared.parser_version, prepared.result))
            search_texts[url] = prepared.search_text
            bar.update(1)
        if current is not None:
            reports.append(current)
        flush()
