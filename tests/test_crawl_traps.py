"""The traps the sample portals carry (manifest["traps"]), checked against the one real
crawl of conftest's `crawled`, plus the listing adapters on the families' own pages."""
import json
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.listing import adapter_for
from nianbao.sample_portals.server import SAMPLE_PORTALS

TRAP_KINDS = {"not_a_report", "404", "listed_twice", "pdf_only", "docx_only", "redirect", "slow", "gbk_no_charset"}


def traps(crawled, kind: str):
    found = [(manifest, trap) for manifest in crawled["manifests"] for trap in manifest.get("traps", [])
             if trap["trap"] == kind]
    assert found, f"no sample portal carries the {kind} trap"
    return found


def address(crawled, manifest, path: str) -> str:
    return f"{crawled['base']}/{manifest['id']}{path}"


def reports(crawled) -> dict:
    return {row["url"]: row for row in crawled["conn"].execute("select * from reports")}


def test_every_trap_is_carried_and_stated(crawled):
    kinds = {trap["trap"] for manifest in crawled["manifests"] for trap in manifest.get("traps", [])}
    assert TRAP_KINDS <= kinds
    for manifest in crawled["manifests"]:
        for trap in manifest.get("traps", []):
            assert trap.get("url") and trap.get("expect"), trap


def test_dead_link_is_a_failure_not_a_report(crawled):
    for manifest, trap in traps(crawled, "404"):
        url = address(crawled, manifest, trap["url"])
        failures = crawled["conn"].execute("select stage, error, portal_id from failures where url = ?", [url]).fetchall()
        assert [(row["stage"], row["error"]) for row in failures] == [("report", "HTTP 404")]
        assert failures[0]["portal_id"] == f"sample-{manifest['id']}"
        assert url not in reports(crawled)


def test_non_report_is_skipped_not_fetched(crawled):
    for manifest, trap in traps(crawled, "not_a_report"):
        url = address(crawled, manifest, trap["url"])
        assert crawled["conn"].execute("select reason from skipped where url = ?", [url]).fetchone()[0]
        assert not crawled["conn"].execute("select 1 from documents where url = ?", [url]).fetchone()


def test_report_listed_twice_is_archived_once(crawled):
    for manifest, trap in traps(crawled, "listed_twice"):
        url = address(crawled, manifest, trap["url"])
        assert crawled["conn"].execute("select count(*) from reports where url = ?", [url]).fetchone()[0] == 1
        assert crawled["conn"].execute(
            "select count(*) from documents where url = ? and role = 'page'", [url]).fetchone()[0] == 1


def test_redirected_report_is_archived_under_its_target(crawled):
    rows = reports(crawled)
    for manifest, trap in traps(crawled, "redirect"):
        listed, target = address(crawled, manifest, trap["url"]), address(crawled, manifest, trap["target"])
        assert target in rows and listed not in rows
        item = next(item for item in manifest["items"] if item["url"] == trap["target"])
        assert item["listed_url"] == trap["url"]
        assert (rows[target]["year"], rows[target]["format"]) == (item["year"], item["format"])
        with pytest.raises(urllib.error.HTTPError) as answer:  # the server really answers 301
            opener = urllib.request.build_opener(NoRedirect)
            opener.open(listed)
        assert answer.value.code == 301 and answer.value.headers["Location"].endswith(trap["target"])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.parametrize("kind", ["pdf_only", "docx_only"])
def test_report_only_in_an_attachment_is_read_from_it(crawled, kind):
    rows = reports(crawled)
    for manifest, trap in traps(crawled, kind):
        row = rows[address(crawled, manifest, trap["url"])]
        assert row["source_url"] == address(crawled, manifest, trap["attachment"])
        assert row["format"] not in (None, "none") and row["cells_filled"] > 0


def test_slow_answers_are_waited_for(crawled):
    for manifest, trap in traps(crawled, "slow"):
        delays = json.loads((SAMPLE_PORTALS / manifest["id"] / "delays.json").read_text(encoding="utf-8"))
        assert 0 < delays[trap["url"]] == trap["delay"] <= 2
        route = next(route for route in json.loads(
            (SAMPLE_PORTALS / manifest["id"] / "routes.json").read_text(encoding="utf-8")) if route["path"] == trap["url"])
        query = urllib.parse.urlencode(route.get("query", {}))
        started = time.monotonic()
        urllib.request.urlopen(urllib.request.Request(
            address(crawled, manifest, trap["url"]) + (f"?{query}" if query else ""),
            data=urllib.parse.urlencode(route.get("form", {})).encode() or None,
            method=route.get("method", "GET"))).read()
        assert time.monotonic() - started >= trap["delay"] * 0.9
    rows = reports(crawled)  # what lies behind the slow answer was crawled
    for manifest, _ in traps(crawled, "slow"):
        for item in manifest["items"]:
            assert address(crawled, manifest, item["url"]) in rows


