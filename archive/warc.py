"""Raw responses in WARC files (ISO 28500) instead of the `blobs` table.

With a WARC directory set (NIANBAO_WARC_DIR, or `nianbao migrate --warc-dir`), each
distinct response is written once, as a gzip-compressed WARC response record (with its
request record when the crawl had it) to rolling `.warc.gz` files, named per host,
process, start time and serial so that crawl processes on several machines never
collide. The archive database keeps where each SHA-256 lies (`warc_records`: file
relative to the WARC directory, offset, length) and a `blobs` row without content
(compression `warc`), so that `documents.sha256` still names a blob. The WARC
directory is recorded in `archive_settings` (relative to the database's folder when
beneath it), so the database and its WARCs can move together.

Payload digests are SHA-256 (`WARC-Payload-Digest: sha256:<base32>`, the labelled form
warcio and pywb read; warcio's default is SHA-1), so a record names the same hash as
`documents.sha256`.
"""
import base64
import hashlib
import io
import os
import socket
import zlib
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

MAX_BYTES = 1_000_000_000  # a WARC file is closed once it passes this size (NIANBAO_WARC_MAX_BYTES)
# the stored body is Scrapy's, already decoded: headers that described the wire form would lie
WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


class Sha256WARCWriter(WARCWriter):
    """warcio's writer with SHA-256 block and payload digests."""

    @staticmethod
    def _create_digester():
        return Digester("sha256")


def payload_digest(sha256_hex: str) -> str:
    """The WARC-Payload-Digest of bytes whose SHA-256 is `sha256_hex`."""
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def digest_hex(payload_digest_value: str) -> str:
    """The hex SHA-256 of a `sha256:<base32>` (or hex) payload digest."""
    value = payload_digest_value.split(":", 1)[1]
    return value.lower() if len(value) == 64 else base64.b32decode(value).hex()


def status_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class WarcFiles:
    """This process's rolling WARC files in `directory`."""

    def __init__(self, directory: str | Path, max_bytes: int = MAX_BYTES):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname()) or "host"
        started = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        self.prefix = f"nianbao-{started}-{host}-{os.getpid()}"
        self.serial = 0
        self.file = None
        self.name = ""

    def _roll(self) -> None:
        self.close()
        while True:  # never reuse a name (a process restarted within the same second with the same pid)
            self.serial += 1
            self.name = f"{self.prefix}-{self.serial:05d}.warc.gz"
            try:
                self.file = open(self.directory / self.name, "xb")
                break
            except FileExistsError:
                continue
        self.writer = Sha256WARCWriter(self.file, gzip=True, warc_version="1.1")

    def write(self, url: str, content: bytes, sha256: str, *, status: int = 200, content_type: str = "",
              http: dict | None = None) -> tuple[str, int, int]:
        """Write a response record (and its request record, if `http` has the request);
        return (file name, offset, length) of the response record."""
        if self.file is None or self.file.tell() >= self.max_bytes:
            self._roll()
        http = http or {}
        headers = [(name, value) for name, value in http.get("headers") or [("Content-Type", content_type)]
                   if name.lower() not in WIRE_HEADERS and value is not None]
        headers.append(("Content-Length", str(len(content))))
        reason = status_reason(status)
        protocol = http.get("protocol") or "HTTP/1.1"
        response = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(content), length=len(content),
            http_headers=StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol=protocol),
            warc_headers_dict={"WARC-Payload-Digest": payload_digest(sha256)})
        offset = self.file.tell()
        self.writer.write_record(response)
        length = self.file.tell() - offset
        request = http.get("request")
        if request:
            path = url.split("://", 1)[-1].partition("/")[1:]
            target = "".join(path) or "/"
            record = self.writer.create_warc_record(
                url, "request", payload=io.BytesIO(b""), length=0,
                http_headers=StatusAndHeaders(f"{request.get('method', 'GET')} {target} {protocol}",
                                              request.get("headers") or [], is_http_request=True),
                warc_headers_dict={"WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")})
            self.writer.write_record(record)
        self.file.flush()  # the record is on disk before the database says where it is
        return self.name, offset, length

    def revisit(self, url: str, sha256: str, refers_to: str, refers_to_date: str, status: int = 200,
                content_type: str = "") -> None:
        """A revisit record (identical payload digest): `url` gave the bytes already
        written for `refers_to`, so that a replay finds them under either URL."""
        if self.file is None or self.file.tell() >= self.max_bytes:
            self._roll()
        headers = [("Content-Type", content_type)] if content_type else []
        record = self.writer.create_revisit_record(
            url, payload_digest(sha256), refers_to, refers_to_date,
            http_headers=StatusAndHeaders(f"{status} {status_reason(status)}".strip(), headers, protocol="HTTP/1.1"))
        self.writer.write_record(record)
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def database_folder(conn) -> Path:
    """The folder of the connection's main database file."""
    file = next(row[2] for row in conn.execute("pragma database_list") if row[1] == "main")
    return Path(file).resolve().parent if file else Path.cwd()


class WarcDirError(Exception):
    """The archive's records are in another WARC directory."""


