"""`parses` (the parser's output per document, ~8 KB a report) lives in a companion file
beside the archive, `<archive stem>.parses.db`, not in the file Datasette serves: it is
read only to derive reports and is re-derivable from the raw documents (`nianbao reparse`).

A writer's connection (archive.db.open_archive) attaches the companion as schema
`parses`; SQL naming `parses` unqualified reads and writes its table there, the served
file having none. Its rows name `documents.id` without a foreign key (SQLite's do not
cross files). A transaction writing both files is atomic per file only (WAL: no
super-journal), and the archive's file commits first: a writer killed between the two
commits (or a machine losing its last commits) may leave a document and its report
without the parse they were derived from; `nianbao reparse` parses every document again
and repairs it. Copy an archive with `copy_archive` (both files); serve the archive alone.
A plain sqlite3 reader of `parses` calls `attach(conn, create=False)`.
"""
import sqlite3
from pathlib import Path

SCHEMA = "parses"  # the companion's name on a connection to the archive
SUFFIX = ".parses.db"
CREATE = f"""create table if not exists {SCHEMA}.parses (
    document_id integer primary key,  -- documents.id of the archive beside
    parser_version text,
    result blob  -- the parse as store.compressed_parse() keeps it (zlib JSON)
)"""


def companion_path(archive: str | Path) -> Path:
    """The companion file of the archive at `archive`: nianbao.db → nianbao.parses.db."""
    archive = Path(archive)
    return archive.with_name(archive.stem + SUFFIX)


def _main_file(conn: sqlite3.Connection) -> str:
    return next(row[2] for row in conn.execute("pragma database_list") if row[1] == "main")


def attach(conn: sqlite3.Connection, create: bool = True) -> bool:
    """Attach the companion of `conn`'s archive as `parses`, creating it (WAL) and its table
    if missing; with `create` False (a reader), attach only a companion that exists.
    True when attached. An archive in memory gets a companion in memory."""
    if any(row[1] == SCHEMA for row in conn.execute("pragma database_list")):
        return True
    main = _main_file(conn)
    path = str(companion_path(main)) if main else ":memory:"
    if main and not create and not Path(path).exists():
        return False
    conn.execute(f"attach database ? as {SCHEMA}", [path])
    if not create:
        return True
    if not conn.execute(f"select 1 from {SCHEMA}.sqlite_master where name = 'parses'").fetchone():
        conn.execute(f"PRAGMA {SCHEMA}.journal_mode=WAL")
        conn.execute(CREATE)
    elif (not conn.execute("select 1 from main.sqlite_master where name = 'documents'").fetchone()
          and conn.execute(f"select 1 from {SCHEMA}.parses limit 1").fetchone()):
        conn.execute(f"detach database {SCHEMA}")
        raise sqlite3.DatabaseError(f"{path} holds the parses of an earlier archive of that name: "
                                    "move it away or delete it")
    return True


def migrate(conn: sqlite3.Connection) -> int:
    """Move the parses of an archive that kept them in its own file (before this companion)
    into the companion, then drop its table; return the rows moved. The copy commits
    before the drop, so a migration killed half-way is done again, losing nothing. The
    served file's pages are free after it, reused by later writes (VACUUM to shrink it)."""
    if not conn.execute("select 1 from main.sqlite_master where type = 'table' and name = 'parses'").fetchone():
        return 0
    with conn:
        moved = conn.execute(f"insert or replace into {SCHEMA}.parses (document_id, parser_version, result) "
                             "select document_id, parser_version, result from main.parses").rowcount
    with conn:
        conn.execute("drop table main.parses")
    return moved


def copy_archive(source: str | Path, target: str | Path) -> None:
    """Copy the archive at `source` to `target` and its companion beside it, if it has one
    (SQLite's backup: each file consistent while a writer goes on)."""
    pairs = [(source, target)]
    if companion_path(source).exists():
        pairs.append((companion_path(source), companion_path(target)))
    for origin, copy in pairs:
        reader, writer = sqlite3.connect(origin), sqlite3.connect(copy)
        try:
            reader.backup(writer)
        finally:
            reader.close()
            writer.close()
