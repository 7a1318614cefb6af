"""The metadata block of a detail page: 索引号, 文号, 发布机构/来源, 发布日期."""
import parsers

HEADER = """<html><head><meta name="ArticleTitle" content="越秀区2022年政府信息公开工作年度报告"></head><body>
<table class="meta"><tr><td>索引号：</td><td>007503290/2023-00012</td><td>分类：</td><td>政府信息公开年报</td></tr>
<tr><td>发布机构：</td><td>广州市越秀区人民政府办公室</td><td>成文日期：</td><td>2023-01-18</td></tr>
<tr><td>文号：</td><td>越府办函〔2023〕3号</td><td>发布日期：</td><td>2023-01-19</td></tr></table>
<div class="content"><p>一、总体情况</p><p>2022年，越秀区……</p></div></body></html>"""


def test_labelled_fields_of_a_metadata_block():
    result = parsers.parse(HEADER.encode(), name="post_1.html")
    assert result["index_number"] == "007503290/2023-00012"
    assert result["document_number"] == "越府办函〔2023〕3号"
    assert result["source_name"] == "广州市越秀区人民政府办公室"
    assert result["published"] == "2023-01-19"


def test_an_empty_label_is_not_filled_with_the_next_one():
    page = "<html><body><p>发布日期：2020-01-31  信息来源：  浏览次数：12</p><p>文号：无文号</p></body></html>"
    result = parsers.parse(page.encode(), name="a.html")
    assert result["source_name"] is None
    assert result["document_number"] is None
