"""Chinese full-text search that works through Datasette's ordinary search box.

SQLite's unicode61 tokenizer keeps a run of Chinese characters as one token, so
"复议" never matches a sentence containing 行政复议. We index `segment(text)`, where
every run of CJK characters becomes its overlapping character pairs (bigrams) plus
its last character alone — 行政复议 → "行政 政复 复议 议" — and Datasette's
`escape_fts()`, which it applies to every `?_search=`, is replaced (see
plugins/nianbao_archive.py) by one that turns each word or quoted phrase into the same
tokens, all required: "复议" becomes the token "复议", 不予公开 the tokens "不予" "予公"
"公开", a single character 复 the prefix query "复"*. A two-character word is exactly a
substring match; a longer one matches a text holding all its character pairs, which is
nearly always the word itself (benchmarks/archive.py counts how often it is not).

The index keeps no positions (detail=none): 1.3 KB a report instead of 9 KB, so an
archive of a million reports stays small. The price is phrase adjacency, above. A
common two-character term is one token of the index, not two very frequent ones to
intersect.

Whitespace between two CJK characters is ignored (PDF text breaks lines mid-word);
punctuation ends a run. The FTS5 table is contentless (the title is in `reports`, the
text in `report_texts`), rowid = reports.id, so a row is removed by replaying the exact
segmented values it was indexed with. Datasette searches it from the `reports` page
(metadata fts_table/fts_pk).
"""
import re
import unicodedata

import sqlite_utils

FTS_TABLE = "reports_fts"
CREATE = (f"create virtual table if not exists {FTS_TABLE} using fts5("
          "title, body, content='', detail=none, tokenize='unicode61 remove_diacritics 2')")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# a run of CJK characters (whitespace inside it dropped), or a run of anything else
_PIECES = re.compile(f"[{_CJK}](?:\\s*[{_CJK}])*|[^\\s{_CJK}]+")
_IS_CJK = re.compile(f"[{_CJK}]")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")
_BITS = re.compile(r'\s+|(".*?")')  # the same split as datasette.utils.escape_fts


def _pieces(text: str | None) -> list[tuple[bool, str]]:
    """(is a CJK run, piece) of the NFKC-normalised text."""
    return [(True, _SPACE.sub("", piece)) if _IS_CJK.match(piece) else (False, piece)
            for piece in _PIECES.findall(unicodedata.normalize("NFKC", text or ""))]


def _pairs(run: str) -> list[str]:
    return [run[i:i + 2] for i in range(len(run) - 1)]


def segment(text: str | None) -> str:
    """The text as indexed: each CJK run as its bigrams and its last character."""
    return " ".join(" ".join([*_pairs(piece), piece[-1]]) if cjk else piece for cjk, piece in _pieces(text))


def phrase(text: str) -> str:
    """The FTS5 query matching a segmented text that holds every token of `text` (each a
    quoted string, so implicitly ANDed: the index keeps no positions)."""
    pieces = _pieces(text.replace('"', ""))
    tokens = []
    for position, (cjk, piece) in enumerate(pieces):
        last = position == len(pieces) - 1
        if not cjk:  # the words unicode61 makes of it: letters and digits
            tokens += [f'"{word}"' for word in _WORD.findall(piece)]
        elif len(piece) == 1 and last:
            tokens.append(f'"{piece}"*')  # the start of any token: a pair or a run's last character
        else:
            # pairs; where more follows, the run ended here in the text too: its last character
            tokens += [f'"{token}"' for token in (_pairs(piece) if last else [*_pairs(piece), piece[-1]])]
    return " ".join(dict.fromkeys(tokens))


def escape_fts(query: str) -> str:
    """Datasette's escape_fts (each bare word or quoted phrase becomes one FTS5 phrase),
    with every phrase segmented like the index."""
    if query.count('"') % 2:
        query += '"'
    phrases = (phrase(bit.strip('"')) for bit in _BITS.split(query) if bit)
    return " ".join(p for p in phrases if p)


def reindex(db: sqlite_utils.Database, report_id: int, old: tuple | None, new: tuple,
            segmented_body: str | None = None) -> None:
    """Replace one report's entry; `old` is its (title, body) as last indexed, or None;
    `segmented_body`, segment(new body) when it was made elsewhere (in a parse worker)."""
    body = segment(new[1]) if segmented_body is None else segmented_body
    if old is not None:
        db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, title, body) values ('delete', ?, ?, ?)",
                   [report_id, segment(old[0]), body if old[1] == new[1] else segment(old[1])])
    db.execute(f"insert into {FTS_TABLE}(rowid, title, body) values (?, ?, ?)", [report_id, segment(new[0]), body])


def optimize(db: sqlite_utils.Database) -> None:
    """Merge the index into one segment (after a bulk load: fewer pages per query)."""
    with db.conn:
        db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('optimize')")


def rebuild(db: sqlite_utils.Database) -> None:
    """Index every report again (after a change of segmentation)."""
    with db.conn:
        db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('delete-all')")
        db.conn.executemany(
            f"insert into {FTS_TABLE}(rowid, title, body) values (?, ?, ?)",
            ((report_id, segment(title), segment(body)) for report_id, title, body in db.execute(
                "select r.id, r.title, t.body from reports r left join report_texts t on t.report_id = r.id")))
