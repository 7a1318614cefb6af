"""Generate a simulated national web: N portals drawn (seeded) from the homepage
structures and CMS families of templates/, each with its pages and its manifest (the
columns and reports a crawl must find, or the failure discovery must record).

The generator only fills templates; what real portals look like is in the data files:
structures.json (homepage → 政府信息公开 → … → 年报 column, with the traps of the real
web), families.json (the column's CMS), styles.json (how menus are drawn), variants.json
(link texts). Report pages are the bundled sample portals' real report pages.
"""
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from nianbao.sample_portals.server import manifests as sample_manifests

TEMPLATES = Path(__file__).with_name("templates")
PROVINCES = ["福建省", "广东省", "浙江省", "四川省", "河南省", "湖南省", "山东省", "江苏省"]
YEARS = [2021, 2022, 2023]  # of the main column's reports; other columns have the last two
HOST_NETS = {"www": 1, "xxgk": 2, "new": 3, "down": 4}  # 127.<net>.x.y per host role
DECOY_HOST = "127.9.9.9"  # links off the portal (中国政府网 …): nothing answers there


def _load(name: str):
    return json.loads((TEMPLATES / name).read_text(encoding="utf-8"))


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def host_address(role: str, index: int) -> str:
    """The loopback address of portal `index`'s host of that role: each host its own
    address, so that Scrapy's per-host politeness treats them as the real hosts."""
    return f"127.{HOST_NETS[role]}.{index // 250}.{index % 250 + 1}"


def report_bodies() -> list[bytes]:
    """Real report pages of the bundled sample portals (the HTML ones holding their report)."""
    bodies = []
    for manifest in sample_manifests():
        for item in manifest["items"]:
            if item["is_report"] and item.get("report_in") == "page" and not item.get("attachment"):
                path = manifest["site"] / item["url"].lstrip("/")
                if path.is_file() and path.stat().st_size < 64_000:
                    bodies.append(path.read_bytes())
    return bodies


@dataclass
class Page:
    status: int
    body: bytes
    kind: str  # discovery, listing, report
    content_type: str = "text/html; charset=utf-8"
    location: str = ""


@dataclass
class Portal:
    index: int
    id: str
    name: str
    province: str
    structure: str
    family: str
    base: str  # the folder of its columns (changed when the column moves)
    column_text: str
    platform_text: str
    expect: str
    pages: dict[tuple[str, str], Page] = field(default_factory=dict)  # (address, path) → page
    columns: list[dict] = field(default_factory=list)  # url, reports [{url, title, year}]

    def manifest(self, port: int) -> dict:
        return {"id": self.id, "name": self.name, "province": self.province, "level": "county",
                "homepage": self.homepage(port), "structure": self.structure, "family": self.family,
                "expect": self.expect, "columns": self.columns}

    def homepage(self, port: int) -> str:
        first = STRUCTURES[self.structure]["pages"][0]
        return f"http://{host_address(first['host'], self.index)}:{port}{first['path']}"


STRUCTURES = {name: spec for name, spec in _load("structures.json").items() if not name.startswith("_")}
FAMILIES = {name: spec for name, spec in _load("families.json").items() if not name.startswith("_")}
STYLES = {name: spec for name, spec in _load("styles.json").items() if not name.startswith("_")}
VARIANTS = _load("variants.json")


def draw_portals(count: int, seed: int = 2026) -> list[Portal]:
    """`count` portals, their structures in the proportions of structures.json's weights,
    every structure at least once when `count` allows."""
    rng = random.Random(seed)
    names = list(STRUCTURES)
    weights = [STRUCTURES[name]["weight"] for name in names]
    drawn = names[:count] + rng.choices(names, weights, k=max(0, count - len(names)))
    rng.shuffle(drawn)
    portals = []
    for index, structure in enumerate(drawn):
        spec = STRUCTURES[structure]
        portals.append(Portal(
            index=index, id=f"nw-{index:04d}", name=f"样例{index:04d}县人民政府",
            province=PROVINCES[index % len(PROVINCES)], structure=structure,
            family=spec.get("family") or rng.choice(VARIANTS["families"]),
            base=rng.choice(["xxgk", "zwgk/zfxxgk", "zfxxgk"]),
            column_text=rng.choice(VARIANTS["column_text"]), platform_text=rng.choice(VARIANTS["platform_text"]),
            expect=spec["expect"]))
    return portals


