"""Rebuild every derived table from the archived documents, without the network."""
import sys

import click

import parsers
from archive import store
from archive.db import open_archive


def reparse(path: str, progress: bool = True) -> int:
    """Parse every stored report page and attachment again; return how many."""
    db = open_archive(path)
    documents = db.execute(
        "select id, url, content_type, sha256, report_url from documents "
        "where role in ('page', 'attachment') order by id"
    ).fetchall()
    report_urls = set()
    with click.progressbar(documents, label="reparsing", file=sys.stderr, hidden=not progress) as bar:
        for document_id, url, content_type, sha256, report_url in bar:
            name = url.split("?")[0].rsplit("/", 1)[-1]
            result = parsers.parse(store.load_blob(db, sha256), name=name, content_type=content_type or "")
            with db.conn:
                store.store_parse(db, document_id, result)
            report_urls.add(report_url)
    with db.conn:
        for report_url in sorted(report_urls):
            store.derive_report(db, report_url)
    return len(documents)
