"""The registry: the bundled national registry (its size, spread and fields), the
hand-checked rows and their evidence, `nianbao registry stats` agreeing with the file, and
`nianbao registry import` — on the real official site database when ../shared is present,
and on small files made here."""
import csv
import re
import subprocess
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from conftest import BIN
from crawler.registry import DEFAULT_REGISTRY, HAND_REGISTRY, LEVELS, load_registry, select_portals
from crawler.registry.divisions import divisions
from crawler.registry.national import COLUMNS, SITES_HEADER, is_government_portal, split_urls

URL = re.compile(r"https?://[^\s/]+\.[^\s/]+/\S*")
# the dataset row a portal comes from: <file>#<site ID> or <sheet file>#row<N>
DATASET_ROW = re.compile(r"[^\s#]+\.(?:csv#[0-9A-Z]{10}|xlsx#row\d+)")
SITES = "zfwz-jbxx-2023-03-09"
CENTRAL = "central-organs-2023/national_websites.xlsx"


def rows(path: Path = DEFAULT_REGISTRY) -> list[dict]:
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def nianbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "nianbao"), *map(str, args)], capture_output=True, text=True, timeout=300)


def import_registry(folder: Path, sites: list[Path], *extra) -> tuple[subprocess.CompletedProcess, Path, Path]:
    out, report = folder / "registry.csv", folder / "unplaced.csv"
    result = nianbao("registry", "import", *sites, "--out", out, "--report", report, *extra)
    return result, out, report


def output_counts(stdout: str) -> dict[str, int]:
    """The figures of the import's output: `placed by code: N, by name: N, …`."""
    return {key: int(value) for key, value in re.findall(r"([a-z][a-z ]+?): (\d+)", stdout)}


def stats_lines(table: list[dict]) -> list[str]:
    levels = Counter(row["level"] for row in table)
    counties = {row["division_code"] for row in table
                if row["level"] == "county" and row.get("division_match", "code") in ("code", "name")}
    return [
        f"portals: {len(table)}",
        f"provinces: {len({row['province'] for row in table if row['level'] != 'central'} - {''})}",
        f"with column url: {sum(bool(row['column_urls'].strip()) for row in table)}",
        *[f"level {level}: {levels[level]}" for level in LEVELS],
        f"county governments: {len(counties)}",
    ]


# --- the bundled registry ---------------------------------------------------------------

def test_bundled_registry_is_national():
    portals = load_registry()
    assert len(portals) >= 13_000
    assert len({p["province"] for p in portals if p["level"] != "central"}) == 31
    assert {p["level"] for p in portals} == set(LEVELS)
    assert sum(p["level"] == "central" for p in portals) >= 80
    # the spider's filters on it
    fujian_counties = select_portals(portals, level="county", province="福建省")
    assert len(fujian_counties) >= 50 and {p["province"] for p in fujian_counties} == {"福建省"}
    assert [p["id"] for p in select_portals(portals, ids="fj-pingtan")] == ["fj-pingtan"]


def test_bundled_registry_fields():
    hand = {row["id"]: row for row in rows(HAND_REGISTRY)}
    table = rows()
    assert list(table[0]) == COLUMNS
    for row in table:
        evidence = row["evidence"].split()
        assert evidence and all(URL.fullmatch(e) or DATASET_ROW.fullmatch(e) for e in evidence), row["id"]
        assert row["site_id"] == "" or f"#{row['site_id']}" in row["evidence"], row["id"]
        assert all(URL.fullmatch(url) for url in [row["homepage"], *row["other_urls"].split()]), row["id"]
        assert all(URL.fullmatch(url) for url in row["column_urls"].split()), row["id"]
        if row["level"] == "central":
            assert row["division_code"] == row["division_match"] == "", row["id"]
        else:
            assert row["division_match"] in ("code", "name", "parent"), row["id"]
            assert re.fullmatch(r"\d{6}", row["division_code"]) and row["division_name"], row["id"]
            assert row["division_code"].endswith("0000") == (row["parent_code"] == ""), row["id"]
        if row["id"] in hand:  # a hand row's column URLs and notes win
            assert (row["column_urls"], row["notes"]) == (hand[row["id"]]["column_urls"], hand[row["id"]]["notes"])
    assert set(hand) <= {row["id"] for row in table}


