"""`parses` lives in a companion file beside the archive (archive/parses.py), not in the
file Datasette serves: after a real crawl, after opening an archive that kept them
inside, and through a copy; a plain reader attaches it."""
import hashlib
import sqlite3
import urllib.error
import urllib.request

import pytest

from archive import parses, store
from archive.db import ArchiveError, open_archive
from archive_fixtures import start_datasette, stop

DERIVED = {"reports": "id", "cells": "report_id, code", "checks": "report_id, check_id",
           "cell_sources": "report_id", "bodies": "body_id"}


def tables(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}


def parse_rows(conn) -> list[tuple]:
    return conn.execute("select document_id, parser_version, result from parses order by document_id").fetchall()


def digest(rows: list[tuple]) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def snapshot(db) -> dict:
    return {table: db.execute(f"select * from {table} order by {order}").fetchall() for table, order in DERIVED.items()}


def test_a_crawl_keeps_the_parses_beside_the_served_file(crawled):
    served, companion = crawled["db"], parses.companion_path(crawled["db"])
    assert companion.name == "archive.parses.db" and companion.parent == served.parent
    assert "parses" not in tables(served) and "reports" in tables(served)
    assert tables(companion) == {"parses"}
    conn = sqlite3.connect(served)
    assert parses.attach(conn, create=False)
    documents = {row[0] for row in conn.execute("select id from documents where role in ('page', 'attachment')")}
    assert documents and {row[0] for row in parse_rows(conn)} == documents
    # every report's figures come from a parse the companion holds
    assert conn.execute("select count(*) from reports r left join parses p on p.document_id = r.document_id "
                        "where p.document_id is null").fetchone() == (0,)
    with sqlite3.connect(companion) as own:
        assert own.execute("pragma journal_mode").fetchone() == ("wal",)


def test_nianbao_serve_does_not_serve_the_parses(crawled):
    process, base = start_datasette(crawled["db"])
    try:
        try:
            urllib.request.urlopen(f"{base}/{crawled['db'].stem}/parses.json", timeout=30)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == 404
        with urllib.request.urlopen(f"{base}/{crawled['db'].stem}/reports.json?_size=1", timeout=30) as response:
            assert response.status == 200
    finally:
        stop(process)


def test_an_archive_keeping_its_parses_inside_moves_them_out_losing_none(crawled, tmp_path):
    """An archive written before the companion (its `parses` in the served file) opened:
    its parses move to the companion, the same bytes, and reports derive from them as before."""
    old = tmp_path / "old.db"
    parses.copy_archive(crawled["db"], old)
    with sqlite3.connect(old) as conn:
        parses.attach(conn)
        rows = parse_rows(conn)
        conn.execute("create table main.parses (document_id integer primary key "
                     "references documents(id), parser_version text, result blob)")
        conn.execute("insert into main.parses select * from parses.parses")
    conn.close()
    parses.companion_path(old).unlink()
    assert "parses" in tables(old) and not parses.companion_path(old).exists()

    db = open_archive(old)
    assert "parses" not in tables(old)
    assert len(rows) > 20 and digest(parse_rows(db.conn)) == digest(rows)
    with sqlite3.connect(parses.companion_path(old)) as companion:
        assert digest(parse_rows(companion)) == digest(rows)
    before = snapshot(db)
    with db.conn:
        for (url,) in db.execute("select url from reports").fetchall():
            assert store.derive_report(db, url) is not None
    assert snapshot(db) == before
    db.close()
    db = open_archive(old)  # opened again: nothing more to move, nothing lost
    assert digest(parse_rows(db.conn)) == digest(rows)
    db.close()


def test_a_copy_carries_its_parses_and_a_reader_without_them_attaches_nothing(crawled, tmp_path):
    copy = tmp_path / "copy.db"
    parses.copy_archive(crawled["db"], copy)
    with sqlite3.connect(crawled["db"]) as origin, sqlite3.connect(copy) as conn:
        parses.attach(origin, create=False)
        parses.attach(conn, create=False)
        assert digest(parse_rows(conn)) == digest(parse_rows(origin))
    served_only = tmp_path / "served.db"
    with sqlite3.connect(crawled["db"]) as origin, sqlite3.connect(served_only) as target:
        origin.backup(target)
    with sqlite3.connect(served_only) as conn:
        assert not parses.attach(conn, create=False)
        assert not parses.companion_path(served_only).exists()


def test_a_new_archive_beside_an_earlier_ones_parses_is_refused(tmp_path):
    """An archive deleted without its companion: the new one of that name must not take
    parses keyed by another archive's document ids."""
    path = tmp_path / "nianbao.db"
    db = open_archive(path)
    with db.conn:
        store.store_parse(db, 1, {"title": "an earlier archive's"})
    db.close()
    for leftover in tmp_path.glob("nianbao.db*"):
        leftover.unlink()
    with pytest.raises(ArchiveError, match="nianbao.parses.db holds the parses of an earlier archive"):
        open_archive(path)
    parses.companion_path(path).unlink()
    open_archive(path).close()  # once moved away, a new archive opens
