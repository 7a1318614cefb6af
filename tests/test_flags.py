"""Integrity flags (archive/flags.py): on the real reports of the sample portals, crawled
for real, exactly the true flags (the seed with injected gambling spam, the reports whose
own figures fail their checks as the gold figures do, the late ones coverage reckons, the
one real near-copy), and on reports generated from a real page: spam injected, a hidden
link, an error page at a report URL, a copied pair, a narrative figure edited; the flags
published with their facets in a real Datasette."""
import itertools
import json
import re
import sqlite3
from pathlib import Path

import pytest

from archive import coverage, flags, store
from archive.db import open_archive
from archive.reparse import reparse
from archive_fixtures import get, get_json, start_datasette, stop
from conftest import REPO
from parsers import checks
from parsers.workers import parse_fetched
from archive.db import connect as connect_archive

PINGTAN_2021 = REPO / "nianbao/sample_portals/pingtan/site/zwgk/zfxxgk/zfxxgknb/202202/t20220208_80613.htm"
NAME = "平潭综合实验区"


def real_page() -> str:
    """The real raw page of 平潭综合实验区's report on 2021 (gold: pingtan-2021)."""
    return PINGTAN_2021.read_text(encoding="utf-8")


def archive_pages(folder: Path, pages: list[tuple[str, str, str]]) -> sqlite3.Connection:
    """An archive of report pages (portal id, URL, HTML) stored, parsed and derived
    through archive.store, then coverage and flags refreshed as at a crawl's end."""
    db = open_archive(folder / "nianbao.db")
    store.upsert_portals(db, [{"id": portal, "name": f"门户{portal}", "level": "county", "province": "福建省"}
                              for portal in sorted({page[0] for page in pages})])
    with db.conn:
        for portal, url, page in pages:
            data = page.encode("utf-8")
            document = store.store_document(db, url=url, content=data, portal_id=portal, role="page",
                                            report_url=url, content_type="text/html; charset=utf-8",
                                            listing_date="2022-01-20")
            store.store_parse(db, document, parse_fetched(data, url, "text/html; charset=utf-8"))
            store.derive_report(db, url)
    coverage.refresh(db)
    flags.refresh(db)
    db.close()
    connection = connect_archive(folder / "nianbao.db")
    connection.row_factory = sqlite3.Row
    return connection


def flags_of(conn, url: str) -> dict[str, sqlite3.Row]:
    return {row["rule_id"]: row for row in conn.execute(
        "select f.* from flags f join reports r on r.id = f.report_id where r.url = ?", [url])}


def all_flags(conn) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for rule_id, report_id in conn.execute("select rule_id, report_id from flags"):
        found.setdefault(rule_id, set()).add(report_id)
    return found


# --- the real reports ----------------------------------------------------------------------

def shingles(text: str) -> set[str]:
    text = re.sub(r"\s+", "", text or "")
    return {text[i:i + 5] for i in range(len(text) - 4)}


def gold_of(crawled, shared: Path) -> dict[int, dict]:
    """The gold figures of each crawled report that has them, by report id."""
    gold = {}
    for manifest in crawled["manifests"]:
        for item in manifest["items"]:
            if item.get("gold"):
                row = crawled["conn"].execute("select id from reports where url = ?",
                                              [f"{crawled['base']}/{manifest['id']}{item['url']}"]).fetchone()
                if row:
                    gold[row["id"]] = json.loads((shared / "gold" / item["gold"]).read_text(encoding="utf-8"))
    return gold


