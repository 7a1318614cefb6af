"""The Redis stream between distributed crawl workers and the archive's one writer.

Workers (crawler.pipelines.StreamPipeline) never open the SQLite archive: they write raw
responses to their own WARC files and publish what they parsed to the stream
`{prefix}:items`; `nianbao ingest` (archive/ingest.py) reads it through the consumer
group GROUP, writes the archive and acknowledges an entry only after its transaction
committed, then deletes it (the stream does not grow without bound).

Every entry has one field, `event`: a JSON object with `kind` and `run_id`. The kinds:

- `portals`: a worker started: `worker` (unique per process), `portals` (its registry
  rows), `years` (the -a years filter, or null).
- `report`: a report page with its attachments, stored all together: `portal_id`,
  `documents`, each {url, portal_id, role, report_url, status, content_type,
  listing_title, listing_date, sha256, size, warc: {file, offset, length} (its WARC
  response record, file relative to the WARC directory; the record holds the HTTP
  exchange), parse: {parser_version, result (archive.store.compressed_parse, base64),
  search_text, error}}.
- `failure`: portal_id, url, stage, error (a `failures` row).
- `skipped`: portal_id, url, title, reason (a `skipped` row).
- `column`: portal_id, url, found_via, error (a `columns` answer or failure).
- `progress`: what a worker counted since its previous `progress` (additive): `worker`,
  `serial`, `counts` {portal: {count: n}} (crawler.stats counts the archive cannot tell
  from items: listings_seen, reports_found, reports_unchanged, failed, skipped,
  budget_hits), `listed` {portal: [report URLs its listings gave]}, `closed` (true in
  its last, published as it closes).
- control events of the scheduler: `portal_done` (portal_id: every item of that portal is
  in the stream), `lost` (portal_id or null, reason: the run is incomplete, that portal
  not done), `run_end` (the run has nothing left).
"""
import base64
import json

import redis

STREAM_SUFFIX = "items"
GROUP = "ingest"  # the consumer group of `nianbao ingest`
CONSUMER = "ingest"  # one writer: its unacknowledged entries are found again under this name
KINDS = ("portals", "report", "failure", "skipped", "column", "progress", "portal_done", "lost", "run_end")


def stream_key(prefix: str) -> str:
    return f"{prefix}:{STREAM_SUFFIX}"


def pack(data: bytes) -> str:
    """Bytes inside an event's JSON."""
    return base64.b64encode(data).decode("ascii")


def unpack(text: str) -> bytes:
    return base64.b64decode(text)


def publish(client: redis.Redis, prefix: str, kind: str, payload: dict) -> str:
    """Append one event to the stream; return its entry id."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    event = json.dumps({"kind": kind, **payload}, ensure_ascii=False, separators=(",", ":"))
    entry_id = client.xadd(stream_key(prefix), {"event": event})
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def ensure_group(client: redis.Redis, prefix: str) -> None:
    """The ingest's consumer group, reading the stream from its first entry."""
    try:
        client.xgroup_create(stream_key(prefix), GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def read(client: redis.Redis, prefix: str, count: int, block_ms: int | None = None,
         pending: bool = False) -> list[tuple[str, dict]]:
    """Up to `count` events as (entry id, event): with `pending`, those delivered before
    and not acknowledged (an ingest killed before its XACK); else new ones, waiting up
    to `block_ms` for them."""
    answer = client.xreadgroup(GROUP, CONSUMER, {stream_key(prefix): "0" if pending else ">"},
                               count=count, block=None if pending else block_ms)
    entries = [(entry_id.decode() if isinstance(entry_id, bytes) else entry_id, fields)
               for entry_id, fields in (answer[0][1] if answer else [])]
    gone = [entry_id for entry_id, fields in entries if not fields]  # pending, but deleted since
    if gone:
        client.xack(stream_key(prefix), GROUP, *gone)
    return [(entry_id, decode(fields)) for entry_id, fields in entries if fields]


def decode(fields: dict) -> dict:
    """An entry's event; {} for one that is none (the ingest logs and drops it)."""
    try:
        event = json.loads(fields.get(b"event", fields.get("event")))
    except (TypeError, ValueError):
        return {}
    return event if isinstance(event, dict) else {}


def acknowledge(client: redis.Redis, prefix: str, entry_ids: list[str]) -> None:
    """Acknowledge entries already written to the archive, and delete them."""
    if entry_ids:
        with client.pipeline(transaction=True) as pipe:
            pipe.xack(stream_key(prefix), GROUP, *entry_ids)
            pipe.xdel(stream_key(prefix), *entry_ids)
            pipe.execute()
