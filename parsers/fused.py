"""Split figures whose cells were fused together ("898989", "10203120001200000").

A number never starts with 0 unless it is 0, so every fused run has a finite set of
readings; the table's own arithmetic chooses among them (see tables.py).
"""
import re
from itertools import islice
from math import comb

_FUSED = re.compile(r"^(\d+)(\.\d+)?(万元|元)?$")
LIMIT = 20000


def _ok(piece: str) -> bool:
    return piece == "0" or not piece.startswith("0")


def _pieces(digits: str, k: int):
    """Cuts of a digit run into k pieces with no leading zeros, in lexicographic order."""
    if k == 1:
        if _ok(digits):
            yield [digits]
        return
    for i in range(1, len(digits) - k + 2):
        head = digits[:i]
        if not _ok(head):
            return
        for rest in _pieces(digits[i:], k - 1):
            yield [head, *rest]


def splits(token: str, k: int):
    """Every way to read one written token as k cells (decimals and unit stay on the last)."""
    m = _FUSED.match(token)
    if not m:
        if k == 1:
            yield [token]
        return
    digits, frac, unit = m.group(1), m.group(2) or "", m.group(3) or ""
    if k > len(digits) or comb(len(digits) - 1, k - 1) > LIMIT:
        return
    for pieces in _pieces(digits, k):
        pieces[-1] += frac + unit
        yield pieces


def _counts(lengths: list[int], n: int):
    """Ways to give each token at least one cell, n cells in all."""
    if not lengths:
        if n == 0:
            yield []
        return
    rest = len(lengths) - 1
    for c in range(1, min(lengths[0], n - rest) + 1):
        for tail in _counts(lengths[1:], n - c):
            yield [c, *tail]


def readings(tokens: list[str], n: int, accept=None) -> list[list[str]]:
    """All readings of written tokens as n cells that `accept` (a row check) allows."""
    lengths = [len(_FUSED.match(t).group(1)) if _FUSED.match(t) else 1 for t in tokens]
    out: list[list[str]] = []
    for counts in _counts(lengths, n):
        partial = [[]]
        for tok, c in zip(tokens, counts):
            partial = list(islice((p + s for p in partial for s in splits(tok, c)), LIMIT + 1))
            if len(partial) > LIMIT:
                return out
        out.extend(p for p in partial if accept is None or accept(p))
    return out