def test_hand_rows_have_evidence_and_plain_fields():
    for row in rows(HAND_REGISTRY):
        assert URL.fullmatch(row["evidence"].strip()), row["id"]
        assert URL.fullmatch(row["homepage"]), row["id"]
        assert all(URL.fullmatch(url) for url in row["column_urls"].split()), row["id"]
        # a central body has no administrative division of its own
        assert re.fullmatch(r"\d{6}" if row["level"] != "central" else "", row["division_code"]), row["id"]
        # the evidence is a page of the portal's own site (the addresses are derived from
        # it), or the notes say where it is from
        domain = row["homepage"].split("/")[2].split(".", 1)[-1]
        assert domain in row["evidence"] or "evidence" in row["notes"], row["id"]


def test_stats_command_counts_the_file():
    result = nianbao("registry", "stats")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == stats_lines(rows())


# --- import on small files made here ------------------------------------------------------

def write_sites(path: Path, sites: list[tuple[str, str, str, str, str]], header=SITES_HEADER) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows([str(number), *site] for number, site in enumerate(sites, start=1))
    return path


def write_central(path: Path, bodies: list[tuple[str, str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Organ", "Url"])
    for body in bodies:
        sheet.append(list(body))
    sheet.append([None, None])
    book.save(path)
    return path


def write_hand(path: Path, hand: list[dict]) -> Path:
    columns = ["id", "name", "level", "province", "division_code", "homepage", "column_urls", "cms", "evidence",
               "notes", "robots_override"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({column: row.get(column, "") for column in columns} for row in hand)
    return path


SMALL_SITES = [
    # 网站标识码, 网站名称, 首页网址, 网站主管单位, 网站状态
    ("1100000088", "北京市人民政府", "www.beijing.gov.cn ", "北京市经济和信息化委员会", "正常"),
    ("1100000005", "北京市交通委员会", "http://jtw.beijing.gov.cn/", "北京市交通委员会", "正常"),
    ("3200000084", "江苏省人民政府", "http://www.jiangsu.gov.cn；http://www.js.gov.cn", "江苏省人民政府办公厅", "正常"),
    ("3200000090", "江苏省合作社", "http://gxhzzs.jiangsu.gov.cn;http://jsco-op.jiangsu.gov.cn；", "江苏省供销社", "例外"),
    ("1102280001", "北京市密云区人民政府", "http://www.bjmy.gov.cn", "密云区人民政府办公室", "正常"),
    ("3205900024", "苏州工业园区管理委员会", "https://www.sipac.gov.cn", "苏州工业园区党政办公室", "正常"),
    ("3101230001", "上海化学工业区管理委员会门户网站", "https://www.scip.gov.cn/", "上海化学工业区管理委员会", "正常"),
    ("3501280001", "平潭县人民政府", "http://www.pingtan.gov.cn/", "平潭管委会办公室", "正常"),
    ("3501280002", "平潭县教育局", "http://jyj.pingtan.gov.cn/", "平潭县教育局", "正常"),
    ("3502000018", "厦门火炬高新区网站", "http:/www.xmtorch.gov.cn/", "厦门火炬高新区管委会", "正常"),
    ("9900000001", "某某网站", "lzshgl.gov.cn（搭建中，尚未使用）", "某某办公室", "正常"),
    ("BT01000008", "第一师阿拉尔市人民政府网站", "http://www.ale.gov.cn", "第一师阿拉尔市人民政府办公室", "正常"),
    ("BT00000020", "新疆生产建设兵团", "www.xjbt.gov.cn", "兵团办公厅", "正常"),
]
HAND_ROWS = [
    # a township on its county's site: not the county
    {"id": "fj-pingtan-tancheng", "name": "平潭综合实验区潭城镇", "level": "township", "province": "福建省",
     "division_code": "350128", "homepage": "http://www.pingtan.gov.cn/", "evidence": "http://www.pingtan.gov.cn/x",
     "notes": "shares the county's site"},
    # the same host and level as 3501280001: merged, its column URLs and notes win
    {"id": "fj-pingtan", "name": "平潭综合实验区管理委员会", "level": "county", "province": "福建省",
     "division_code": "350128", "homepage": "https://www.pingtan.gov.cn/",
     "column_urls": "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/", "cms": "trs",
     "evidence": "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm",
     "notes": "checked by hand"},
]


@pytest.fixture(scope="module")
def small_import(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small-import")
    sites = write_sites(folder / "sites.csv", SMALL_SITES)
    central = write_central(folder / "central.xlsx", [("国家发展和改革委员会", "https://www.ndrc.gov.cn/"),
                                                      ("（国家版权局）", "https://www.ncac.gov.cn/")])
    hand = write_hand(folder / "hand.csv", HAND_ROWS)
    result, out, report = import_registry(folder, [sites], "--central", central, "--hand", hand)
    assert result.returncode == 0, result.stderr
    return result, {row["id"]: row for row in rows(out)}, rows(report), out


def test_import_small_files(small_import):
    result, table, report, out = small_import
    assert len(table) == len(SMALL_SITES) + 2 + 1  # the township hand row is added, fj-pingtan merged
    assert load_registry(out) and nianbao("registry", "stats", "--registry", out).stdout.splitlines() == \
        stats_lines(list(table.values()))
    beijing = table["1100000088"]
    assert (beijing["level"], beijing["tier"], beijing["province"], beijing["division_code"]) == \
        ("province", "province", "北京市", "110000")
    assert beijing["evidence"] == "sites.csv#1100000088" and beijing["authority"] == "北京市经济和信息化委员会"
    department = table["1100000005"]
    assert (department["level"], department["tier"], department["division_match"]) == ("department", "province", "code")
    education = table["3501280002"]
    assert (education["level"], education["tier"], education["parent_code"]) == ("department", "county", "350100")
    assert table["3200000090"]["status"] == "例外"
    ndrc = table["cn-ndrc"]
    assert (ndrc["level"], ndrc["province"], ndrc["division_code"], ndrc["evidence"]) == \
        ("central", "中央", "", "central.xlsx#row2")
    assert table["cn-ncac"]["name"] == "国家版权局"
    assert output_counts(result.stdout)["central bodies"] == 2


def test_import_normalises_homepages(small_import):
    _, table, _, _ = small_import
    assert table["1100000088"]["homepage"] == "http://www.beijing.gov.cn/"  # no scheme, trailing space
    jiangsu = table["3200000084"]
    assert (jiangsu["homepage"], jiangsu["other_urls"]) == ("http://www.jiangsu.gov.cn/", "http://www.js.gov.cn/")
    coop = table["3200000090"]
    assert (coop["homepage"], coop["other_urls"]) == ("http://gxhzzs.jiangsu.gov.cn/", "http://jsco-op.jiangsu.gov.cn/")
    assert table["3502000018"]["homepage"] == "http://www.xmtorch.gov.cn/"  # http:/…
    assert table["9900000001"]["homepage"] == "http://lzshgl.gov.cn/"  # a remark in brackets


def test_homepage_cells():
    assert split_urls(" www.a.gov.cn ") == ["http://www.a.gov.cn/"]
    assert split_urls("http://A.gov.cn/x/index.html, https://b.gov.cn；") == \
        ["http://a.gov.cn/x/index.html", "https://b.gov.cn/"]
    assert split_urls("http://www.bx.gov.cn/    http://bx.benxi.gov.cn") == \
        ["http://www.bx.gov.cn/", "http://bx.benxi.gov.cn/"]
    assert split_urls("http:// sczj.suining.gov.cn") == ["http://sczj.suining.gov.cn/"]
    assert split_urls("http//wjw.ganzhou.gov.cn") == ["http://wjw.ganzhou.gov.cn/"]
    assert split_urls("http://a.gov.cn; http://a.gov.cn/") == ["http://a.gov.cn/"]
    assert split_urls("暂无") == [] and split_urls("http://a.gov.cn:80a/") == []


@pytest.mark.parametrize("name, code, government", [
    ("中国·巨野", "371724", True),
    ('上海黄浦"门户网站"', "310101", True),
    ("吉林市昌邑区人民政府", "220202", True),
    ("中共南湖区委南湖区人民政府网站", "330402", True),
    ("常州国家高新区管委会（新北区人民政府）", "320411", True),
    ("红河州泸西县人民政府门户网站", "532527", True),
    ("天津政务网", "120000", True),
    ("信用中国（天津）", "120000", False),
    ("中共大连市委大连市人民政府信访局", "210200", False),
    ("全国公共资源交易平台（山西省·大同市）", "140200", False),
    ("雄县人民政府办公室", "130638", False),
    ("开放北京", "110000", False),
    ("山东政务服务网 济宁市", "370800", False),
    ("中共平武县委", "510727", False),
])
def test_government_portal_or_department(name, code, government):
    assert is_government_portal(name, divisions()[code], "code", "0000000000") is government


def test_import_places_recoded_areas_by_name(small_import):
    _, table, _, _ = small_import
    miyun = table["1102280001"]  # 密云县 110228, 密云区 110118 since 2015
    assert (miyun["division_code"], miyun["division_name"], miyun["division_match"]) == ("110118", "密云区", "name")
    assert (miyun["level"], miyun["parent_code"], miyun["province"]) == ("county", "110000", "北京市")
    aral = table["BT01000008"]  # a 兵团 division's city, in 新疆
    assert (aral["division_name"], aral["division_match"], aral["province"], aral["level"]) == \
        ("阿拉尔市", "name", "新疆维吾尔自治区", "city")


def test_import_reports_rows_not_placed_exactly(small_import):
    result, table, report, _ = small_import
    listed = {row["id"]: row for row in report}
    assert set(listed) == {"3205900024", "3101230001", "9900000001", "BT00000020"}
    zone = table["3205900024"]  # a development zone: in its city, not placed by a name it mentions
    assert (zone["division_code"], zone["division_match"], zone["level"]) == ("320500", "parent", "county")
    zone = table["3101230001"]  # a code gone, naming only the area enclosing it: not placed by that name
    assert (zone["division_code"], zone["division_match"], zone["level"]) == ("310000", "parent", "county")
    assert table["9900000001"]["division_match"] == "none" and table["9900000001"]["division_code"] == ""
    assert all(row["reason"] for row in report)
    counts = output_counts(result.stdout)
    assert (counts["unplaced"], counts["in the enclosing area"], counts["by name"]) == (1, 3, 2)
    assert counts["report"] == len(report)


def test_import_merges_hand_rows(small_import):
    _, table, _, _ = small_import
    pingtan = table["fj-pingtan"]
    assert "3501280001" not in table
    assert (pingtan["site_id"], pingtan["authority"]) == ("3501280001", "平潭管委会办公室")
    assert pingtan["column_urls"] == HAND_ROWS[1]["column_urls"] and pingtan["notes"] == "checked by hand"
    assert pingtan["homepage"] == "https://www.pingtan.gov.cn/" and pingtan["other_urls"] == "http://www.pingtan.gov.cn/"
    assert pingtan["evidence"].split() == [HAND_ROWS[1]["evidence"], "sites.csv#3501280001"]
    township = table["fj-pingtan-tancheng"]
    assert (township["site_id"], township["level"], township["division_code"]) == ("", "township", "350128")


def test_import_is_repeatable(small_import, tmp_path):
    _, _, _, out = small_import
    sites = write_sites(tmp_path / "sites.csv", SMALL_SITES)
    central = write_central(tmp_path / "central.xlsx", [("国家发展和改革委员会", "https://www.ndrc.gov.cn/"),
                                                        ("（国家版权局）", "https://www.ncac.gov.cn/")])
    hand = write_hand(tmp_path / "hand.csv", HAND_ROWS)
    result, again, _ = import_registry(tmp_path, [sites], "--central", central, "--hand", hand)
    assert result.returncode == 0 and again.read_bytes() == Path(out).read_bytes()


def written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda folder: write_sites(folder / "s.csv", SMALL_SITES[:1], header=["序号", "网站标识码", "网站名称", "首页"]),
     "header is 序号,网站标识码,网站名称,首页, expected 序号,网站标识码,网站名称,首页网址,网站主管单位,网站状态"),
    (lambda folder: folder / "absent.csv", "official sites file not found"),
    (lambda folder: written(folder / "s.csv", ",".join(SITES_HEADER).encode("gbk")), "not UTF-8 text"),
    (lambda folder: written(folder / "s.csv", (",".join(SITES_HEADER) + "\n1,110000001,x\n").encode()),
     "line 2: 3 fields, expected 6"),
])
def test_import_refuses_malformed_files(tmp_path, make, message):
    result, out, _ = import_registry(tmp_path, [make(tmp_path)], "--no-hand")
    assert result.returncode != 0 and not out.exists()
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_import_refuses_a_malformed_central_sheet(tmp_path):
    sites = write_sites(tmp_path / "sites.csv", SMALL_SITES[:2])
    renamed = write_central(tmp_path / "renamed.xlsx", [("教育部", "http://www.moe.gov.cn/")])
    book = openpyxl.load_workbook(renamed)
    book.active["B1"] = "网址"
    book.save(renamed)
    for central, message in [(written(tmp_path / "c.xlsx", b"Organ,Url\n"), "not an .xlsx workbook"),
                             (renamed, "header is Organ,网址, expected Organ,Url")]:
        result, out, _ = import_registry(tmp_path, [sites], "--central", central, "--no-hand")
        assert result.returncode != 0 and not out.exists()
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


# --- import of the real official site database (../shared) --------------------------------

@pytest.fixture(scope="module")
def national_import(shared, tmp_path_factory):
    folder = tmp_path_factory.mktemp("national-import")
    sources = shared / "registry-sources"
    result, out, report = import_registry(folder, sorted((sources / SITES).glob("*.csv")), "--central",
                                          sources / CENTRAL)
    assert result.returncode == 0, result.stderr
    return result, out, rows(out), rows(report)


def test_national_import_figures(national_import):
    result, out, table, _ = national_import
    stats = nianbao("registry", "stats", "--registry", out).stdout.splitlines()
    figures = dict(line.split(": ") for line in stats)
    assert int(figures["portals"]) >= 13_000 and figures["provinces"] == "31"
    assert int(figures["county governments"]) >= 2_500
    # the central bodies' sheet lists 82 bodies (SOURCES.md says 271: the other rows are empty)
    assert int(figures["level central"]) >= 80
    counts = output_counts(result.stdout)
    assert counts["official sites"] == 13_385 and counts["by name"] >= 300
    assert counts["placed by code"] + counts["by name"] + counts["in the enclosing area"] + counts["unplaced"] == \
        sum(row["level"] != "central" for row in table)


def test_national_import_recoded_counties(national_import):
    _, _, table, _ = national_import
    by_site = {row["site_id"][:6]: row for row in table if row["site_id"]}
    for old, new, name in [("110228", "110118", "密云区"), ("110229", "110119", "延庆区"),
                           ("130124", "130111", "栾城区"), ("542621", "540402", "巴宜区")]:
        row = by_site[old]
        assert (row["division_code"], row["division_name"], row["division_match"]) == (new, name, "name"), old


def test_national_import_report_lists_zones_and_bingtuan(national_import):
    _, _, table, report = national_import
    inexact = {row["id"] for row in table if row["division_match"] in ("parent", "none")}
    assert {row["id"] for row in report} >= inexact and all(row["reason"] for row in report)
    names = {row["name"] for row in report}
    assert {"苏州工业园区管理委员会", "新疆生产建设兵团"} <= names


def test_national_import_keeps_hand_rows(national_import):
    _, _, table, _ = national_import
    by_id = {row["id"]: row for row in table}
    for hand in rows(HAND_REGISTRY):
        row = by_id[hand["id"]]
        assert (row["column_urls"], row["notes"], row["level"]) == (hand["column_urls"], hand["notes"], hand["level"])
    # 上海市人民政府: the hand row's 年报 column on the official row's site ID
    assert by_id["sh-gov"]["site_id"] == "3100000044" and by_id["sh-gov"]["column_urls"]
