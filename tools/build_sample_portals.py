#!/usr/bin/env python3
"""Generate the bundled sample portals of nianbao from real report texts.

A developer tool, not part of the installed package. Reads the read-only material
in ``shared/`` (default: ``<repo>/../shared``, override with ``--shared PATH`` or
``$NIANBAO_SHARED``) and writes into ``nianbao/sample_portals/``::

    pingtan/site/zwgk/zfxxgk/zfxxgknb/...   replica of the real TRS column
    pingtan/manifest.json, pingtan/SOURCES.md
    seeds/site/xxgk/ndbg/...                a generic (non-TRS) CMS column, 5 seed reports
    seeds/manifest.json, seeds/SOURCES.md
    jcms/, gkmlpt/, annual/                 one portal per CMS family (Hanweb jcms column,
                                            Guangdong gkmlpt, Hanweb xxgkAnnualReport.jsp), with
                                            the crawl's traps and server data files
                                            (routes.json, redirects.json, delays.json)

The output is deterministic; the generated files are committed so that the
project needs no ``shared/`` at run time.  Re-run after changing this script:

    .venv/bin/python tools/build_sample_portals.py
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "nianbao" / "sample_portals"

# ---------------------------------------------------------------- helpers


def esc(s: str) -> str:
    return html.escape(s, quote=True)


def write(path: Path, data, binary=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    if binary:
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")


# ================================================================ PINGTAN

PT_HOST = "https://www.pingtan.gov.cn"
PT_COLUMN = "/zwgk/zfxxgk/zfxxgknb/"
PT_NAME = "平潭综合实验区党工委管委会"

# gold answers (relative to shared/gold) for the reports that have one
PT_GOLD = {
    2019: "real/pingtan-2019.json",
    2021: "real/pingtan-2021.json",
    2023: "real/pingtan-2023.json",
    2024: "real/r009.json",
    2025: "real/pingtan-2025.json",
}


def parse_page_txt(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("==================== 正文 ====================\n")
    meta = {}
    for line in head.splitlines():
        if ": " in line or line.endswith(":"):
            k, _, v = line.partition(":")
            meta[k.strip()] = v.strip()
    m = re.search(r"/(\d{6})/t(\d{8})_(\d+)\.htm$", meta["原文链接"])
    return {
        "title": meta["标题"],
        "pubtime": meta["发布时间"],
        "published": meta["发布时间"][:10],
        "agency_meta": meta.get("发布机构", ""),
        "url_orig": meta["原文链接"],
        "ym": m.group(1),
        "docid": m.group(3),
        "fname": f"t{m.group(2)}_{m.group(3)}.htm",
        "body": body,
    }


RESIDUE = re.compile(r"^当前位置：.*?来源：(?P<src>\S*) 时间：\S* \S*.*?相关链接：\s*-->\s*", re.S)
HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\([一二三四五六七八九十]+\)|\d+[.、．]|附件)"
)
SENT_END = "。；！？：”）"


def clean_body(body: str):
    """Drop the page-chrome residue the archiver kept at the start (and the
    attachment-box heading at the end) of 正文; return (text, 来源 or None)."""
    body = body.strip()
    src = None
    m = RESIDUE.match(body)
    if m:
        src = m.group("src")
        body = body[m.end():]
    body = re.sub(r"\s*附件下载$", "", body)
    return body.strip(), src


def split_paragraphs(text: str) -> list[str]:
    """Rebuild paragraphs from the archiver's one-line text.

    The archiver joined the page's paragraphs with single spaces (and sometimes
    with nothing).  A space becomes a paragraph break when the text before it
    ends a sentence or is short (a heading), or the text after it starts with
    a heading marker.  The statistics table of the old reports (from 指标名称)
    survives only as flattened cells and is kept as one paragraph."""
    table = ""
    k = text.find("指标名称")
    if k >= 0:
        text, table = text[:k].rstrip(), text[k:]
    toks = [t for t in re.split(r" +", text) if t != ""]
    paras: list[str] = []
    cur = ""
    for tok in toks:
        if not cur:
            cur = tok
            continue
        brk = (
            cur[-1] in SENT_END
            or (len(cur) <= 30 and not cur.endswith("、") and "。" not in cur)
            or bool(HEADING.match(tok))
        )
        if brk:
            paras.append(cur)
            cur = tok
        else:
            cur += " " + tok
    if cur:
        paras.append(cur)
    out = []
    for p in paras:  # headings run on after a full stop ("…指导。二、主动公开…")
        out.extend(
            s for s in re.split(r"(?<=[。；])(?=[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", p) if s
        )
    if table:
        out.append(table)
    return out


P_STYLE = ("TEXT-JUSTIFY: inter-ideograph; TEXT-ALIGN: justify; LINE-HEIGHT: 29pt; "
           "TEXT-INDENT: 32pt; MARGIN: 0pt; FONT-FAMILY: 仿宋_GB2312; FONT-SIZE: 16pt")
P_TITLE = ("text-align:center; LINE-HEIGHT: 29pt; MARGIN: 0pt; "
           "FONT-FAMILY: 方正小标宋简体; FONT-SIZE: 22pt")


def render_trs_body(paras: list[str], title: str) -> str:
    out = []
    ntitle = 0  # leading paragraphs that are the title (sometimes printed on two lines)
    if paras and paras[0].replace(" ", "") == title:
        ntitle = 1
    elif len(paras) > 1 and (paras[0] + paras[1]).replace(" ", "") == title:
        ntitle = 2
    for i, p in enumerate(paras):
        if i < ntitle:
            out.append(f'<p style="{P_TITLE}">{esc(p)}</p>')
        else:
            out.append(f'<p style="{P_STYLE}">{esc(p)}</p>')
    return "".join(out)


def make_detail_page(template: str, it: dict, body_html: str, source_display: str) -> str:
    """Fill the real TRS detail-page template (the 2018 page) with one document."""
    lines = template.split("\n")
    # the TRS_Editor body is one physical line in the real page
    bi = next(i for i, l in enumerate(lines) if "<div class=TRS_Editor>" in l)
    indent = lines[bi][: len(lines[bi]) - len(lines[bi].lstrip())]
    lines[bi] = f"{indent}<div class=TRS_Editor>{body_html}</div>"
    t = "\n".join(lines)
    title = esc(it["title"])

    def sub(pattern, repl, s, count=1):
        s2, n = re.subn(pattern, lambda m: repl, s, count=count)
        if n != count:
            raise RuntimeError(f"template slot not found: {pattern}")
        return s2

    t = sub(r'<meta name="ArticleTitle" content="[^"]*"/>', f'<meta name="ArticleTitle" content="{title}"/>', t)
    t = sub(r'<meta name="PubDate" content="[^"]*"/>', f'<meta name="PubDate" content="{esc(it["pubtime"])}"/>', t)
    t = sub(r'<meta name="ContentSource" content="[^"]*"/>',
            f'<meta name="ContentSource" content="{esc(it["agency_meta"])}"/>', t)
    t = sub(r'<meta name="Author" content="[^"]*"/>', '<meta name="Author" content=""/>', t)
    t = sub(r'<meta name="Url" content="[^"]*"/>', f'<meta name="Url" content="{esc(it["url_orig"])}"/>', t)
    t = sub(r'<meta name="DocId" content="[^"]*"/>', f'<meta name="DocId" content="{it["docid"]}"/>', t)
    t = sub(r"<title>[^<]*</title>", f"<title>{title}_政府信息公开年报_{PT_NAME}</title>", t)
    t = re.sub(r'(<div class="article_title text_align_center">\n\s*)[^\n]*',
               lambda m: m.group(1) + title, t, count=1)
    t = sub(r'<span class="article_source">来源：[^<]*</span>',
            f'<span class="article_source">来源：{esc(source_display)}</span>', t)
    t = sub(r'<span class="article_time bf-pass">时间：[^<]*</span>',
            f'<span class="article_time bf-pass">时间：{esc(it["pubtime"])}</span>', t)
    t = sub(r"var docid = '\d+';", f"var docid = '{it['docid']}';", t)
    return t


PAGER_JS = """<script>
/* TRS static-column pager createPageHTML(pageCount, currentIndex, name, ext): generic version written for this replica */
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
	if(_nPageCount == null || _nPageCount<=1){ return; }
	var nCurrIndex = _nCurrIndex || 0;
	var sHtml = "";
	if(nCurrIndex == 0){
		sHtml += "<span>首页</span> <span>上一页</span> ";
	}else{
		var nPreIndex = nCurrIndex - 1;
		var sPreFileExt = nPreIndex == 0 ? "" : ("_" + nPreIndex);
		sHtml += "<a href=\\"" + _sPageName + "." + _sPageExt + "\\">首页</a> ";
		sHtml += "<a href=\\"" + _sPageName + sPreFileExt + "." + _sPageExt + "\\">上一页</a> ";
	}
	for(var i=0; i<_nPageCount; i++){
		var sFileExt = i == 0 ? "" : ("_" + i);
		if(i == nCurrIndex){ sHtml += "<span class=\\"current\\">" + (i+1) + "</span> "; }
		else{ sHtml += "<a href=\\"" + _sPageName + sFileExt + "." + _sPageExt + "\\">" + (i+1) + "</a> "; }
	}
	if(nCurrIndex == _nPageCount - 1){
		sHtml += "<span>下一页</span> <span>尾页</span>";
	}else{
		sHtml += "<a href=\\"" + _sPageName + "_" + (nCurrIndex+1) + "." + _sPageExt + "\\">下一页</a> ";
		sHtml += "<a href=\\"" + _sPageName + "_" + (_nPageCount-1) + "." + _sPageExt + "\\">尾页</a>";
	}
	document.write(sHtml);
}
</script>"""

DL_TMPL = """
                                        <dl>
                                            <dd class="trt-col-sm-24 slb-trt-col-24 text_align_left">
                                                <a href="./{href}" target="_blank" title="{title}">{title}</a>
                                            </dd>
                                            <dd class="trt-col-4 trt-col-sm-24 slb-trt-col-24 text_align_left">
                                                {date}
                                            </dd>
                                        </dl>
                                    """


def make_listing(real_listing: str, items: list[dict], page: int, npages: int) -> str:
    t = real_listing
    start = t.index('<div class="rules_tabs_01 rules_tabs_no_bg" ms-visible="showStatic">')
    pb = t.index('ms-include-src="pgTemp" ms-if="pageCount>0"></div>')
    end = pb + len('ms-include-src="pgTemp" ms-if="pageCount>0"></div>')
    dls = "".join(
        DL_TMPL.format(href=f'{it["ym"]}/{it["fname"]}', title=esc(it["title"]), date=it["published"])
        for it in items
    )
    block = (
        '<div class="rules_tabs_01 rules_tabs_no_bg">\n                                    '
        + dls
        + "\n                                </div>\n"
        + '                                <div class="page_base mar_t_base">'
        + f'<script>createPageHTML({npages}, {page}, "index", "htm");</script></div>'
    )
    t = t[:start] + block + t[end:]
    # drop the JS-only list machinery (search API list2.trsapi), keep the TRS pager
    rs = t.index('    <script>\n        require(["list2.trsapi"')
    re_ = t.index("</script>", rs) + len("</script>")
    t = t[:rs].rstrip(" ") + t[re_:].lstrip("\n")
    # the pager function must exist before the call in the list: define it in <head>
    hi = t.index("</head>")
    t = t[:hi] + PAGER_JS + "\n" + t[hi:]
    return t


def build_pingtan(shared: Path, out: Path):
    corpus = shared / "corpus" / "pingtan"
    site = out / "site"
    col = site / PT_COLUMN.strip("/")
    items = []
    for d in sorted(p for p in corpus.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for doc in sorted(p for p in d.iterdir() if p.is_dir()):
            it = parse_page_txt(doc / "page.txt")
            it["dir"] = doc
            items.append(it)
    tmpl_path = next((corpus / "201901").glob("80529_*/page.html"))
    template = tmpl_path.read_text(encoding="utf-8")

    files = []  # (path under portal root, source description)
    manifest_items = []
    for it in items:
        title = it["title"]
        ym_year = re.search(r"(\d{4})年", title)
        is_report = "年度报告" in title
        year = int(ym_year.group(1)) if (is_report and ym_year) else None
        raw = it["dir"] / "page.html"
        rel_dir = it["dir"].relative_to(shared).as_posix()
        if year == 2024:
            raw = shared / "corpus" / "real" / "r009.html"
        dest = col / it["ym"] / it["fname"]
        url = f'{PT_COLUMN}{it["ym"]}/{it["fname"]}'
        if raw.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(raw, dest)
            how = "raw page, copied byte for byte"
            src_file = raw.relative_to(shared).as_posix()
        else:
            body, src = clean_body(it["body"])
            paras = split_paragraphs(body)
            page = make_detail_page(template, it, render_trs_body(paras, title),
                                    src or it["agency_meta"] or "平潭县人民政府")
            write(dest, page)
            how = ("rendered from the archiver's text into the real detail-page template "
                   f"(chrome of {tmpl_path.relative_to(shared).as_posix()})")
            src_file = f"{rel_dir}/page.txt"
        if not is_report:
            fmt = None
        elif year and year >= 2021:
            fmt = "2021"
        elif year and year >= 2019:
            fmt = "2019"
        else:
            fmt = "none"
        manifest_items.append({
            "url": url,
            "title": title,
            "published": it["published"],
            "is_report": is_report,
            "year": year,
            "format": fmt,
            "attachment": None,
            "report_in": "page",
            "gold": PT_GOLD.get(year) if is_report else None,
            "source": it["url_orig"],
        })
        files.append((url, f'{it["url_orig"]} — from `shared/{src_file}` ({how})'))
    # newest first, as the column sorts (-docorderpri,-docreltime)
    order = sorted(range(len(items)), key=lambda i: (items[i]["pubtime"], items[i]["docid"]), reverse=True)
    items = [items[i] for i in order]
    manifest_items = [manifest_items[i] for i in order]

    real_listing = (corpus / "_lists" / "index.html").read_text(encoding="utf-8")
    pages = [items[:10], items[10:]]
    for p, chunk in enumerate(pages):
        name = "index.htm" if p == 0 else f"index_{p}.htm"
        write(col / name, make_listing(real_listing, chunk, p, len(pages)))
        files.insert(p, (PT_COLUMN + name,
                         f"{PT_HOST}{PT_COLUMN} — built from `shared/corpus/pingtan/_lists/index.html` "
                         "(real chrome; JS-only list machinery removed; static items for this page; "
                         "TRS `createPageHTML` pager)"))

    manifest = {
        "portal": "pingtan",
        "name": PT_NAME,
        "level": "county",
        "province": "福建省",
        "division_code": "350128",
        "source": "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/",
        "cms": "trs",
        "column": PT_COLUMN + "index.htm",
        "items": manifest_items,
        "traps": [
            {"trap": "not_a_report", "url": next(i["url"] for i in manifest_items if not i["is_report"]),
             "title": next(i["title"] for i in manifest_items if not i["is_report"]), "expect": "skipped"},
        ],
        "notes": [
            "Replica of the real 政府信息公开年报 column of https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/ "
            "(TRS WCM), built from the public archive changwu/pingtan-gov-zwgk-archive "
            "(copied in shared/corpus/pingtan).",
            "The reports on 2020 (t20210305_80595) and 2022 (t20230220_80629) are absent from the corpus, so "
            "they are left out of the listing: the real column lists 20 documents, this replica 18.",
            "The real listing renders only its first 10 items statically (the rest come from a search API); "
            "here both pages are static, index.htm and index_1.htm, paginated by createPageHTML(2, i, \"index\", \"htm\").",
            "Listing dates and `published` are the documents' PubDate (发布时间); file names keep the real "
            "t<YYYYMMDD>_<DocId>.htm, whose date can differ from PubDate (e.g. 2025 report: t20260313, PubDate 2026-03-10).",
            "Detail pages for 2011 (区), 2018, 2019, 2021, 2023, 2024 (shared/corpus/real/r009.html) and 2025 are the "
            "real raw pages, unchanged. The others exist only as the archiver's one-line text: they are rendered "
            "into the real 2018 detail-page template; paragraph breaks are reconstructed from the spaces the archiver "
            "left (approximate), the old statistics tables survive only as fused text and are kept as one paragraph, "
            "and the page-chrome residue (当前位置…相关链接：-->, trailing 附件下载) is dropped.",
            "Generated pages set meta Author to empty (not recorded in the text); 来源 is the one the archived text "
            "shows, else 发布机构, else the site's default 平潭县人民政府.",
            "Raw pages are as the corpus holds them; its NOTES.md says a few page-chrome ranges of the 2021, "
            "2023 and 2025 pages were filled from sibling pages of the same site (bodies and tables were read and "
            "verified).",
            "关于2014年政府信息公开工作要点落实情况的函 is not an annual report (is_report false).",
            "Pre-2019 reports have no standard table: format none. gold is given for the reports that have a gold "
            "answer in shared/gold/real.",
        ],
    }
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    write_sources(out, "pingtan", manifest, files)
    return manifest


# ================================================================ SEEDS

SEEDS_COLUMN = "/xxgk/ndbg/"
SEEDS_NAME = "年报样例门户（五个机关的真实年报：辽宁省扶贫办、富源县、银州区政府办、株洲市扶贫办、攸县乡村振兴局）"

SEEDS = [
    # id, published, published_note, content id, render mode, contentsource
    dict(sid="000_857cb4fc1b3092db", published="2020-01-31", supplied_date=True, cid=7301, mode="lines",
         title="辽宁省扶贫办2019年政府信息公开工作年度报告", supplied_title=True, source_name=""),
    dict(sid="001_6042ec2c999cb952", published="2020-04-01", supplied_date=False, cid=7302, mode="pdf",
         source_name="富源县"),
    dict(sid="002_f50a9f7ac473722a", published="2021-01-31", supplied_date=True, cid=7303, mode="lines",
         source_name="银州区人民政府办公室"),
    dict(sid="003_4bb8df2b04ff4f8a", published="2021-01-20", supplied_date=False, cid=7304, mode="tables",
         source_name="株洲市扶贫开发办公室"),
    dict(sid="004_f758b3eff4a6a1ca", published="2024-01-31", supplied_date=True, cid=7305, mode="tables",
         source_name="攸县乡村振兴局"),
]
PDF_NAME = "P020200401365254718920.pdf"

CMS_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{date}">
<meta name="ContentSource" content="{source}">
<meta name="ColumnName" content="年度报告">
<title>{title}</title>
<style>
body{{font-family:"Microsoft YaHei",SimSun,sans-serif;margin:0;background:#f4f4f4}}
.wrap{{width:1000px;margin:0 auto;background:#fff}}
.top{{background:#b40000;color:#fff;padding:18px 24px;font-size:24px}}
.position{{padding:10px 24px;border-bottom:1px solid #ddd;font-size:13px}}
.article{{padding:20px 40px}}
.article h1{{text-align:center;font-size:22px}}
.info{{text-align:center;color:#666;font-size:13px;border-bottom:1px dashed #ccc;padding-bottom:10px}}
.info span{{margin:0 10px}}
.content p{{line-height:2;text-indent:2em;margin:0}}
.content table{{border-collapse:collapse;margin:10px auto}}
.content td{{border:1px solid #000;padding:2px 4px;text-align:center;font-size:14px}}
.foot{{text-align:center;font-size:12px;color:#666;padding:16px;border-top:1px solid #ddd}}
</style>
</head>
<body>
<div class="wrap">
<div class="top">政府信息公开 · 年度报告</div>
<div class="position">当前位置：首页 &gt; 政府信息公开 &gt; <a href="{up}list.html">年度报告</a></div>
<div class="article">
<h1>{title}</h1>
<div class="info"><span>发布时间：{date}</span><span>来源：{source}</span><span>浏览次数：<em id="hits">0</em></span></div>
<div class="content" id="zoom">
{body}
</div>
</div>
<div class="foot">本页为离线样例，正文取自真实发布的年度报告</div>
</div>
</body>
</html>
"""

