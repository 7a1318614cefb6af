"""The national registry (`nianbao registry import`): every site of the official
全国政府网站基本信息数据库 export and of the central bodies' list, placed in the current
administrative divisions, with the hand-checked rows merged in (their column URLs, notes
and ids win). See README.md beside this file for the columns."""
import csv
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crawler.registry import HAND_REGISTRY, RegistryError, load_registry
from crawler.registry.divisions import Division, divisions, find_by_name, stem

SITES_HEADER = ["序号", "网站标识码", "网站名称", "首页网址", "网站主管单位", "网站状态"]
CENTRAL_HEADER = ["Organ", "Url"]
COLUMNS = [
    "id", "name", "level", "tier", "province", "division_code", "division_name", "parent_code",
    "division_match", "site_id", "authority", "status", "homepage", "other_urls", "column_urls",
    "cms", "evidence", "notes", "robots_override",
]
REPORT_COLUMNS = ["id", "site_id", "name", "authority", "homepage", "province", "division_match",
                  "division_code", "division_name", "reason"]
TIERS = ("central", "province", "city", "county", "township")
GOVERNMENT_LEVELS = {"central", "province", "city", "county"}

URL_SEPARATORS = re.compile(r"[;；,，、\s]+")
REMARK = re.compile(r"[（(][^）)]*[）)]")
# what a government portal's name may add to the place's name: 中国·巨野, 正宁信息网,
# 东坡区委区政府网, 河北省人民政府（中国河北）
NAME_PARTS = re.compile(r"[\s（）()《》“”\"'「」【】\[\]<>·•.、，,;；:：|_/\\－\-—⊙]+")
PORTAL_PREFIX = re.compile(r"^(?:中国|中共)")
# 中共南湖区委南湖区人民政府: the party committee's name before the government's
PARTY_AND_GOVERNMENT = re.compile(
    r"(?<=[省市区县旗州])委[、,，\s]*[省市区县旗州]?(?=\S*政府(?:门户网站|门户网|门户|官方网站|官网|网站|网)?$)"
)
# a bracket is another name of the site only when it names a government: 常州国家高新区管委会
# （新北区人民政府）, not 信用中国（天津）
OTHER_NAME = re.compile(r"[（(]([^）)]*政府[^）)]*)[）)]")
PORTAL_SUFFIX = re.compile(
    r"(?:门户|官方网站|官网|网站|网|政务|政府信息|公众信息|公共信息|综合信息|信息公开|信息|公众|综合|新闻|"
    r"在线|之窗|欢迎您|人民政府|政府|人民|党政)$"
)
# a development zone's committee is its government
ZONE_WORDS = re.compile(r"管理委员会|管委会|党工委|工委")
DEPARTMENT_WORDS = re.compile(r"局|厅|委|办|中心|院|所|站|队|社|馆|协会|学校|医院|公司|平台|交易|采购|信用|教育|数据|服务|网信")
ZONE_COMMITTEE = re.compile(r"(?:开发区|高新区|新区|园区|试验区|示范区)(?:管理委员会|管委会)?$")
# 新疆生产建设兵团, 兵团第七师, 第一师阿拉尔市
BINGTUAN_PORTAL = re.compile(r"(?:新疆生产建设兵团|新疆兵团|兵团)?(?:第?[一二三四五六七八九十]+师)?(?:[\u4e00-\u9fff]{2,4}市)?")
ADMIN_SUFFIX = r"(?:自治县|自治旗|自治州|地区|林区|特区|新区|市|区|县|旗|盟|州)?"
NAME_PREFIX = re.compile(r"^中华人民共和国")
NAME_SUFFIX = re.compile(r"(?<=.)(?:门户网站|门户网|门户|官方网站|官网|网站|政务网|政府网|网|人民政府|政府)$")


@dataclass
class ImportResult:
    portals: list[dict]
    report: list[dict]
    counts: Counter = field(default_factory=Counter)


def normalise_url(text: str) -> str:
    """scheme://host/path with a scheme (http:// when the cell has none), the host in lower
    case and at least a `/` path; "" when the text holds no host."""
    text = text.strip()
    if not text:
        return ""
    text = re.sub(r"^(https?)[:：]?/+", r"\1://", text, flags=re.IGNORECASE)  # http:/… and http//…
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        text = "http://" + text
    try:
        parts = urlsplit(text)
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:  # a bad port or bracketed host
        return ""
    if "." not in host:
        return ""
    netloc = host + (f":{port}" if port else "")
    url = f"{parts.scheme.lower()}://{netloc}{parts.path or '/'}"
    return url + (f"?{parts.query}" if parts.query else "")


