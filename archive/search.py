"""Chinese full-text search that works through Datasette's ordinary search box.

SQLite's unicode61 tokenizer keeps a run of Chinese characters as one token, so
"复议" never matches a sentence containing 行政复议. We index `segment(text)`, where
every CJK character stands alone between spaces (unicode61 then makes each one a
token), and Datasette's `escape_fts()`, which it applies to every `?_search=`, is
replaced (see plugins/nianbao_archive.py) by one that segments each quoted phrase the
same way: "复议" becomes the phrase "复 议", i.e. the two characters adjacent — a
substring match of any length, with no dictionary to miss words.

The FTS5 table is contentless (the text is already in `reports`), so a row is removed
by replaying the exact segmented values it was indexed with.
"""
import re
import unicodedata

import sqlite_utils

FTS_TABLE = "reports_fts"
CREATE = (f"create virtual table if not exists {FTS_TABLE} using fts5("
          "title, body, content='', tokenize='unicode61 remove_diacritics 2')")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_PIECES = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")  # one CJK character, or a run of anything else
_BITS = re.compile(r'\s+|(".*?")')  # the same split as datasette.utils.escape_fts


def segment(text: str | None) -> str:
    """NFKC-normalised text with every CJK character set apart by spaces."""
    return " ".join(_PIECES.findall(unicodedata.normalize("NFKC", text or "")))


def escape_fts(query: str) -> str:
    """Datasette's escape_fts (each bare word or quoted phrase becomes one FTS5 phrase),
    with every phrase segmented like the index."""
    if query.count('"') % 2:
        query += '"'
    phrases = (segment(bit.strip('"')).replace('"', "") for bit in _BITS.split(query) if bit)
    return " ".join(f'"{phrase}"' for phrase in phrases if phrase)


def reindex(db: sqlite_utils.Database, report_id: int, old: tuple | None, new: tuple) -> None:
    """Replace one report's entry; `old` is its (title, body) as last indexed, or None."""
    if old is not None:
        db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, title, body) values ('delete', ?, ?, ?)",
                   [report_id, segment(old[0]), segment(old[1])])
    db.execute(f"insert into {FTS_TABLE}(rowid, title, body) values (?, ?, ?)",
               [report_id, segment(new[0]), segment(new[1])])