def build_pages(portal: Portal, port: int, bodies: list[bytes]) -> None:
    """Fill `portal.pages` and `portal.columns` for a web served on `port`."""
    spec = STRUCTURES[portal.structure]
    portal.pages.clear()
    portal.columns.clear()
    origin = {role: f"http://{host_address(role, portal.index)}:{port}" for role in HOST_NETS}
    column_host = spec.get("column_host", "www")
    columns = [(portal.column_text, "", YEARS)]
    if spec.get("departments"):
        columns += [(text, body, YEARS[-2:]) for text, body in VARIANTS["department_columns"]]
    column_urls = [_column(portal, position, origin[column_host], body, years, columns, bodies)
                   for position, (_, body, years) in enumerate(columns)]
    urls = {page["name"]: origin[page["host"]] + page["path"] for page in spec["pages"]}
    urls["column"] = column_urls[0]
    for page in spec["pages"]:
        address = host_address(page["host"], portal.index)
        if "redirect" in page:
            status, target = page["redirect"]
            portal.pages[(address, page["path"])] = Page(status, b"", "discovery", location=urls[target])
            continue
        style = STYLES[page["style"]]
        items = [Template(style["item"]).substitute(url=urls[target], text=_text(portal, text))
                 for target, text in page["menu"]]
        body = _template(page["template"]).substitute(
            name=portal.name, decoy=f"http://{DECOY_HOST}:{port}", menu=style["before"] + "".join(items) + style["after"],
            first_url=urls[page["menu"][0][0]] if page["menu"] else "")
        portal.pages[(address, page["path"])] = Page(200, body.encode("utf-8"), "discovery")


def _text(portal: Portal, text: str) -> str:
    return {"$column_text": portal.column_text, "$platform_text": portal.platform_text}.get(text, text)


def _fill(portal: Portal, position: int) -> dict:
    """The template values of the portal's column at `position` (0: its own 年报 column,
    then its 部门 and 乡镇 columns)."""
    kind = VARIANTS["department_columns"][position - 1][1] if position else ""
    return {"base": portal.base + {"": "", "部门": "/bmnb", "乡镇": "/xznb"}[kind],
            "colid": 4000 + portal.index * 10 + position, "category": 2, "sid": 100 + portal.index}


def _column(portal: Portal, position: int, origin: str, body: str, years: list[int], columns: list,
            bodies: list[bytes]) -> str:
    """Add one column's listing pages and reports; its URL."""
    family = FAMILIES[portal.family]
    fill = _fill(portal, position)
    address = origin.split("//")[1].split(":")[0]
    agency = portal.name if not body else f"样例{portal.index:04d}县{'教育局' if body == '部门' else '城关镇人民政府'}"
    reports = []
    for number, year in enumerate(years):
        n = portal.index * 100 + position * 10 + number + 1
        date = f"{year + 1}-01-{20 + number:02d}"
        path = Template(family["report"]).substitute(
            fill, ym=f"{year + 1}01", ymd=f"{year + 1}01{20 + number:02d}", n=n, y=year + 1, m=1, d=20 + number,
            a=n % 10, b=n)
        title = f"{agency}{year}年政府信息公开工作年度报告"
        reports.append({"url": origin + path, "title": title, "year": year, "date": date})
        portal.pages[(address, path)] = Page(200, bodies[n % len(bodies)], "report")
    url = origin + Template(family["column"]).substitute(fill)
    portal.columns.append({"url": url, "reports": [{k: r[k] for k in ("url", "title", "year")} for r in reports]})
    if portal.family == "gkmlpt":
        articles = [{"id": i, "title": r["title"], "url": r["url"], "created_at": f"{r['date']} 09:00:00"}
                    for i, r in enumerate(reports)]
        api = Template(family["api"]).substitute(fill)
        portal.pages[(address, api)] = Page(200, json.dumps({"total": len(articles), "articles": articles},
                                                            ensure_ascii=False).encode("utf-8"),
                                            "listing", content_type="application/json; charset=utf-8")
        page = Template(family["page"]).substitute(fill)
        portal.pages[(address, family["page_paths"][0])] = Page(200, page.encode("utf-8"), "listing")
        return url
    tabs = "".join(f'<a href="{Template(family["column"]).substitute(_fill(portal, other))}">'
                   f'{text if other else "本级年报"}</a>' for other, (text, _, _) in enumerate(columns)) \
        if len(columns) > 1 else ""
    pages = [reports[i:i + family["per_page"]] for i in range(0, len(reports), family["per_page"])]
    for current, listed in enumerate(pages):
        items = "".join(Template(family["item"]).substitute(url=r["url"], title=r["title"], date=r["date"])
                        for r in listed)
        html = Template(family["page"]).substitute(
            fill, items=items, tabs=tabs, pages=len(pages), current=current, total=len(reports),
            next=family.get("next", "") if current + 1 < len(pages) else "")
        path = Template(family["page_paths"][current]).substitute(fill)
        portal.pages[(address, path)] = Page(200, html.encode("utf-8"), "listing")
    return url
