"""The statutory tables (二、三、四) in the shape of the printed form, from the cells.

Labels and row/column order come from parsers/formats.json (the one place the formats
are written down), so `cell_codes` and the form-shaped tables never drift from the
parser. Researchers get one row per report and form row, columns as the form prints.
"""
from functools import lru_cache

from archive import codec
from parsers import formats

FORMATS = ("2021", "2019")  # newest first: its label wins where both formats share a code
REQUESTS_SECTION = "三、收到和处理政府信息公开申请情况"
ACTIVE_SECTION = "二、主动公开政府信息情况"
APPEALS_SECTION = "四、政府信息公开行政复议、行政诉讼情况"
ORG = "法人或其他组织·"


def requests_columns() -> list[tuple[str, str]]:
    """(code, label) of the seven applicant columns of table 三."""
    spec = formats.spec()
    labels = [label if code in ("natural_person", "total") else ORG + label
              for code, label in zip(spec["requests_columns"], spec["requests_column_labels"])]
    return list(zip(spec["requests_columns"], labels))


def appeals_columns() -> list[tuple[str, str]]:
    spec = formats.spec()
    return list(zip(spec["appeals_columns"], spec["appeals_column_labels"]))


def appeals_groups() -> list[tuple[str, str]]:
    spec = formats.spec()
    labels = [label if code == "review" else "行政诉讼·" + label
              for code, label in zip(spec["appeals_groups"], spec["appeals_group_labels"])]
    return list(zip(spec["appeals_groups"], labels))


@lru_cache(maxsize=1)
def active_columns() -> list[str]:
    """Every column code of table 二 in either format, in order of first appearance."""
    out: list[str] = []
    for fmt in reversed(FORMATS):
        for row in formats.rows(fmt, "active"):
            out += [column for column in row["columns"] if column not in out]
    return out


def _amount(fmt: str, code: str) -> bool:
    return formats.spec()["formats"][fmt].get("amount_column") == code


@lru_cache(maxsize=1)
def cell_codes() -> list[dict]:
    """One row per cell code: where it sits in the form, its Chinese labels, formats, unit."""
    found: dict[str, dict] = {}

    def add(fmt, code, table, section, row, row_label, column, column_label, group=None):
        if code in found:
            found[code]["formats"] += "," + fmt
            return
        found[code] = {
            "code": code, "table_name": table, "section": section, "group_label": group,
            "row_code": row, "row_label": row_label, "column_code": column,
            "column_label": column_label, "formats": fmt,
            "unit": "万元" if _amount(fmt, code) else "件/项 (count)", "position": len(found),
        }

    for fmt in FORMATS:
        for row in formats.rows(fmt, "active"):
            for column, label in zip(row["columns"], row["column_labels"]):
                add(fmt, f"active.{row['row']}.{column}", "active", ACTIVE_SECTION, row["row"],
                    row["label"], column, label, row.get("group"))
        for row in formats.rows(fmt, "requests"):
            for column, label in requests_columns():
                add(fmt, f"requests.{row['row']}.{column}", "requests", REQUESTS_SECTION, row["row"],
                    row["label"], column, label)
        for group, group_label in appeals_groups():
            for column, label in appeals_columns():
                add(fmt, f"appeals.{group}.{column}", "appeals", APPEALS_SECTION, group,
                    group_label, column, label)
    for row in found.values():
        row["formats"] = ",".join(sorted(row["formats"].split(",")))
    return list(found.values())


def form_layout() -> list[dict]:
    """form_rows: each row of each format's three tables, in the form's order; `unit_code` the
    cell whose printed unit the row's `unit` shows (table 二's amount column)."""
    out = []
    for fmt in FORMATS:
        amount = formats.spec()["formats"][fmt].get("amount_column", "")
        for position, row in enumerate(formats.rows(fmt, "active")):
            out.append({"format": fmt, "table_name": "active", "position": position, "row_code": row["row"],
                        "group_label": row.get("group"), "row_label": row["label"],
                        "unit_code": amount if amount.startswith(f"active.{row['row']}.") else None})
        for position, row in enumerate(formats.rows(fmt, "requests")):
            out.append({"format": fmt, "table_name": "requests", "position": position, "row_code": row["row"],
                        "group_label": None, "row_label": row["label"], "unit_code": None})
        for position, (group, label) in enumerate(appeals_groups()):
            out.append({"format": fmt, "table_name": "appeals", "position": position, "row_code": group,
                        "group_label": label, "row_label": None, "unit_code": None})
    return out


