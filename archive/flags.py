"""Integrity flags: why a report's figures may not deserve trust, each with its evidence.

Derived whole from the archive by `refresh(db)` at the end of every crawl and of
`nianbao reparse` (after `coverage.refresh`, whose lateness it reads), or
`python -m archive.flags DB`. The rules are data (`flags.json`); `flag_rules` publishes
them with their Chinese and English labels, `flags` holds one row per report and rule:

- `spam`: gambling/SEO terms in the text, hidden links in the archived raw page (its
  blob), several spam terms in one sentence (text unrelated to the report);
- `not_report`: an error page, captcha, login wall or closure notice archived at the
  report's URL (no tables, a short text saying so);
- `copied`: text near-identical (MinHash over character shingles) or tables identical
  (a hash of the cells) to the report of a body of another name on the same year;
- `inconsistent`: failed arithmetic checks (`checks`), a figure of the narrative that
  contradicts the tables (patterns mapped to cell codes);
- `late`: published after the deadline, as `coverage_body_years` reckons it.
"""
import hashlib
import json
import re
import sys
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

import numpy as np
import sqlite_utils
from lxml import etree, html

from archive.store import load_blob

RULES = Path(__file__).with_name("flags.json")


def load_rules(path: Path = RULES) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _context(text: str, start: int, end: int, chars: int) -> str:
    return re.sub(r"\s+", " ", f"…{text[max(0, start - chars):end + chars]}…")


def _flag(report_id: int, rule_id: str, rules: dict, evidence: str, details: dict,
          other_report_id: int | None = None) -> dict:
    rule = rules["rules"][rule_id]
    return {"report_id": report_id, "flag": rule["flag"], "rule_id": rule_id, "severity": rule["severity"],
            "year": None, "province": None, "evidence": evidence, "details": json.dumps(details, ensure_ascii=False),
            "other_report_id": other_report_id}


# --- spam ------------------------------------------------------------------------

