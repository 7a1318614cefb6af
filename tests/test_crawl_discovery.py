"""A portal registered with its homepage only: the crawl finds the 年报 column by
link text (homepage → 政府信息公开 → 政府信息公开年报) and its reports."""

import pytest

from conftest import one_portal_registry, run_crawl, serve_folder
from nianbao.sample_portals.server import manifests
from archive.db import connect as connect_archive


@pytest.fixture
def homepage(tmp_path, sample_portals):
    """A portal front: homepage and disclosure page, whose 年报 link leads to the seeds column."""
    seeds = next(m for m in manifests() if m["id"] == "seeds")
    column = f"{sample_portals}/seeds{seeds['column']}"
    (tmp_path / "index.html").write_text(
        '<html><body><a href="/bsfw/">办事服务</a> <a href="/xxgk/index.html">政府信息公开</a></body></html>',
        encoding="utf-8")
    (tmp_path / "xxgk").mkdir()
    (tmp_path / "xxgk" / "index.html").write_text(
        f'<html><body><a href="zn.html">政府信息公开指南</a> <a href="{column}">政府信息公开年报</a></body></html>',
        encoding="utf-8")
    server = serve_folder(tmp_path)
    yield f"http://127.0.0.1:{server.server_address[1]}/", seeds
    server.shutdown()


def test_column_found_from_the_homepage(tmp_path, homepage):
    url, seeds = homepage
    db = tmp_path / "archive.db"
    result = run_crawl(one_portal_registry(tmp_path, url), db)
    assert result.returncode == 0, result.stderr[-2000:]
    found = {row[0] for row in connect_archive(db).execute("select title from reports")}
    assert found == {item["title"] for item in seeds["items"] if item["is_report"]}
