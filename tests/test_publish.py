"""`nianbao serve` starts a real Datasette on the crawled archive, read-only and live."""
import pytest

from archive_fixtures import get_json, start_datasette, stop


@pytest.fixture(scope="module")
def datasette(crawled):
    process, base = start_datasette(crawled["db"])
    yield f"{base}/{crawled['db'].stem}"
    stop(process)


def test_serves_every_report_with_its_figures(datasette, crawled):
    reports = get_json(f"{datasette}/reports.json?_shape=array&_size=max&_col=url&_col=title")
    expected = crawled["conn"].execute("select count(*) from reports").fetchone()[0]
    assert len(reports) == expected > 0
    figures = get_json(f"{datasette}.json?sql=select+count(value)+as+n+from+cells&_shape=array")
    assert figures[0]["n"] == crawled["conn"].execute("select count(value) from cells").fetchone()[0] > 0


def test_reports_are_faceted_by_year_and_format(datasette):
    data = get_json(f"{datasette}/reports.json?_size=0")
    assert {"year", "format"} <= set(data["facet_results"])


def test_served_live_with_a_time_limit(datasette, crawled):
    """Not immutable (a crawl may be writing the archive: see test_publish_live.py)."""
    base = datasette.rsplit("/", 1)[0]
    databases = {db["name"]: db for db in get_json(f"{base}/-/databases.json")}
    assert databases[crawled["db"].stem]["is_mutable"] is True
    assert get_json(f"{base}/-/settings.json")["sql_time_limit_ms"] <= 5000
