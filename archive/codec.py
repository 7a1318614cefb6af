"""How the archive packs a report's text and its figures' provenance: zlib with a preset
dictionary of the national form's own words (its section, row and column labels and cell
codes), the dictionary's version in the first byte.

A report's text is ~8 KB of UTF-8 and its provenance ~14 KB of JSON, most of it labels the
form prints in every report; packed, they take ~3.1 KB and ~1.3 KB (benchmarks/archive.py).
The dictionary of a version never changes: `codec-dictionary-1.txt` is frozen, since the
packed values of every archive depend on it; a new dictionary is a new file and version.

The archive's views (`report_texts`, `cell_provenance`) unpack with the SQL function
`nianbao_unpack(blob)`, registered on every connection the archive's code opens and by the
Datasette plugin (`register`): outside them, read the packed tables with `unpack`.
"""
import json
import sqlite3
import zlib
from functools import lru_cache
from pathlib import Path

VERSION = 1
FUNCTION = "nianbao_unpack"


@lru_cache(maxsize=None)
def dictionary(version: int) -> bytes:
    path = Path(__file__).with_name(f"codec-dictionary-{version}.txt")
    if not path.is_file():
        raise ValueError(f"packed with dictionary {version}, which this nianbao does not have")
    return path.read_bytes()


def pack(text: str | None) -> bytes | None:
    """The text (or JSON) packed: version byte, then zlib with the version's dictionary."""
    if text is None:
        return None
    packer = zlib.compressobj(9, zdict=dictionary(VERSION))
    return bytes([VERSION]) + packer.compress(text.encode("utf-8")) + packer.flush()


def unpack(blob: bytes | None) -> str | None:
    if blob is None:
        return None
    if not isinstance(blob, bytes) or not blob:
        raise ValueError("not a packed value")
    unpacker = zlib.decompressobj(zdict=dictionary(blob[0]))
    return (unpacker.decompress(blob[1:]) + unpacker.flush()).decode("utf-8")


def pack_json(value) -> bytes:
    return pack(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def unpack_json(blob: bytes | None):
    text = unpack(blob)
    return None if text is None else json.loads(text)


def register(conn: sqlite3.Connection) -> None:
    """Give `conn` the SQL function the archive's views unpack with."""
    conn.create_function(FUNCTION, 1, unpack, deterministic=True)