def split_urls(cell: str) -> list[str]:
    """The addresses of a 首页网址 cell: remarks （搭建中） dropped, several addresses split
    on ;/；/,/whitespace, each normalised, duplicates once."""
    urls = []
    for part in URL_SEPARATORS.split(REMARK.sub(" ", unicodedata.normalize("NFKC", cell))):
        url = normalise_url(part)
        if url and url not in urls:
            urls.append(url)
    return urls


def host_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host[4:] if host.startswith("www.") else host


def name_key(name: str) -> str:
    """A name for comparing: NFKC, no spaces or remarks in brackets, no 中华人民共和国, no
    …人民政府门户网站 (南县人民政府网站 = 南县人民政府)."""
    name = NAME_PREFIX.sub("", re.sub(r"\s+", "", REMARK.sub("", unicodedata.normalize("NFKC", name or ""))))
    while (shorter := NAME_SUFFIX.sub("", name)) != name:
        name = shorter
    return name


def read_sites(paths: list[Path]) -> list[dict]:
    """The rows of the official export files, once per site ID, each with its file name."""
    sites: dict[str, dict] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise RegistryError(f"official sites file not found: {path}")
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle)
                header = [cell.strip() for cell in next(reader, [])]
                if header != SITES_HEADER:
                    raise RegistryError(
                        f"{path}: header is {','.join(header) or '(empty)'}, expected {','.join(SITES_HEADER)}"
                    )
                for line, cells in enumerate(reader, start=2):
                    if not any(cell.strip() for cell in cells):
                        continue
                    if len(cells) != len(SITES_HEADER):
                        raise RegistryError(f"{path}, line {line}: {len(cells)} fields, expected {len(SITES_HEADER)}")
                    row = dict(zip(SITES_HEADER, (cell.strip() for cell in cells)))
                    if not row["网站标识码"]:
                        raise RegistryError(f"{path}, line {line}: empty 网站标识码")
                    sites.setdefault(row["网站标识码"], {**row, "file": path.name})
        except UnicodeDecodeError as error:
            raise RegistryError(f"{path}: not UTF-8 text ({error})") from error
        except csv.Error as error:
            raise RegistryError(f"{path}: not a CSV file ({error})") from error
    return list(sites.values())


def read_central(path: Path) -> list[dict]:
    """The central bodies' sheet: Organ, Url; empty rows skipped."""
    import openpyxl

    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"central bodies file not found: {path}")
    try:
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    except Exception as error:  # openpyxl raises several kinds for a file that is no workbook
        raise RegistryError(f"{path}: not an .xlsx workbook ({type(error).__name__}: {error})") from error
    rows = sheet.iter_rows(values_only=True)
    header = [str(cell or "").strip() for cell in next(rows, ())][:2]
    if header != CENTRAL_HEADER:
        raise RegistryError(f"{path}: header is {','.join(header) or '(empty)'}, expected {','.join(CENTRAL_HEADER)}")
    bodies = []
    for number, cells in enumerate(rows, start=2):
        organ, url = (str(cell or "").strip() for cell in (list(cells) + [None, None])[:2])
        if organ or url:
            bodies.append({"organ": organ, "url": url, "row": number, "file": path.name})
    return bodies


