"""Cut flattened table text (or HTML cell text) into a stream of items.

An item is ("T", label text), ("V", written figure) or ("E", None) for a cell known
to be empty. Every flattened shape reduces to this stream: pipes (`|`, empty pipe
runs), one cell per line, tabs, spaces, and cells fused with no separator at all.
"""
import re
import unicodedata
from functools import lru_cache

from .values import is_value_token

_ITEM_BEFORE = re.compile(r"(?<=\d)(?=[1-9][.、][^\d.])")
_PIECE = re.compile(
    r"(?P<item>(?<![\d.])[1-9][.、](?=[^\d.]))"
    r"|(?P<val>(?:增加|增|减少|减|\+)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+|\.$)?(?:万元|元|件|个|项|条)?)"
)


# Traditional characters of the standard labels and headings (some mirrors serve 繁體).
_SIMPLIFIED = str.maketrans(
    "開總體況報處請訴議結轉辦數許費規範門關務機與項據單權決記廣內資護書訂職責條強製採購計縣區鎮廳會統級導網發佈時間現將於為實際頁場類確認複維糾審舉訊號構營業學術組織態問題進並繼續應對屬國險穩過執檢補後訪無當獲繳納經勞動紀準盡錄員環節編則層傳產價廢罰額萬減復訟詢個這證義聯預歸彙匯狀檔參幣徵稅農衛醫療線視聽",
    "开总体况报处请诉议结转办数许费规范门关务机与项据单权决记广内资护书订职责条强制采购计县区镇厅会统级导网发布时间现将于为实际页场类确认复维纠审举讯号构营业学术组织态问题进并继续应对属国险稳过执检补后访无当获缴纳经劳动纪准尽录员环节编则层传产价废罚额万减复讼询个这证义联预归汇汇状档参币征税农卫医疗线视听",
)


_YEAR = re.compile(r"(?:19|20)\d\d")
_STRAY = re.compile(r"[?\u200b\u200c\u200d\ufeff\ufffd]")
# Pinyin some mirrors print after characters: 機(jī)關(guān).
_PINYIN = re.compile(r"\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")
_SIGN_GAP = re.compile(r"(增加|增|减少|减)[ \t]+(?=\d)")
_CHAR: dict[str, str] = {}


def _char(c: str) -> str:
    """What one character becomes: NFKC, simplified, and nothing for a stray mark."""
    out = _CHAR.get(c)
    if out is None:
        out = _CHAR[c] = _STRAY.sub("", unicodedata.normalize("NFKC", c).translate(_SIMPLIFIED))
    return out


def fold(text: str) -> str:
    """Each character as normalize() maps it alone (a short token's printed form compared with its read one)."""
    return "".join(map(_char, text))


def normalize(text: str) -> str:
    """NFKC (full-width digits and brackets), simplified label characters, and no
    broken-encoding `?`, zero-width marks or inline pinyin. Mapped per distinct character: much faster
    than NFKC over the whole text, and the same for everything a report contains."""
    for c in set(text):
        out = _char(c)
        if out != c:
            text = text.replace(c, out)
    return _SIGN_GAP.sub(r"\1", _PINYIN.sub("", text) if "(" in text else text)


class Item(tuple):
    """A figure item ("V", text) that also says where it was printed: `at`, the character offset
    of its text in the table text, or (table, row, column) of its grid cell (provenance)."""

    def __new__(cls, kind: str, text: str | None, at):
        self = tuple.__new__(cls, (kind, text))
        self.at = at
        return self


def split_word(word: str) -> list[tuple[str, str | None]]:
    """Items of one whitespace-free word: figures, and the label text around them."""
    if is_value_token(word):
        return [("V", word)]
    word = _ITEM_BEFORE.sub(" ", word)
    out: list[tuple[str, str | None]] = []
    for part in word.split():
        pos = 0
        for m in _PIECE.finditer(part):
            if m.group("item") or (part.startswith("年", m.end()) and _YEAR.fullmatch(m.group())):
                continue  # an item number or a year (2019年项目数量) belongs to the label
            if m.start() > pos:
                out.append(("T", part[pos:m.start()]))
            out.append(("V", m.group("val")))
            pos = m.end()
        if pos < len(part):
            out.append(("T", part[pos:]))
    return out


def _words(chunk: str) -> list[tuple[str, str | None]]:
    out = []
    for word in chunk.split():
        out.extend(split_word(word))
    return out


# A page's number printed on its own line where a table runs across pages ("- 3 -", "— 12 —",
# "第 3 页", "第3页 共6页"): no cell of the table. A bare "3" is left to the arithmetic.
_PAGE_MARK = re.compile(r"^[ \t]*(?:[-—–－―]+[ \t]*\d{1,4}[ \t]*[-—–－―]+|第[ \t]*\d{1,4}[ \t]*页"
                        r"(?:[ \t]*[,，/]?[ \t]*共[ \t]*\d{1,4}[ \t]*页)?"
                        # and the rule under a Markdown table's header (`|---|:---:|`): no row of cells
                        r"|\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+(?:[ \t]*:?-{3,}:?)?)[ \t]*(?:\n|$)", re.M)


def _stream(text: str) -> list[tuple[str, str | None]]:
    items: list[tuple[str, str | None]] = []
    if text.count("|") >= 6:
        for piece in text.split("|"):
            items.extend(_words(piece) if piece.strip() else [("E", None)])
        return items
    for line in text.replace("|", " ").split("\n"):
        if not line:
            continue
        items.extend(_words(line) if line.strip() else [("E", None)])
    return items


def stream(text: str, base: int = 0) -> list:
    """Items of a flattened table region (already normalised); each figure an Item placed at its
    offset in `text` (plus `base`). Every item's text is a piece of `text`, in order, so one forward search
    finds each (labels are searched too, so that a figure is never found inside one)."""
    items, pos, read = [], 0, text
    if _PAGE_MARK.search(text):  # read without the page numbers; found where no figure hides in one
        read = _PAGE_MARK.sub("", text)
        text = _PAGE_MARK.sub(lambda m: " " * len(m.group().rstrip("\n")) + "\n" * m.group().endswith("\n"), text)
    for kind, piece in _stream(read):
        if piece is not None:
            at = text.find(piece, pos)
            pos = at + len(piece)
            if kind == "V":
                items.append(Item(kind, piece, base + at))
                continue
        items.append((kind, piece))
    return items


_ONE_FIGURE = re.compile(r"^[|?\t ]*(?:增加|增|减少|减|\+)?\d[\d,]*(?:\.\d+)?(?:万元|元)?[|?\t ]*$", re.M)
_FIGURE_LINE = re.compile(r"^[^\n\d]*+\d++(?![.、][^\d])", re.M)  # a line holding a figure (not an item number)


def layout(text: str) -> str:
    """How a flattened table prints its cells: "lines" (each figure on its own line: a row with
    too few figures lost cells, it did not fuse them), "lossy" (so, and no line repeats the one
    before: an export that collapsed repeated lines, `46 0 0 0 0 0 46` kept as `46 0 46`), or
    "cells" (rows on one line, or cells fused with no separator)."""
    alone = len(_ONE_FIGURE.findall(text))
    if alone < 20 or alone < 0.8 * len(_FIGURE_LINE.findall(text)):
        return "cells"
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return "lines" if any(a == b for a, b in zip(lines, lines[1:])) else "lossy"


@lru_cache(maxsize=8192)
def cell_items(text: str) -> tuple[tuple[str, str | None], ...]:
    """Items of one real table cell (HTML/DOCX/PDF grid): an empty cell is one E item."""
    return tuple(_words(normalize(text))) or (("E", None),)
