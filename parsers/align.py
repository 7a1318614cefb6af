"""Which printed label is which row of the form: an alignment in the form's order.

The rows of each table always come in the statutory order, so the labels found are aligned
to the form's rows as two sequences: a label is matched to a row when the row's keys
(formats.json) occur in it, or when the row's own wording occurs in it up to a few edits
(a typo, a missing character, a stray space). An edit costs in proportion to the words'
length; a row no label matches is known as missing. Edit distances are computed only
between rows and labels left between two sure matches, so the search stays small.
"""
import re
from bisect import bisect_left, bisect_right
from functools import lru_cache

# Normalised label: no spaces, numbering marks, brackets, quotes or stray `?`.
_NOISE = re.compile(r"[\s?？“”\"'「」()（）、.,，:：;；]")
# A row whose wording is this short is matched by its keys only (too many labels contain it).
MIN_WORDS = 4
# Most edits per character of the row's wording for a match; looser when the order alone
# leaves a label one row to be.
LOOSE, ORDERED = 0.34, 0.5


def clean(text: str) -> str:
    return _NOISE.sub("", text)


@lru_cache(maxsize=256)
def words(label: str) -> str:
    """The wording of a form row that identifies it: its last part, without numbering or remark."""
    last = label.split()[-1]
    last = re.sub(r"^(?:[一二三四五六七八九十]、|（[一二三四五六七八九十]）|\d[.、])+", "", last)
    return clean(re.sub(r"（[^）]*）$", "", last))


@lru_cache(maxsize=8192)
def distance(needle: str, hay: str) -> int:
    """Fewest edits turning `needle` into some substring of `hay` (semi-global Levenshtein)."""
    prev = [0] * (len(hay) + 1)
    for i, a in enumerate(needle, 1):
        cur = [i] + [0] * len(hay)
        for j, b in enumerate(hay, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
    return min(prev)


def likeness_cost(row: dict, label: str, ordered: bool = False) -> float:
    """Edits per character between the row's wording (or one it is also printed with, formats.json
    `also_like`) and the closest part of the label (0 = found). Short wording (规章, 总计) is compared
    only where the order alone leaves the label one row to be, and only with the label's end,
    where a row's own words stand."""
    return min(_cost(w, clean(label), ordered) for w in (words(row["label"]), *row.get("also_like", ())))


def _cost(w: str, hay: str, ordered: bool) -> float:
    if len(w) < MIN_WORDS:
        if not ordered:
            return 1.0
        hay = hay[-(len(w) + 1):]
    if w in hay:
        return 0.0
    if len(hay) > 4 * len(w) + 20:  # a long run of header text: look near its end only
        hay = hay[-(2 * len(w) + 10):]
    return distance(w, hay) / len(w)


def _best_path(n_rows: int, n_labels: int, score) -> list[tuple[int, int]]:
    """Order-keeping matching of rows to labels with the highest total score (score None = no match)."""
    best = [[0.0] * (n_labels + 1) for _ in range(n_rows + 1)]
    move = [[0] * (n_labels + 1) for _ in range(n_rows + 1)]
    for i in range(1, n_rows + 1):
        for j in range(1, n_labels + 1):
            options = [(best[i - 1][j], 1), (best[i][j - 1], 2)]
            s = score(i - 1, j - 1)
            if s is not None:
                options.append((best[i - 1][j - 1] + s, 3))
            best[i][j], move[i][j] = max(options)
    pairs, i, j = [], n_rows, n_labels
    while i and j:
        m = move[i][j]
        if m == 3:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif m == 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _longest_chain(hits: list[set[int]]) -> list[tuple[int, int]]:
    """Most (row, label) hits increasing in both (a longest increasing subsequence: pairs by row,
    labels of one row taken in decreasing order so a row is matched once)."""
    pairs = [(i, j) for i, js in enumerate(hits) for j in sorted(js, reverse=True)]
    tails: list[int] = []  # tails[k]: smallest label ending a chain of k + 1 pairs
    ends: list[int] = []   # index in pairs of that chain's last pair
    back = [-1] * len(pairs)
    for p, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        back[p] = ends[k - 1] if k else -1
        if k == len(tails):
            tails.append(j)
            ends.append(p)
        else:
            tails[k], ends[k] = j, p
    chain, p = [], ends[-1] if ends else -1
    while p >= 0:
        chain.append(pairs[p])
        p = back[p]
    return chain[::-1]


def _hits(rows: list[dict], labels: list[str]) -> list[set[int]]:
    """For each row, the labels holding one of its keys (one scan of all labels per row)."""
    joined = "\n".join(labels)
    starts, pos = [], 0
    for lab in labels:
        starts.append(pos)
        pos += len(lab) + 1
    return [{bisect_right(starts, m.start()) - 1 for m in r["lines_pattern"].finditer(joined)} for r in rows]


def align(rows: list[dict], labels: list[str]) -> dict[int, int]:
    """{label index: row index}: keys first (the most labels holding their row's keys, in order:
    sure matches), then likeness for the rows and labels left between them."""
    sure = _longest_chain(_hits(rows, labels))
    out = {j: i for i, j in sure}
    bounds = [(-1, -1), *sure, (len(rows), len(labels))]
    for (r0, l0), (r1, l1) in zip(bounds, bounds[1:]):
        gap_rows, gap_labels = list(range(r0 + 1, r1)), list(range(l0 + 1, l1))
        if not gap_rows or not gap_labels:
            continue
        ordered = len(gap_rows) == len(gap_labels)
        limit = ORDERED if ordered else LOOSE

        def score(i, j, gap_rows=gap_rows, gap_labels=gap_labels, limit=limit, ordered=ordered):
            cost = likeness_cost(rows[gap_rows[i]], labels[gap_labels[j]], ordered)
            return 1.0 - cost if cost <= limit else None
        for i, j in _best_path(len(gap_rows), len(gap_labels), score):
            out[gap_labels[j]] = gap_rows[i]
    return out