class Spam:
    """The spam rules compiled once."""

    def __init__(self, rules: dict):
        spam = rules["spam"]
        self.rules = rules
        self.context = spam["context_chars"]
        terms = sorted(spam["gambling_terms"], key=len, reverse=True)
        brands = [word + suffix for word in spam["gambling_brand_words"] for suffix in spam["gambling_brand_suffixes"]]
        self.gambling = re.compile("|".join(map(re.escape, terms)) + "|(?<=[\u4e00-\u9fff]{2})(?:"
                                   + "|".join(map(re.escape, brands)) + ")", re.I)
        # Python's re tries every branch of an alternation at every character: a text is
        # first searched for the literals alone (str.__contains__, fast), and only a
        # text holding one is matched
        self.gambling_words = [word.lower() for word in terms + brands]
        self.gambling_prefixes = sorted({word[:2] for word in self.gambling_words})
        self.unrelated_terms = spam["unrelated_terms"]
        self.unrelated = re.compile("|".join(map(re.escape, sorted(self.unrelated_terms, key=len, reverse=True))))
        self.min_terms = spam["unrelated_min_terms"]
        self.sentence = re.compile(spam["sentence_split"])
        self.hidden_style = re.compile(spam["hidden_style"], re.I)
        self.style_hints = spam["hidden_style_hints"]
        self.allowed = set(spam["allowed_domains"])
        # without re.I, whose matching a page's hundreds of kilobytes would not skip through fast
        self.hosts = re.compile(rb"""(?:href|HREF)\s*=\s*["']?\s*(?:https?:|HTTPS?:)?//([A-Za-z0-9.-]+)""")

    def may_gamble(self, text: str) -> bool:
        text = text.lower()
        return any(prefix in text for prefix in self.gambling_prefixes) \
            and any(word in text for word in self.gambling_words)

    def text_flags(self, report_id: int, text: str) -> list[dict]:
        flags = []
        found = [(m.group(0), m.start(), m.end()) for m in self.gambling.finditer(text)] if self.may_gamble(text) else []
        if found:
            terms = sorted({term for term, _, _ in found})
            flags.append(_flag(report_id, "spam.gambling", self.rules,
                               f"{'、'.join(terms)} ×{len(found)}: {_context(text, found[0][1], found[0][2], self.context)}",
                               {"matches": [{"term": term, "offset": start,
                                             "context": _context(text, start, end, self.context)}
                                            for term, start, end in found[:20]]}))
        if sum(term in text for term in self.unrelated_terms) >= self.min_terms:
            sentences = []
            for sentence in self.sentence.split(text):
                terms = sorted(set(self.unrelated.findall(sentence)))
                if len(terms) >= self.min_terms:
                    sentences.append({"offset": text.find(sentence), "terms": terms,
                                      "sentence": sentence.strip()[:300]})
            if sentences:
                first = sentences[0]
                flags.append(_flag(report_id, "spam.unrelated_text", self.rules,
                                   f"{'、'.join(first['terms'])}: {first['sentence'][:120]}",
                                   {"sentences": sentences[:10]}))
        return flags

    def _hidden_selectors(self, doc) -> tuple[set[str], set[str]]:
        """Classes and ids that the page's own <style> blocks hide."""
        classes, ids = set(), set()
        for style in doc.iter("style"):
            for selectors, declarations in re.findall(r"([^{}]+)\{([^}]*)\}", style.text or ""):
                if self.hidden_style.search(declarations):
                    for selector in selectors.split(","):
                        simple = re.fullmatch(r"\s*(?:\w+)?([.#])([\w-]+)\s*", selector)
                        if simple:
                            (classes if simple.group(1) == "." else ids).add(simple.group(2))
        return classes, ids

    def _hidden(self, element, classes: set[str], ids: set[str]) -> str | None:
        """How `element` itself is hidden, if it is."""
        style = element.get("style")
        match = style and any(hint in style.replace(" ", "").lower() for hint in self.style_hints) \
            and self.hidden_style.search(style)
        if match:
            return f"style {match.group(0)} on <{element.tag}>"
        if element.get("hidden") is not None:
            return f"attribute hidden on <{element.tag}>"
        hidden_class = classes and set((element.get("class") or "").split()) & classes
        if hidden_class:
            return f"class {sorted(hidden_class)[0]} (hidden by the page's style) on <{element.tag}>"
        if ids and element.get("id") in ids:
            return f"id {element.get('id')} (hidden by the page's style) on <{element.tag}>"
        return None

    def _hidden_anchors(self, doc, classes: set[str], ids: set[str]) -> dict:
        """Each anchor hidden by itself or an ancestor, with how (the outermost hiding)."""
        anchors = {}
        for element in doc.iter():
            if not isinstance(element.tag, str):
                continue
            hiding = self._hidden(element, classes, ids)
            if hiding:
                for anchor in element.iter("a"):
                    anchors.setdefault(anchor, hiding)
        return anchors

    def _off_site(self, href: str, page_host: str) -> str | None:
        """The host `href` leads to when it is neither the page's site nor allowed."""
        host = (urllib.parse.urlsplit(href).hostname or "").lower()
        if not host or host == page_host or host.endswith("." + page_host) or page_host.endswith("." + host):
            return None
        parts = host.split(".")
        return None if any(".".join(parts[i:]) in self.allowed for i in range(len(parts))) else host

    def _worth_parsing(self, raw: bytes, page_host: str) -> bool:
        """Whether a page may hide a spam link, read from its bytes: parsing every page
        would cost ~8 ms a report, and most pages hide nothing or link nowhere else."""
        if any(self._off_site(f"//{host.decode('ascii', 'ignore')}/", page_host) for host in set(self.hosts.findall(raw))):
            return True
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", "ignore")
        return self.may_gamble(text)

    def page_links(self, url: str, raw: bytes) -> list[dict]:
        """The hidden spam links of a page (its raw bytes, fetched from `url`)."""
        page_host = (urllib.parse.urlsplit(url).hostname or "").lower()
        if not self._worth_parsing(raw, page_host):
            return []
        try:
            doc = html.fromstring(raw)
        except (etree.ParserError, ValueError):
            return []
        classes, ids = self._hidden_selectors(doc)
        links = []
        for anchor, hiding in self._hidden_anchors(doc, classes, ids).items():
            href = (anchor.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:")):
                continue
            text = anchor.text_content().strip()
            spam = self.gambling.search(text) or self.gambling.search(href)
            off_site = self._off_site(urllib.parse.urljoin(url, href), page_host)
            if spam or off_site:
                links.append({"href": href[:300], "text": text[:100], "hidden_by": hiding, "host": off_site,
                              "spam_term": spam.group(0) if spam else None})
        return links

    def hidden_link_flags(self, report_id: int, links: list[dict]) -> list[dict]:
        if not links:
            return []
        first = links[0]
        return [_flag(report_id, "spam.hidden_link", self.rules,
                      f"{len(links)} hidden link(s), e.g. <a href=\"{first['href'][:100]}\">{first['text'][:40]}</a> "
                      f"hidden by {first['hidden_by']}", {"links": links[:20]})]


# --- not the report ------------------------------------------------------------------

def not_report_flags(report_id: int, title: str, text: str, rules: dict, patterns: dict) -> list[dict]:
    """A short text without tables that says it is an error, captcha, login or closure."""
    text = text or ""
    if len(re.sub(r"\s+", "", text)) > rules["not_report"]["max_chars"]:
        return []
    for rule_id, pattern in patterns.items():
        for where, value in (("text", text), ("title", title or "")):
            match = pattern.search(value)
            if match:
                return [_flag(report_id, rule_id, rules,
                              f"{where} says {match.group(0)!r}: {_context(value, match.start(), match.end(), 30)}",
                              {"matched": match.group(0), "in": where, "text_chars": len(text),
                               "text": text[:300]})]
    return []


# --- copied --------------------------------------------------------------------------

class MinHash:
    """One-permutation MinHash of texts' character shingles, in numpy (a report costs
    a fraction of a millisecond): each shingle is hashed once (a polynomial of its code
    points, then a multiply-xorshift mix whose constants come from blake2b, so that
    signatures are the same in every process); its top bits choose one of `bins`
    bins, each keeping its smallest hash. Two texts' Jaccard index is estimated by
    the share of bins, filled in either, whose minima agree."""

    EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)

    def __init__(self, shingle: int, bins: int):
        self.shingle, self.bins = shingle, bins
        self.shift = np.uint64(64 - (bins - 1).bit_length())
        seed = np.frombuffer(hashlib.blake2b(b"nianbao-flags-minhash", digest_size=16).digest(), dtype=np.uint64)
        self.multiplier, self.offset = seed[0] | np.uint64(1), seed[1]

    def signature(self, text: str) -> np.ndarray | None:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        count = len(codes) - self.shingle + 1
        if count < 1:
            return None
        hashes = np.zeros(count, dtype=np.uint64)
        for offset in range(self.shingle):
            hashes = hashes * np.uint64(1000003) + codes[offset:offset + count]
        hashes = hashes * self.multiplier + self.offset
        hashes ^= hashes >> np.uint64(29)
        hashes *= self.multiplier
        signature = np.full(self.bins, self.EMPTY, dtype=np.uint64)
        np.minimum.at(signature, (hashes >> self.shift).astype(np.intp), hashes)
        return signature

    @classmethod
    def similarity(cls, first: np.ndarray, second: np.ndarray) -> float:
        filled = (first != cls.EMPTY) | (second != cls.EMPTY)
        return np.count_nonzero((first == second) & filled) / max(1, np.count_nonzero(filled))


