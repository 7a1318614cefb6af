#!/usr/bin/env python3
"""Generate the bundled sample portals of nianbao from real report texts.

Reads the read-only material in ``shared/`` (default: ``<repo>/../shared``,
override with ``--shared PATH`` or ``$NIANBAO_SHARED``) and writes, next to this
file::

    pingtan/site/zwgk/zfxxgk/zfxxgknb/...   replica of the real TRS column
    pingtan/manifest.json, pingtan/SOURCES.md
    seeds/site/xxgk/ndbg/...                a generic (non-TRS) CMS column, 5 seed reports
    seeds/manifest.json, seeds/SOURCES.md

The output is deterministic; the generated files are committed so that the
project needs no ``shared/`` at run time.  Re-run after changing this script:

    .venv/bin/python nianbao/sample_portals/build.py
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

HERE = Path(__file__).resolve().parent

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


# ================================================================ SOURCES.md


def write_sources(out: Path, portal: str, manifest: dict, files):
    lines = [f"# Sources of the `{portal}` sample portal", "",
             "Generated by `nianbao/sample_portals/build.py`; paths are under the portal root "
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
    for portal, fn in (("pingtan", build_pingtan), ("seeds", build_seeds)):
        out = HERE / portal
        if (out / "site").exists():
            shutil.rmtree(out / "site")
        m = fn(shared, out)
        print(f"{portal}: {len(m['items'])} items")


if __name__ == "__main__":
    main()
