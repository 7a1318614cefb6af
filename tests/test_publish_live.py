"""`nianbao serve` on an archive that a crawl is writing: a real crawl of the sample
portals, slowed so that it lasts, while a real Datasette answers hundreds of queries.
Every answer must be right for some committed state of the archive, and never older
than the one before (counts never go backwards), and the last must see the whole crawl.
The write-ahead log is checkpointed into the database file every half second, as a long
crawl's own writes do every 1000 pages: readers must go on reading through it."""
import json
import threading
import urllib.error
import urllib.request

from archive.db import open_archive
from archive_fixtures import start_datasette, stop
from conftest import run_crawl
from nianbao.sample_portals.server import write_registry
from archive.db import connect as connect_archive

MIN_QUERIES = 200


def _count(base: str, query: str):
    """(name of the figure, its value or None) answered by one request; raises on any error."""
    url = base + query
    with urllib.request.urlopen(url, timeout=30) as response:
        data = json.loads(response.read())
    if isinstance(data, dict) and data.get("ok") is False:
        raise AssertionError(f"{url}: {data.get('error')}")
    if query.startswith(".json?sql="):
        return query, data[0]["n"]
    if query == ".json":  # the database page: Datasette's table counts (5 ms each, None if slower)
        return query, {table["name"]: table["count"] for table in data["tables"]}["reports"]
    return query, data["filtered_table_rows_count"]


QUERIES = [
    ".json?sql=select+count(*)+as+n+from+reports+join+report_texts+on+report_id+=+id&_shape=array",
    "/reports.json?_size=0",  # its count and the four default facets
    "/cells.json?_size=1",
    ".json",
    "/reports.json?_search=%E5%A4%8D%E8%AE%AE&_size=0",  # 复议: the search index grows with the reports
]


def _checkpoint_until(db, done: threading.Event) -> None:
    with connect_archive(db) as conn:
        while not done.wait(0.5):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def test_serving_while_a_crawl_writes(sample_portals, tmp_path):
    db = tmp_path / "archive.db"
    open_archive(db).conn.close()  # an empty archive, served before the crawl starts
    registry = tmp_path / "registry.csv"
    write_registry(registry, sample_portals)
    process, base = start_datasette(db)
    base = f"{base}/{db.stem}"
    crawl, crawled = {}, threading.Event()
    writer = threading.Thread(target=lambda: crawl.setdefault(
        "result", run_crawl(registry, db, "-s", "DOWNLOAD_DELAY=0.1")))
    checkpoints = threading.Thread(target=_checkpoint_until, args=(db, crawled))
    try:
        writer.start()
        checkpoints.start()
        answers, errors, backwards = 0, [], []
        last, served = {}, set()
        while writer.is_alive() or answers < MIN_QUERIES:
            for query in QUERIES:
                try:
                    name, value = _count(base, query)
                except (OSError, AssertionError, urllib.error.HTTPError) as error:
                    errors.append(f"{query}: {error}")
                    continue
                answers += 1
                if value is None:
                    continue
                if value < last.get(name, 0):
                    backwards.append(f"{name}: {last[name]} -> {value}")
                last[name] = value
                if name == QUERIES[0]:
                    served.add(value)
        writer.join()
        crawled.set()
        checkpoints.join()
        assert crawl["result"].returncode == 0, crawl["result"].stderr[-2000:]
        assert answers >= MIN_QUERIES
        assert errors == []
        assert backwards == []
        assert len(served) > 2, served  # states between the empty archive and the crawl's end were served
        # the crawl's end is seen, without a restart
        with connect_archive(db) as conn:
            reports = conn.execute("select count(*) from reports").fetchone()[0]
            cells = conn.execute("select count(*) from cells").fetchone()[0]
        assert reports > 0 and cells > 0
        assert _count(base, QUERIES[0])[1] == reports
        assert _count(base, QUERIES[1])[1] == reports
        assert _count(base, QUERIES[2])[1] == cells
    finally:
        crawled.set()
        stop(process)