def _normalised_text(text: str) -> str:
    return "".join((text or "").split())


def _band_buckets(signatures: np.ndarray, years: np.ndarray, bands: int) -> list[list[int]]:
    """Locality-sensitive hashing, in numpy: the rows (signatures) that agree on every
    bin of some band, within a year — each band's bins and the year hashed to one
    number, the numbers sorted, equal runs read out. (A collision of the hash only adds
    a candidate, which the whole signature then rejects.)"""
    count = len(signatures)
    if count < 2:
        return []
    per_band = signatures.reshape(count, bands, -1)
    mix = np.frombuffer(hashlib.blake2b(b"nianbao-flags-bands", digest_size=64).digest(),
                        dtype=np.uint64)[:per_band.shape[2]] | np.uint64(1)
    keys = (per_band * mix).sum(axis=2, dtype=np.uint64)
    keys ^= years[:, None] * np.uint64(0x9E3779B97F4A7C15) + np.arange(bands, dtype=np.uint64)[None, :]
    keys = keys.ravel()
    owners = np.repeat(np.arange(count), bands)
    order = np.argsort(keys, kind="stable")
    keys, owners = keys[order], owners[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    return [sorted(set(owners[start:end].tolist())) for start, end in zip(starts, ends) if end - start > 1]


def copied_text_flags(reports: list[dict], rules: dict) -> list[dict]:
    """Reports whose text is near-identical to that of another-named body's report of
    the same year: signatures grouped when identical, then banded (LSH) to find
    near-identical ones, the estimate verified on the whole signature."""
    settings = rules["copied"]
    minhash = MinHash(settings["shingle_chars"], settings["bins"])
    groups: dict[tuple, list[dict]] = defaultdict(list)  # (year, signature bytes) -> reports
    signatures = {}
    for report in reports:
        text = _normalised_text(report["text"])
        if len(text) < settings["min_text_chars"]:
            continue
        signature = minhash.signature(text)
        key = (report["year"], signature.tobytes())
        signatures[key] = signature
        groups[key].append(report)
    best: dict[int, tuple[float, dict]] = {}

    def consider(report: dict, similarity: float, other: dict) -> None:
        if report["name"] != other["name"] and similarity > best.get(report["id"], (0.0, None))[0]:
            best[report["id"]] = (similarity, other)

    for members in groups.values():
        names = {member["name"] for member in members}
        if len(names) > 1:
            for member in members:
                consider(member, 1.0, next(other for other in members if other["name"] != member["name"]))
    keys = list(signatures)
    compared = set()
    matrix = np.array([signatures[key] for key in keys], dtype=np.uint64).reshape(len(keys), settings["bins"])
    for bucket in _band_buckets(matrix, np.array([key[0] for key in keys], dtype=np.uint64), settings["bands"]):
        for i, one in enumerate(bucket):
            for another in bucket[i + 1:]:
                if (one, another) in compared:
                    continue
                compared.add((one, another))
                first, second = keys[one], keys[another]
                similarity = MinHash.similarity(signatures[first], signatures[second])
                if similarity < settings["text_similarity"]:
                    continue
                for report in groups[first]:
                    for other in groups[second]:
                        consider(report, similarity, other)
                        consider(other, similarity, report)
    flags = []
    for report_id, (similarity, other) in sorted(best.items()):
        flags.append(_flag(report_id, "copied.text", rules,
                           f"text {similarity:.0%} like report {other['id']} of {other['body_name']} ({other['year']})",
                           {"similarity": round(similarity, 3), "other_report_id": other["id"],
                            "other_body_id": other["body_id"], "method": "MinHash, "
                            f"one permutation, {settings['bins']} bins, over {settings['shingle_chars']}-character shingles"},
                           other["id"]))
    return flags


def copied_figures_flags(db: sqlite_utils.Database, reports: dict[int, dict], rules: dict) -> list[dict]:
    """Reports whose filled cells are all equal, with enough non-zero figures, to those
    of another-named body's report of the same year."""
    minimum = rules["copied"]["min_nonzero_cells"]
    digests, nonzero = {}, {}
    # SQLite concatenates each report's filled cells in key order (report_id, code)
    for report_id, cells, count in db.execute(
            """select report_id, group_concat(code || '=' || quote(value), ';'), sum(value != 0)
               from cells where value is not null group by report_id"""):
        if count >= minimum:
            digests[report_id] = hashlib.blake2b(cells.encode(), digest_size=16)
            nonzero[report_id] = count
    groups = defaultdict(list)
    for report_id, digest in digests.items():
        report = reports.get(report_id)
        if report:
            groups[report["year"], digest.digest()].append(report)
    flags = []
    for members in groups.values():
        for member in members:
            other = next((o for o in members if o["name"] != member["name"]), None)
            if other:
                flags.append(_flag(member["id"], "copied.figures", rules,
                                   f"all {nonzero[member['id']]} non-zero figures and every other cell equal to "
                                   f"report {other['id']} of {other['body_name']} ({other['year']})",
                                   {"nonzero_cells": nonzero[member["id"]], "other_report_id": other["id"],
                                    "other_body_id": other["body_id"],
                                    "same_tables": [o["id"] for o in members if o["name"] != member["name"]][:20]},
                                   other["id"]))
    return flags


# --- inconsistent ------------------------------------------------------------------------

def check_flags(db: sqlite_utils.Database, rules: dict) -> list[dict]:
    failed = defaultdict(list)
    for report_id, check_id, expected, actual in db.execute(
            "select report_id, check_id, expected, actual from checks where status = 'fail' order by report_id, check_id"):
        failed[report_id].append({"check_id": check_id, "expected": expected, "actual": actual})
    return [_flag(report_id, "inconsistent.checks", rules,
                  f"{len(checks)} failed check(s): " + "; ".join(
                      f"{c['check_id']} expects {c['expected']}, the table says {c['actual']}" for c in checks[:3]),
                  {"checks": checks}) for report_id, checks in failed.items()]


def narrative_flags(report_id: int, text: str, cells: dict[str, object], rules: dict,
                    patterns: list[tuple[dict, re.Pattern]]) -> list[dict]:
    """Figures of the text that equal none of their accepted readings in the tables."""
    contradictions = []
    chars = rules["narrative"]["context_chars"]
    for rule, pattern in patterns:
        if not any(word in text for word in rule["words"]):
            continue
        for match in pattern.finditer(text):
            stated = int(match.group("n"))
            readings = [(codes, sum(cells[code] for code in codes)) for codes in rule["accept"]
                        if all(isinstance(cells.get(code), (int, float)) for code in codes)]
            if readings and all(value != stated for _, value in readings):
                contradictions.append({
                    "rule": rule["id"], "stated": stated, "context": _context(text, match.start(), match.end(), chars),
                    "tables": {"+".join(codes): value for codes, value in readings}})
    if not contradictions:
        return []
    first = contradictions[0]
    tables = ", ".join(f"{codes} = {value}" for codes, value in first["tables"].items())
    return [_flag(report_id, "inconsistent.narrative", rules,
                  f"the text says {first['stated']} ({first['context']}) but the tables say {tables}",
                  {"contradictions": contradictions[:20]})]


# --- late ----------------------------------------------------------------------------------

def late_flags(db: sqlite_utils.Database, rules: dict) -> list[dict]:
    """The late reports of coverage_body_years (refreshed before): not reckoned again."""
    return [_flag(report_id, "late.coverage", rules,
                  f"published {published} ({source}), {days} day(s) after the deadline {due} ({rule})",
                  {"published": published, "published_from": source, "deadline": due, "deadline_rule": rule,
                   "days_late": days, "body_id": body_id, "year": year})
            for report_id, published, source, due, rule, days, body_id, year in db.execute(
                """select report_id, published, published_from, deadline, deadline_rule, days_late, body_id, year
                   from coverage_body_years where timeliness = 'late' and report_id is not null order by report_id""")]


# --- refresh ----------------------------------------------------------------------------------

def rule_rows(rules: dict) -> list[dict]:
    return [{"rule_id": rule_id, "flag": rule["flag"], "severity": rule["severity"],
             "label_en": rule["label_en"], "label_zh": rule["label_zh"],
             "flag_label_en": rules["flags"][rule["flag"]]["label_en"],
             "flag_label_zh": rules["flags"][rule["flag"]]["label_zh"],
             "description": rules["flags"][rule["flag"]]["description"]}
            for rule_id, rule in rules["rules"].items()]


def compute(db: sqlite_utils.Database, rules: dict) -> tuple[list[dict], list[dict]]:
    """Every flag of the archive, and the flag_pages rows (each page's hidden links)."""
    spam = Spam(rules)
    not_report = {rule_id: re.compile(pattern) for rule_id, pattern in rules["not_report"]["patterns"].items()}
    narrative = [(rule, re.compile(rule["pattern"])) for rule in rules["narrative"]["rules"]]
    narrative_codes = sorted({code for rule in rules["narrative"]["rules"] for codes in rule["accept"] for code in codes})
    cells = defaultdict(dict)
    for report_id, code, value in db.execute(
            f"select report_id, code, value from cells where code in ({', '.join('?' * len(narrative_codes))})",
            narrative_codes):
        cells[report_id][code] = value
    flags, reports = [], {}
    placed = {}
    # a page's hidden links depend on its bytes, its host and the spam rules only: kept
    # in flag_pages across refreshes, so that each page is parsed once in its life
    version = hashlib.blake2b(json.dumps(rules["spam"], sort_keys=True).encode(), digest_size=8).hexdigest()
    known = {page: json.loads(links) for page, links in db.execute(
        "select page, links from flag_pages where rules = ?", [version])}
    pages = {}
    for report_id, url, title, year, province, format_, body_id, body_name, sha256, text in db.execute(
            """select r.id, r.url, r.title, r.year, r.province, r.format, r.body_id, r.body_name, d.sha256, t.body
               from reports r left join report_texts t on t.report_id = r.id
               left join documents d on d.url = r.url order by r.id"""):
        text = text or ""
        placed[report_id] = (year, province)
        flags += spam.text_flags(report_id, f"{title or ''}\n{text}")
        if sha256:
            page = f"{sha256}@{(urllib.parse.urlsplit(url).hostname or '').lower()}"
            if page not in pages:
                pages[page] = known[page] if page in known else spam.page_links(url, load_blob(db, sha256))
            flags += spam.hidden_link_flags(report_id, pages[page])
        if format_ in (None, "none"):
            flags += not_report_flags(report_id, title, text, rules, not_report)
        elif report_id in cells:
            flags += narrative_flags(report_id, text, cells[report_id], rules, narrative)
        if year is not None:
            # a body is its name: the same body's report on two portals is no copy
            reports[report_id] = {"id": report_id, "year": year, "body_id": body_id, "body_name": body_name,
                                  "name": (body_id or "").split(":", 1)[-1], "text": text}
    flags += copied_text_flags(list(reports.values()), rules)
    flags += copied_figures_flags(db, reports, rules)
    flags += check_flags(db, rules)
    flags += late_flags(db, rules)
    for flag in flags:
        flag["year"], flag["province"] = placed.get(flag["report_id"], (None, None))
    page_rows = [{"page": page, "rules": version, "links": json.dumps(links, ensure_ascii=False)}
                 for page, links in pages.items()]
    return sorted(flags, key=lambda flag: (flag["report_id"], flag["rule_id"])), page_rows


def refresh(db: sqlite_utils.Database) -> dict[str, int]:
    """Rebuild `flag_rules` and `flags` from the archive in one transaction (after
    coverage.refresh); return the number of flags of each kind."""
    rules = load_rules()
    flags, pages = compute(db, rules)
    rows = rule_rows(rules)
    with db.conn:
        for table in ("flags", "flag_rules", "flag_pages"):
            db.conn.execute(f"delete from [{table}]")
        for table, table_rows in (("flag_rules", rows), ("flags", flags), ("flag_pages", pages)):
            if table_rows:
                columns = list(table_rows[0])
                db.conn.executemany(
                    f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
                    f"values ({', '.join('?' * len(columns))})", [[row[c] for c in columns] for row in table_rows])
    counts = defaultdict(int)
    for flag in flags:
        counts[flag["flag"]] += 1
    return dict(counts)


def main(argv: list[str]) -> int:
    """python -m archive.flags DB: refresh the integrity flags of an archive."""
    from archive.db import open_archive
    if len(argv) != 1:
        print("usage: python -m archive.flags ARCHIVE.db", file=sys.stderr)
        return 2
    db = open_archive(argv[0])
    started = time.perf_counter()
    counts = refresh(db)
    print(f"flags refreshed in {time.perf_counter() - started:.2f} s: "
          + (", ".join(f"{flag} {count}" for flag, count in sorted(counts.items())) or "none"))
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
