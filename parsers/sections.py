"""Find the six standard sections (一 … 六) of a report's text."""
import re

HEADINGS = [
    ("1", r"一\s*[、.,]\s*(?:总体情况|概述|总体)"),
    ("2", r"二\s*[、.,]\s*(?:主动公开)"),
    ("3", r"三\s*[、.,]\s*(?:收到和处理|收到及处理|依申请)"),
    ("4", r"四\s*[、.,]\s*(?:[^\n。]{0,16}?行政复议)"),
    ("5", r"五\s*[、.,]\s*(?:[^\n。]{0,16}?(?:问题|改进))"),
    ("6", r"六\s*[、.,]\s*(?:其他需要报告|其他事项|其他)"),
]


def find(text: str) -> dict[str, int]:
    """Start offset of each section heading found, each searched after the previous one."""
    out, pos = {}, 0
    for key, pattern in HEADINGS:
        m = re.compile(pattern).search(text, pos)
        if m:
            out[key] = m.start()
            pos = m.end()
    return out


def split(text: str) -> dict[str, str]:
    """Text of each section found, "1".."6" (heading included)."""
    starts = find(text)
    keys = sorted(starts, key=starts.get)
    return {k: text[starts[k]:(starts[keys[i + 1]] if i + 1 < len(keys) else len(text))].strip()
            for i, k in enumerate(keys)}


def table_span(text: str) -> tuple[int, int]:
    """Offsets of the part of the text that holds the three tables (二 to 五)."""
    starts = find(text)
    first = re.search(r"第二十条|信息内容", text)
    begin = starts.get("2", first.start() if first else 0)
    end = starts.get("5", starts.get("6", len(text)))
    if end <= begin:
        end = len(text)
    return begin, end
