"""The API answers what its OpenAPI schema says: Schemathesis (default checks, response-schema conformance
included) against the app served over a real socket, signed in as a workspace owner."""

import pytest

from accounts.services import login_session_open
from tests.contract import contract_run
from tests.servers import WsgiServerThread, free_port

pytestmark = pytest.mark.django_db(transaction=True)

# Five cases per operation and phase keep one run near 40 s on SQLite and PostgreSQL alike (CI runs both).
MAX_EXAMPLES = 5


@pytest.fixture
def live_server_url(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    # Sources the run creates point at a closed local port: a sync or a connection test never leaves the machine.
    dead = f"http://127.0.0.1:{free_port()}"
    settings.SHOPIFY_API_URL = dead + "/admin/api/{version}"
    settings.META_GRAPH_URL = settings.PLATFORM_INSIGHTS_URL = dead + "/{version}"
    server = WsgiServerThread(free_port())
    server.start()
    yield f"http://127.0.0.1:{server.server.server_port}"
    server.stop()


def test_schemathesis_finds_no_server_error_and_no_schema_violation(live_server_url, user):
    _, tokens = login_session_open(user=user, ip="127.0.0.1", user_agent="schemathesis")

    run = contract_run(base_url=live_server_url, access_token=tokens.access_token, max_examples=MAX_EXAMPLES)

    assert run.requests > 1000, run.output[-5000:]  # every operation was exercised, not refused up front
    assert (run.server_errors, run.violations) == (0, 0), "\n".join(run.failures) + "\n" + run.output[-20000:]