def test_post_paging_needs_the_pages_form_fields(crawled):
    for manifest, trap in traps(crawled, "post_paging"):
        route = next(route for route in json.loads(
            (SAMPLE_PORTALS / manifest["id"] / "routes.json").read_text(encoding="utf-8")) if route["path"] == trap["url"])
        url = address(crawled, manifest, trap["url"]) + "?" + urllib.parse.urlencode(route["query"])
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(urllib.request.Request(url, data=b"col=1", method="POST"))
        assert answer.value.code == 404
        body = urllib.request.urlopen(urllib.request.Request(
            url, data=urllib.parse.urlencode(route["form"]).encode(), method="POST")).read()
        assert b"<datastore>" in body and b"{{origin}}" not in body


def test_gbk_portal_without_charset_is_decoded(crawled):
    for manifest, trap in traps(crawled, "gbk_no_charset"):
        column = address(crawled, manifest, manifest["column"])
        answer = urllib.request.urlopen(column)
        assert "charset" not in answer.headers["Content-Type"].lower()
        body = answer.read()
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert "政府信息公开年报" in body.decode("gbk")
        listed = dict(crawled["conn"].execute(
            "select url, listing_title from documents where portal_id = ? and role = 'page'",
            [f"sample-{manifest['id']}"]).fetchall())
        rows = reports(crawled)
        for item in manifest["items"]:
            url = address(crawled, manifest, item["url"])
            assert listed[url] == item["title"]  # the GBK listing was read as GBK
            assert (rows[url]["year"], rows[url]["format"]) == (item["year"], item["format"])
            assert item["title"][:2] in (rows[url]["title"] or "")


@pytest.mark.parametrize("portal, name", [("jcms", "jcms"), ("gkmlpt", "gkmlpt"), ("annual", "xxgk-annual"),
                                          ("pingtan", "trs"), ("seeds", "generic")])
def test_each_family_page_is_read_by_its_adapter(portal, name):
    manifest = json.loads((SAMPLE_PORTALS / portal / "manifest.json").read_text(encoding="utf-8"))
    path = manifest["column"]
    route = next((route for route in json.loads((SAMPLE_PORTALS / portal / "routes.json").read_text(encoding="utf-8"))
                  if route["path"] == path.split("?")[0]), None) if (SAMPLE_PORTALS / portal / "routes.json").exists() \
        else None
    if route and "query" in route:
        route = next(r for r in json.loads((SAMPLE_PORTALS / portal / "routes.json").read_text(encoding="utf-8"))
                     if r["path"] == path.split("?")[0]
                     and urllib.parse.urlencode({k: str(v) for k, v in r["query"].items()}) in path)
    file = SAMPLE_PORTALS / portal / "site" / (route["file"] if route else path.lstrip("/"))
    base = f"http://portal.example/{portal}"
    body = file.read_bytes().replace(b"{{origin}}", base.encode())
    response = HtmlResponse(base + path, body=body, headers={"Content-Type": "text/html"})
    adapter = adapter_for(response)
    assert adapter.name == name
    if name == "jcms":
        items = adapter.items(response)
        assert len(items) == 6 and all(item.date for item in items)
        (request,) = adapter.next_requests(response)
        assert request.method == "POST" and "startrecord=7&endrecord=12&perpage=2" in request.url
        assert request.url.startswith(f"{base}/module/web/jpage/dataproxy.jsp")
        form = dict(urllib.parse.parse_qsl(request.body.decode()))
        assert form["columnid"] == "1229003" and form["unitid"] == "4038553" and form["webname"] == "年报样例门户"
    elif name == "gkmlpt":
        assert adapter.items(response) == []
        (request,) = adapter.next_requests(response)
        assert request.url == f"{base}/gkmlpt/api/all/2654?page=1&sid=440117"
        api = json.loads((SAMPLE_PORTALS / portal / "site/gkmlpt/api/all/2654/page1.json").read_text(encoding="utf-8"))
        answer = TextResponse(request.url, body=json.dumps(api).replace("{{origin}}", base).encode(),
                              headers={"Content-Type": "application/json"})
        assert adapter_for(answer).name == "gkmlpt"
        assert [item.title for item in adapter.items(answer)] == [a["title"] for a in api["articles"]]
        assert all(item.date for item in adapter.items(answer))
        assert [r.url for r in adapter.next_requests(answer)] == [f"{base}/gkmlpt/api/all/2654?page=2&sid=440117"]
    elif name == "xxgk-annual":
        years = sorted(dict(urllib.parse.parse_qsl(r.url.split("?")[1]))["fbtime"]
                       for r in adapter.next_requests(response))
        assert years == ["2019", "2020", "2021", "2022"]
