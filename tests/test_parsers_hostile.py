"""Hostile files cost bounded time and memory and end in a clean result, a note, or a
one-line error naming the limit: each is parsed in a child process under RLIMIT_AS of
1 GB and a 30 s timeout (the unbounded parsers took 2.5-8 GB on some of them)."""
import pytest

from hostile_files import AFTER_TEXT, DEEP_TEXT, HOSTILE, parse_in_child


@pytest.fixture(scope="session")
def parsed(tmp_path_factory):
    """parse_in_child of a hostile file, by its key in HOSTILE (generated once)."""
    folder = tmp_path_factory.mktemp("hostile")
    results = {}

    def get(key: str) -> dict:
        if key not in results:
            name, generate = HOSTILE[key]
            path = folder / name
            path.write_bytes(generate())
            results[key] = parse_in_child(path, name)
            path.unlink()
        result = results[key]
        assert "crashed" not in result, (key, result)
        assert not result["stdout"], (key, result["stdout"][:300])
        return result
    return get


def _limit_error(result: dict, *words: str) -> None:
    error = result["error"]
    assert error and "\n" not in error and error.startswith("LimitExceeded:"), error
    assert "limit" in error and all(word in error for word in words), error


@pytest.mark.parametrize("key", ["html_span_bomb", "html_span_bomb_large"])
def test_html_span_bombs_are_bounded(parsed, key):
    result = parsed(key)
    assert result["error"] is None
    assert "某县2023年政府信息公开工作年度报告" in result["body"]


@pytest.mark.parametrize("key", ["html_deep", "html_deep_10000"])
def test_deep_html_keeps_its_text(parsed, key):
    result = parsed(key)
    assert result["error"] is None
    assert DEEP_TEXT in result["body"] and AFTER_TEXT in result["tail"]
    assert any("nested deeper than" in note for note in result["notes"]), result["notes"]


def test_html_text_node_past_the_parser_limit_is_kept(parsed):
    result = parsed("html_long_text_node")
    assert result["error"] is None
    assert result["body"].count("公开") >= 6000 and result["body_length"] > 30_000 and AFTER_TEXT in result["tail"]
    assert any("stopped early" in note for note in result["notes"]), result["notes"]


@pytest.mark.parametrize("key", ["docx_grid_span_bomb", "docx_vmerge_bomb"])
def test_docx_span_bombs_are_bounded(parsed, key):
    result = parsed(key)
    assert result["error"] is None
    assert "某县2023年政府信息公开工作年度报告" in result["body"]


@pytest.mark.parametrize("key", ["xlsx_merge_bomb", "xlsx_dimension_bomb", "xls_far_cell"])
def test_xlsx_span_bombs_are_bounded(parsed, key):
    result = parsed(key)
    assert result["error"] is None
    assert result["body"].startswith("规章")


@pytest.mark.parametrize("key", ["docx_zip_bomb", "xlsx_zip_bomb"])
def test_zip_bombs_are_refused_before_inflating(parsed, key):
    result = parsed(key)
    _limit_error(result, "compression ratio")
    assert result["seconds"] < 5


def test_an_xml_part_too_big_to_parse_is_refused(parsed):
    _limit_error(parsed("docx_large_xml"), "word/document.xml", "for one part")


def test_xml_parts_too_big_together_are_refused(parsed):
    _limit_error(parsed("docx_many_headers"), "of XML")


@pytest.mark.parametrize("key", ["docx_long_text", "text_long"])
def test_text_past_the_text_limit_is_noted(parsed, key):
    from parsers.limits import MAX_TEXT

    result = parsed(key)
    assert result["error"] is None and MAX_TEXT - 100 < result["body_length"] <= MAX_TEXT
    assert any("the text limit" in note for note in result["notes"]), result["notes"]


@pytest.mark.parametrize("key", ["html_billion_laughs", "docx_xxe", "docx_billion_laughs", "xlsx_xxe",
                                 "xlsx_billion_laughs"])
def test_entities_are_not_expanded(parsed, key):
    result = parsed(key)
    assert "root:" not in result["body"] and "lollollollol" not in result["body"]
    assert result["body_length"] < 1000
    assert result["error"] is None or "\n" not in result["error"]


def test_pdf_pages_past_the_limit_are_noted(parsed):
    from parsers.limits import MAX_PDF_PAGES

    result = parsed("pdf_many_pages")
    assert result["error"] is None
    assert result["body"].count("2023 annual report page") == MAX_PDF_PAGES
    assert any("page limit" in note for note in result["notes"]), result["notes"]


def test_pdf_ruled_past_the_table_finder_limit_is_noted(parsed):
    result = parsed("pdf_ruled_bomb")
    assert result["error"] is None
    assert any("3000 × 3000 lines" in note for note in result["notes"]), result["notes"]


def test_pdf_table_reading_is_bounded_over_the_document(parsed):
    """Pages each within the limits, too many of them together."""
    result = parsed("pdf_dense_tables")
    assert result["error"] is None
    assert any("in the document" in note for note in result["notes"]), result["notes"]
    assert any("the text limit" in note for note in result["notes"]), result["notes"]


@pytest.mark.parametrize("kind", ["pdf", "docx", "xlsx", "xls"])
@pytest.mark.parametrize("damage", ["truncated", "random"])
def test_broken_files_give_one_line_errors(parsed, kind, damage):
    result = parsed(f"{kind}_{damage}")
    assert result["error"] and "\n" not in result["error"], result["error"]
