"""The chat quotes an uploaded file's stored analysis: the offline provider cites the file and its page, model
providers get the passages with their file names and places in the prompt."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from ai.files.selectors import file_context_for_question
from tests.chat.test_sse import ask, bearer, sse_events

from .files_helpers import Q3_PAGES, SALES_CSV, pdf_bytes, upload_of

pytestmark = pytest.mark.django_db(transaction=True)


def upload(api, name, content) -> int:
    response = api.post("/api/files", {"file": upload_of(name, content)}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["file"]["id"]


async def answer(api, question: str) -> str:
    conversation_id = await sync_to_async(ask)(api, question)
    response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(api))
    events = await sse_events(response)
    assert events[-1]["type"] == "complete"
    return "".join(event["content"] for event in events if event["type"] == "chunk")


async def test_a_question_naming_a_pdf_is_answered_with_a_quote_of_its_page(jwt_api_client):
    await sync_to_async(upload)(jwt_api_client, "Q3-report.pdf", pdf_bytes(Q3_PAGES))

    text = await answer(jwt_api_client, "What does Q3-report.pdf say about revenue?")

    assert "According to Q3-report.pdf, page 2: \u201cRevenue grew 18% to $1.2M in Q3" in text
    assert "page 1" not in text and "page 3" not in text  # only the passage that answers is quoted


async def test_a_question_about_a_csv_column_quotes_its_profile(jwt_api_client):
    await sync_to_async(upload)(jwt_api_client, "sales.csv", SALES_CSV)

    text = await answer(jwt_api_client, "What is the total revenue in sales.csv?")

    assert "According to sales.csv, column revenue:" in text and "sum 606.22" in text
    assert "overview" not in text  # the column named by the question outranks the list of columns


async def test_the_uploaded_file_is_the_subject_of_an_unnamed_question(jwt_api_client):
    await sync_to_async(upload)(jwt_api_client, "Q3-report.pdf", pdf_bytes(Q3_PAGES))

    text = await answer(jwt_api_client, "What are the next steps in the document I uploaded?")

    assert "According to Q3-report.pdf, page 3: \u201cWe should double the retargeting budget in October." in text


async def test_a_question_unrelated_to_any_file_gets_the_usual_answer(jwt_api_client):
    await sync_to_async(upload)(jwt_api_client, "Q3-report.pdf", pdf_bytes(Q3_PAGES))

    text = await answer(jwt_api_client, "How do I connect my Shopify store?")

    assert "According to" not in text and "Shopify" in text


async def test_another_workspaces_file_is_never_quoted(jwt_api_client, other_jwt_api_client):
    await sync_to_async(upload)(other_jwt_api_client, "Q3-report.pdf", pdf_bytes(Q3_PAGES))

    text = await answer(jwt_api_client, "What does Q3-report.pdf say about revenue?")

    assert "Revenue grew 18%" not in text and "According to Q3-report.pdf" not in text


async def test_a_model_provider_gets_the_passages_with_file_names_and_pages(jwt_api_client, fake):
    fake.behaviours.extend(["ok"] * 6)
    await sync_to_async(upload)(jwt_api_client, "Q3-report.pdf", pdf_bytes(Q3_PAGES))

    await answer(jwt_api_client, "What does Q3-report.pdf say about churn?")

    chat_calls = [c for c in fake.completions if "uploaded file" not in c["body"]["messages"][-1]["content"]]
    system = chat_calls[-1]["body"]["messages"][0]["content"]
    context = json.loads(system.split("Workspace context (JSON):\n", 1)[1].split("\n\nAnswer with", 1)[0])
    [file] = context["files"]
    assert file["name"] == "Q3-report.pdf"
    assert file["passages"][0]["label"] == "page 2" and "Churn fell to 3.1%" in file["passages"][0]["text"]
    assert "According to Q3-report.pdf, page 2" in system  # the prompt says how to cite


def test_file_context_is_empty_for_anonymous_or_empty_questions(user, workspace):
    assert file_context_for_question(workspace_id=workspace.id, question="") == []
    assert file_context_for_question(workspace_id=workspace.id, question="revenue in sales.csv") == []