def attach(db, directory: str | Path) -> None:
    """Record `directory` as the archive's WARC directory; refuse another one than that
    of the records already written (they would no longer be found)."""
    directory = Path(directory).resolve()
    folder = database_folder(db.conn)
    value = os.path.relpath(directory, folder) if directory.is_relative_to(folder) else str(directory)
    current = warc_dir(db.conn)
    if (current is not None and current.resolve() != directory
            and db.execute("select 1 from warc_records limit 1").fetchone()):
        raise WarcDirError(f"this archive's WARC records are in {current}, not {directory}")
    with db.conn:
        db.conn.execute("insert or replace into archive_settings (name, value) values ('warc_dir', ?)", [value])


def warc_dir(conn) -> Path | None:
    row = conn.execute("select value from archive_settings where name = 'warc_dir'").fetchone()
    return database_folder(conn) / row[0] if row else None


def store(db, files: WarcFiles, url: str, content: bytes, *, status: int = 200, content_type: str = "",
          http: dict | None = None) -> str:
    """Keep `content` once, in a WARC record; return its SHA-256. Bytes already held
    (in a WARC or in `blobs`) are not written again."""
    sha256 = hashlib.sha256(content).hexdigest()
    if db.execute("select 1 from blobs where sha256 = ?", [sha256]).fetchone():
        first = db.execute("select url, fetched_at from documents where sha256 = ? order by id limit 1",
                           [sha256]).fetchone()
        if first and first[0] != url and not db.execute(
                "select 1 from documents where url = ? and sha256 = ?", [url, sha256]).fetchone():
            files.revisit(url, sha256, first[0], first[1].replace("+00:00", "Z"), status, content_type)
        return sha256
    register(db, sha256, len(content), *files.write(url, content, sha256, status=status, content_type=content_type,
                                                    http=http))
    return sha256


def register(db, sha256: str, size: int, file: str, offset: int, length: int) -> None:
    """Note bytes a distributed crawl's worker already wrote to a WARC record of the
    archive's WARC directory (archive/ingest.py), unless the archive holds them already
    (then that worker's record is a spare copy)."""
    if db.execute("select 1 from blobs where sha256 = ?", [sha256]).fetchone():
        return
    db.execute("insert into warc_records (sha256, file, offset, length) values (?, ?, ?, ?)",
               [sha256, file, offset, length])
    db.execute("insert into blobs (sha256, size, compression, content) values (?, ?, 'warc', null)", [sha256, size])


def load(conn, sha256: str) -> bytes:
    """The payload of the WARC record holding `sha256`, checked against it."""
    row = conn.execute("select file, offset, length from warc_records where sha256 = ?", [sha256]).fetchone()
    if row is None:
        raise KeyError(sha256)
    file, offset, length = row
    with open(warc_dir(conn) / file, "rb") as warc:
        warc.seek(offset)
        data = warc.read(length)
    record = next(iter(ArchiveIterator(io.BytesIO(data))))
    content = record.raw_stream.read()
    if hashlib.sha256(content).hexdigest() != sha256:
        raise ValueError(f"WARC record {file}@{offset} does not hold {sha256}")
    return content


def migrate(db, directory: str | Path, max_bytes: int = MAX_BYTES, batch: int = 200) -> int:
    """Move every blob's bytes into WARC records in `directory`; return how many. The
    original headers were not kept in `blobs`: the record has the document's status and
    content type. Safe to run again after an interruption (moved blobs are skipped)."""
    attach(db, directory)
    files = WarcFiles(directory, max_bytes)
    moved = 0
    try:
        while True:
            rows = db.execute("select sha256, content, compression from blobs where compression != 'warc' "
                              "limit ?", [batch]).fetchall()
            if not rows:
                break
            with db.conn:
                for sha256, content, compression in rows:
                    data = zlib.decompress(content) if compression == "zlib" else content
                    document = db.execute("select url, status, content_type from documents where sha256 = ? "
                                          "order by id limit 1", [sha256]).fetchone()
                    url, status, content_type = document or (f"urn:sha256:{sha256}", 200, "")
                    name, offset, length = files.write(url, data, sha256, status=status or 200,
                                                       content_type=content_type or "")
                    db.execute("insert or replace into warc_records (sha256, file, offset, length) "
                               "values (?, ?, ?, ?)", [sha256, name, offset, length])
                    db.execute("update blobs set compression = 'warc', content = null where sha256 = ?", [sha256])
                    moved += 1
    finally:
        files.close()
    db.execute("vacuum")
    return moved


def index(conn, output: str | Path | None = None) -> Path:
    """Write the sorted CDXJ index of the archive's WARC files (pywb reads it); return its path."""
    from cdxj_indexer.main import write_cdx_index

    directory = warc_dir(conn)
    if directory is None:
        raise ValueError("this archive keeps no WARC files (see nianbao migrate --warc-dir)")
    output = Path(output) if output else directory / "index.cdxj"
    inputs = sorted(str(path) for path in directory.glob("*.warc.gz"))
    write_cdx_index(str(output), inputs, {"sort": True, "dir_root": str(directory)})
    return output
