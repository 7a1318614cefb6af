"""`nianbao ingest`: the one writer of a distributed crawl's archive.

    nianbao ingest ARCHIVE.db --redis redis://HOST:6379/0 [--prefix nianbao] [--warc-dir DIR] [--follow]

Crawl workers (`scrapy crawl portals -s NIANBAO_REDIS_URL=… -s NIANBAO_WARC_DIR=DIR`)
never open the archive: each writes the raw responses to its own WARC files and
publishes what it parsed to the Redis stream `{prefix}:items` (archive/stream.py). This
command reads that stream through a consumer group and writes the SQLite archive:
documents pointing at the workers' WARC records (DIR, shared by the workers or synced to
this machine; --warc-dir once, then the archive remembers it), their parses, the
reports, failures, skipped items and columns; a portal's yield (`crawls`) and `done`
when the scheduler says all its items are in the stream (`portal_done`); at `run_end`
the run's end (`incomplete`, with the reasons, if a `lost` event came), coverage and
flags. Then it exits, or with --follow waits for the next run.

Safe to kill at any moment, even with SIGKILL, and to start again with the same
command: an entry is acknowledged (and deleted from the stream) only after the
transaction that wrote it committed, and the entries not acknowledged are read again
first. Each event's natural key (a report's page URL and its documents' SHA-256, a
failure's URL, stage and error, a worker's progress serial …) is kept in
`ingest_applied` in that same transaction, so an entry read again, or published twice
by workers (a request run again after its lease expired), writes nothing twice.

It also mirrors the archived reports (URL → listing title and date) into the Redis hash
`{prefix}:archived`, which the workers' incremental skip reads instead of the archive.
"""
import hashlib
import json
import logging
import time

import redis
import sqlite_utils

from archive import coverage, flags, revisions, runs, store, stream, warc
from archive.columns import column_answered, column_failed
from parsers.workers import one_line

logger = logging.getLogger(__name__)
ARCHIVED_SUFFIX = "archived"  # {prefix}:archived: report page URL → [listing title, listing date]
BATCH = 200  # entries per transaction
PROGRESS_SECONDS = 2.0
DRAIN_SECONDS = 5.0  # after a run_end, how long a worker's last progress is waited for
# failures that cost a report's own documents, not the walk of its column (as crawler.pipelines)
DOCUMENT_STAGES = ("report", "attachment", "parse")
# the crawls counts the workers count (progress events); reports_new is the archive's own
WORKER_COUNTS = ("listings_seen", "reports_found", "reports_unchanged", "failed", "skipped", "budget_hits")

SCHEMA = [
    # natural keys of the events written (see event_key), kept until the run's end
    """create table if not exists ingest_applied (key text primary key, run_id text not null) without rowid""",
    # a run as the ingest sees it: the -a years filter of its workers, what was lost
    """create table if not exists ingest_runs (run_id text primary key, years text,
                                              lost text not null default '')""",
    # a portal's yield in a run, summed from the workers' progress and the reports stored
    f"""create table if not exists ingest_yields (
            run_id text not null, portal_id text not null,
            {', '.join(f'{name} integer not null default 0' for name in (*WORKER_COUNTS, 'reports_new'))},
            walk_faults integer not null default 0, lost integer not null default 0,
            primary key (run_id, portal_id))""",
    # the workers of a run, and whether each published its last progress (as it closed)
    """create table if not exists ingest_workers (run_id text not null, worker text not null,
                                                 closed integer not null default 0,
                                                 primary key (run_id, worker)) without rowid""",
    # report URLs a portal's listings gave in a run, until it is done (reports no longer listed)
    """create table if not exists ingest_listed (run_id text not null, portal_id text not null, url text not null,
                                                primary key (run_id, portal_id, url)) without rowid""",
]


class IngestError(Exception):
    """Bad input: an unreachable Redis, an archive without its WARC directory."""


def archived_key(prefix: str) -> str:
    return f"{prefix}:{ARCHIVED_SUFFIX}"


