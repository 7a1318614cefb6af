"""The bundled registry of real portals: its size and spread, every row's evidence, and
`nianbao registry stats` agreeing with the file."""
import csv
import re
import subprocess
from collections import Counter

from conftest import BIN
from crawler.registry import DEFAULT_REGISTRY, LEVELS, load_registry

URL = re.compile(r"https?://[^\s/]+\.[^\s/]+/\S*")


def rows() -> list[dict]:
    with DEFAULT_REGISTRY.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_registry_spans_provinces_and_levels():
    portals = load_registry()
    assert len(portals) >= 200
    assert len({p["province"] for p in portals if p["level"] != "central"}) >= 15
    assert {p["level"] for p in portals} == set(LEVELS)


def test_every_portal_has_evidence_and_plain_fields():
    for row in rows():
        assert URL.fullmatch(row["evidence"].strip()), row["id"]
        assert URL.fullmatch(row["homepage"]), row["id"]
        assert all(URL.fullmatch(url) for url in row["column_urls"].split()), row["id"]
        # a central body has no administrative division of its own
        assert re.fullmatch(r"\d{6}" if row["level"] != "central" else "", row["division_code"]), row["id"]
        # the evidence is a page of the portal's own site (the addresses are derived from
        # it), or the notes say where it is from
        domain = row["homepage"].split("/")[2].split(".", 1)[-1]
        assert domain in row["evidence"] or "evidence" in row["notes"], row["id"]


def test_stats_command_counts_the_file():
    result = subprocess.run([str(BIN / "nianbao"), "registry", "stats"], capture_output=True, text=True, check=True)
    table = rows()
    levels = Counter(row["level"] for row in table)
    assert result.stdout.splitlines() == [
        f"portals: {len(table)}",
        f"provinces: {len({row['province'] for row in table if row['level'] != 'central'})}",
        f"with column url: {sum(bool(row['column_urls'].strip()) for row in table)}",
        *[f"level {level}: {levels[level]}" for level in LEVELS],
    ]
