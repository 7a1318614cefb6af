"""Coverage accounting: which portals' 年报 columns were read, which bodies published
their report for which year, on time or late, and what is missing or out of reach.

Derived tables, rebuilt whole from the archive by `refresh(db)` at the end of every
crawl and of `nianbao reparse` (or `python -m archive.coverage DB`):

- `coverage_portals`: per portal, its column (given by the registry, discovered from
  the homepage, not found, unreachable, not crawled — or its walk left unfinished by an
  incomplete run) and why, from the latest crawl's yield (`crawls`), failures and
  `run_portals`; its reports per year;
- `coverage_body_years`: per body and year from `coverage.json`'s first_year to the
  latest ended year archived, for every body that published for a year of that span:
  published (with date, deadline, on time or late), missing (the body published other
  years of the span), not found / unreachable / not crawled (a portal of which
  nothing is archived: its own body), not due (the deadline is still to come);
- `coverage_province_years`: those counted per province, portal level and year (the
  heat table of /-/coverage/<province>);
- `coverage_deadlines`: the statutory deadlines (条例第四十九条), from coverage.json.

A body's kind (government, department, township), which decides its deadline, comes
from the ordered rules of coverage.json (registry level, name ending, the portal's own
name); the rule that decided it is recorded with the row.
"""
import json
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

import sqlite_utils

from archive import bodies

RULES = Path(__file__).with_name("coverage.json")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


def load_rules(path: Path = RULES) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def body_kind(name: str, level: str, portal_name: str, rules: dict) -> tuple[str, str]:
    """(kind, how it was decided) for a body: the first rule of `rules["body_kinds"]`
    that matches its registry level, the ending of its normalised name, or its portal's
    name."""
    normalised = bodies.normalise(name)
    for rule in rules["body_kinds"]:
        if "levels" in rule and level not in rule["levels"]:
            continue
        if rule.get("portal_name") and normalised != bodies.normalise(portal_name):
            continue
        suffix = ""
        if "name_ends" in rule:
            suffix = next((end for end in rule["name_ends"] if normalised.endswith(end)), None)
            if suffix is None:
                continue
        return rule["kind"], rule["basis"].format(suffix=suffix, level=level)
    raise ValueError("coverage.json body_kinds has no default rule")


def deadline(kind: str, year: int, rules: dict) -> tuple[date | None, str | None]:
    """The statutory deadline of `kind`'s report covering `year`, and its rule id."""
    for rule in rules["deadlines"]:
        if rule["kind"] == kind and rule["first_year"] <= year <= (rule["last_year"] or year):
            return date(year + 1, rule["month"], rule["day"]), rule["rule"]
    return None, None


def latest_deadline(year: int, rules: dict) -> date | None:
    """When every report covering `year` is due (for a body no rule names)."""
    dates = [date(year + 1, rule["month"], rule["day"]) for rule in rules["deadlines"]
             if rule["first_year"] <= year <= (rule["last_year"] or year)]
    return max(dates) if dates else None


def parse_date(text: str | None) -> date | None:
    """A date as reports and listings write it: 2024-01-31, 2024/1/31, 2024年1月31日 …"""
    text = text or ""
    if text[4:5] == "-" and text[7:8] == "-":  # the parser's ISO dates, fast
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    match = _DATE.search(text)
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def _rows(db: sqlite_utils.Database, sql: str) -> list[dict]:
    cursor = db.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _has_column_urls(stored: str | None) -> bool:
    """`portals.column_urls` is the registry's list as JSON (or, by hand, URLs apart)."""
    stored = (stored or "").strip()
    return bool(json.loads(stored) if stored.startswith("[") else stored)


def portal_columns(db: sqlite_utils.Database, rules: dict) -> dict[str, dict]:
    """Per portal: its column status and why, and its latest crawl's yield."""
    latest = {row["portal_id"]: row for row in _rows(db, """
        select c.* from crawls c
        join (select portal_id, max(id) as id from crawls group by portal_id) m on m.id = c.id""")}
    failures = defaultdict(list)
    for row in _rows(db, """
            select f.portal_id, f.stage, f.error, f.url from failures f
            join (select portal_id, max(id) as id from crawls group by portal_id) m on m.portal_id = f.portal_id
            join crawls c on c.id = m.id
            where f.failed_at >= c.started_at and f.stage not in ('report', 'attachment', 'parse')
            order by f.id"""):
        failures[row["portal_id"]].append(row)
    # a walk that a run left unfinished (interrupted, to be resumed): the portal is not
    # done in the latest run that has it
    unfinished = {row["portal_id"]: row["run_id"] if row["status"] != "done" else None for row in _rows(db, """
        select rp.portal_id, rp.run_id, rp.status from run_portals rp join runs r on r.id = rp.run_id
        order by r.started_at, r.rowid""")}
    texts = rules["column"]
    result = {}
    for portal in _rows(db, "select id, homepage, column_urls from portals"):
        crawl = latest.get(portal["id"])
        given = _has_column_urls(portal["column_urls"])
        if crawl is None:
            column = "not crawled"
            why = texts["why_unfinished"].format(run=unfinished[portal["id"]]) if unfinished.get(portal["id"]) \
                else texts["why_not_crawled"]
        elif crawl["listings_seen"]:
            column = "given" if given else "discovered"
            why = (f"{crawl['listings_seen']} listing page(s) read from the registry's column URL" if given
                   else f"found from the homepage; {crawl['listings_seen']} listing page(s) read")
        else:
            failed = failures.get(portal["id"], [])
            not_found = [f for f in failed if f["stage"] == "discovery" and texts["not_found_error"] in f["error"]]
            if not_found:
                column, first = "not found", not_found[0]
            elif failed:
                column, first = "unreachable", failed[0]
            else:
                column, first = ("not crawled" if unfinished.get(portal["id"]) else "not found"), None
            why = (f"{first['stage']}: {first['error']} ({first['url']})" if first
                   else texts["why_unfinished"].format(run=unfinished[portal["id"]]) if column == "not crawled"
                   else texts["why_no_entry"])
        result[portal["id"]] = {"column_status": column, "column_reason": why, **{
            key: (crawl or {}).get(key) for key in ("listings_seen", "reports_found", "failed")},
            "last_crawl_id": (crawl or {}).get("id"), "last_crawl": (crawl or {}).get("finished_at")}
    return result