def test_real_reports_carry_exactly_their_true_flags(crawled, shared):
    """Every report of the crawl (seeds, gold, pingtan's column on four portals): the
    flags the crawl's end computed are the true ones, each judged by its own oracle."""
    conn = crawled["conn"]
    found = all_flags(conn)
    texts = {row["id"]: (row["year"], row["body_id"].split(":", 1)[1], row["title"] + "\n" + (row["body"] or ""))
             for row in conn.execute("select r.id, r.year, r.body_id, r.title, t.body from reports r "
                                     "join report_texts t on t.report_id = r.id")}
    # spam: exactly the reports of the seed with 必赢体育 injected (on three portals)
    spam_seed = {report_id for report_id, (_, _, text) in texts.items() if "必赢体育" in text}
    assert len(spam_seed) == 3
    assert found.pop("spam.gambling") == spam_seed
    # inconsistent: the reports failing a check, each failing it in the gold figures too
    gold = gold_of(crawled, shared)
    failing = {row[0] for row in conn.execute("select distinct report_id from checks where status = 'fail'")}
    assert failing and failing <= set(gold)
    for report_id in failing:
        ours = {row[0] for row in conn.execute(
            "select check_id from checks where report_id = ? and status = 'fail'", [report_id])}
        truth = {c["id"] for c in checks.run(gold[report_id]["format"], gold[report_id]["cells"]) if c["status"] == "fail"}
        assert ours == truth, report_id
    assert found.pop("inconsistent.checks") == failing
    # late: the late reports of coverage_body_years, no other
    late = {row[0] for row in conn.execute(
        "select report_id from coverage_body_years where timeliness = 'late' and report_id is not null")}
    assert late
    assert found.pop("late.coverage") == late
    # copied: the exact share of 5-character shingles decides; no real pair near the threshold
    threshold = flags.load_rules()["copied"]["text_similarity"]
    copies = set()
    for (a, (year_a, name_a, text_a)), (b, (year_b, name_b, text_b)) in itertools.combinations(texts.items(), 2):
        if year_a == year_b and name_a != name_b:
            first, second = shingles(text_a), shingles(text_b)
            jaccard = len(first & second) / len(first | second)
            assert not threshold - 0.15 < jaccard < threshold + 0.05, (a, b, jaccard)
            if jaccard >= threshold:
                copies |= {a, b}
    # 平潭县人民政府 and 平潭综合实验区 published one text for 2011 (the exact share: 0.83)
    assert len(copies) == 2
    assert found.pop("copied.text") == copies
    # nothing else: no other spam, no hidden link, no error page, no copied tables,
    # no narrative figure contradicting the tables
    assert found == {}


def test_narrative_rules_read_real_figures_that_agree(crawled):
    """The narrative patterns do read the real reports (pingtan 2021–2025): each figure
    they find equals one of its readings in the tables."""
    rules = flags.load_rules()
    read = 0
    for report_id, body in crawled["conn"].execute(
            "select r.id, t.body from reports r join report_texts t on t.report_id = r.id where r.format != 'none'"):
        cells = dict(crawled["conn"].execute("select code, value from cells where report_id = ?", [report_id]))
        for rule in rules["narrative"]["rules"]:
            for match in re.finditer(rule["pattern"], body):
                readings = [sum(cells[code] for code in codes) for codes in rule["accept"]
                            if all(cells.get(code) is not None for code in codes)]
                assert int(match.group("n")) in readings, (report_id, match.group(0))
                read += 1
    assert read >= 10


def test_gold_texts_outside_the_portals_carry_no_false_flag(shared):
    """The texts of every gold report (seeds, and the fused-table texts of gold/hard that
    no sample portal serves) and the openings of 38 real reports: spam only in the seed
    with 必赢体育; each narrative figure the patterns read agrees with the gold tables."""
    rules = flags.load_rules()
    spam = flags.Spam(rules)
    patterns = [(rule, re.compile(rule["pattern"])) for rule in rules["narrative"]["rules"]]
    texts = [(path, shared / "gold/hard" / f"{path.stem}.json") for path in sorted((shared / "corpus/real").glob("r0*.txt"))]
    texts += [(path, shared / "gold/seeds" / f"{path.stem}.json") for path in sorted((shared / "corpus/seeds").glob("*.txt"))]
    texts += [(path, None) for path in sorted((shared / "corpus/openings").glob("*.txt"))]
    spammed, read = set(), 0
    for path, gold in texts:
        text = path.read_text(encoding="utf-8", errors="replace")
        if spam.text_flags(0, text):
            spammed.add(path.name)
        if gold and gold.exists():
            cells = json.loads(gold.read_text(encoding="utf-8"))["cells"]
            assert not flags.narrative_flags(0, text, cells, rules, patterns), path.name
            read += sum(1 for _, pattern in patterns for _ in pattern.finditer(text))
    assert spammed == {"000_857cb4fc1b3092db.txt"}
    assert read >= 10