def event_key(event: dict) -> str:
    """What makes an event the same event, whichever entry carries it."""
    kind = event["kind"]
    if kind == "report":
        identity = [[document["url"], document["sha256"]] for document in event["documents"]]
    elif kind in ("portals", "progress"):
        identity = [event["worker"], event.get("serial")]
    elif kind == "failure":
        identity = [event["portal_id"], event["url"], event["stage"], event["error"]]
    elif kind == "skipped":
        identity = [event["url"], event["reason"]]
    elif kind == "column":
        identity = [event["portal_id"], event["url"], event["error"]]
    elif kind == "lost":
        identity = [event.get("portal_id"), event.get("reason")]
    else:  # portal_done
        identity = [event.get("portal_id")]
    text = json.dumps([event["run_id"], kind, identity], ensure_ascii=False)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def open_ingest(db: sqlite_utils.Database, warc_dir: str | None) -> None:
    """The ingest's own tables; the WARC directory the workers write to."""
    with db.conn:
        for sql in SCHEMA:
            db.execute(sql)
    if warc_dir:
        try:
            warc.attach(db, warc_dir)
        except warc.WarcDirError as error:
            raise IngestError(str(error)) from error
    elif warc.warc_dir(db.conn) is None:
        raise IngestError("this archive has no WARC directory yet: give the workers' one with --warc-dir")


def _yield_row(db, run_id: str, portal_id: str) -> None:
    db.execute("insert or ignore into ingest_yields (run_id, portal_id) values (?, ?)", [run_id, portal_id])


def _add(db, run_id: str, portal_id: str, **counts: int) -> None:
    _yield_row(db, run_id, portal_id)
    db.execute(f"update ingest_yields set {', '.join(f'{name} = {name} + ?' for name in counts)} "
               "where run_id = ? and portal_id = ?", [*counts.values(), run_id, portal_id])
    _update_crawl(db, run_id, portal_id)


def _update_crawl(db, run_id: str, portal_id: str) -> None:
    """A worker's last progress may come after the portal is done: its crawls row follows."""
    row = db.execute("select crawl_id from run_portals where run_id = ? and portal_id = ? and crawl_id is not null",
                     [run_id, portal_id]).fetchone()
    if row:
        columns = (*WORKER_COUNTS, "reports_new")
        db.execute(f"update crawls set ({', '.join(columns)}) = (select {', '.join(columns)} from ingest_yields "
                   "where run_id = ? and portal_id = ?) where id = ?", [run_id, portal_id, row[0]])


def apply_portals(db, event: dict) -> None:
    """A worker started: its registry rows, and the run it works on (one more process)."""
    store.upsert_portals(db, event["portals"])
    runs.start_run(db, event["run_id"], [portal["id"] for portal in event["portals"]])
    db.execute("insert into ingest_runs (run_id, years) values (?, ?) on conflict (run_id) do update "
               "set years = excluded.years", [event["run_id"], event.get("years")])
    db.execute("insert or ignore into ingest_workers (run_id, worker) values (?, ?)",
               [event["run_id"], event["worker"]])


def workers_closed(db, run_id: str) -> bool:
    return not db.execute("select 1 from ingest_workers where run_id = ? and not closed", [run_id]).fetchone()


def store_held_document(db, document: dict, run_id: str) -> int:
    """Archive one fetched response whose bytes a worker wrote to a WARC record; return
    its document id (as store.store_document, without the bytes)."""
    record_at = document.get("warc")
    if record_at:
        warc.register(db, document["sha256"], document["size"], record_at["file"], record_at["offset"],
                      record_at["length"])
    elif not db.execute("select 1 from blobs where sha256 = ?", [document["sha256"]]).fetchone():
        raise ValueError(f"{document['url']}: no WARC record, and the archive does not hold {document['sha256']}")
    record = {key: document[key] for key in ("url", "report_url", "portal_id", "role", "status", "content_type",
                                             "sha256", "size", "listing_title", "listing_date")}
    record["fetched_at"] = store.now()
    return store.record_document(db, record, run_id)