def _figure(table: str, column: str) -> str:
    """SQL of one figure of a form row `f` of report `r`, found through its code."""
    return (f"(select v.value from cell_values v join cell_codes k on k.id = v.code_id where v.report_id = r.id "
            f"and k.code = '{table}.' || f.row_code || '.{column}') as [{column}]")


def views() -> dict[str, str]:
    """The form-shaped views: one row per report and form row, the figures as the form's columns
    (looked up in cell_values by report and code: a report's rows cost a few index reads)."""
    base = "select r.id as report_id, r.year, r.format, f.position, f.row_code"
    rows = "from reports r join form_rows f on f.format = r.format and f.table_name = '{}'"
    return {
        "active_table": f"""{base}, f.group_label, f.row_label,
            {', '.join(_figure('active', column) for column in active_columns())},
            (select v.unit from cell_values v join cell_codes k on k.id = v.code_id
             where v.report_id = r.id and k.code = f.unit_code) as unit
            {rows.format('active')}""",
        "requests_table": f"""{base}, f.row_label,
            {', '.join(_figure('requests', column) for column, _ in requests_columns())}
            {rows.format('requests')}""",
        "appeals_table": f"""{base.replace('f.row_code', 'f.row_code as group_code')}, f.group_label,
            {', '.join(_figure('appeals', column) for column, _ in appeals_columns())}
            {rows.format('appeals')}""",
    }


def page(conn, report_id) -> dict | None:
    """A report and its three tables laid out as the form prints them (for the report page)."""
    keys = ["id", "title", "year", "format", "source_url", "sha256", "check_status", "checks_failed",
            "body_name", "agency", "body_id"]
    found = conn.execute(f"select {', '.join(keys)} from reports where id = ?", [report_id]).fetchone()
    if found is None:
        return None
    report = dict(zip(keys, found))
    text = conn.execute("select body from report_texts where report_id = ?", [report_id]).fetchone()
    report["text"] = text[0] if text else None
    report["notes"] = _notes(conn, report_id)
    fmt = report["format"]
    if fmt not in FORMATS:
        return {"report": report, "active": [], "requests": [], "appeals": [], "provenance": {}}
    stored = {row[0]: row[1:] for row in conn.execute(
        f"select row_code, {', '.join(active_columns())}, unit from active_table where report_id = ?",
        [report_id])}
    active: list[dict] = []
    for row in formats.rows(fmt, "active"):
        values = stored.get(row["row"], (None,) * (len(active_columns()) + 1))
        by_column = dict(zip(active_columns(), values))
        if not active or active[-1]["headers"] != row["column_labels"] or active[-1]["group"] != row.get("group"):
            active.append({"group": row.get("group"), "headers": row["column_labels"], "rows": []})
        active[-1]["rows"].append({"label": row["label"], "values": [by_column[c] for c in row["columns"]],
                                   "codes": [f"active.{row['row']}.{c}" for c in row["columns"]], "unit": values[-1]})
    columns = [column for column, _ in requests_columns()]
    requests = [{"label": row[1], "values": list(row[2:]), "codes": [f"requests.{row[0]}.{c}" for c in columns]}
                for row in conn.execute(
        f"select row_code, row_label, {', '.join(columns)} from requests_table where report_id = ? order by position",
        [report_id])]
    appeal_columns = [column for column, _ in appeals_columns()]
    appeals, appeal_codes = [], []
    for row in conn.execute(f"select group_code, {', '.join(appeal_columns)} from appeals_table "
                            "where report_id = ? order by position", [report_id]):
        appeals += row[1:]
        appeal_codes += [f"appeals.{row[0]}.{c}" for c in appeal_columns]
    return {"report": report, "active": active, "requests": requests, "appeals": appeals,
            "appeal_codes": appeal_codes, "provenance": provenance(conn, report_id),
            "requests_headers": [label for _, label in requests_columns()],
            "appeals_groups": [label for _, label in appeals_groups()],
            "appeals_headers": [label for _, label in appeals_columns()]}


def provenance(conn, report_id) -> dict[str, dict]:
    """code → where its figure was read (cell_provenance), for the links of the report page."""
    keys = ["token", "row_label", "column_label", "page", "locator", "read_by"]
    return {row[0]: dict(zip(keys, row[1:])) for row in conn.execute(
        f"select code, {', '.join(keys)} from cell_provenance where report_id = ?", [report_id])}


def _notes(conn, report_id) -> list[str]:
    """The parse's notes (why a printed cell was left null, how a reading was chosen), kept
    with the report's provenance in cell_sources."""
    found = conn.execute("select sources from cell_sources where report_id = ?", [report_id]).fetchone()
    return list(codec.unpack_json(found[0]).get("notes") or []) if found else []