CMS_LIST = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>年度报告 - 政府信息公开</title>
<style>
body{{font-family:"Microsoft YaHei",SimSun,sans-serif;margin:0;background:#f4f4f4}}
.wrap{{width:1000px;margin:0 auto;background:#fff}}
.top{{background:#b40000;color:#fff;padding:18px 24px;font-size:24px}}
.position{{padding:10px 24px;border-bottom:1px solid #ddd;font-size:13px}}
ul.list{{list-style:none;padding:10px 30px}}
ul.list li{{line-height:36px;border-bottom:1px dashed #ddd}}
ul.list li span{{float:right;color:#888}}
.pages{{text-align:center;padding:16px}}
.pages a,.pages span{{margin:0 6px}}
</style>
</head>
<body>
<div class="wrap">
<div class="top">政府信息公开 · 年度报告</div>
<div class="position">当前位置：首页 &gt; 政府信息公开 &gt; 年度报告</div>
<ul class="list">
{items}
</ul>
<div class="pages">{pager}</div>
</div>
</body>
</html>
"""

# ---- the national 2019 form: spans as the printed form has them


def _norm(s: str) -> str:
    return s.replace("(", "（").replace(")", "）").replace(" ", "").replace("\xa0", "")


def spans_active(rows):
    """Table 二: section rows span 4 columns; rows with 3 cells merge the last two."""
    out = []
    width = 4
    for r in rows:
        if len(r) == 1 and _norm(r[0]).startswith("第二十条"):
            out.append([(r[0], 1, 4)])
            continue
        if _norm(r[0]) == "信息内容":
            width = len(r)
        r = r + [""] * (width - len(r))  # a blank cell the flattening dropped
        cells = [(c, 1, 1) for c in r]
        if width == 3:
            cells[-1] = (r[-1], 1, 2)
        out.append(cells)
    return out


SPAN3 = {
    "三、本年度办理结果": (20, 1),
    "（三）不予公开": (8, 1),
    "（四）无法提供": (3, 1),
    "（五）不予处理": (5, 1),
}


def spans_requests(rows):
    out = []
    for i, r in enumerate(rows):
        cells = []
        for c in r:
            n = _norm(c)
            rs, cs = 1, 1
            if n.startswith("（本列数据"):
                rs, cs = 3, 3
            elif n == "申请人情况":
                cs = 7
            elif i == 1 and n in ("自然人", "总计"):
                rs = 2
            elif n == "法人或其他组织":
                cs = 5
            elif re.match(r"^[一二四]、", n):
                cs = 3
            elif n in SPAN3:
                rs, cs = SPAN3[n]
            elif re.match(r"^（[一二六七]）", n):
                cs = 2
            cells.append((c, rs, cs))
        if i >= 3 and len(r) >= 2 and r[-1].strip() == "/" and not any(x[0].strip().isdigit() for x in cells):
            cells[-1] = (r[-1], 1, 7)  # one '/' merged across the row's seven cells
        out.append(cells)
    return out


def spans_appeals(rows):
    out = []
    for i, r in enumerate(rows):
        cells = []
        for j, c in enumerate(r):
            n = _norm(c)
            rs, cs = 1, 1
            if i == 0 and n == "行政复议":
                cs = 5
            elif i == 0 and n == "行政诉讼":
                cs = 10
            elif i == 1 and n in ("未经复议直接起诉", "复议后起诉"):
                cs = 5
            elif i == 1 and j < 5:
                rs = 2
            cells.append((c, rs, cs))
        out.append(cells)
    return out


def table_html(rows) -> str:
    trs = []
    for r in rows:
        tds = []
        for text, rs, cs in r:
            attrs = (f' rowspan="{rs}"' if rs > 1 else "") + (f' colspan="{cs}"' if cs > 1 else "")
            tds.append(f"<td{attrs}>{esc(text)}</td>")
        trs.append("<tr>" + "".join(tds) + "</tr>")
    return ('<table border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse">'
            "<tbody>" + "".join(trs) + "</tbody></table>")


SECTION_RE = {
    "active": re.compile(r"^\s*二、主动公开政府信息情况"),
    "requests": re.compile(r"^\s*三、收到和处理政府信息公开申请情况"),
    "appeals": re.compile(r"^\s*四、政府信息公开行政复议"),
    "end": re.compile(r"^\s*五、"),
}


def rows_tabbed(lines):
    """Seed 003: one cell per line ('\\t' + text), rows separated by empty lines;
    empty cells are the places of merged cells."""
    rows, cur = [], []
    for l in lines:
        if l.strip() == "" and not l.startswith("\t"):
            if cur:
                rows.append(cur)
            cur = []
        elif l.startswith("\t"):
            if l.strip():
                cur.append(l.strip())
        else:  # a stray line (not expected)
            cur.append(l.strip())
    if cur:
        rows.append(cur)
    return rows


def rows_piped(lines):
    """Seed 004: a row starts with a line '|'; each cell is 'text |'; runs of
    bare pipes stand for merged/blank cells."""
    rows, cur = [], None
    for l in lines:
        s = l.strip()
        if s == "|":
            if cur:
                rows.append(cur)
            cur = []
        elif re.fullmatch(r"\|+", s) or s == "":
            continue
        else:
            if cur is None:
                cur = []
            cur.append(s[:-1].rstrip() if s.endswith("|") else s)
    if cur:
        rows.append(cur)
    return rows


def seed_tables_body(text: str, row_parser) -> str:
    lines = text.split("\n")
    marks = {}
    for i, l in enumerate(lines):
        for k, rx in SECTION_RE.items():
            if k not in marks and rx.match(l) and (k == "active" or "active" in marks):
                marks[k] = i
    a, r, p, e = marks["active"], marks["requests"], marks["appeals"], marks["end"]
    out = []

    def paras(ls):
        for l in ls:
            if l.strip():
                out.append(f"<p>{esc(l.strip())}</p>")

    paras(lines[: a + 1])
    out.append(table_html(spans_active(row_parser(lines[a + 1: r]))))
    paras([lines[r]])
    out.append(table_html(spans_requests(row_parser(lines[r + 1: p]))))
    paras([lines[p]])
    out.append(table_html(spans_appeals(row_parser(lines[p + 1: e]))))
    paras(lines[e:])
    return "\n".join(out)


def seed_lines_body(text: str) -> str:
    # exactly the source's lines, one paragraph each (empty lines kept as empty paragraphs)
    ls = text.split("\n")
    if ls and ls[-1] == "":
        ls = ls[:-1]
    return "\n".join(f"<p>{esc(l)}</p>" for l in ls)


# ---- seed 001: the report only as a PDF attachment


def build_seed_pdf(text: str, dest: Path):
    import reportlab.rl_config as rl_config
    rl_config.invariant = 1
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    F = "STSong-Light"
    st_title = ParagraphStyle("t", fontName=F, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=10)
    st_body = ParagraphStyle("b", fontName=F, fontSize=11, leading=19, firstLineIndent=22, wordWrap="CJK")
    st_head = ParagraphStyle("h", parent=st_body, firstLineIndent=22, spaceBefore=6)
    st_cell = ParagraphStyle("c", fontName=F, fontSize=7, leading=9, alignment=TA_CENTER, wordWrap="CJK")

    lines = text.split("\n")
    title = lines[0].strip()
    # narrative: everything after the page header line, table regions replaced by ruled tables
    i_active = next(i for i, l in enumerate(lines) if l.strip() == "二、主动公开政府信息情况")
    i_req = next(i for i, l in enumerate(lines) if l.strip().startswith("三、收到和处理政府信息公开申请情况"))
    i_app = next(i for i, l in enumerate(lines) if "四、政府信息公开行政复议" in l)
    i_end = next(i for i, l in enumerate(lines) if "五、存在的主要问题" in l)
    start = next(i for i, l in enumerate(lines) if l.startswith("根据《中华人民共和国政府信息公开条例》"))

    def narrative(ls):
        flow = []
        for l in ls:
            s = l.strip().strip("\xa0").strip()
            if not s:
                continue
            st = st_head if re.match(r"^[一二三四五六七八九十]+、", s) else st_body
            flow.append(Paragraph(esc(s), st))
        return flow

    def cell(s):
        return Paragraph(esc(s), st_cell)

    region_a = "\n".join(lines[i_active + 1: i_req])
    region_r = "\n".join(lines[i_req + 1: i_app])
    region_p = "\n".join(lines[i_app + 1: i_end])

    def after(region, label, n, pos=0):
        """the n whitespace-separated values written after `label` (label may be line-broken)"""
        rx = r"\s*".join(re.escape(ch) for ch in label)
        m = re.compile(rx).search(region, pos)
        if not m:
            raise RuntimeError(f"seed 001: label not found: {label}")
        vals = region[m.end():].split()[:n]
        return vals, m.end()

    # table 二
    ta = [[cell("第二十条第(一)项"), "", "", ""],
          [cell("信息内容"), cell("本年新制作数量"), cell("本年新公开数量"), cell("对外公开总数量")]]
    for lab in ("规章", "规范性文件"):
        v, _ = after(region_a, lab + " ", 3)
        ta.append([cell(lab)] + [cell(x) for x in v])
    spans = [("SPAN", (0, 0), (3, 0))]
    for sec, labs in (("第二十条第(五)项", ("行政许可", "其他对外管理服务事项")),
                      ("第二十条第(六)项", ("行政处罚", "行政强制"))):
        spans.append(("SPAN", (0, len(ta)), (3, len(ta))))
        ta.append([cell(sec), "", "", ""])
        ta.append([cell("信息内容"), cell("上一年项目数量"), cell("本年增/减"), cell("处理决定数量")])
        for lab in labs:
            v, _ = after(region_a, lab + " ", 3)
            ta.append([cell(lab)] + [cell(x) for x in v])
    for sec, hdr, lab in (("第二十条第(八)项", ("上一年项目数量", "本年增/减"), "行政事业性收费"),
                          ("第二十条第(九)项", ("采购项目数量", "采购总金额"), "政府集中采购")):
        spans.append(("SPAN", (0, len(ta)), (3, len(ta))))
        ta.append([cell(sec), "", "", ""])
        spans.append(("SPAN", (2, len(ta)), (3, len(ta))))
        ta.append([cell("信息内容"), cell(hdr[0]), cell(hdr[1]), ""])
        v, _ = after(region_a, lab + " ", 2)
        spans.append(("SPAN", (2, len(ta)), (3, len(ta))))
        ta.append([cell(lab), cell(v[0]), cell(v[1]), ""])

    # table 三
    W = 10
    tr = [[cell("(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和)"), "", "",
           cell("申请人情况")] + [""] * 6,
          ["", "", "", cell("自然人"), cell("法人或其他组织"), "", "", "", "", cell("总计")],
          ["", "", "", "", cell("商业企业"), cell("科研机构"), cell("社会公益组织"), cell("法律服务机构"),
           cell("其他"), ""]]
    rspans = [("SPAN", (0, 0), (2, 2)), ("SPAN", (3, 0), (9, 0)), ("SPAN", (3, 1), (3, 2)),
              ("SPAN", (4, 1), (8, 1)), ("SPAN", (9, 1), (9, 2))]
    pos = 0

    def vrow(label, lead):
        nonlocal pos
        v, pos = after(region_r, label, 7, pos)
        return lead + [cell(x) for x in v]

    for lab in ("一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量"):
        rspans.append(("SPAN", (0, len(tr)), (2, len(tr))))
        tr.append(vrow(lab, [cell(lab), "", ""]))
    first = len(tr)
    for lab in ("(一)予以公开", "(二)部分公开(区分处理的,只计这一情形,不计其他情形)"):
        rspans.append(("SPAN", (1, len(tr)), (2, len(tr))))
        tr.append(vrow(lab, ["", cell(lab), ""]))
    groups = [("(三)不予公开", ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”",
                                 "4.保护第三方合法权益", "5.属于三类内部事务信息", "6.属于四类过程性信息",
                                 "7.属于行政执法案卷", "8.属于行政查询事项"]),
              ("(四)无法提供", ["1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作", "3.补正后申请内容仍不明确"]),
              ("(五)不予处理", ["1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物",
                                 "4.无正当理由大量反复申请", "5.要求行政机关确认或重新出具已获取信息"])]
    for g, subs in groups:
        g0 = len(tr)
        for k, lab in enumerate(subs):
            tr.append(vrow(lab, ["", cell(g) if k == 0 else "", cell(lab)]))
        rspans.append(("SPAN", (1, g0), (1, len(tr) - 1)))
    for lab in ("(六)其他处理", "(七)总计"):
        rspans.append(("SPAN", (1, len(tr)), (2, len(tr))))
        tr.append(vrow(lab, ["", cell(lab), ""]))
    tr[first][0] = cell("三、本年度办理结果")
    rspans.append(("SPAN", (0, first), (0, len(tr) - 1)))
    lab = "四、结转下年度继续办理"
    rspans.append(("SPAN", (0, len(tr)), (2, len(tr))))
    tr.append(vrow(lab, [cell(lab), "", ""]))
    assert all(len(r) == W for r in tr)

    # table 四
    res = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    tp = [[cell("行政复议")] + [""] * 4 + [cell("行政诉讼")] + [""] * 9,
          [cell(x) for x in res] + [cell("未经复议直接起诉")] + [""] * 4 + [cell("复议后起诉")] + [""] * 4,
          [""] * 5 + [cell(x) for x in res] * 2]
    nums = region_p.split("\n")
    vals = next(l for l in nums if re.fullmatch(r"\s*(\S+\s+){14}\S+\s*", l) and not re.search(r"[\u4e00-\u9fff]", l))
    tp.append([cell(x) for x in vals.split()])
    pspans = [("SPAN", (0, 0), (4, 0)), ("SPAN", (5, 0), (14, 0)), ("SPAN", (5, 1), (9, 1)),
              ("SPAN", (10, 1), (14, 1))] + [("SPAN", (j, 1), (j, 2)) for j in range(5)]

    def ruled(data, spans_, widths):
        t = Table(data, colWidths=widths, repeatRows=0)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("FONTNAME", (0, 0), (-1, -1), F),
                               ("FONTSIZE", (0, 0), (-1, -1), 7),
                               ("LEFTPADDING", (0, 0), (-1, -1), 2),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 2)] + spans_))
        return t

    usable = A4[0] - 36 * mm
    flow = [Paragraph(esc(title), st_title)]
    flow += narrative(lines[start:i_active])
    # each section heading kept on the page of its table
    flow.append(KeepTogether(narrative([lines[i_active]])
                             + [ruled(ta, spans, [usable * 0.34] + [usable * 0.22] * 3)]))
    flow.append(Spacer(1, 8))
    flow.append(KeepTogether(narrative([lines[i_req]]) + [ruled(
        tr, rspans, [usable * 0.06, usable * 0.08, usable * 0.18] + [usable * 0.68 / 7] * 7)]))
    flow.append(Spacer(1, 8))
    flow.append(KeepTogether(narrative([lines[i_app]]) + [ruled(tp, pspans, [usable / 15] * 15)]))
    flow.append(Spacer(1, 8))
    flow += narrative(lines[i_end:])
    doc = SimpleDocTemplate(str(dest), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm, title=title, author="富源县人民政府",
                            creator="nianbao sample_portals/build.py", invariant=1)
    dest.parent.mkdir(parents=True, exist_ok=True)
    doc.build(flow)


def build_seeds(shared: Path, out: Path):
    site = out / "site"
    col = site / SEEDS_COLUMN.strip("/")
    files = []
    entries = []
    for s in SEEDS:
        gold_rel = f"seeds/{s['sid']}.json"
        gold = json.loads((shared / "gold" / gold_rel).read_text(encoding="utf-8"))
        text = (shared / "corpus" / "seeds" / f"{s['sid']}.txt").read_text(encoding="utf-8")
        title = s.get("title") or gold["title"]
        ym = s["published"][:7].replace("-", "")
        rel = f"{ym}/content_{s['cid']}.html"
        url = SEEDS_COLUMN + rel
        attachment = None
        if s["mode"] == "lines":
            body = seed_lines_body(text)
        elif s["mode"] == "tables":
            body = seed_tables_body(text, rows_tabbed if "\n\t" in text else rows_piped)
        else:  # pdf
            pdf_dest = col / ym / PDF_NAME
            build_seed_pdf(text, pdf_dest)
            attachment = SEEDS_COLUMN + f"{ym}/{PDF_NAME}"
            body = (f"<p>{esc(title)}详见附件。</p>\n"
                    f'<p>附件：<a href="./{PDF_NAME}">{esc(title)}.pdf</a></p>')
            files.append((attachment, f"`shared/corpus/seeds/{s['sid']}.txt` — PDF made with reportlab "
                                      "(STSong-Light), tables drawn as ruled tables"))
        page = CMS_PAGE.format(title=esc(title), date=s["published"], source=esc(s["source_name"]),
                               body=body, up="../")
        write(col / rel, page)
        how = {"lines": "body = the source text's lines, one paragraph each",
               "tables": "narrative as paragraphs, tables as HTML tables in the 2019 form's layout",
               "pdf": "one-line body linking the PDF attachment"}[s["mode"]]
        files.append((url, f"`shared/corpus/seeds/{s['sid']}.txt` ({how})"))
        entries.append((s, {
            "url": url,
            "title": title,
            "published": s["published"],
            "is_report": True,
            "year": gold["year"],
            "format": gold["format"],
            "attachment": attachment,
            "report_in": "attachment" if attachment else "page",
            "gold": gold_rel,
            "source": f"corpus/seeds/{s['sid']}.txt",
        }))
    entries.sort(key=lambda e: (e[1]["published"], e[0]["cid"]), reverse=True)
    items = [e[1] for e in entries]
    per = 3
    chunks = [items[i:i + per] for i in range(0, len(items), per)]
    for p, chunk in enumerate(chunks):
        name = "list.html" if p == 0 else f"list_{p + 1}.html"
        lis = "\n".join(
            f'<li><a href="{it["url"][len(SEEDS_COLUMN):]}" title="{esc(it["title"])}" target="_blank">'
            f'{esc(it["title"])}</a><span>{it["published"]}</span></li>' for it in chunk)
        pager = []
        if p > 0:
            pager.append(f'<a href="{"list.html" if p == 1 else f"list_{p}.html"}">上一页</a>')
        pager.append(f"<span>第{p + 1}页/共{len(chunks)}页</span>")
        if p < len(chunks) - 1:
            pager.append(f'<a href="list_{p + 2}.html">下一页</a>')
        write(col / name, CMS_LIST.format(items=lis, pager=" ".join(pager)))
        files.insert(p, (SEEDS_COLUMN + name, "generated listing page (generic CMS layout, no real source)"))

    manifest = {
        "portal": "seeds",
        "name": SEEDS_NAME,
        "level": "department",
        "province": "（多省样例）",
        "division_code": "",
        "source": "shared/corpus/seeds (five real reports; the portal around them is not real)",
        "cms": "generic",
        "column": SEEDS_COLUMN + "list.html",
        "items": items,
        "traps": [
            {"trap": "pdf_only", "url": next(i["url"] for i in items if i["attachment"]),
             "attachment": next(i["attachment"] for i in items if i["attachment"]), "expect": "read from the PDF"},
        ],
        "notes": [
            "A generic (non-TRS) CMS column holding the five seed reports of shared/corpus/seeds; the reports "
            "are real, the portal around them is not (one column for five different bodies).",
            "Pagination: list.html, list_2.html by plain 上一页/下一页 links; 3 items per page, newest first.",
            "Seed 000 has no title in its text: its title 辽宁省扶贫办2019年政府信息公开工作年度报告 was supplied "
            "(built from the text: 省扶贫办, 辽宁扶贫网, 辽政办明电〔2019〕34号, 2019年); gold title is null.",
            "Publication dates: 001 is real (发布时间 2020-04-01 in its text); 003 is the date signed at the end of "
            "the report (2021年1月20日); 000, 002 and 004 carry no date and were supplied (31 January of the "
            "following year, the 条例 deadline for departments): 2020-01-31, 2021-01-31, 2024-01-31.",
            "Seeds 000 and 002: page body = the flattened source text, one <p> per source line (incl. the pipe "
            "lines and the stray '?' of 000's broken encoding), exactly as the source has them.",
            "Seeds 003 and 004: tables rebuilt as HTML tables in the 2019 form's layout (rowspan/colspan as the "
            "form prints them); cell texts and values as the source writes them (004: truncated headers 本年新, "
            "a blank 规章 对外公开总数量 cell, and one '/' per row of table 三 as a colspan=7 cell).",
            "Seed 001: the report is only in the PDF attachment (reportlab, STSong-Light CID font, ruled tables); "
            "the detail page has a one-line body and the link. The page header line of the text "
            "(发布时间/索引号/文号/来源) is not repeated in the PDF.",
            "No 政府信息公开指南 or other non-report item: no real text for one was available.",
        ],
    }
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    write_sources(out, "seeds", manifest, files)
    return manifest


# ================================================================ CMS FAMILIES
# Three more sample portals, one per CMS family the crawler reads: Hanweb jcms columns,
# Guangdong gkmlpt, Hanweb's xxgkAnnualReport.jsp module. Their reports are the real texts
# used above (seeds, Pingtan); the portals around them are modelled on each family's real
# markup (see each SOURCES.md) and carry the crawl's traps, listed in manifest["traps"].

FAMILY_FOOT = "本页为离线样例，正文取自真实发布的年度报告"


def seed_text(shared: Path, sid: str) -> str:
    return (shared / "corpus" / "seeds" / f"{sid}.txt").read_text(encoding="utf-8")


def seed_gold(shared: Path, sid: str) -> dict:
    return json.loads((shared / "gold" / "seeds" / f"{sid}.json").read_text(encoding="utf-8"))


SEED_BY_ID = {s["sid"][:3]: s for s in SEEDS}


def seed_body(shared: Path, key: str) -> str:
    s = SEED_BY_ID[key]
    text = seed_text(shared, s["sid"])
    if s["mode"] == "tables":
        return seed_tables_body(text, rows_tabbed if "\n\t" in text else rows_piped)
    return seed_lines_body(text)


def seed_title(shared: Path, key: str) -> str:
    s = SEED_BY_ID[key]
    return s.get("title") or seed_gold(shared, s["sid"])["title"]


def pingtan_doc(shared: Path, ym: str, docid: str) -> dict:
    d = next((shared / "corpus" / "pingtan" / ym).glob(f"{docid}_*"))
    it = parse_page_txt(d / "page.txt")
    it["dir"] = d
    return it


def pingtan_text_body(it: dict) -> str:
    body, _ = clean_body(it["body"])
    return "\n".join(f"<p>{esc(p)}</p>" for p in split_paragraphs(body))


def pingtan_raw_body(it: dict) -> str:
    """The article content of a raw Pingtan page (its tables as published)."""
    import lxml.html
    doc = lxml.html.fromstring((it["dir"] / "page.html").read_text(encoding="utf-8"))
    div = doc.xpath('//div[contains(@class, "article_content_01")]')[0]
    return (esc(div.text or "")) + "".join(lxml.html.tostring(c, encoding="unicode") for c in div)


def docx_bytes(blocks) -> bytes:
    """A .docx of paragraphs and tables (tables as (text, rowspan, colspan) rows, merged
    as printed), with fixed zip timestamps so the build is deterministic."""
    import io
    import zipfile
    import docx
    document = docx.Document()
    document.core_properties.author = ""
    for kind, value in blocks:
        if kind == "p":
            document.add_paragraph(value)
            continue
        taken, placed = set(), []
        for r, row in enumerate(value):
            c = 0
            for text, rs, cs in row:
                while (r, c) in taken:
                    c += 1
                placed.append((r, c, text, rs, cs))
                taken |= {(r + i, c + j) for i in range(rs) for j in range(cs)}
                c += cs
        nrows = max(r for r, _ in taken) + 1
        ncols = max(c for _, c in taken) + 1
        table = document.add_table(rows=nrows, cols=ncols)
        table.style = "Table Grid"
        for r, c, text, rs, cs in placed:
            cell = table.cell(r, c)
            if rs > 1 or cs > 1:
                cell = cell.merge(table.cell(r + rs - 1, c + cs - 1))
            cell.text = text
    raw = io.BytesIO()
    document.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(src.namelist()):
            data = src.read(name)
            if name == "docProps/core.xml":
                data = re.sub(rb"<dcterms:(created|modified)([^>]*)>[^<]*<", rb"<dcterms:\1\2>2021-01-20T00:00:00Z<", data)
            dst.writestr(zipfile.ZipInfo(name, (2021, 1, 20, 0, 0, 0)), data)
    return out.getvalue()


def seed_docx(text: str, row_parser) -> bytes:
    """Seed report as a Word file: paragraphs, then the three tables in the form's layout."""
    lines = text.split("\n")
    marks = {}
    for i, l in enumerate(lines):
        for k, rx in SECTION_RE.items():
            if k not in marks and rx.match(l) and (k == "active" or "active" in marks):
                marks[k] = i
    a, r, p, e = marks["active"], marks["requests"], marks["appeals"], marks["end"]
    blocks = [("p", l.strip()) for l in lines[: a + 1] if l.strip()]
    blocks.append(("t", spans_active(row_parser(lines[a + 1: r]))))
    blocks.append(("p", lines[r].strip()))
    blocks.append(("t", spans_requests(row_parser(lines[r + 1: p]))))
    blocks.append(("p", lines[p].strip()))
    blocks.append(("t", spans_appeals(row_parser(lines[p + 1: e]))))
    blocks += [("p", l.strip()) for l in lines[e:] if l.strip()]
    return docx_bytes(blocks)


def write_family(out: Path, manifest: dict, files, data_files: dict, intro: list[str]):
    for name, data in data_files.items():
        write(out / name, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    lines = [f"# Sources of the `{manifest['portal']}` sample portal", "",
             "Generated by `tools/build_sample_portals.py`; paths are under the portal root "
             f"(served at `/{manifest['portal']}/`), `shared/` is the project's read-only material.", ""]
    lines += intro + ["", "| file | source |", "|---|---|"]
    lines += [f"| `{path}` | {src} |" for path, src in files]
    for name in data_files:
        lines.append(f"| `{name}` (portal dir, read by server.py) | generated: see the notes of manifest.json |")
    lines += ["| `manifest.json` (portal dir, not served) | generated; gold paths relative to `shared/gold/` |",
              "| `SOURCES.md` (portal dir, not served) | this file, generated |", ""]
    write(out / "SOURCES.md", "\n".join(lines))


# ---------------------------------------------------------------- Hanweb jcms

JCMS_COL, JCMS_UNIT, JCMS_WEB = "1229003", "4038553", "1"
JCMS_WEBNAME = "年报样例门户"
JCMS_PER_PAGE = 2

JCMS_ARTICLE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="SiteName" content="{webname}">
<meta name="ColumnName" content="政府信息公开年报">
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{date} 00:00">
<meta name="ContentSource" content="{source}">
<title>{title}</title>
</head>
<body>
<div class="bt-position">当前位置：<a href="{{{{origin}}}}/">首页</a> &gt; 政府信息公开 &gt; <a href="{{{{origin}}}}/col/col{col}/index.html">政府信息公开年报</a></div>
<div class="bt-article" id="zoom">
<div class="bt-title">{title}</div>
<div class="bt-info">发布日期：{date}&nbsp;&nbsp;信息来源：{source}&nbsp;&nbsp;浏览次数：<span id="hits"></span></div>
<meta name="ContentStart">{body}<meta name="ContentEnd">
</div>
<div class="bt-foot">{foot}</div>
</body>
</html>
"""

JCMS_RECORD = ('<record><![CDATA[<li><a href="{href}" target="_blank" title="{title}">{title}</a>'
               '<span class="bt-data-time">{date}</span></li>]]></record>')

JCMS_COLUMN = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="SiteName" content="{webname}">
<meta name="ColumnName" content="政府信息公开年报">
<title>政府信息公开年报 {webname}</title>
<script type="text/javascript" src="{{{{origin}}}}/module/jslib/jquery/jquery.js"></script>
</head>
<body>
<div class="bt-position">当前位置：首页 &gt; 政府信息公开 &gt; 政府信息公开年报</div>
<div class="bt-list" id="{unit}"><script type="text/xml"><datastore><nextgroup><![CDATA[<a href="{{{{origin}}}}/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid={web}&path=/&columnid={col}&unitid={unit}&webname={webname_q}&permissiontype=0"></a>]]></nextgroup><recordset>
{records}
</recordset></datastore></script></div>
<script type="text/javascript" src="{{{{origin}}}}/module/web/jpage/jpage.js"></script>
<script type="text/javascript">
$(document).ready(function(){{
  $('#{unit}').jpage({{
    totalRecord: {total}, perPage: {per_page}, groupSize: 3, barPosition: 'bottom',
    proxyUrl: '{{{{origin}}}}/module/web/jpage/dataproxy.jsp',
    ajaxParam: {{col: 1, appid: 1, webid: '{web}', path: '/', columnid: '{col}', sourceContentType: '1',
                unitid: '{unit}', webname: '{webname}', permissiontype: 0}}
  }});
}});
</script>
<div class="bt-foot">{foot}</div>
</body>
</html>
"""

JCMS_PROXY = """<?xml version="1.0" encoding="UTF-8"?>
<datastore><totalrecord>{total}</totalrecord><totalpage>{pages}</totalpage>
<recordset>
{records}
</recordset></datastore>
"""


def build_jcms(shared: Path, out: Path):
    import urllib.parse
    site = out / "site"
    # (kind, key, art date path, published, listed url differs?)
    docs = []
    for key in ("004", "003", "002", "000"):
        s = SEED_BY_ID[key]
        gold = seed_gold(shared, s["sid"])
        y, m, d = (int(x) for x in s["published"].split("-"))
        docs.append(dict(title=seed_title(shared, key), published=s["published"], year=gold["year"],
                         fmt=gold["format"], gold=f"seeds/{s['sid']}.json", body=seed_body(shared, key),
                         source_name=s["source_name"], path=f"/art/{y}/{m}/{d}/art_{JCMS_COL}_{s['cid']}.html",
                         source=f"corpus/seeds/{s['sid']}.txt",
                         how="`shared/corpus/seeds/" + s["sid"] + ".txt` (body as in the `seeds` portal)"))
    for ym, docid in (("201801", "80506"), ("201701", "80485"), ("201601", "80445"), ("201501", "80791")):
        it = pingtan_doc(shared, ym, docid)
        y, m, d = (int(x) for x in it["published"].split("-"))
        rel = it["dir"].relative_to(shared).as_posix()
        docs.append(dict(title=it["title"], published=it["published"], year=int(re.search(r"(\d{4})年", it["title"]).group(1)),
                         fmt="none", gold=None, body=pingtan_text_body(it), source_name="平潭县人民政府",
                         path=f"/art/{y}/{m}/{d}/art_{JCMS_COL}_{docid}.html", source=it["url_orig"],
                         how=f"{it['url_orig']} — `shared/{rel}/page.txt` (paragraphs rebuilt as in the `pingtan` portal)"))
    files, items = [], []
    redirects = {}
    for doc in docs:
        page = JCMS_ARTICLE.format(webname=JCMS_WEBNAME, title=esc(doc["title"]), date=doc["published"],
                                   source=esc(doc["source_name"]), col=JCMS_COL, body=doc["body"], foot=FAMILY_FOOT)
        write(site / doc["path"].lstrip("/"), page)
        files.append((doc["path"], doc["how"] + ", in a jcms article page (`meta ContentStart/ContentEnd`)"))
        doc["listed"] = doc["path"]
    # trap: the 2020 report of 银州区 is listed under its old address, which answers 301
    moved = docs[2]
    moved["listed"] = moved["path"].replace("/art/2021/1/31/", "/art/2021/1/30/")
    redirects[moved["listed"]] = moved["path"]
    # records newest first; the 2023 report is listed a second time in the last group (置顶 copy)
    records = docs + [docs[0]]
    total = len(records)
    group = JCMS_PER_PAGE * 3

    def record(doc):
        return JCMS_RECORD.format(href="{{origin}}" + doc["listed"], title=esc(doc["title"]), date=doc["published"])

    column = f"/col/col{JCMS_COL}/index.html"
    write(site / column.lstrip("/"), JCMS_COLUMN.format(
        webname=JCMS_WEBNAME, webname_q=urllib.parse.quote(JCMS_WEBNAME), unit=JCMS_UNIT, web=JCMS_WEB, col=JCMS_COL,
        records="\n".join(record(d) for d in records[:group]), total=total, per_page=JCMS_PER_PAGE, foot=FAMILY_FOOT))
    routes = [{"method": "GET", "path": column, "file": column.lstrip("/"), "content_type": "text/html"}]
    form = {"col": "1", "appid": "1", "webid": JCMS_WEB, "path": "/", "columnid": JCMS_COL, "sourceContentType": "1",
            "unitid": JCMS_UNIT, "webname": JCMS_WEBNAME, "permissiontype": "0"}
    for start in range(group + 1, total + 1, group):
        end = start + group - 1
        name = f"module/web/jpage/dataproxy/{JCMS_COL}_{start}.xml"
        write(site / name, JCMS_PROXY.format(total=total, pages=-(-total // JCMS_PER_PAGE),
                                             records="\n".join(record(d) for d in records[start - 1:end])))
        routes.append({"method": "POST", "path": "/module/web/jpage/dataproxy.jsp",
                       "query": {"startrecord": start, "endrecord": end, "perpage": JCMS_PER_PAGE},
                       "form": form, "file": name, "content_type": "text/xml;charset=UTF-8"})
        files.insert(1, (f"/{name}", f"answer of POST /module/web/jpage/dataproxy.jsp?startrecord={start}"
                                     f"&endrecord={end}&perpage={JCMS_PER_PAGE} (routes.json)"))
    files.insert(0, (column, "generated jcms column page: inline datastore of the first group, jpage script"))
    delays = {"/module/web/jpage/dataproxy.jsp": 1.5}
    for doc in docs:
        item = {"url": doc["path"], "title": doc["title"], "published": doc["published"], "is_report": True,
                "year": doc["year"], "format": doc["fmt"], "attachment": None, "report_in": "page",
                "gold": doc["gold"], "source": doc["source"]}
        if doc["listed"] != doc["path"]:
            item["listed_url"] = doc["listed"]
        items.append(item)
    traps = [
        {"trap": "redirect", "url": moved["listed"], "target": moved["path"], "expect": "301",
         "note": "listed under an old address; the report is archived under the target"},
        {"trap": "listed_twice", "url": docs[0]["path"], "expect": "one report",
         "note": "record 1 and record 9 (the proxy's group) are the same article"},
        {"trap": "slow", "url": "/module/web/jpage/dataproxy.jsp", "delay": delays["/module/web/jpage/dataproxy.jsp"],
         "expect": "crawled", "note": "the proxy answers after 1.5 s (delays.json)"},
        {"trap": "post_paging", "url": "/module/web/jpage/dataproxy.jsp", "expect": "crawled",
         "note": "records 7-9 only come from POST dataproxy.jsp with the page's form fields (routes.json)"},
    ]
    manifest = {
        "portal": "jcms", "name": "年报样例门户（大汉 jcms 栏目）", "level": "department", "province": "（多省样例）",
        "division_code": "", "source": "shared/corpus/seeds, shared/corpus/pingtan (real reports; the portal around "
                                       "them is modelled on Hanweb jcms columns)",
        "cms": "jcms", "column": column, "items": items, "traps": traps,
        "notes": [
            "A Hanweb (大汉) jcms column: /col/col1229003/index.html holds the first group of records (3 pages of "
            f"{JCMS_PER_PAGE}) in <script type=\"text/xml\"><datastore>…<recordset><record><![CDATA[<li>…]]>; the rest "
            "comes from POST /module/web/jpage/dataproxy.jsp?startrecord=7&endrecord=12&perpage=2 with the form "
            "fields col, appid, webid, path, columnid, sourceContentType, unitid, webname, permissiontype "
            "(routes.json answers only when every field is sent).",
            "Record and proxy addresses are root-relative on real sites (/art/…, /module/…); here they carry the "
            "portal prefix through server.py's {{origin}}.",
            "Reports: seeds 004, 003, 002, 000 (gold seeds/*) and the Pingtan 2017, 2016, 2015, 2014 reports "
            "(archived text, format none), in jcms article pages.",
            "Traps: a redirect (银州区 2020 listed at /art/2021/1/30/…, 301 to /art/2021/1/31/…; the manifest url "
            "is the target, listed_url the listed one), the 攸县 2023 report listed twice, a slow proxy (1.5 s), "
            "paging only by POST.",
        ],
    }
    intro = [
        "The reports are real (`shared/corpus/seeds/*.txt`, `shared/corpus/pingtan/*/page.txt`); the column is "
        "generated, modelled on Hanweb jcms as real crawlers of jcms sites show it (POST "
        "`/module/web/jpage/dataproxy.jsp?startrecord=&endrecord=&perpage=` with `col=1&appid=1&webid=…&path=/"
        "&columnid=…&sourceContentType=1&unitid=…&webname=…&permissiontype=0`, answers of "
        "`<![CDATA[<li><a href title>…</a><span>date</span></li>]]>` records, `/col/colNNN/index.html`, "
        "`meta ContentStart/ContentEnd` in article pages). The exact jpage script of real pages was not in the "
        "stored material: its shape here (totalRecord, perPage, proxyUrl, ajaxParam) is modelled."]
    write_family(out, manifest, files, {"routes.json": routes, "redirects.json": redirects, "delays.json": delays}, intro)
    return manifest


# ---------------------------------------------------------------- Guangdong gkmlpt

GK_SID, GK_CAT = "440117", "2654"
GK_PER_PAGE = 3

GK_INDEX = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>政府信息公开目录 年报样例门户</title>
<link rel="stylesheet" href="./gkml/pc/css/app.css">
</head>
<body>
<div id="app"></div>
<script>
window._CONFIG = {{
  SID: '{sid}',
  SITE_NAME: '年报样例门户',
  TREE: {tree},
  SERVICE_AREA_ID: 0
}};
</script>
<script src="./gkml/pc/js/chunk-common.js"></script>
<script src="./gkml/pc/js/app.js"></script>
<noscript>本页需要启用 JavaScript</noscript>
</body>
</html>
"""

GK_CONTENT = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{date}">
<meta name="ContentSource" content="{source}">
<title>{title}</title>
</head>
<body>
<div class="classify">
<table class="content-table">
<tr><td>索引号：</td><td>{identifier}</td><td>分类：</td><td>政府信息公开年报</td></tr>
<tr><td>发布机构：</td><td>{source}</td><td>成文日期：</td><td>{date}</td></tr>
<tr><td>名称：</td><td colspan="3">{title}</td></tr>
<tr><td>文号：</td><td></td><td>发布日期：</td><td>{date}</td></tr>
</table>
</div>
<div class="content">
<h1 class="title">{title}</h1>
<div class="article-content">{body}</div>
{attachment}
</div>
<div class="foot">{foot}</div>
</body>
</html>
"""


def build_gkmlpt(shared: Path, out: Path):
    import calendar
    import datetime
    site = out / "site"
    files, docs = [], []
    for ym, docid, year, gold in (("202603", "105587", 2025, "real/pingtan-2025.json"),
                                  ("202202", "80613", 2021, "real/pingtan-2021.json")):
        it = pingtan_doc(shared, ym, docid)
        rel = it["dir"].relative_to(shared).as_posix()
        docs.append(dict(title=it["title"], created=it["pubtime"] + ":00", year=year, fmt="2021", gold=gold,
                         body=pingtan_raw_body(it), source_name="平潭综合实验区管委会办公室", pid=int(docid) + 9000000,
                         source=it["url_orig"], is_report=True,
                         how=f"{it['url_orig']} — body = the article content (div.article_content_01) of `shared/{rel}/page.html` (tables as published)"))
    s = SEED_BY_ID["003"]
    text = seed_text(shared, s["sid"])
    gold3 = seed_gold(shared, s["sid"])
    docs.append(dict(title=seed_title(shared, "003"), created="2021-01-20 09:30:00", year=gold3["year"],
                     fmt=gold3["format"], gold=f"seeds/{s['sid']}.json", body=None, docx=seed_docx(text, rows_tabbed),
                     source_name=s["source_name"], pid=9007304, source=f"corpus/seeds/{s['sid']}.txt", is_report=True,
                     how=f"`shared/corpus/seeds/{s['sid']}.txt`: a one-line page; the report only as a Word file"))
    letter = pingtan_doc(shared, "201412", "80787")
    docs.append(dict(title=letter["title"], created=letter["pubtime"] + ":00", year=None, fmt=None, gold=None,
                     body=pingtan_text_body(letter), source_name="平潭综合实验区管委会", pid=9080787,
                     source=letter["url_orig"], is_report=False,
                     how=f"{letter['url_orig']} — `shared/{letter['dir'].relative_to(shared).as_posix()}/page.txt`"))
    s4 = SEED_BY_ID["004"]
    gold4 = seed_gold(shared, s4["sid"])
    docs.append(dict(title=seed_title(shared, "004"), created="2024-01-31 10:00:00", year=gold4["year"],
                     fmt=gold4["format"], gold=f"seeds/{s4['sid']}.json", body=seed_body(shared, "004"),
                     source_name=s4["source_name"], pid=9007305, source=f"corpus/seeds/{s4['sid']}.txt", is_report=True,
                     how=f"`shared/corpus/seeds/{s4['sid']}.txt` (tables as in the `seeds` portal)"))
    dead = {"title": "广州市越秀区白云街道2022年政府信息公开工作年度报告", "created": "2023-01-18 16:20:00",
            "path": "/gkmlpt/content/8/8766/post_8766914.html",
            "source": "http://www.yuexiu.gov.cn/gzyxbyj/gkmlpt/content/8/8766/post_8766914.html"}
    articles, items = [], []
    for doc in docs:
        pid = doc["pid"]
        doc["path"] = f"/gkmlpt/content/{pid // 1000000}/{pid // 1000}/post_{pid}.html"
        attachment, att_path = "", None
        body = doc["body"]
        if doc.get("docx") is not None:
            att_path = f"/attachment/0/{pid // 1000}/{pid}/{pid}.docx"
            write(site / att_path.lstrip("/"), doc["docx"], binary=True)
            files.append((att_path, f"`shared/corpus/seeds/{s['sid']}.txt` — Word file made with python-docx: "
                                    "paragraphs, the three tables with the form's merged cells"))
            body = f"<p>{esc(doc['title'])}详见附件。</p>"
            attachment = (f'<div class="attachment"><p>附件：<a class="nfw-cms-attachment" href="../../../..{att_path}" '
                          f'alt="{esc(doc["title"])}.docx">{esc(doc["title"])}.docx</a></p></div>')
        date = doc["created"][:10]
        write(site / doc["path"].lstrip("/"), GK_CONTENT.format(
            title=esc(doc["title"]), date=date, source=esc(doc["source_name"]), identifier=f"{GK_SID}/{date[:4]}-{pid}",
            body=body, attachment=attachment, foot=FAMILY_FOOT))
        files.append((doc["path"], doc["how"] + ", in a gkmlpt content page"))
        doc["att"] = att_path
    listing = docs[:2] + [dead] + docs[2:]
    for doc in listing:
        path = doc["path"]
        pid = int(path.rsplit("_", 1)[1].split(".")[0])
        stamp = calendar.timegm(datetime.datetime.strptime(doc["created"], "%Y-%m-%d %H:%M:%S").timetuple()) - 8 * 3600
        articles.append({"id": pid, "title": doc["title"], "url": "{{origin}}" + path, "post_url": "{{origin}}" + path,
                         "created_at": doc["created"], "date": stamp, "display_publish_time": stamp,
                         "document_number": "", "identifier": f"{GK_SID}/{doc['created'][:4]}-{pid}",
                         "publisher": doc.get("source_name", ""), "classify_main_name": "政府信息公开年报",
                         "attachment": ([{"id": pid, "name": doc["title"] + ".docx", "type": "doc",
                                          "mime": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                                          "url": "{{origin}}" + doc["att"]}] if doc.get("att") else []),
                         "is_expired": 0, "is_abolished": 0})
    tree = [{"id": 2650, "name": "政府信息公开指南", "parent": 0, "jump_url": "", "children": []},
            {"id": 2651, "name": "政府信息公开制度", "parent": 0, "jump_url": "", "children": []},
            {"id": 2652, "name": "法定主动公开内容", "parent": 0, "jump_url": "",
             "children": [{"id": 2653, "name": "机构职能", "parent": 2652, "jump_url": "", "children": []}]},
            {"id": int(GK_CAT), "name": "政府信息公开年报", "parent": 0, "jump_url": "", "children": []}]
    write(site / "gkmlpt/index", GK_INDEX.format(sid=GK_SID, tree=json.dumps(tree, ensure_ascii=False)))
    files.insert(0, ("/gkmlpt/index", "generated gkmlpt index page: window._CONFIG with SID and TREE, list drawn by script"))
    routes = []
    pages = [articles[i:i + GK_PER_PAGE] for i in range(0, len(articles), GK_PER_PAGE)]
    for n, chunk in enumerate(pages, 1):
        name = f"gkmlpt/api/all/{GK_CAT}/page{n}.json"
        data = {"classify": {"id": int(GK_CAT), "name": "政府信息公开年报", "post_count": len(articles)},
                "total": len(articles), "articles": chunk}
        write(site / name, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        for page in ((0, 1) if n == 1 else (n,)):  # the real API answers page 0 as page 1
            routes.append({"method": "GET", "path": f"/gkmlpt/api/all/{GK_CAT}", "query": {"page": page, "sid": GK_SID},
                           "file": name, "content_type": "application/json;charset=UTF-8"})
        files.insert(n, (f"/{name}", f"answer of GET /gkmlpt/api/all/{GK_CAT}?page={n}&sid={GK_SID} (routes.json)"))
    for doc in docs:
        items.append({"url": doc["path"], "title": doc["title"], "published": doc["created"][:10],
                      "is_report": doc["is_report"], "year": doc["year"], "format": doc["fmt"], "attachment": doc["att"],
                      "report_in": "attachment" if doc["att"] else "page", "gold": doc["gold"], "source": doc["source"]})
    traps = [
        {"trap": "404", "url": dead["path"], "title": dead["title"], "expect": "404",
         "note": "a real report's real gkmlpt address (" + dead["source"] + "); only its opening is in the corpus, "
                 "so the replica has no page: the crawl must record the failure"},
        {"trap": "docx_only", "url": docs[2]["path"], "attachment": docs[2]["att"], "expect": "read from the DOCX"},
        {"trap": "not_a_report", "url": docs[3]["path"], "title": docs[3]["title"], "expect": "skipped"},
        {"trap": "json_paging", "url": f"/gkmlpt/api/all/{GK_CAT}", "expect": "crawled",
         "note": "the list exists only as the JSON API (page 1 and 2)"},
    ]
    manifest = {
        "portal": "gkmlpt", "name": "年报样例门户（广东 gkmlpt 政府信息公开目录）", "level": "department",
        "province": "（多省样例）", "division_code": "",
        "source": "shared/corpus/pingtan, shared/corpus/seeds (real reports; the portal around them is modelled on "
                  "Guangdong's gkmlpt)",
        "cms": "gkmlpt", "column": "/gkmlpt/index", "items": items, "traps": traps,
        "notes": [
            "A Guangdong gkmlpt site: /gkmlpt/index is a script application whose window._CONFIG gives SID and the "
            f"category TREE (年报 = {GK_CAT}); its list is GET /gkmlpt/api/all/{GK_CAT}?page=N&sid={GK_SID}, JSON "
            "{classify:{post_count}, total, articles:[{id, title, url, post_url, created_at, date, attachment…}]}, "
            f"{GK_PER_PAGE} articles a page here (100 on real sites), 6 in all.",
            "Article urls are absolute on real sites; here {{origin}} is replaced by server.py.",
            "Reports: Pingtan 2025 and 2021 (raw pages' TRS_Editor bodies, gold real/*), 攸县 2023 (seed 004, HTML "
            "tables), 株洲 2020 (seed 003) only as a DOCX attachment.",
            "Traps: a 404 (广州市越秀区白云街道2022年… at its real gkmlpt address; the corpus has only its opening), "
            "a DOCX-only report, a non-report item (关于2014年政府信息公开工作要点落实情况的函, real Pingtan text), paging "
            "only through the JSON API.",
        ],
    }
    intro = [
        "The reports are real; the site is generated, modelled on gkmlpt as stored crawlers and notes of real "
        "Guangdong sites show it: `…/gkmlpt/index` with `window._CONFIG = {SID: '…', TREE: […], SERVICE_AREA_ID…}`, "
        "category in the address's `#id`, `…/gkmlpt/api/all/{id}?page={n}&sid={SID}` answering "
        "`{\"classify\": {\"post_count\"}, \"total\", \"articles\": [{\"id\", \"title\", \"url\", \"post_url\", "
        "\"created_at\", \"date\", \"attachment\": [{\"name\", \"mime\", \"url\"}]…}]}`, content pages "
        "`/gkmlpt/content/{a}/{b}/post_{id}.html`, attachments `/attachment/0/…` linked with class "
        "`nfw-cms-attachment`. The content-page chrome is modelled."]
    write_family(out, manifest, files, {"routes.json": routes}, intro)
    return manifest


# ---------------------------------------------------------------- Hanweb xxgkAnnualReport.jsp (GBK)

AR_AREA = "113708260043292687"
AR_PAGE = "/module/xxgk/xxgkAnnualReport.jsp"
AR_YEARS = (2023, 2022, 2021, 2020, 2019)

AR_LIST = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>政府信息公开年报</title>
<link href="/module/xxgk/css/xxgk.css" rel="stylesheet" type="text/css" />
</head>
<body>
<div class="nb_year">年度：{years}</div>
<table width="100%" border="0" cellspacing="0" cellpadding="0" class="tb_title">
<tr class="tr_main_title"><td>名称</td><td width="100">发布日期</td></tr>
{rows}
</table>
</body>
</html>
"""

AR_ROW = ('<tr class="tr_main_value_{parity}"><td align="left"><a href="{href}" target="_blank" title="{title}">{title}</a>'
          '</td><td align="center">{date}</td></tr>')

AR_ARTICLE = """<html>
<head>
{meta}<title>{title}</title>
</head>
<body>
<table class="xxgk_table" width="100%">
<tr><td>索引号：</td><td>{identifier}</td><td>发布机构：</td><td>{source}</td></tr>
<tr><td>名称：</td><td colspan="3">{title}</td></tr>
<tr><td>生成日期：</td><td>{date}</td><td>文号：</td><td></td></tr>
</table>
<div class="xxgk_content" id="zoom">
{body}
</div>
<div class="foot">{foot}</div>
</body>
</html>
"""


def gbk(text: str) -> bytes:
    return text.encode("gbk", errors="xmlcharrefreplace")


def build_annual(shared: Path, out: Path):
    site = out / "site"
    files, items, docs = [], [], []
    meta_gbk = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />\n'
    for key, year_page, meta in (("004", 2023, meta_gbk), ("002", 2020, ""), ("000", 2019, meta_gbk),
                                 ("001", 2019, meta_gbk)):
        s = SEED_BY_ID[key]
        gold = seed_gold(shared, s["sid"])
        y, m, d = (int(x) for x in s["published"].split("-"))
        path = f"/art/{y}/{m}/{d}/art_3921_{s['cid']}.html"
        title = seed_title(shared, key)
        attachment = None
        if s["mode"] == "pdf":
            attachment = f"/picture/0/{PDF_NAME}"
            build_seed_pdf(seed_text(shared, s["sid"]), site / attachment.lstrip("/"))
            files.append((attachment, f"`shared/corpus/seeds/{s['sid']}.txt` — the PDF of the `seeds` portal, rebuilt "
                                      "(reportlab, invariant)"))
            body = (f"<p>{esc(title)}详见附件。</p>\n"
                    f'<p>附件：<a href="../../../../picture/0/{PDF_NAME}">{esc(title)}.pdf</a></p>')
        else:
            body = seed_body(shared, key)
        page = AR_ARTICLE.format(meta=meta, title=esc(title), identifier=f"{AR_AREA[:12]}/{y}-{s['cid']}",
                                 source=esc(s["source_name"]), date=s["published"], body=body, foot=FAMILY_FOOT)
        write(site / path.lstrip("/"), gbk(page), binary=True)
        files.append((path, f"`shared/corpus/seeds/{s['sid']}.txt`, GBK-encoded"
                            + (", no charset declared anywhere" if not meta else ", meta charset=gb2312")))
        docs.append(dict(year_page=year_page, path=path, title=title, date=s["published"]))
        items.append({"url": path, "title": title, "published": s["published"], "is_report": True,
                      "year": gold["year"], "format": gold["format"], "attachment": attachment,
                      "report_in": "attachment" if attachment else "page", "gold": f"seeds/{s['sid']}.json",
                      "source": f"corpus/seeds/{s['sid']}.txt", "encoding": "gbk"})
    routes = []
    years = " ".join(f'<a href="xxgkAnnualReport.jsp?area={AR_AREA}&amp;fbtime={y}">{y}年</a>' for y in AR_YEARS)
    for year in AR_YEARS:
        rows = [AR_ROW.format(parity="odd" if i % 2 == 0 else "even", href="../.." + doc["path"],
                              title=esc(doc["title"]), date=doc["date"])
                for i, doc in enumerate(d for d in docs if d["year_page"] == year)]
        if not rows:
            rows = ['<tr class="tr_main_value_odd"><td colspan="2" align="center">暂无信息</td></tr>']
        name = f"module/xxgk/annual/{AR_AREA}_{year}.html"
        write(site / name, gbk(AR_LIST.format(years=years, rows="\n".join(rows))), binary=True)
        routes.append({"method": "GET", "path": AR_PAGE, "query": {"area": AR_AREA, "fbtime": year}, "file": name,
                       "content_type": "text/html"})
        files.insert(0, (f"/{name}", f"answer of GET {AR_PAGE}?area={AR_AREA}&fbtime={year} (routes.json), GBK, "
                                     "meta charset=gb2312, served as text/html without charset"))
    traps = [
        {"trap": "gbk_no_charset", "url": AR_PAGE, "expect": "decoded",
         "note": "every page is GBK and served as text/html without charset; the listings declare gb2312 in a meta, "
                 f"the page {docs[1]['path']} declares nothing"},
        {"trap": "pdf_only", "url": docs[3]["path"], "attachment": f"/picture/0/{PDF_NAME}",
         "expect": "read from the PDF"},
        {"trap": "query_paging", "url": AR_PAGE, "expect": "crawled",
         "note": "one page per fbtime; the years are links of the page; 2021 and 2022 list nothing"},
    ]
    manifest = {
        "portal": "annual", "name": "年报样例门户（大汉信息公开年报模块 xxgkAnnualReport.jsp）", "level": "department",
        "province": "（多省样例）", "division_code": "",
        "source": "shared/corpus/seeds (real reports; the module around them is modelled, see SOURCES.md)",
        "cms": "xxgk-annual", "column": f"{AR_PAGE}?area={AR_AREA}&fbtime={AR_YEARS[0]}",
        "items": items, "traps": traps,
        "notes": [
            f"Hanweb's 信息公开 annual-report module: {AR_PAGE}?area=…&fbtime=YEAR lists one area's reports of one "
            "year (fbtime = the year reported on); the page links the other years. The area is the real one of the "
            "address in shared/corpus/openings/index.csv (r029, 微山县两城镇, fbtime=2020); the reports here are "
            "the seeds', not that body's.",
            "The module's real markup is not in the stored material: the page is modelled plainly on the Hanweb "
            "xxgk module's list rows (tr.tr_main_value_odd/even, a[title], date cell).",
            "GBK everywhere, Content-Type text/html without charset; listing and three article pages carry "
            "meta charset=gb2312, the 银州区 2020 page none. Characters outside GBK are written as &#…; references.",
            "富源县 2019 (seed 001) is only in its PDF attachment.",
        ],
    }
    intro = [
        "The reports are real (`shared/corpus/seeds/*.txt`). The module is modelled: the real address "
        "`http://www.weishan.gov.cn/module/xxgk/xxgkAnnualReport.jsp?area=113708260043292687&fbtime=2020` (and "
        "`http://xfj.jining.gov.cn/module/xxgk/xxgkAnnualReport.jsp?area=11370800004235587R&fbtime=2024`) is "
        "recorded in `shared/corpus/openings/index.csv`, but no stored page shows its markup; the rows follow the "
        "Hanweb xxgk module lists that stored crawlers read (`tr_main_value_odd/even`, `a[title]`)."]
    write_family(out, manifest, files, {"routes.json": routes}, intro)
    return manifest


# ================================================================ SOURCES.md


def write_sources(out: Path, portal: str, manifest: dict, files):
    lines = [f"# Sources of the `{portal}` sample portal", "",
             "Generated by `tools/build_sample_portals.py`; paths are under the portal root "
             f"(served at `/{portal}/`), `shared/` is the project's read-only material.", ""]
    if portal == "pingtan":
        lines += [
            "Real source: the 政府信息公开年报 column of 平潭综合实验区党工委管委会, "
            "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/ (TRS WCM), via the public archive "
            "`changwu/pingtan-gov-zwgk-archive` (path `pingtan/zwgk/zfxxgk/zfxxgknb/`, commits "
            "12f00b4205da89f3fa531f747c608e88308a046c and, for `_lists/`, 6115fd44c19b346a6b58795ceaf18cc339f2e809), "
            "copied in `shared/corpus/pingtan/`.", "",
            "The `createPageHTML` function in the listing pages is the generic TRS static-column pager, "
            "written for this replica (the real page paginates through its search API).", ""]
    else:
        lines += ["The five reports are `shared/corpus/seeds/*.txt` (real reports given with the project; their "
                  "original addresses are not recorded there). The CMS pages around them are generated.", ""]
    lines += ["| file | source |", "|---|---|"]
    for path, src in files:
        lines.append(f"| `{path}` | {src} |")
    lines.append("| `manifest.json` (portal dir, not served) | generated from the items above; gold paths relative to "
                 "`shared/gold/` |")
    lines.append("| `SOURCES.md` (portal dir, not served) | this file, generated |")
    lines.append("")
    write(out / "SOURCES.md", "\n".join(lines))


# ================================================================ main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("NIANBAO_SHARED") or str(HERE.parents[2] / "shared"))
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    if not (shared / "corpus" / "pingtan").is_dir():
        sys.exit(f"shared material not found at {shared}")
    for portal, fn in (("pingtan", build_pingtan), ("seeds", build_seeds), ("jcms", build_jcms),
                       ("gkmlpt", build_gkmlpt), ("annual", build_annual)):
        out = HERE / portal
        if (out / "site").exists():
            shutil.rmtree(out / "site")
        m = fn(shared, out)
        print(f"{portal}: {len(m['items'])} items")


if __name__ == "__main__":
    main()