# --- generated from a real page ------------------------------------------------------------

def test_spam_injected_into_a_real_page(tmp_path):
    page = real_page()
    sentence = "本年度全区共收到70件申请"
    assert page.count(sentence) == 1
    gambling = page.replace("全区", "必赢体育", 1)
    unrelated = page.replace(sentence, "代开发票、办证刻章、私服外挂充值，请联系客服。" + sentence)
    conn = archive_pages(tmp_path, [("a", "http://a.example.gov.cn/nb/1.htm", page),
                                    ("b", "http://b.example.gov.cn/nb/1.htm", gambling),
                                    ("c", "http://c.example.gov.cn/nb/1.htm", unrelated)])
    assert not {rule for rule in flags_of(conn, "http://a.example.gov.cn/nb/1.htm") if rule.startswith("spam")}
    found = flags_of(conn, "http://b.example.gov.cn/nb/1.htm")
    assert found["spam.gambling"]["severity"] == "high"
    assert "必赢体育" in found["spam.gambling"]["evidence"]
    assert "spam.unrelated_text" not in found
    found = flags_of(conn, "http://c.example.gov.cn/nb/1.htm")
    assert "spam.gambling" not in found
    details = json.loads(found["spam.unrelated_text"]["details"])
    assert {"代开发票", "办证", "刻章", "私服", "外挂", "充值"} <= set(details["sentences"][0]["terms"])


HIDDEN = {
    "off-screen wrapper": ('<div style="position:absolute; left:-9999px"><a href="https://www.win-888.com/">体育平台</a></div>', True),
    "display none": ('<span style="display: none"><a href="http://bc.example.com/x">网址大全</a></span>', True),
    "font-size 0": ('<p style="font-size:0px"><a href="https://cp.example.net/">点击进入</a></p>', True),
    "class hidden by the page's style": ('<style>.yc{visibility:hidden}</style><div class="yc"><a href="https://x.example.org/">彩</a></div>', True),
    "hidden gambling link to the same site": ('<div style="display:none"><a href="/bet.html">必赢体育</a></div>', True),
    "visible link elsewhere": ('<p><a href="https://www.win-888.com/">体育平台</a></p>', False),
    "hidden link to a look-alike of a government's domain": ('<div style="display:none"><a href="https://www.fujiangov.cn/">福建</a></div>', True),
    "hidden link to a government": ('<div style="display:none"><a href="https://www.fujian.gov.cn/">福建省人民政府</a></div>', False),
    "hidden link of the same site": ('<div style="display:none"><a href="/zwgk/">政务公开</a></div>', False),
}


@pytest.mark.parametrize("case", HIDDEN)
def test_hidden_link_in_a_real_page(tmp_path, case):
    snippet, flagged = HIDDEN[case]
    page = real_page()
    assert page.count("</body>") == 1
    url = "http://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202202/t20220208_80613.htm"
    conn = archive_pages(tmp_path, [("p", url, page.replace("</body>", snippet + "</body>"))])
    found = flags_of(conn, url)
    assert ("spam.hidden_link" in found) == flagged
    if flagged:
        link = json.loads(found["spam.hidden_link"]["details"])["links"][0]
        assert link["href"] in snippet and link["hidden_by"]


