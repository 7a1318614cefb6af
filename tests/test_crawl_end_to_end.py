"""The real spider over real HTTP against the sample portals, checked against their
manifests and, where ../shared is present, against the gold figures."""
import json



def manifest_items(crawled, is_report: bool):
    for manifest in crawled["manifests"]:
        for item in manifest["items"]:
            if item["is_report"] == is_report:
                yield manifest, item, f"{crawled['base']}/{manifest['id']}{item['url']}"


def report_rows(crawled) -> dict:
    return {row["url"]: row for row in crawled["conn"].execute("select * from reports")}


def test_every_report_in_the_manifests_is_archived(crawled):
    rows = report_rows(crawled)
    expected = {url for _, _, url in manifest_items(crawled, True)}
    assert expected, "the sample portals list no report"
    assert expected - rows.keys() == set()


def test_nothing_else_is_archived_as_a_report(crawled):
    expected = {url for _, _, url in manifest_items(crawled, True)}
    assert set(report_rows(crawled)) - expected == set()


def test_non_reports_are_recorded_as_skipped_with_a_reason(crawled):
    skipped = {row["url"]: row["reason"] for row in crawled["conn"].execute("select url, reason from skipped")}
    non_reports = [url for _, _, url in manifest_items(crawled, False)]
    assert non_reports
    for url in non_reports:
        assert skipped.get(url), f"{url} not recorded as skipped"


def test_year_and_format_match_the_manifest(crawled):
    rows = report_rows(crawled)
    for _, item, url in manifest_items(crawled, True):
        assert (rows[url]["year"], rows[url]["format"]) == (item["year"], item["format"]), url


def test_attachment_only_report_is_read_from_its_attachment(crawled):
    rows = report_rows(crawled)
    attachment_reports = [(item, url) for _, item, url in manifest_items(crawled, True)
                          if item["report_in"] == "attachment"]
    assert attachment_reports, "no sample report lives only in an attachment"
    for item, url in attachment_reports:
        assert rows[url]["source_url"].endswith(item["attachment"].rsplit("/", 1)[-1])
        assert rows[url]["format"] != "none"


def test_figures_equal_the_gold(crawled, shared):
    rows = report_rows(crawled)
    compared = 0
    for _, item, url in manifest_items(crawled, True):
        if not item.get("gold"):
            continue
        gold = json.loads((shared / "gold" / item["gold"]).read_text(encoding="utf-8"))
        cells = {code: value for code, value in crawled["conn"].execute(
            "select code, value from cells where report_id = ?", [rows[url]["id"]])}
        # a blank cell the report left is no row of cells: null, as the gold has it
        assert set(cells) <= set(gold["cells"]), url
        assert {code: cells.get(code) for code in gold["cells"]} == gold["cells"], url
        compared += 1
    assert compared >= 5


def test_every_raw_document_is_kept(crawled):
    conn = crawled["conn"]
    missing = conn.execute(
        "select count(*) from documents d left join blobs b on b.sha256 = d.sha256 where b.sha256 is null"
    ).fetchone()[0]
    assert missing == 0
    assert conn.execute("select count(*) from documents where role = 'attachment'").fetchone()[0] >= 1


def test_unreachable_portal_is_recorded_and_the_crawl_goes_on(crawled):
    failures = crawled["conn"].execute("select url, stage, error from failures where portal_id = 'down'").fetchall()
    assert failures and failures[0]["stage"] == "listing"
    assert failures[0]["url"].startswith(crawled["unreachable"])
    assert report_rows(crawled), "the other portals were not crawled"


def test_per_portal_yield_is_stored(crawled):
    rows = {row["portal_id"]: row for row in crawled["conn"].execute("select * from crawls")}
    for manifest in crawled["manifests"]:
        reports = sum(item["is_report"] for item in manifest["items"])
        row = rows[f"sample-{manifest['id']}"]
        assert row["reports_found"] >= reports
        assert row["reports_new"] == reports
        assert row["listings_seen"] >= 2
    assert rows["down"]["failed"] >= 1


def test_page_metadata_is_kept(crawled):
    rows = report_rows(crawled)
    pingtan_2024 = next(row for url, row in rows.items() if url.endswith("t20250310_97791.htm"))
    assert (pingtan_2024["source_name"], pingtan_2024["published"]) == ("平潭综合实验区管委会办公室", "2025-03-10")
    assert any(row["index_number"] for row in rows.values()), "no 索引号 kept from any metadata block"


def test_the_embedded_crawl_warns_of_no_disabled_component(crawled):
    """The default crawl (no Redis) is not the distributed one: its log warns of no
    component left out (a newcomer's `make demo` shows warnings about portals only)."""
    disabled = [line for line in crawled["log"].splitlines() if "[scrapy.middleware] WARNING" in line]
    assert not disabled, disabled
