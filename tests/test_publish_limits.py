"""One hostile request must not take the published archive down: through a real
Datasette (`nianbao serve`) on a copy of the crawled archive, queries that would build
huge values or huge results answer an error at once, the server's memory stays small
(its peak resident size, VmHWM of /proc/<pid>/status), and it answers on afterwards;
no absolute path of the archive or of Python is published."""
import json
import os
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlite_utils

from archive.store import store_blob
from archive_fixtures import get_json, quote, start_datasette, stop
from conftest import REPO
from archive.db import connect as connect_archive

PEAK_KB = 250_000  # the server answering ordinary pages stays under ~100 MB


def datasette_pid(process) -> int:
    """`nianbao serve` runs Datasette as its child: that child's pid."""
    children = open(f"/proc/{process.pid}/task/{process.pid}/children").read().split()
    return int(children[0])


def memory_kb(pid: int, field: str = "VmHWM") -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def fetch(url: str, timeout: float = 60) -> tuple[int, bytes, float]:
    """(status, body, seconds), errors included."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.monotonic() - started


@pytest.fixture(scope="module")
def big_document():
    """2 MB of incompressible bytes: an archived document larger than a visitor's query may return."""
    return os.urandom(2_000_000)


@pytest.fixture(scope="module")
def large_document():
    """16 MB, as a scanned report's PDF may be."""
    return os.urandom(16_000_000)


@pytest.fixture(scope="module")
def site(crawled, big_document, large_document, tmp_path_factory):
    folder = tmp_path_factory.mktemp("limits")
    db = folder / "archive.db"
    with connect_archive(crawled["db"]) as source, connect_archive(db) as copy:
        source.backup(copy)
    archive = sqlite_utils.Database(db)
    big, large = store_blob(archive, big_document), store_blob(archive, large_document)
    archive.conn.commit()
    archive.conn.close()
    process, base = start_datasette(db)
    yield {"base": base, "db": f"{base}/{db.stem}", "pid": datasette_pid(process), "path": db,
           "big_sha256": big, "large_sha256": large}
    stop(process)


MANY_COLUMNS = ", ".join(["zeroblob(900000)"] * 70)
LONG_TEXT = "replace(hex(zeroblob(490000)), '0', 'a')"  # 980,000 characters, under the value limit
HOSTILE = {
    "zeroblob": "select zeroblob(50000000)",
    "randomblob": "select randomblob(50000000)",
    "replace": "select replace(hex(zeroblob(5000000)), '0', '0123456789')",
    "printf": "select printf('%.*c', 50000000, 'x') as s",
    "doubling_cte": ("with recursive r(s) as (select 'x' union all select s || s from r "
                     "where length(s) < 100000000) select max(length(s)), s from r"),
    "many_rows": "select zeroblob(900000) from cells limit 60",
    "many_columns": f"select {MANY_COLUMNS}",
    "group_concat": "select group_concat(hex(randomblob(100000))) from (select * from cells limit 300)",
    # one function call, which no time limit stops, comparing a long pattern at every position
    "like": f"select {LONG_TEXT} like '%' || replace(hex(zeroblob(2500)), '0', 'a') || 'b%'",
    "instr": f"select instr({LONG_TEXT}, replace(hex(zeroblob(100000)), '0', 'a') || 'b')",
    "printf_repeat": "select printf('%.*c', 2147483647, 'x') as s",
    "printf_blob_format": "select printf(x'252e2a63', 2147483647, 'x') as s",  # the same format, as a blob
}


# the HTML page shows a blob as its length: only the queries building strings are hostile there
CASES = [(".json", name) for name in HOSTILE] + [("", name) for name in ("replace", "printf", "doubling_cte",
                                                                        "group_concat")]


@pytest.mark.parametrize("extension, name", CASES)
def test_huge_results_fail_at_once_and_memory_stays_small(site, name, extension):
    status, body, seconds = fetch(f"{site['db']}{extension}?sql={quote(HOSTILE[name])}")
    assert seconds < 5, f"{name} took {seconds:.1f} s"
    assert len(body) < 100_000, f"{name}: {len(body)} bytes answered"
    if extension == ".json":
        data = json.loads(body)
        # an error, or (printf) a null where the value would be over the limit
        assert status == 400 and data["ok"] is False or data["rows"] == [[None]], (status, body[:300])
        if status == 400:
            assert data["error"]
    assert memory_kb(site["pid"]) < PEAK_KB, f"after {name}: peak {memory_kb(site['pid'])} kB"
    assert get_json(f"{site['base']}/-/versions.json")["datasette"]["version"]


