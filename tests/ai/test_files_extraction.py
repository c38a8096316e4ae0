"""Extraction read as a stream: tables profiled exactly, documents cut into passages with their places, and the
analysis asked of a model provider (its JSON kept, anything else replaced by the offline analysis)."""

import io
import json
from datetime import date

import pytest

from ai.files.analysis import file_analysis_generate
from ai.files.detection import FileRejected, file_inspect
from ai.files.extraction import PASSAGE_CHARS, ExtractionError, file_extract
from ai.models import ProviderCall

from .files_helpers import Q3_PAGES, SALES_CSV, pdf_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


def extract(kind: str, content: bytes | str, name: str = "file", on_progress=None):
    raw = content.encode() if isinstance(content, str) else content
    return file_extract(
        stream=io.BytesIO(raw), kind=kind, name=name, size=len(raw), on_progress=on_progress or (lambda f: None)
    )


def columns_of(extracted, table: int = 0) -> dict:
    return {column["name"]: column for column in extracted.profile["tables"][table]["columns"]}


def test_a_large_csv_is_profiled_exactly_with_progress_along_the_way(monkeypatch):
    monkeypatch.setattr("ai.files.extraction.PROGRESS_EVERY_ROWS", 5_000)
    rows = [f"{i},{'EU' if i % 4 else 'US'},{i % 10}.25,{'' if i % 10 == 0 else 'x'}" for i in range(30_000)]
    content = "id,market,price,flag\n" + "\n".join(rows) + "\n"
    fractions = []

    extracted = extract("csv", content, on_progress=fractions.append)

    columns = columns_of(extracted)
    assert extracted.profile["rowCount"] == 30_000
    assert columns["id"]["sum"] == sum(range(30_000)) and columns["id"]["type"] == "integer"
    assert columns["price"]["sum"] == pytest.approx(sum(i % 10 + 0.25 for i in range(30_000)))
    assert columns["price"]["min"] == 0.25 and columns["price"]["max"] == 9.25
    assert columns["market"]["topValues"] == [{"value": "EU", "count": 22_500}, {"value": "US", "count": 7_500}]
    assert columns["flag"]["empty"] == 3_000 and columns["flag"]["filled"] == 27_000
    assert len(fractions) == 6 and fractions == sorted(fractions) and 0 < fractions[0] < fractions[-1] <= 1


def test_csv_dialects_quotes_money_and_ragged_rows():
    content = 'name;amount;note\n"Smith; J.";"$1,234.50";ok\nLee;€99;"multi\nline"\nShort;5\n'

    extracted = extract("csv", content)

    columns = columns_of(extracted)
    table = extracted.profile["tables"][0]
    assert table["rowCount"] == 3 and table["raggedRows"] == 1
    assert columns["amount"]["sum"] == pytest.approx(1338.5)
    assert "topValues" not in columns["name"]  # every value distinct: nothing is "most common"
    assert table["sampleRows"][1] == ["Lee", "€99", "multi\nline"]


def test_duplicate_and_blank_headers_get_distinct_names():
    extracted = extract("csv", "a,a,,b\n1,2,3,4\n5,6,7,8\n")

    assert [c["name"] for c in extracted.profile["tables"][0]["columns"]] == ["a", "a (2)", "column 3", "b"]


def test_a_workbook_keeps_its_cell_types():
    workbook = xlsx_bytes(
        {
            "Leads": [
                ["source", "created", "qualified", "score"],
                ["ads", date(2026, 3, 1), True, 7],
                ["seo", date(2026, 3, 9), False, 9],
                ["ads", date(2026, 4, 2), True, None],
            ]
        }
    )

    extracted = extract("xlsx", workbook, name="leads.xlsx")

    columns = columns_of(extracted)
    assert columns["created"]["type"] == "date" and columns["created"]["min"].startswith("2026-03-01")
    assert columns["qualified"]["type"] == "boolean"
    assert columns["score"]["sum"] == 16 and columns["score"]["empty"] == 1
    labels = [p.label for p in extracted.passages]
    assert "sheet Leads, column score" in labels


def test_a_csv_with_only_a_header_has_nothing_to_analyse():
    with pytest.raises(ExtractionError, match="no rows"):
        extract("csv", "\n\n")


def test_long_markdown_sections_are_cut_into_passages_under_the_same_heading():
    paragraph = "Our audience grows steadily across every channel we measure. " * 20
    content = "# Strategy\n" + "\n".join([paragraph] * 5) + "\n## Budget\nSpend $5,000.\n"

    extracted = extract("markdown", content)

    labels = [p.label for p in extracted.passages]
    assert labels.count("section Strategy") >= 3 and labels[-1] == "section Budget"
    assert all(len(p.text) <= PASSAGE_CHARS + 1 for p in extracted.passages)
    assert extracted.profile["words"] == len(content.split()) - 2  # the heading marks are not words


def test_a_pdf_page_without_text_is_counted_and_the_rest_read():
    extracted = extract("pdf", pdf_bytes(["First page text here.", "", "Third page, 40% up."]))

    assert extracted.profile["pageCount"] == 3 and extracted.profile["pagesWithText"] == 2
    assert [p.page for p in extracted.passages] == [1, 3]


def test_type_comes_from_the_content_not_the_name():
    assert file_inspect(stream=io.BytesIO(pdf_bytes(Q3_PAGES)), name="looks-like.csv").kind == "pdf"
    assert file_inspect(stream=io.BytesIO(SALES_CSV.encode()), name="export").kind == "csv"
    assert file_inspect(stream=io.BytesIO(b"# Title\n- one\n- two\n"), name="notes").kind == "markdown"
    with pytest.raises(FileRejected) as refused:
        file_inspect(stream=io.BytesIO(b"GIF89a" + b"\x00" * 20), name="chart.csv")
    assert refused.value.status == 415 and "GIF image" in refused.value.message


def test_a_model_providers_json_analysis_is_kept(workspace, fake):
    reply = {"summary": "Q3 was strong.", "facts": ["Revenue +18% (page 2)"], "actions": ["Double retargeting"]}
    fake.behaviours.append("text:" + json.dumps(reply))
    extracted = extract("pdf", pdf_bytes(Q3_PAGES))

    analysis, provider = file_analysis_generate(
        workspace=workspace, name="Q3.pdf", kind="pdf", profile=extracted.profile, passages=extracted.passages
    )

    assert analysis == reply and provider == "openai"
    system = fake.completions[0]["body"]["messages"][0]["content"]
    assert "Revenue grew 18%" in system and '"label": "page 2"' in system
    assert ProviderCall.objects.get(purpose="file_analysis").provider == "openai"


def test_a_model_answer_that_is_not_the_json_asked_for_falls_back_to_the_offline_analysis(workspace, fake):
    fake.behaviours.append("text:Sure! Here is what I think about the file.")
    extracted = extract("csv", SALES_CSV)

    analysis, provider = file_analysis_generate(
        workspace=workspace, name="sales.csv", kind="csv", profile=extracted.profile, passages=extracted.passages
    )

    assert provider == "local"
    assert analysis["summary"].startswith("sales.csv is a table of 5 rows and 6 columns")
