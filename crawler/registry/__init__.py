"""The portal registry: a CSV data file of real portals and their 年报 columns.
`portals.csv` is the national registry made by `nianbao registry import` (national.py)
from the official site database, with the hand-checked rows of `hand.csv` merged in."""
import csv
from collections import Counter
from pathlib import Path

DEFAULT_REGISTRY = Path(__file__).with_name("portals.csv")
HAND_REGISTRY = Path(__file__).with_name("hand.csv")
REQUIRED_COLUMNS = ("id", "name", "level", "province", "homepage", "column_urls")
LEVELS = ("central", "province", "city", "county", "township", "department")


class RegistryError(Exception):
    """The registry file is missing or malformed."""


def load_registry(path: str | Path = DEFAULT_REGISTRY) -> list[dict]:
    """Read the registry; every row gets `column_urls` as a list."""
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"registry file not found: {path}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in REQUIRED_COLUMNS if name not in (reader.fieldnames or [])]
            if missing:
                raise RegistryError(f"{path}: missing column(s) {', '.join(missing)}")
            portals = list(reader)
    except UnicodeDecodeError as error:
        raise RegistryError(f"{path}: not UTF-8 text ({error})") from error
    seen = set()
    for line, portal in enumerate(portals, start=2):
        if not portal["id"]:
            raise RegistryError(f"{path}, line {line}: empty id")
        if portal["id"] in seen:
            raise RegistryError(f"{path}, line {line}: duplicate id {portal['id']}")
        if portal["level"] not in LEVELS:
            raise RegistryError(f"{path}, line {line}: level {portal['level']!r} is not one of {', '.join(LEVELS)}")
        seen.add(portal["id"])
        portal["column_urls"] = (portal.get("column_urls") or "").split()
    return portals


def select_portals(portals: list[dict], *, ids: str = "", level: str = "", province: str = "") -> list[dict]:
    """Filter by comma-separated ids, levels and provinces (empty means all)."""
    def wanted(spec: str) -> set[str]:
        return {part.strip() for part in spec.split(",") if part.strip()}

    filters = [(key, wanted(spec)) for key, spec in (("id", ids), ("level", level), ("province", province))]
    unknown = filters[0][1] - {p["id"] for p in portals} if filters[0][1] else set()
    if unknown:
        raise RegistryError(f"unknown portal id(s): {', '.join(sorted(unknown))}")
    filters = [(key, values) for key, values in filters if values]
    if not filters:
        return list(portals)
    return [portal for portal in portals if all(portal[key] in values for key, values in filters)]


def registry_stats(portals: list[dict]) -> list[str]:
    """Lines for `nianbao registry stats`."""
    levels = Counter(portal["level"] for portal in portals)
    lines = [
        f"portals: {len(portals)}",
        # provincial-level divisions; central bodies (province 中央) are counted by their level
        f"provinces: {len({portal['province'] for portal in portals if portal['level'] != 'central'} - {''})}",
        f"with column url: {sum(bool(portal['column_urls']) for portal in portals)}",
    ]
    lines += [f"level {level}: {levels[level]}" for level in LEVELS]
    # county-level divisions with a government portal of their own (zones, placed in their
    # enclosing area, are not counties)
    counties = {portal["division_code"] for portal in portals
                if portal["level"] == "county" and portal.get("division_match", "code") in ("code", "name")}
    lines.append(f"county governments: {len(counties)}")
    return lines