def apply_report(db, event: dict) -> None:
    """Attachments, then the page, then the derived report (as ArchivePipeline)."""
    run_id = event["run_id"]
    page = next(document for document in event["documents"] if document["role"] == "page")
    is_new = store.document_sha256(db, page["url"]) is None
    for document in [*(d for d in event["documents"] if d is not page), page]:
        document_id = store_held_document(db, document, run_id)
        parse = document["parse"]
        store.store_parses(db, [(document_id, parse["parser_version"], stream.unpack(parse["result"]))])
        if parse["error"]:
            store.record_failure(db, portal_id=document["portal_id"], url=document["url"], stage="parse",
                                 error=parse["error"])
    store.derive_report(db, page["url"], {document["url"]: document["parse"]["search_text"]
                                          for document in event["documents"]})
    revisions.record_changes(db, page["url"])
    db.execute("insert or ignore into ingest_listed (run_id, portal_id, url) values (?, ?, ?)",
               [run_id, page["portal_id"], page["url"]])
    _add(db, run_id, page["portal_id"], reports_new=int(is_new))


def apply_failure(db, event: dict) -> None:
    store.record_failure(db, portal_id=event["portal_id"], url=event["url"], stage=event["stage"],
                         error=event["error"])
    if event["stage"] not in DOCUMENT_STAGES:
        _add(db, event["run_id"], event["portal_id"], walk_faults=1)
    elif event["stage"] == "report":  # listed, though not fetched
        db.execute("insert or ignore into ingest_listed (run_id, portal_id, url) values (?, ?, ?)",
                   [event["run_id"], event["portal_id"], event["url"]])


def apply_skipped(db, event: dict) -> None:
    store.record_skipped(db, url=event["url"], portal_id=event["portal_id"], title=event["title"],
                         reason=event["reason"])


def apply_column(db, event: dict) -> None:
    if event["error"]:
        column_failed(db, portal_id=event["portal_id"], url=event["url"], error=event["error"])
    else:
        column_answered(db, portal_id=event["portal_id"], url=event["url"], found_via=event["found_via"])


def apply_progress(db, event: dict) -> None:
    """A worker's counts add to its portals' yields. The report URLs its listings gave
    are kept until the portal is done; given after (a worker publishes them every
    second), they are listed all the same: not removed."""
    run_id = event["run_id"]
    if event.get("closed"):
        db.execute("insert into ingest_workers (run_id, worker, closed) values (?, ?, 1) "
                   "on conflict (run_id, worker) do update set closed = 1", [run_id, event["worker"]])
    for portal_id, counts in event.get("counts", {}).items():
        _add(db, run_id, portal_id, **{name: counts.get(name, 0) for name in WORKER_COUNTS})
    for portal_id, urls in event.get("listed", {}).items():
        if db.execute("select 1 from run_portals where run_id = ? and portal_id = ? and status = 'done'",
                      [run_id, portal_id]).fetchone():
            db.conn.executemany("update reports set removed_at = null, removed_run = null "
                                "where portal_id = ? and url = ? and removed_at is not null",
                                [(portal_id, url) for url in urls])
        else:
            db.conn.executemany("insert or ignore into ingest_listed (run_id, portal_id, url) values (?, ?, ?)",
                                [(run_id, portal_id, url) for url in urls])


def apply_lost(db, event: dict) -> None:
    """Something lost without a record: the run is incomplete, the portal not done."""
    run_id, portal_id = event["run_id"], event.get("portal_id")
    _lose(db, run_id, portal_id, event.get("reason") or "lost without a record")


def _lose(db, run_id: str, portal_id: str | None, reason: str) -> None:
    db.execute("insert into ingest_runs (run_id, lost) values (?, ?) on conflict (run_id) do update set lost = "
               "case when lost = '' then excluded.lost else lost || '; ' || excluded.lost end", [run_id, reason])
    if portal_id:
        _add(db, run_id, portal_id, lost=1)


