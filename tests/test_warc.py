"""Raw responses in WARC files (archive/warc.py): a real crawl of the sample portals with
NIANBAO_WARC_DIR writes valid .warc.gz files whose SHA-256 payload digests name the
archived bytes, the database keeps where each record lies and no bytes in `blobs`;
reparse, /-/archived and load_blob read the WARCs; `nianbao migrate` moves a blob archive
into WARC keeping every SHA-256; pywb replays a report page from the CDXJ index."""
import hashlib
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import store, warc
from archive.db import open_archive
from archive.store import load_blob
from archive_fixtures import start_datasette, stop
from conftest import BIN, free_port, run_crawl
from nianbao.sample_portals.server import write_registry
from archive.db import connect as connect_archive

DERIVED = {
    "reports": "url", "report_texts": "report_id", "cells": "report_id, code", "checks": "report_id, check_id",
    "requests_table": "report_id, row_code", "active_table": "report_id, row_code",
    "appeals_table": "report_id, group_code", "bodies": "body_id",
}


def snapshot(path: Path) -> dict:
    conn = connect_archive(path)
    try:
        return {table: conn.execute(f"select * from {table} order by {order}").fetchall()
                for table, order in DERIVED.items()}
    finally:
        conn.close()


def backup(source: Path, target: Path) -> None:
    with connect_archive(source) as origin, connect_archive(target) as copy:
        origin.backup(copy)


def cells_by_url(path: Path) -> dict:
    """Every figure by (report URL, cell code): comparable across two crawls."""
    conn = connect_archive(path)
    try:
        return {(url, code): value for url, code, value in conn.execute(
            "select r.url, c.code, c.value from cells c join reports r on r.id = c.report_id")}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def warc_crawled(sample_portals, tmp_path_factory):
    """One crawl of every sample portal with its raw responses in WARC files (small
    files, so that the crawl rolls over several)."""
    folder = tmp_path_factory.mktemp("warc-crawl")
    registry = folder / "registry.csv"
    write_registry(registry, sample_portals)
    db, warc_dir = folder / "archive.db", folder / "warc"
    result = run_crawl(registry, db, "-s", f"NIANBAO_WARC_DIR={warc_dir}", "-s", "NIANBAO_WARC_MAX_BYTES=200000")
    assert result.returncode == 0, result.stderr[-3000:]
    return {"db": db, "warc_dir": warc_dir}


def test_crawl_writes_valid_warc_files_and_no_blob_bytes(warc_crawled):
    warc_dir, db = warc_crawled["warc_dir"], open_archive(warc_crawled["db"])
    files = sorted(warc_dir.glob("*.warc.gz"))
    assert len(files) > 1  # rolled over at NIANBAO_WARC_MAX_BYTES
    host_pid = {tuple(path.name.split("-")[2:-1]) for path in files}
    assert len(host_pid) == 1 and all(path.name.startswith("nianbao-") for path in files)
    responses, requests = {}, 0
    for path in files:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, check_digests=True):
                if record.rec_type == "revisit":  # bytes another URL gave first
                    assert warc.digest_hex(record.rec_headers.get_header("WARC-Payload-Digest")) in responses
                    continue
                if record.rec_type == "request":
                    requests += 1
                    assert record.http_headers.get_header("User-Agent")
                    continue
                assert record.rec_type == "response"
                payload = record.raw_stream.read()
                digest = record.rec_headers.get_header("WARC-Payload-Digest")
                assert digest.startswith("sha256:")
                assert warc.digest_hex(digest) == hashlib.sha256(payload).hexdigest()
                assert record.http_headers.get_statuscode() == "200"
                responses[hashlib.sha256(payload).hexdigest()] = (
                    record.rec_headers.get_header("WARC-Target-URI"), payload,
                    record.http_headers.get_header("Content-Type"))
    documents = db.execute("select url, sha256, content_type from documents").fetchall()
    assert documents and {sha256 for _, sha256, _ in documents} == set(responses)
    assert requests == len(responses)  # every response record with the request as sent
    for url, sha256, content_type in documents:
        assert responses[sha256][2] == content_type  # the original headers
        file, offset, length = db.execute("select file, offset, length from warc_records where sha256 = ?",
                                          [sha256]).fetchone()
        assert (warc_dir / file).exists() and offset >= 0 and length > 0
        assert load_blob(db, sha256) == responses[sha256][1]
    assert not db.execute("select 1 from blobs where content is not null or compression != 'warc'").fetchone()
    db.close()


def test_identical_bytes_at_another_url_are_a_revisit_record(tmp_path):
    db = open_archive(tmp_path / "archive.db")
    warc.attach(db, tmp_path / "warc")
    files = warc.WarcFiles(tmp_path / "warc")
    content = "<html>同一份年报</html>".encode()
    with db.conn:
        store.upsert_portals(db, [{"id": "p", "name": "样例县"}])
        for url in ("http://127.0.0.1/a.html", "http://127.0.0.1/b.html", "http://127.0.0.1/a.html"):
            store.store_document(db, url=url, content=content, portal_id="p", role="page", report_url=url,
                                 content_type="text/html", warc_files=files)
    files.close()
    with next((tmp_path / "warc").glob("*.warc.gz")).open("rb") as stream:
        records = [(record.rec_type, record.rec_headers.get_header("WARC-Target-URI"),
                    record.rec_headers.get_header("WARC-Refers-To-Target-URI"),
                    record.rec_headers.get_header("WARC-Payload-Digest")) for record in ArchiveIterator(stream)
                   if record.rec_type != "request"]
    digest = warc.payload_digest(hashlib.sha256(content).hexdigest())
    assert records == [("response", "http://127.0.0.1/a.html", None, digest),
                       ("revisit", "http://127.0.0.1/b.html", "http://127.0.0.1/a.html", digest)]
    assert load_blob(db, hashlib.sha256(content).hexdigest()) == content
    db.close()


