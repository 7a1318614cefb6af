"""parse() must never raise, whatever it is given."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import parse

TABLE_WORDS = st.sampled_from(["规章", "|", "||||", "\n", "\t", " ", "0", "12", "增4", "减", "/", "无", "?", "万元",
                               "本年新收", "（七）总计", "四、结转下年度继续办理", "行政复议", "<table>", "<td rowspan=3>",
                               "</tr>", "2019年", "二、主动公开政府信息情况", "第二十条第（一）项", "898989"])
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ok(out):
    assert isinstance(out, dict) and "source" in out


@FAST
@given(st.text(max_size=600))
def test_any_text(text):
    _ok(parse(text, name="x.txt"))


@FAST
@given(st.binary(max_size=600), st.sampled_from(["", "a.html", "a.pdf", "a.docx", "a.txt", "a.doc"]))
def test_any_bytes(data, name):
    _ok(parse(data, name=name))


@FAST
@given(st.lists(TABLE_WORDS, max_size=200))
def test_table_like_text(words):
    text = "".join(words)
    _ok(parse(text))
    _ok(parse(text.encode("gb18030"), name="a.html"))


def test_odd_arguments():
    _ok(parse(None))  # type: ignore[arg-type]
    _ok(parse(b"%PDF-1.4 broken"))
    assert "error" in parse(b"%PDF-1.4 broken")
    _ok(parse(b"PK\x03\x04 not a zip"))


def test_long_fused_runs_stay_fast():
    import time

    text = "二、主动公开政府信息情况 规章" + "1234567890" * 6 + " 三、收到和处理政府信息公开申请情况 本年新收政府信息公开申请数量" \
        + "9" * 45 + " 四、政府信息公开行政复议、行政诉讼情况 行政复议 结果维持" + "1" * 80 + " 五、存在的主要问题"
    start = time.time()
    _ok(parse(text))
    assert time.time() - start < 5
