"""Politeness: robots.txt is obeyed unless the registry states a reason to override
it for a portal; the User-Agent names the project and the operator's contact URL."""
from importlib.metadata import version

from conftest import one_portal_registry, run_crawl
from archive.db import connect as connect_archive


def crawl_private_column(tmp_path, base: str, override: str) -> list[tuple]:
    registry = one_portal_registry(tmp_path, f"{base}/", f"{base}/private/nb/index.html", override)
    db = tmp_path / "archive.db"
    result = run_crawl(registry, db, "-s", "ROBOTSTXT_OBEY=True")
    assert result.returncode == 0, result.stderr[-2000:]
    return connect_archive(db).execute("select url, error from failures").fetchall()


def test_robots_txt_is_obeyed(tmp_path, sample_portals):
    failures = crawl_private_column(tmp_path, sample_portals, "")
    assert len(failures) == 1 and "robots.txt" in failures[0][1]


def test_registry_override_with_a_reason_fetches_anyway(tmp_path, sample_portals):
    failures = crawl_private_column(tmp_path, sample_portals, "portal asked us to archive its reports")
    assert failures == [(f"{sample_portals}/private/nb/index.html", "HTTP 404")]


def test_user_agent_names_project_and_contact(tmp_path, sample_portals):
    registry = tmp_path / "registry.csv"
    registry.write_text("id,name,level,province,homepage,column_urls\n", encoding="utf-8")
    result = run_crawl(registry, tmp_path / "a.db", "-s", "NIANBAO_CONTACT_URL=https://example.org/ops",
                       "-s", "LOG_LEVEL=DEBUG")
    assert f"'USER_AGENT': 'nianbao/{version('nianbao')} (+https://example.org/ops" in result.stderr