def test_errors_say_what_the_limit_is(site):
    data = json.loads(fetch(f"{site['db']}.json?sql={quote(HOSTILE['zeroblob'])}")[1])
    assert data["error"] == "string or blob too big"
    data = json.loads(fetch(f"{site['db']}.json?sql={quote(HOSTILE['many_rows'])}")[1])
    assert data["error"].startswith("result too large")
    # a stored value over the limit asked for on a table page: a 400 naming the limit, not a 500
    status, body, _ = fetch(f"{site['db']}/blobs.json?sha256={site['big_sha256']}&_col=content")
    assert status == 400 and "at most 1,000,000 bytes" in json.loads(body)["error"]


def test_pages_of_stored_bytes_leave_them_out(site):
    """A page of `blobs` (one 2 MB document among them) answers, without the bytes."""
    data = get_json(f"{site['db']}/blobs.json?_size=max")
    assert "content" not in data["columns"] and site["big_sha256"] in {row[0] for row in data["rows"]}
    status, body, _ = fetch(f"{site['db']}/blobs?_sort_desc=size")
    assert status == 200 and site["big_sha256"] in body.decode()
    assert "body" not in get_json(f"{site['db']}/report_bodies.json")["columns"]  # packed texts


def test_archived_copy_is_whole_beyond_the_limit(site, big_document):
    """Our own read of one archived document is not cut by the visitors' limits."""
    status, body, _ = fetch(f"{site['base']}/-/archived/{site['big_sha256']}")
    assert status == 200 and body == big_document


def test_archived_copies_are_streamed(site, large_document):
    """Eight slow clients reading a 16 MB archived document at once: the server holds a
    chunk for each, not the document (compressed and inflated) for each."""
    url = f"{site['base']}/-/archived/{site['large_sha256']}"

    def read_slowly(_):
        with urllib.request.urlopen(url, timeout=120) as response:
            first = response.read(1 << 16)
            time.sleep(1)
            return first + response.read()

    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(read_slowly, range(8)))
    assert all(body == large_document for body in bodies)
    assert memory_kb(site["pid"]) < PEAK_KB, f"peak {memory_kb(site['pid'])} kB"


def test_facets_per_page_are_bounded(site):
    columns = ["title", "url", "agency", "body_name", "division_code", "published", "source_url", "sha256",
               "error"]
    query = "&".join(f"_facet={column}" for column in columns)
    status, body, seconds = fetch(f"{site['db']}/reports.json?{query}")
    assert status == 400 and "facets" in json.loads(body)["error"]
    # a facet on whole texts would repeat each as value, label and URL
    status, body, seconds = fetch(f"{site['db']}/report_texts.json?_facet=body&_facet_size=max")
    assert status == 400 and "cannot be faceted" in json.loads(body)["error"]
    assert get_json(f"{site['db']}/reports.json?_facet=agency&_size=0")["facet_results"]["agency"]


ENDPOINTS = ["/-/databases", "/-/databases.json", "/-/threads", "/-/threads.json", "/-/versions",
             "/-/versions.json", "/-/plugins", "/-/plugins.json", "/-/settings.json", "/-/metadata.json",
             "/", "/.json", "/{db}", "/{db}.json", "/{db}/reports", "/{db}/reports.json",
             "/{db}.json?sql=" + quote("select * from pragma_database_list"),
             "/{db}?sql=" + quote("select file from pragma_database_list()")]


def test_no_absolute_path_is_published(site):
    name = site["path"].stem
    paths = {str(site["path"].parent), str(REPO), sys.prefix, sys.base_prefix, os.path.expanduser("~")}
    shown = []
    for endpoint in ENDPOINTS:
        status, body, _ = fetch(site["base"] + endpoint.format(db=name))
        assert status == 200, endpoint
        text = body.decode("utf-8")
        shown += [(endpoint, path) for path in paths if path in text or json.dumps(path)[1:-1] in text]
    assert shown == []