def apply_portal_done(db, event: dict) -> None:
    """The portal's yield (`crawls`); done unless anything of it was lost; its reports
    no longer listed, as ArchivePipeline._mark_removed."""
    run_id, portal_id = event["run_id"], event["portal_id"]
    _yield_row(db, run_id, portal_id)
    started_at = (db.execute("select started_at from runs where id = ?", [run_id]).fetchone() or [None])[0]
    counts = dict(zip((*WORKER_COUNTS, "reports_new", "walk_faults", "lost"), db.execute(
        f"select {', '.join(WORKER_COUNTS)}, reports_new, walk_faults, lost from ingest_yields "
        "where run_id = ? and portal_id = ?", [run_id, portal_id]).fetchone()))
    crawl_id = store.record_crawl(db, {"portal_id": portal_id, "started_at": started_at, "finished_at": store.now(),
                                       **{name: counts[name] for name in (*WORKER_COUNTS, "reports_new")}})
    if counts["lost"]:
        db.execute("update run_portals set crawl_id = ? where run_id = ? and portal_id = ?",
                   [crawl_id, run_id, portal_id])
        return
    runs.portal_done(db, run_id, portal_id, crawl_id)
    listed = {url for (url,) in db.execute("select url from ingest_listed where run_id = ? and portal_id = ?",
                                           [run_id, portal_id])}
    db.execute("delete from ingest_listed where run_id = ? and portal_id = ?", [run_id, portal_id])
    run = db.execute("select years, lost from ingest_runs where run_id = ?", [run_id]).fetchone()
    if (run and (run[0] or run[1])) or counts["walk_faults"] or counts["budget_hits"]:
        return
    removed = revisions.mark_removed(db, portal_id, listed, run_id)
    if removed:
        logger.info("%s: %d archived reports no longer listed, marked removed", portal_id, removed)


APPLY = {"portals": apply_portals, "report": apply_report, "failure": apply_failure, "skipped": apply_skipped,
         "column": apply_column, "progress": apply_progress, "lost": apply_lost, "portal_done": apply_portal_done}


def apply_entries(db, entries: list[tuple[str, dict]]) -> list[dict]:
    """Write the events in one transaction, each not written before; return the report
    events written. An event that cannot be written costs itself only: it is rolled
    back, logged, and its run is incomplete saying so."""
    reports = []
    with db.atomic():
        for entry_id, event in entries:
            if event.get("kind") not in APPLY or not event.get("run_id"):
                logger.error("stream entry %s is no event of a run (kind %r): left out", entry_id, event.get("kind"))
                continue
            key = event_key(event)
            if db.execute("select 1 from ingest_applied where key = ?", [key]).fetchone():
                continue
            try:
                with db.atomic():
                    APPLY[event["kind"]](db, event)
            except Exception as error:
                why = f"stream entry {entry_id} ({event.get('kind')}) not stored: {one_line(error)}"
                logger.error("run %s: %s", event.get("run_id"), why)
                _lose(db, event["run_id"], event.get("portal_id"), why)
            else:
                if event["kind"] == "report":
                    reports.append(event)
            db.execute("insert into ingest_applied (key, run_id) values (?, ?)", [key, event["run_id"]])
    return reports


def end_run(db, run_id: str) -> tuple[str, str]:
    """The run's end: its status (incomplete with what was lost, or with the portals not
    done), then coverage and flags, as ArchivePipeline._end. Safe to repeat."""
    if not db.execute("select 1 from runs where id = ?", [run_id]).fetchone():
        return "unknown", "no worker's start of this run was read by this archive's ingest"
    lost = (db.execute("select lost from ingest_runs where run_id = ?", [run_id]).fetchone() or [""])[0]
    with db.conn:
        result = runs.end_run(db, run_id, lost)
    try:
        coverage.refresh(db)
        flags.refresh(db)
    except Exception as error:
        why = f"coverage and flags not refreshed: {one_line(error)}"
        logger.error("run %s: %s", run_id, why)
        with db.conn:
            result = runs.end_run(db, run_id, "; ".join(filter(None, [lost, why])))
    with db.conn:  # the run's keys are no longer needed: its entries are all acknowledged
        db.execute("delete from ingest_applied where run_id = ?", [run_id])
    return result


