"""Datasette plugin (loaded with --plugins-dir): Chinese search, the archived copies and
the report page.

- `escape_fts`, which Datasette applies to every `?_search=`, is replaced by the
  CJK-aware one of archive.search (registered last, so it wins over Datasette's own);
- /-/archived/<sha256> returns an archived document's raw bytes, decompressed, with
  the content type it was served with, sandboxed so a portal's scripts cannot run here;
- the reports row page gets the report's tables in the shape of the form;
- a facet asked for twice (a default facet of metadata.json also in `?_facet=`) is
  computed once: Datasette 0.65 runs both, each a full count over the search's matches.
"""
import json
import zlib

from datasette import facets, hookimpl
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup, escape

from archive import forms, search


_load_facet_configs = facets.load_facet_configs


def load_facet_configs(request, table_metadata):
    """Datasette's, without repeats: the first of identical configs (metadata's) is kept."""
    configs = _load_facet_configs(request, table_metadata)
    for kind, entries in configs.items():
        seen, kept = set(), []
        for entry in entries:
            key = json.dumps(entry["config"], sort_keys=True)
            if key not in seen:
                seen.add(key)
                kept.append(entry)
        configs[kind] = kept
    return configs


facets.load_facet_configs = load_facet_configs


@hookimpl(trylast=True)
def prepare_connection(conn):
    conn.create_function("escape_fts", 1, search.escape_fts, deterministic=True)


async def archived(request, datasette):
    sha256 = request.url_vars["sha256"]
    for database in datasette.databases.values():
        if not await database.table_exists("blobs"):
            continue
        row = (await database.execute(
            "select b.content, b.compression, (select content_type from documents d "
            "where d.sha256 = b.sha256 limit 1) from blobs b where b.sha256 = ?", [sha256])).first()
        if row:
            content = zlib.decompress(row[0]) if row[1] == "zlib" else row[0]
            return Response(content, content_type=row[2] or "application/octet-stream", headers={
                "Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"})
    raise NotFound(f"nothing archived under {sha256}")


@hookimpl
def register_routes():
    return [(r"^/-/archived/(?P<sha256>[0-9a-f]{64})$", archived)]


@hookimpl
def render_cell(value, column, table, datasette):
    if table == "reports" and column == "sha256" and value:
        href = datasette.urls.path(f"/-/archived/{value}")
        return Markup(f'<a href="{escape(href)}">archived copy 存档</a>')
    return None


@hookimpl
def extra_template_vars(view_name, table, database, request, datasette):
    if view_name != "row" or table != "reports":
        return {}

    async def report_form():
        report_id = request.url_vars["pks"]
        db = datasette.get_database(database)
        return {"report_form": await db.execute_fn(lambda conn: forms.page(conn, report_id))}

    return report_form