def _published_row(reports: list[dict], kind: str, year: int, rules: dict) -> dict:
    """The body's report for the year (the earliest published, when it has several)."""
    report = min(reports, key=lambda r: (r["date"] is None, r["date"] or date.max, r["id"]))
    published = report["date"]
    due, rule = deadline(kind, year, rules)
    if due is None:
        timeliness, days_late = "no deadline", None
    elif published is None:
        timeliness, days_late = "date unknown", None
    else:
        days_late = max((published - due).days, 0)
        timeliness = "late" if days_late else "on time"
    return {"status": "published", "report_id": report["id"], "reports": len(reports),
            "published": published.isoformat() if published else None,
            "published_from": report["date_from"],
            "deadline": due.isoformat() if due else None, "deadline_rule": rule,
            "timeliness": timeliness, "days_late": days_late}


def body_years(db: sqlite_utils.Database, rules: dict, columns: dict[str, dict], today: date) -> list[dict]:
    reports = _rows(db, """select r.id, r.body_id, r.portal_id, r.year, r.published, d.listing_date
                           from reports r left join documents d on d.url = r.url where r.year is not null""")
    # a year ends before its report can be published: a later one is a misread year
    years = [r["year"] for r in reports if rules["first_year"] <= r["year"] < today.year]
    span = range(rules["first_year"], max(years) + 1) if years else range(0)
    by_body_year = defaultdict(list)
    for report in reports:
        # the report page's date, else the column listing's
        on_page = parse_date(report["published"])
        listed = None if on_page else parse_date(report["listing_date"])
        report["date"] = on_page or listed
        report["date_from"] = "report" if on_page else "listing" if listed else None
        by_body_year[report["body_id"], report["year"]].append(report)
    portals = {row["id"]: row for row in _rows(db, "select id, name, level, province, division_code from portals")}
    # a body is accounted for once it published for a year of the span (one known only
    # from earlier reports may have been renamed or merged since)
    in_span = {body_id for body_id, year in by_body_year if year in span}
    known = [body for body in _rows(db, "select body_id, portal_id, name, level, province, division_code from bodies "
                                        "order by body_id") if body["body_id"] in in_span]
    with_bodies = {body["portal_id"] for body in known}
    # a portal of which nothing is archived stands for its own body, so that it is counted
    unseen = [{"body_id": bodies.body_id(p["id"], p["name"] or p["id"]), "portal_id": p["id"],
               "name": p["name"] or p["id"], "level": p["level"], "province": p["province"],
               "division_code": p["division_code"], "unseen": True}
              for p in portals.values() if p["id"] not in with_bodies]
    rows = []
    for body in known + unseen:
        portal = portals.get(body["portal_id"], {})
        level = portal.get("level") or body["level"]
        kind, basis = body_kind(body["name"], level, portal.get("name") or "", rules)
        column = columns.get(body["portal_id"], {}).get("column_status", "not crawled")
        for year in span:
            row = {"body_id": body["body_id"], "year": year, "portal_id": body["portal_id"], "name": body["name"],
                   "level": level, "province": portal.get("province") or body["province"],
                   "division_code": portal.get("division_code") or body["division_code"],
                   "kind": kind, "kind_basis": basis, "report_id": None, "reports": 0, "published": None,
                   "published_from": None, "deadline": None, "deadline_rule": None, "timeliness": None,
                   "days_late": None}
            found = by_body_year.get((body["body_id"], year))
            if found:
                row.update(_published_row(found, kind, year, rules))
            else:
                due, rule = deadline(kind, year, rules)
                row.update(deadline=due.isoformat() if due else None, deadline_rule=rule)
                if today <= (due or latest_deadline(year, rules) or date.max):
                    row["status"] = "not due"
                elif column == "unreachable" or (body.get("unseen") and column == "not crawled"):
                    row["status"] = column
                elif body.get("unseen"):
                    row["status"] = "not found"
                else:
                    row["status"] = "missing"
            rows.append(row)
    return rows