def place(site_id: str, name: str, authority: str) -> tuple[Division | None, str, str, str]:
    """(division, tier, division_match, reason) for a site ID: its six-digit code is the
    division in force when the ID was issued (about 2017). Current code → `code`; a
    recoded area found by its name in the site's name or 主管单位 → `name`; no current area
    of its own (development zones, 兵团) → the enclosing area, `parent`; nothing → `none`."""
    table, text = divisions(), f"{name} {authority}"
    if site_id.startswith("BT"):  # 新疆生产建设兵团: its 师 are cities, placed in 新疆
        tier = "province" if site_id[2:4] == "00" else "city"
        if tier == "city":
            division, _ = find_by_name(text, "65", "county")
            if division:
                return division, tier, "name", ""
        return table["650000"], tier, "parent", "新疆生产建设兵团: no division of its own"
    code = site_id[:6]
    if not code.isdigit():  # 12BM…, 65BM…: a province's departments
        province = table.get(site_id[:2] + "0000") if site_id[:2].isdigit() else None
        if province:
            return province, "province", "code", ""
        return None, "", "none", f"site ID {site_id} names no province"
    tier = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
    if code in table:
        return table[code], table[code].tier, "code", ""
    # codes …90–99 (county) and …9x00 (city) were given to development zones and new areas:
    # a zone's site goes to the enclosing area, unless it is the portal of a county made
    # since (无锡市新吴区人民政府 320290 → 新吴区 320214), never to another name it mentions
    zone = code[4] == "9" if tier == "county" else code[2] == "9"
    reason = "a development zone's code" if zone else ""
    if zone:
        division, _ = find_by_name(text, code[:2], "county", code)
        if division and is_government_portal(name, division, "name", site_id):
            return division, division.tier, "name", ""
    else:
        division, reason = find_by_name(text, code[:2], tier, code)
        if division is None:
            # 桑日县 carries 山南's old city code; 儋州 469003 (a county) is now a city — but a
            # site naming only the area enclosing its code (上海化学工业区 310123) is `parent`
            other, _ = find_by_name(text, code[:2], "", code)
            if other and other.code not in (code[:4] + "00", code[:2] + "0000"):
                division = other
        if division:
            return division, division.tier, "name", ""
    for parent in (code[:4] + "00", code[:2] + "0000"):
        if parent != code and parent in table:
            return table[parent], tier, "parent", f"code {code} is no current division; {reason}"
    return None, tier, "none", f"code {code} is no current division; {reason}"


def is_government_portal(name: str, division: Division | None, match: str, site_id: str) -> bool:
    """Whether a site is the portal of its area's government (or zone committee, or 兵团
    division) rather than of a department. Its name is split into parts at separators and
    at brackets that name a government (常州国家高新区管委会（新北区人民政府）); each part less
    中国…/…人民政府门户网站 must be the area's name after names of enclosing areas (吉林市昌邑区,
    上海黄浦), or only such enclosing names, or a zone's committee, and one part the area's
    name. A zone's or the 兵团's own site: no part names a department."""
    if division is None:
        return False
    name = REMARK.sub(" ", OTHER_NAME.sub(r" \1 ", unicodedata.normalize("NFKC", name)))
    parts = []
    for part in NAME_PARTS.split(PARTY_AND_GOVERNMENT.sub(" ", name)):
        part = PORTAL_PREFIX.sub("", part)
        while (shorter := PORTAL_SUFFIX.sub("", part)) != part:
            part = shorter
        if part:
            parts.append(part)
    if not parts:
        return False
    if site_id.startswith("BT"):
        return all(BINGTUAN_PORTAL.fullmatch(part) for part in parts)
    if match not in ("code", "name"):
        return not any(DEPARTMENT_WORDS.search(ZONE_WORDS.sub("", part)) for part in parts)
    kinds = [area_part(part, division) for part in parts]
    return "area" in kinds and all(kind in ("area", "neutral") for kind in kinds)


def area_part(text: str, division: Division) -> str:
    """"area" when `text` is the division's name (or its stem with any type: 乃东县 for 乃东区)
    after nothing but names of the areas enclosing it; "neutral" when it is only such
    names, or a zone committee's name; "other" otherwise."""
    table = divisions()
    ancestors, code = [], division.parent
    while code:  # 红河哈尼族彝族自治州, 红河州, 红河
        ancestors.append(f"{re.escape(table[code].name)}|{re.escape(stem(table[code].name))}{ADMIN_SUFFIX}")
        code = table[code].parent
    own = re.compile(f"(?:{re.escape(division.name)}|{re.escape(stem(division.name))}{ADMIN_SUFFIX})$")
    found = own.search(text)
    prefix = text[:found.start()] if found else text
    enclosing = re.compile(f"(?:{'|'.join(ancestors)})") if ancestors else None
    while prefix and enclosing and (cut := enclosing.match(prefix)) and cut.end():
        prefix = prefix[cut.end():]
    if not prefix:
        return "area" if found else "neutral"
    return "neutral" if ZONE_COMMITTEE.search(text) and not DEPARTMENT_WORDS.search(ZONE_WORDS.sub("", text)) else "other"


