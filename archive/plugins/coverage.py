"""Datasette plugin (loaded with --plugins-dir): the coverage pages, heat tables of the
`coverage_province_years` table that archive.coverage derives.

- /-/coverage: provinces × years, every level together, a row per province linking to
- /-/coverage/<province>: levels × years; each cell the bodies that published for the
  year out of those due, its share as the colour, and a link to those rows of
  `coverage_body_years`; CSV of every table through Datasette's own .csv.
"""
from urllib.parse import unquote, urlencode

from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import NotFound, Response

LEVELS = {"central": "中央 central", "province": "省级 province", "city": "市级 city", "county": "县级 county",
          "township": "乡镇 township", "department": "部门 department"}
COUNTED = ("bodies_due", "published", "missing", "not_found", "unreachable", "not_crawled", "not_due",
           "on_time", "late", "portals_published")


async def _coverage_database(datasette):
    for database in datasette.databases.values():
        if database.name != "_internal" and await database.table_exists("coverage_province_years"):
            return database
    raise NotFound("no archive with coverage tables is served")


def _cell(counts: dict | None) -> dict | None:
    if not counts or not counts["bodies_due"] and not counts["not_due"]:
        return None
    share = counts["published"] / counts["bodies_due"] if counts["bodies_due"] else None
    return {**counts, "share": share, "hue": None if share is None else round(share * 120)}


def heat_table(rows: list[dict], key: str) -> tuple[list[int], list[dict]]:
    """(years, one line per `key` value with a cell per year), counts summed over the
    other dimension."""
    years = sorted({row["year"] for row in rows})
    lines: dict = {}
    for row in rows:
        line = lines.setdefault(row[key], {})
        cell = line.setdefault(row["year"], dict.fromkeys(COUNTED, 0))
        for name in COUNTED:
            cell[name] += row[name] or 0
    order = list(LEVELS) if key == "level" else sorted(lines)
    ordered = [value for value in order if value in lines] + sorted(set(lines) - set(order))
    return years, [{"key": value, "label": LEVELS.get(value, value) if key == "level" else value,
                    "cells": [_cell(lines[value].get(year)) for year in years]} for value in ordered]


async def coverage_index(request, datasette):
    database = await _coverage_database(datasette)
    rows = [dict(row) for row in await database.execute("select * from coverage_province_years")]
    years, lines = heat_table(rows, "province")
    return Response.html(await datasette.render_template("coverage.html", {
        "database": database.name, "province": None, "years": years, "lines": lines,
        "title": "Coverage 覆盖情况"}, request=request))


async def coverage_province(request, datasette):
    database = await _coverage_database(datasette)
    # routes match the raw path: the name percent-encoded (or tilde-encoded, as Datasette
    # redirects to after a 404)
    province = unquote(tilde_decode(request.url_vars["province"]))
    rows = [dict(row) for row in await database.execute(
        "select * from coverage_province_years where province = ?", [province])]
    if not rows:
        raise NotFound(f"no coverage for {province}")
    years, lines = heat_table(rows, "level")
    portals = [dict(row) for row in await database.execute(
        "select column_status, count(*) as portals from coverage_portals where province = ? "
        "group by column_status order by portals desc", [province])]
    return Response.html(await datasette.render_template("coverage.html", {
        "database": database.name, "province": province, "years": years, "lines": lines, "portals": portals,
        "query": lambda **filters: urlencode({"province": province, **filters}),
        "title": f"{province} Coverage 覆盖情况"}, request=request))


@hookimpl
def register_routes():
    return [
        (r"^/-/coverage$", coverage_index),
        (r"^/-/coverage/(?P<province>[^/]+)$", coverage_province),
    ]
