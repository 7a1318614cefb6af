"""Title, issuing body, year covered and publication date of a report."""
import re

from .titles import year_covered

_TITLE_WORDS = re.compile(r"(信息公开|政务公开).{0,12}(报告|年报)|年度报告|工作报告")
_YEAR = re.compile(r"(?<![\d〔\[(【])((?:19|20)\d\d)\s*年")
_PERIOD = re.compile(r"(?:统计期限|统计时限|统计时间|统计区间|数据统计)[^。\n]{0,12}?((?:19|20)\d\d)\s*年")
_SPAN = re.compile(r"((?:19|20)\d\d)\s*年\s*1\s*月\s*1\s*日\s*(?:起)?\s*(?:至|到|-|—)")
_BRACKET_YEAR = re.compile(r"[(（]\s*((?:19|20)\d\d)\s*年度?\s*[)）]")
_DATE = re.compile(r"((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
# Date labels, most specific first: a page may give 成文日期 beside 发布日期.
_DATE_LABELS = [re.compile(rf"{label}\s*[:：]\s*") for label in ("发布(?:时间|日期)", "发文日期", "成文日期", "时间|日期")]


def title_from_text(text: str) -> str | None:
    """The first title-like line at the top of a text, rejoining a title broken over lines."""
    lines = [ln.strip() for ln in text.splitlines()]
    m = re.search(r"^\s*标题\s*[:：]\s*(.+)$", text, re.M)
    if m:
        return m.group(1).strip()
    head = [ln for ln in lines[:15] if ln]
    for i, line in enumerate(head[:8]):
        if len(line) > 60 or re.match(r"(根据|按照|依据|本报告|本年度|现将|当前位置|首页)", line) \
                or re.search(r">|/\s|\s/", line):
            continue
        if not _TITLE_WORDS.search(line) and not (re.search(r"信息公开|政务公开", line) and i + 1 < len(head)):
            continue
        title = line
        if not re.search(r"(报告|年报)$", title) and i + 1 < len(head) and len(head[i + 1]) <= 12 \
                and re.search(r"(报告|年报)$", head[i + 1]):
            title += head[i + 1]
        if not _TITLE_WORDS.search(title):
            continue
        if i > 0 and re.match(r"(?:19|20)\d\d", title) and _agency_like(head[i - 1]):
            title = head[i - 1] + title
        return title
    return None


def _agency_like(line: str) -> bool:
    """A short line naming a body (a title's first half when the title is broken over lines)."""
    return len(line) <= 30 and not re.search(r"[。，,:：；;]", line) and \
        bool(re.search(r"(政府|局|委|办|室|会|厅|院|区|县|市|镇|乡|街道|中心|所|处)$", line))


def agency_from_title(title: str | None) -> str | None:
    """The body named in a title: the words before its year, or between year and 政府信息公开."""
    if not title:
        return None
    t = re.sub(r"^关于", "", re.sub(r"\s+", "", title))
    m = re.match(r"^(.+?)(?:(?:19|20)\d\d)", t)
    if m:
        name = re.sub(r"(?:政府)?(?:信息公开|政务公开)(?:工作)?$", "", m.group(1).strip("《（("))
        if len(name) >= 2:
            return name
    m = re.match(r"^(?:19|20)\d\d年?度?(.+?)(?:政府信息公开|信息公开|政务公开)", t)
    if m and len(m.group(1)) >= 2 and m.group(1) not in ("政府", "本级", "全市", "全县", "全区"):
        return m.group(1)
    return None


def year_of(title: str | None, text: str, overview: str = "") -> int | None:
    """Year covered: from the title, else the statistics period, else the year that opens
    section 一 (总体情况 starts "YYYY年，…"), else the first year in the text."""
    if title:
        y = year_covered(title)
        if y:
            return y
    for pattern, where in ((_PERIOD, text), (_SPAN, text), (_BRACKET_YEAR, text), (_YEAR, overview), (_YEAR, text)):
        m = pattern.search(where)
        if m:
            return int(m.group(1))
    return None


def agency_from_text(text: str) -> str | None:
    """The body a headless report names in its opening: 由X编制 / 现将X2019年… / 编制X2019年…."""
    head = re.sub(r"\s+", "", text[:1500])
    for pattern in (r"由([^，,。、《》()（）]{2,30}?)(?:\(以下简称[^)]*\))?(?:编制|综合|负责)",
                    r"(?:现将|现向社会公布|编制|公布)([^，,。、《》()（）]{2,30}?)(?:19|20)\d\d年"):
        m = re.search(pattern, head)
        if m and not re.search(r"本|我|报告|根据|要求|公布|发布|印发", m.group(1)):
            return m.group(1)
    return None


def date_of(value: str | None) -> str | None:
    """YYYY-MM-DD from a written date, or None."""
    if not value:
        return None
    m = _DATE.search(value)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    if 1 <= mo <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def published_from_text(text: str) -> str | None:
    """Publication date written near a 发布时间/发布日期 label at the top of the text."""
    head = text[:3000]
    for label in _DATE_LABELS:
        for m in label.finditer(head):
            d = date_of(head[m.end():m.end() + 24])
            if d:
                return d
    return None


_LABELLED = {
    "index_number": re.compile(r"索\s*引\s*号\s*[:：]\s*([0-9A-Za-z][0-9A-Za-z/_\-.()（）]{3,60})"),
    "document_number": re.compile(r"(?<![索发])文\s*号\s*[:：]\s*([^\s:：|]{2,40}〔\d{4}〕\d+号|[^\s:：|]{0,30}\[\d{4}\]\d+号)"),
}


def labelled_fields(text: str) -> dict[str, str | None]:
    """索引号 and 文号 from the metadata block at the top of a page or text."""
    head = text[:4000]
    found = {}
    for key, pattern in _LABELLED.items():
        m = pattern.search(head)
        found[key] = m.group(1) if m else None
    return found


def source_from_text(text: str) -> str | None:
    """发布机构 / 来源 written at the top of the text."""
    m = re.search(r"(?:发布机构|来源|信息来源)\s*[:：]\s*([^\s|:：]{2,30})(?=[\s|]|$)", text[:3000])
    return m.group(1) if m else None