def mirror_archived(client: redis.Redis, prefix: str, reports: list[tuple[str, str, str]]) -> None:
    """(page URL, listing title, listing date) of archived reports into {prefix}:archived."""
    for start in range(0, len(reports), 1000):
        client.hset(archived_key(prefix), mapping={
            url: json.dumps([title or "", date or ""], ensure_ascii=False) for url, title, date in
            reports[start:start + 1000]})


def is_run_end(event: dict) -> bool:
    return event.get("kind") == "run_end" and bool(event.get("run_id"))


def mirrored_reports(client: redis.Redis, prefix: str) -> dict[str, tuple[str, str]]:
    """The archived reports as mirrored in {prefix}:archived (store.archived_reports' shape):
    what a distributed crawl's worker skips without opening the archive."""
    return {url.decode(): tuple(json.loads(listing)) for url, listing in client.hgetall(archived_key(prefix)).items()}


def ingest(db: sqlite_utils.Database, client: redis.Redis, prefix: str, follow: bool = False, batch: int = BATCH,
           block_ms: int = 1000, drain: float = DRAIN_SECONDS, progress: bool = True) -> list[tuple[str, str, str]]:
    """Write the stream's events into the archive until a run ends (for ever with
    `follow`); return the runs ended as (run id, status, reason). A run ends once its
    `run_end` is read and every worker that worked on it published its last progress
    (as it closes, after the scheduler's run_end), or after `drain` seconds without an
    entry (a worker killed never will)."""
    stream.ensure_group(client, prefix)
    mirror_archived(client, prefix, [(url, *listing) for url, listing in store.archived_reports(db).items()])
    ended, written, pending = [], 0, True
    ending: dict[str, str] = {}  # run id → the entry id of its run_end, not yet acknowledged
    started = shown = last_entry = time.monotonic()
    while not ended or follow:
        entries = stream.read(client, prefix, batch, min(block_ms, 200) if ending else block_ms, pending=pending)
        if pending and not entries:
            pending = False  # the entries an earlier ingest did not acknowledge are written
            continue
        if entries:
            last_entry = time.monotonic()
        events = [(entry_id, event) for entry_id, event in entries if not is_run_end(event)]
        reports = apply_entries(db, events)
        mirror_archived(client, prefix, [(document["url"], document["listing_title"], document["listing_date"])
                                         for event in reports for document in event["documents"]
                                         if document["role"] == "page"])
        stream.acknowledge(client, prefix, [entry_id for entry_id, _ in events])
        for entry_id, event in entries:
            if is_run_end(event):
                if event["run_id"] in ending:  # published twice
                    stream.acknowledge(client, prefix, [entry_id])
                else:
                    ending[event["run_id"]] = entry_id
        for run_id, entry_id in list(ending.items()):
            if workers_closed(db, run_id) or time.monotonic() - last_entry >= drain:
                status, reason = end_run(db, run_id)
                ended.append((run_id, status, reason))
                stream.acknowledge(client, prefix, [entry_id])
                del ending[run_id]
                logger.info("run %s ended: %s%s", run_id, status, f" ({reason})" if reason else "")
        written += len(entries)
        if progress and time.monotonic() - shown >= PROGRESS_SECONDS:
            shown = time.monotonic()
            logger.info("ingest: %d entries written (%.0f/s), %d waiting in the stream", written,
                        written / (shown - started), client.xlen(stream.stream_key(prefix)))
    return ended


def connect(url: str) -> redis.Redis:
    """A Redis client, or IngestError saying why not."""
    try:
        client = redis.Redis.from_url(url)
        client.ping()
    except (ValueError, redis.RedisError) as error:
        raise IngestError(f"cannot reach Redis at {url}: {one_line(error)}") from error
    return client

