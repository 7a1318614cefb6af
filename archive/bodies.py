"""One identity per government body across years, so a researcher can follow it.

A portal's 年报 column lists the reports of the government and of its departments, so
the body is the portal plus the agency the report names (发布机关, or the portal's own
name when the report names none), compared after normalisation: NFKC, no spaces or
punctuation. Reports with the same `body_id` are the same body's series.
"""
import re
import unicodedata

import sqlite_utils

_NOISE = re.compile(r"[\s\W_]+")


def normalise(name: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", name or ""))


def body_id(portal_id: str, name: str) -> str:
    return f"{portal_id}:{normalise(name)}"


def upsert(db: sqlite_utils.Database, portal: dict, name: str) -> str:
    """Make sure the body exists; return its id."""
    identity = body_id(portal["id"], name)
    if not db.execute("select 1 from bodies where body_id = ?", [identity]).fetchone():
        db["bodies"].insert({
            "body_id": identity, "portal_id": portal["id"], "name": name, "level": portal["level"],
            "province": portal["province"], "division_code": portal["division_code"], "reports": 0,
        })
    return identity


def refresh(db: sqlite_utils.Database, identities: set[str]) -> None:
    """Recount the bodies' reports and years; drop a body left without reports."""
    for identity in identities:
        count, first, last = db.execute(
            "select count(*), min(year), max(year) from reports where body_id = ?", [identity]).fetchone()
        if count:
            db.execute("update bodies set reports = ?, first_year = ?, last_year = ? where body_id = ?",
                       [count, first, last, identity])
        else:
            db.execute("delete from bodies where body_id = ?", [identity])