def division_fields(division: Division | None, match: str) -> dict:
    if division is None:
        return {"province": "", "division_code": "", "division_name": "", "parent_code": "", "division_match": match}
    return {"province": division.province, "division_code": division.code, "division_name": division.name,
            "parent_code": division.parent, "division_match": match}


def site_portal(site: dict) -> tuple[dict, str]:
    """A registry row for a row of the official export, and the reason it was not placed
    exactly ("" when it was)."""
    site_id = site["网站标识码"]
    urls = split_urls(site["首页网址"])
    division, tier, match, reason = place(site_id, site["网站名称"], site["网站主管单位"])
    government = is_government_portal(site["网站名称"], division, match, site_id)
    if not government and match in ("code", "name") and division.tier != "county":
        # a county's portal registered under its city's code (杭州市临平区门户网站 330100)
        lower, _ = find_by_name(site["网站名称"], division.code[:2], "city" if division.tier == "province" else "county")
        if lower and (lower.parent == division.code or division.tier == "province") and \
                is_government_portal(site["网站名称"], lower, "name", site_id):
            division, tier, match, government = lower, lower.tier, "name", True
    portal = {
        "id": site_id, "name": site["网站名称"], "level": tier if government else "department", "tier": tier,
        **division_fields(division, match),
        "site_id": site_id, "authority": site["网站主管单位"], "status": site["网站状态"],
        "homepage": urls[0] if urls else "", "other_urls": " ".join(urls[1:]), "column_urls": "",
        "cms": "", "evidence": f"{site['file']}#{site_id}", "notes": "", "robots_override": "",
    }
    if match == "name":
        portal["notes"] = f"ID code {site_id[:6]} recoded: {division.name} {division.code} found by name"
    elif match == "parent":
        portal["notes"] = f"in {division.name}: {reason}"
    if division is None and site_id[:2].isdigit() and site_id[:2] + "0000" in divisions():
        portal["province"] = divisions()[site_id[:2] + "0000"].name
    if not urls:
        reason = "; ".join(filter(None, [reason, f"no address in 首页网址 {site['首页网址']!r}"]))
    return portal, reason


def central_id(url: str, taken: set[str]) -> str:
    """cn-<host less www. and .gov.cn>, the path's first segment added when taken."""
    parts = urlsplit(url)
    host = re.sub(r"^www\.", "", parts.hostname or "")
    host = re.sub(r"\.gov\.cn$|\.cn$", "", host)
    base = "cn-" + re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")
    segment = re.sub(r"[^a-z0-9]+", "-", parts.path.strip("/").split("/")[0].lower()).strip("-")
    for candidate in (base, f"{base}-{segment}" if segment else ""):
        if candidate and candidate not in taken:
            return candidate
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def central_portal(body: dict, taken: set[str]) -> tuple[dict, str]:
    urls = split_urls(body["url"])
    # （国家版权局）: a second name of the body above it, kept without its brackets
    name = REMARK.sub("", body["organ"]).strip() or body["organ"].strip("（）() ")
    portal = {
        "id": central_id(urls[0], taken) if urls else f"cn-row{body['row']}",
        "name": name, "level": "central", "tier": "central", "province": "中央", "division_code": "",
        "division_name": "", "parent_code": "", "division_match": "", "site_id": "", "authority": body["organ"],
        "status": "", "homepage": urls[0] if urls else "", "other_urls": " ".join(urls[1:]), "column_urls": "",
        "cms": "", "evidence": f"{body['file']}#row{body['row']}", "notes": "", "robots_override": "",
    }
    return portal, "" if urls else f"no address in Url {body['url']!r}"


def hand_portal(row: dict) -> dict:
    """A hand-checked row in the national columns; its division looked up by its code."""
    division = divisions().get(row.get("division_code", ""))
    level = row["level"]
    if level == "central":
        fields = division_fields(None, "")
        fields["province"] = row["province"]
    else:
        fields = division_fields(division, "code" if division else "none")
    tier = level if level in TIERS else division.tier if division else ""
    return {
        **{column: "" for column in COLUMNS}, **{k: v for k, v in row.items() if k in COLUMNS}, **fields,
        "province": row["province"], "tier": tier, "column_urls": " ".join(row["column_urls"]),
    }