def test_a_crawl_into_the_archive_with_another_warc_dir_is_refused(warc_crawled, sample_portals, tmp_path):
    registry = tmp_path / "registry.csv"
    write_registry(registry, sample_portals)
    copy = warc_crawled["db"].with_name("other-dir.db")
    backup(warc_crawled["db"], copy)
    result = run_crawl(registry, copy, "-s", f"NIANBAO_WARC_DIR={tmp_path / 'elsewhere'}", timeout=120)
    assert result.returncode != 0
    assert f"WARC records are in {warc_crawled['warc_dir']}" in result.stderr
    db = open_archive(copy)
    assert warc.warc_dir(db.conn).resolve() == warc_crawled["warc_dir"].resolve()
    db.close()


def test_reparse_from_warc_gives_the_tables_of_a_blob_crawl(warc_crawled, crawled, tmp_path):
    copy = warc_crawled["db"].with_name("reparsed.db")  # beside it: the WARC directory is the database's
    backup(warc_crawled["db"], copy)
    before = snapshot(copy)
    result = subprocess.run([str(BIN / "nianbao"), "reparse", str(copy), "--quiet"], capture_output=True,
                            text=True, timeout=600, cwd=tmp_path)  # run elsewhere: found from the db's folder
    assert result.returncode == 0, result.stderr[-2000:]
    assert "parse failed" not in result.stderr
    assert snapshot(copy) == before
    assert cells_by_url(copy) == cells_by_url(crawled["db"])


def test_archived_route_and_provenance_read_the_bytes_from_warc(warc_crawled):
    db = open_archive(warc_crawled["db"])
    documents = db.execute("select distinct d.sha256 from reports r join documents d on d.report_url = r.url").fetchall()
    expected = {sha256: load_blob(db, sha256) for (sha256,) in documents}
    # figures whose place is shown from the document's bytes (not from the stored text)
    figures = db.execute("select report_id, code from cell_provenance where locator like 'grid:%' or locator like 'plain:%' "
                         "group by substr(locator, 1, 4)").fetchall()
    db.close()
    assert len(figures) == 2
    process, base = start_datasette(warc_crawled["db"])
    try:
        for sha256, content in expected.items():
            with urllib.request.urlopen(f"{base}/-/archived/{sha256}", timeout=10) as response:
                assert response.read() == content
        for report_id, code in figures:
            with urllib.request.urlopen(f"{base}/-/provenance/{report_id}/{code}", timeout=30) as response:
                assert "<mark" in response.read().decode()
    finally:
        stop(process)


def test_migrate_moves_blobs_into_warc_keeping_every_sha256(crawled, tmp_path):
    original, migrated = tmp_path / "original.db", tmp_path / "migrated.db"
    for path in (original, migrated):
        backup(crawled["db"], path)
    before = snapshot(migrated)
    result = subprocess.run([str(BIN / "nianbao"), "migrate", str(migrated), "--warc-dir", str(tmp_path / "warc")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    with connect_archive(original) as conn:
        stored = conn.execute("select sum(length(content)) from blobs").fetchone()[0]
    assert migrated.stat().st_size < original.stat().st_size - stored * 0.9  # vacuumed: the bytes left the file
    old, new = open_archive(original), open_archive(migrated)
    shas = [sha256 for (sha256,) in old.execute("select sha256 from blobs")]
    assert shas and not new.execute("select 1 from blobs where content is not null").fetchone()
    for sha256 in shas:
        assert load_blob(new, sha256) == load_blob(old, sha256)
    old.close()
    new.close()
    result = subprocess.run([str(BIN / "nianbao"), "reparse", str(migrated), "--quiet"], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert snapshot(migrated) == before


def wayback_command() -> str | None:
    """pywb's `wayback` (NIANBAO_WAYBACK, or on the PATH): pywb pins its own gevent and
    Jinja, so it lives in a virtualenv of its own rather than the project's."""
    return os.environ.get("NIANBAO_WAYBACK") or shutil.which("wayback")


def test_pywb_replays_an_archived_report_page(warc_crawled, tmp_path):
    wayback = wayback_command()
    if not wayback:
        pytest.skip("pywb is not installed: `pipx install pywb` (or set NIANBAO_WAYBACK to its `wayback`)")
    result = subprocess.run([str(BIN / "nianbao"), "warc", "index", str(warc_crawled["db"]),
                             "--output", str(tmp_path / "index.cdxj")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    (tmp_path / "config.yaml").write_text(
        f"collections:\n  nianbao:\n    index_paths: {tmp_path / 'index.cdxj'}\n"
        f"    archive_paths: {warc_crawled['warc_dir']}/\n", encoding="utf-8")
    db = open_archive(warc_crawled["db"])
    url, sha256 = db.execute("select d.url, d.sha256 from reports r join documents d on d.url = r.url "
                             "where d.role = 'page' limit 1").fetchone()
    content = load_blob(db, sha256)
    db.close()
    port = free_port()
    process = subprocess.Popen([wayback, "-p", str(port), "-b", "127.0.0.1"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/nianbao/29991231id_/{url}",
                                            timeout=5) as response:
                    assert response.read() == content
                    break
            except urllib.error.URLError:
                if process.poll() is not None:
                    pytest.skip("pywb did not start: " + process.stdout.read()[-500:])
                time.sleep(0.2)
        else:
            pytest.fail("pywb did not answer")
    finally:
        process.terminate()
        process.wait(timeout=10)