ERROR_PAGES = {
    "not_report.error": "<html><head><title>404 页面不存在</title></head><body><h1>404</h1>"
                        "<p>抱歉，您访问的页面不存在或已被删除。</p><a href='/'>返回首页</a></body></html>",
    "not_report.captcha": "<html><head><title>安全验证</title></head><body><p>请输入验证码后继续访问</p>"
                          "<img src='/captcha.jpg'><input name='code'></body></html>",
    "not_report.login": "<html><head><title>统一身份认证平台</title></head><body><p>该信息需登录后查看，请登录。</p>"
                        "<form><input name='user'><input name='pass' type='password'></form></body></html>",
    "not_report.closed": "<html><head><title>通知</title></head><body><p>本网站已关闭，相关信息已迁移至市政府门户网站。</p>"
                         "</body></html>",
    "not_report.throttled": "<html><head><title>提示</title></head><body><p>您的访问过于频繁，请稍后再试。</p></body></html>",
}


@pytest.mark.parametrize("rule_id", ERROR_PAGES)
def test_a_page_that_is_not_the_report(tmp_path, rule_id):
    url = "http://www.example.gov.cn/xxgk/ndbg/2023/t20240131_1.htm"
    conn = archive_pages(tmp_path, [("p", url, ERROR_PAGES[rule_id]),
                                    ("p", "http://www.example.gov.cn/xxgk/ndbg/2021/t1.htm", real_page())])
    assert set(flags_of(conn, url)) == {rule_id}
    assert flags_of(conn, url)[rule_id]["flag"] == "not_report"
    # the real report of the same portal is no error page, though its text says 404 nowhere near
    assert not flags_of(conn, "http://www.example.gov.cn/xxgk/ndbg/2021/t1.htm")


def test_a_short_report_page_is_not_an_error_page(tmp_path):
    """A report page whose report is its attachment: short, no tables, a portal header's
    用户登录 and a telephone number holding 404 and 502 — not an error page nor a login wall."""
    url = "http://www.example.gov.cn/xxgk/ndbg/2023/t1.htm"
    page = ("<html><head><title>某县2023年政府信息公开工作年度报告</title></head><body>"
            "<div class='top'><a href='/login'>用户登录</a> | <a href='/reg'>注册</a></div>"
            "<div class='article'><h1>某县2023年政府信息公开工作年度报告</h1>"
            "<p>某县2023年政府信息公开工作年度报告详见附件。如有疑问请联系县政府办公室，联系电话：0591-24043502。</p>"
            "</div></body></html>")
    conn = archive_pages(tmp_path, [("p", url, page)])
    assert conn.execute("select format from reports").fetchone()[0] == "none"
    assert not flags_of(conn, url)


def test_an_archive_of_error_pages_alone(tmp_path):
    """No text long enough to compare (nothing for MinHash): every page still flagged."""
    urls = [f"http://www.example.gov.cn/nb/{n}.htm" for n in range(2)]
    conn = archive_pages(tmp_path, [("p", url, ERROR_PAGES["not_report.error"]) for url in urls])
    assert all(set(flags_of(conn, url)) == {"not_report.error"} for url in urls)


def test_copied_pair_from_one_gold_report(tmp_path):
    """pingtan-2021 under another body (its name replaced), and once more with a
    paragraph rewritten and one figure changed: text copied both times, tables once."""
    page = real_page()
    copy = page.replace(NAME, "清河县")
    sentence = "本年度全区共收到70件申请，及时依法依规办结69件，1件结转下年度继续办理。"
    assert sentence in page
    edited = page.replace(NAME, "白沙县").replace(sentence, "全年共处理申请若干，均按期答复。")
    assert edited.count(">70</span>") == 1  # the table's 一、本年新收 总计
    edited = edited.replace(">70</span>", ">71</span>")
    urls = {name: f"http://{name}.example.gov.cn/nb/2021.htm" for name in ("orig", "copy", "edited")}
    conn = archive_pages(tmp_path, [("orig", urls["orig"], page), ("copy", urls["copy"], copy),
                                    ("edited", urls["edited"], edited)])
    ids = {name: conn.execute("select id from reports where url = ?", [url]).fetchone()[0] for name, url in urls.items()}
    names = {row[0] for row in conn.execute("select agency from reports")}
    assert names == {NAME, "清河县", "白沙县"}
    orig, copied, rewritten = (flags_of(conn, urls[name]) for name in ("orig", "copy", "edited"))
    for name, found in (("orig", orig), ("copy", copied), ("edited", rewritten)):
        assert found["copied.text"]["other_report_id"] in set(ids.values()) - {ids[name]}
        assert json.loads(found["copied.text"]["details"])["similarity"] >= 0.9
        assert found["copied.text"]["severity"] == "medium"
    # the tables: the copy's are the original's; the edited one's differ by one figure
    assert copied["copied.figures"]["other_report_id"] == ids["orig"]
    assert orig["copied.figures"]["other_report_id"] == ids["copy"]
    assert "copied.figures" not in rewritten
    assert conn.execute("select value from cells where report_id = ? and code = 'requests.new.total'",
                        [ids["edited"]]).fetchone()[0] == 71