def merge_hand(portals: list[dict], hand: list[dict]) -> tuple[list[dict], int]:
    """Merge the hand-checked rows into the official ones: a hand row matches the official
    row of the same homepage host and the same name (site name or 主管单位), or — for a
    government portal — of the same host and level; failing the host, the same site name in
    the same province. The hand row's id, name, level, division, homepage, column URLs, cms, notes
    and robots_override win; the official row brings its site ID, 主管单位 and status, its
    addresses (kept in other_urls) and its evidence."""
    by_host: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for index, portal in enumerate(portals):
        for url in [portal["homepage"], *portal["other_urls"].split()]:
            if url:
                by_host.setdefault(host_of(url), []).append(index)
        for name in {name_key(portal["name"]), name_key(portal["authority"])}:
            by_name.setdefault(name, []).append(index)
    taken: set[int] = set()
    merged_rows, matched = [], 0
    for row in hand:
        mine = hand_portal(row)
        key, host = name_key(mine["name"]), host_of(mine["homepage"])
        scored = []
        for index in set(by_host.get(host, [])) | set(by_name.get(key, [])):
            other = portals[index]
            if index in taken:
                continue
            same_name = key == name_key(other["name"])
            # a department running a site for its government (办公室) is not that government
            same_authority = key == name_key(other["authority"]) and other["level"] == mine["level"] == "department"
            same_host = host in {host_of(url) for url in [other["homepage"], *other["other_urls"].split()] if url}
            # two government portals (a zone committee may be a county here and a city there);
            # a township sharing its county's site is not the county
            same_level = {other["level"], mine["level"]} <= GOVERNMENT_LEVELS
            if (same_host and (same_name or same_authority or same_level)) or (
                    same_name and other["province"] == mine["province"]):
                same_page = urlsplit(other["homepage"]).path == urlsplit(mine["homepage"]).path
                scored.append((8 * same_name + 4 * same_host + 2 * same_authority + same_level + same_page, index))
        scored.sort(reverse=True)
        if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]):
            index = scored[0][1]
            taken.add(index)
            matched += 1
            official = portals[index]
            urls = [official["homepage"], *official["other_urls"].split()]
            portals[index] = {
                **mine,
                "site_id": official["site_id"], "authority": official["authority"], "status": official["status"],
                "other_urls": " ".join(url for url in urls if url and url != mine["homepage"]),
                "evidence": " ".join(filter(None, [mine["evidence"], official["evidence"]])),
            }
        else:
            merged_rows.append(mine)
    return portals + merged_rows, matched


def build_registry(site_paths: list[Path], central_path: Path | None = None,
                   hand_path: Path | None = HAND_REGISTRY) -> ImportResult:
    """The national registry from the official export files, the central bodies' sheet and
    the hand-checked rows; every row not placed exactly is also in `report`."""
    sites = read_sites(site_paths)
    bodies = read_central(central_path) if central_path else []
    hand = load_registry(hand_path) if hand_path else []
    result = ImportResult([], [])
    reasons: dict[str, str] = {}
    for site in sites:
        portal, reason = site_portal(site)
        result.portals.append(portal)
        reasons[portal["id"]] = reason
    taken = {row["id"] for row in hand} | {portal["id"] for portal in result.portals}
    for body in bodies:
        portal, reason = central_portal(body, taken)
        taken.add(portal["id"])
        result.portals.append(portal)
        reasons[portal["id"]] = reason
    result.counts.update(official=len(sites), central=len(bodies), hand=len(hand))
    result.portals, result.counts["hand matched"] = merge_hand(result.portals, hand)
    result.counts.update(f"match {portal['division_match'] or 'central'}" for portal in result.portals)
    seen = set()
    for portal in result.portals:
        if portal["id"] in seen:
            raise RegistryError(f"duplicate id {portal['id']} (a hand row's id is also a site ID)")
        seen.add(portal["id"])
        reason = reasons.get(portal["id"], "")
        if portal["division_match"] == "none" and not reason:
            reason = f"division code {portal['division_code'] or '(empty)'} is no current division"
        if reason or portal["division_match"] in ("parent", "none"):
            result.report.append({**{c: portal.get(c, "") for c in REPORT_COLUMNS}, "reason": reason})
    return result


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({column: row.get(column, "") for column in columns} for row in rows)
    temporary.replace(path)
