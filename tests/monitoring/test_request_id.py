"""Every answer carries a request id (the caller's X-Request-ID when it is sane) and every log line written for it
names it; LOG_FORMAT=json writes one JSON object per line."""

import json
import logging

import pytest

from monitoring.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


def test_a_sane_incoming_request_id_is_returned_as_is(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-42.a_b")

    assert response["X-Request-ID"] == "trace-42.a_b"


@pytest.mark.parametrize("incoming", [None, "bad id with spaces", "x" * 65, "inject\r\nheader"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(client, incoming):
    headers = {"HTTP_X_REQUEST_ID": incoming} if incoming else {}

    response = client.get("/healthz", **headers)

    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"] != incoming


@pytest.mark.django_db(transaction=True)  # the job is published after commit
def test_log_lines_written_during_a_request_carry_its_id_as_json(broker_unreachable, jwt_api_client, caplog):
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.WARNING, logger="marketing_ai.celery")

    response = jwt_api_client.post(
        "/api/data-sources/dummy-data/bulk/gtm", {"count": 10}, format="json", HTTP_X_REQUEST_ID="req-123"
    )

    assert response.status_code == 503
    warning = next(record for record in caplog.records if record.name == "marketing_ai.celery")
    line = json.loads(JsonFormatter().format(warning))
    assert line["requestId"] == "req-123" and line["level"] == "WARNING"
    assert "broker is unreachable" in line["message"]


def test_a_log_line_outside_any_request_says_so():
    record = logging.LogRecord("jobs", logging.INFO, __file__, 1, "tick", None, None)
    RequestIdFilter().filter(record)

    assert json.loads(JsonFormatter().format(record))["requestId"] == "-"