def test_narrative_figure_contradicting_the_tables(tmp_path):
    page = real_page()
    edited = page.replace("本年度全区共收到70件申请", "本年度全区共收到95件申请")
    assert edited != page
    conn = archive_pages(_folder(tmp_path, "a"), [("a", "http://a.example.gov.cn/nb/2021.htm", page)])
    assert "inconsistent.narrative" not in flags_of(conn, "http://a.example.gov.cn/nb/2021.htm")
    conn = archive_pages(_folder(tmp_path, "b"), [("b", "http://b.example.gov.cn/nb/2021.htm", edited)])
    flag = flags_of(conn, "http://b.example.gov.cn/nb/2021.htm")["inconsistent.narrative"]
    contradiction = json.loads(flag["details"])["contradictions"][0]
    assert contradiction["stated"] == 95 and contradiction["tables"]["requests.new.total"] == 70
    assert "95" in flag["evidence"] and "70" in flag["evidence"]


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


# --- reparse and publishing --------------------------------------------------------------------

def test_reparse_rebuilds_the_flags(tmp_path):
    conn = archive_pages(tmp_path, [("b", "http://b.example.gov.cn/nb/1.htm", real_page().replace("全区", "必赢体育", 1))])
    before = [tuple(row) for row in conn.execute("select report_id, rule_id, evidence from flags order by 1, 2")]
    assert ("spam.gambling" in {row[1] for row in before})
    with conn:
        conn.execute("delete from flags")
    reparse(str(tmp_path / "nianbao.db"), progress=False, workers=0)
    assert [tuple(row) for row in conn.execute("select report_id, rule_id, evidence from flags order by 1, 2")] == before


def test_flags_published_with_facets_and_bilingual_labels(tmp_path):
    page = real_page()
    conn = archive_pages(tmp_path, [
        ("a", "http://a.example.gov.cn/nb/1.htm", page.replace("全区", "必赢体育", 1)),
        ("b", "http://b.example.gov.cn/nb/1.htm", page.replace(NAME, "清河县")),
        ("c", "http://c.example.gov.cn/nb/1.htm", ERROR_PAGES["not_report.error"])])
    counts = dict(conn.execute("select flag, count(*) from flags group by flag"))
    assert {"spam", "copied", "not_report"} <= set(counts)
    conn.close()
    process, base = start_datasette(tmp_path / "nianbao.db")
    try:
        data = get_json(f"{base}/nianbao/flags.json?_size=0")
        facet = {item["value"]: item["count"] for item in data["facet_results"]["flag"]["results"]}
        assert facet == counts
        assert {"rule_id", "severity"} <= set(data["facet_results"])
        page_html = get(f"{base}/nianbao/flags").decode()
        assert "诚信标记" in page_html and "injected spam" in page_html and "被植入的垃圾信息" in page_html
        rules = get_json(f"{base}/nianbao/flag_rules.json?_shape=array&_size=max")
        assert {row["rule_id"] for row in rules} == set(flags.load_rules()["rules"])
        assert all(row["label_en"] and row["label_zh"] for row in rules)
        spam = get_json(f"{base}/nianbao/flags.json?flag=spam&_shape=array&_labels=on")
        assert spam and spam[0]["rule_id"]["label"] == flags.load_rules()["rules"][spam[0]["rule_id"]["value"]]["label_en"]
    finally:
        stop(process)