STATUSES = ("published", "missing", "not found", "unreachable", "not crawled", "not due")


def province_years(rows: list[dict], portals: list[dict]) -> list[dict]:
    """The body-year rows counted per province, level and year."""
    portal_count = Counter((p["province"] or "", p["level"] or "") for p in portals)
    counts: dict[tuple, Counter] = defaultdict(Counter)
    timeliness: dict[tuple, Counter] = defaultdict(Counter)
    published_portals = defaultdict(set)
    for row in rows:
        key = (row["province"] or "", row["level"] or "", row["year"])
        counts[key][row["status"]] += 1
        timeliness[key][row["timeliness"]] += 1
        if row["status"] == "published":
            published_portals[key].add(row["portal_id"])
    result = []
    for (province, level, year), count in sorted(counts.items()):
        due = sum(count.values()) - count["not due"]
        timed = timeliness[province, level, year]
        on_time, late = timed["on time"], timed["late"]
        result.append({
            "province": province, "level": level, "year": year, "portals": portal_count[province, level],
            "portals_published": len(published_portals[province, level, year]), "bodies_due": due,
            **{status.replace(" ", "_"): count[status] for status in STATUSES},
            "on_time": on_time, "late": late, "no_deadline": timed["no deadline"],
            "date_unknown": timed["date unknown"],
            "share_published": round(count["published"] / due, 4) if due else None,
            "share_on_time": round(on_time / (on_time + late), 4) if on_time + late else None,
        })
    return result


def portal_rows(db: sqlite_utils.Database, columns: dict[str, dict], rules: dict, span_years: set[int],
                refreshed_at: str) -> list[dict]:
    per_year = defaultdict(Counter)
    for portal_id, year, count in db.execute(
            "select portal_id, year, count(*) from reports where year is not null group by portal_id, year"):
        per_year[portal_id][year] = count
    body_count = Counter(portal_id for (portal_id,) in db.execute("select portal_id from bodies"))
    rows = []
    for portal in _rows(db, "select id, name, level, tier, province, division_code, parent_code from portals"):
        years = per_year.get(portal["id"], Counter())
        published = len(span_years & set(years))
        rows.append({
            "portal_id": portal["id"], **{key: portal[key] for key in
                                          ("name", "level", "tier", "province", "division_code", "parent_code")},
            **columns[portal["id"]], "reports": sum(years.values()), "bodies": body_count[portal["id"]],
            "first_year": min(years) if years else None, "last_year": max(years) if years else None,
            "reports_per_year": json.dumps({str(year): years[year] for year in sorted(years)}),
            "years_published": published, "years_without": len(span_years) - published,
            "refreshed_at": refreshed_at,
        })
    return rows


def deadline_rows(rules: dict) -> list[dict]:
    return [{"rule": rule["rule"], "kind": rule["kind"], "first_year": rule["first_year"],
             "last_year": rule["last_year"], "month": rule["month"], "day": rule["day"],
             "article": rule["article"], "text": rule["text"], "sources": " ".join(rules["deadline_sources"])}
            for rule in rules["deadlines"]]


def _insert(db: sqlite_utils.Database, table: str, rows: list[dict]) -> None:
    if rows:
        columns = list(rows[0])
        db.conn.executemany(
            f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) values ({', '.join('?' * len(columns))})",
            [[row[c] for c in columns] for row in rows])


def refresh(db: sqlite_utils.Database, today: date | None = None) -> dict[str, int]:
    """Rebuild the coverage tables from the archive in one transaction; `today` decides
    which reports are not due yet. Return the number of rows of each table."""
    rules = load_rules()
    now = datetime.now(timezone.utc)
    today = today or now.date()
    columns = portal_columns(db, rules)
    years = body_years(db, rules, columns, today)
    portals = _rows(db, "select id, province, level from portals")
    tables = {
        "coverage_deadlines": deadline_rows(rules),
        "coverage_portals": portal_rows(db, columns, rules, {row["year"] for row in years},
                                        now.isoformat(timespec="seconds")),
        "coverage_body_years": years,
        "coverage_province_years": province_years(years, portals),
    }
    with db.conn:
        for table in reversed(tables):  # those referring to another first
            db.conn.execute(f"delete from [{table}]")
        for table, rows in tables.items():
            _insert(db, table, rows)
    return {table: len(rows) for table, rows in tables.items()}


def main(argv: list[str]) -> int:
    """python -m archive.coverage DB: refresh the coverage tables of an archive."""
    from archive.db import open_archive
    if len(argv) != 1:
        print("usage: python -m archive.coverage ARCHIVE.db", file=sys.stderr)
        return 2
    db = open_archive(argv[0])
    started = time.perf_counter()
    counts = refresh(db)
    print(f"coverage refreshed in {time.perf_counter() - started:.2f} s: "
          + ", ".join(f"{table} {count}" for table, count in counts.items()))
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
