"""Schemathesis against a running server: the OpenAPI schema it serves is the contract.

Shared by the test suite (tests/test_schema_contract.py, against a server thread on the test database) and by
bench/faults.py (against a real uvicorn process). Runs the Schemathesis CLI (a pinned test dependency) with its
default checks, which include server errors and response-schema conformance, and reads its JSON run report.
"""

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# Operations that end the credentials the run itself uses: a logout, a session revoked or a password changed
# midway would turn every later request into a 401 and test nothing.
EXCLUDED_PATHS = ("/api/auth/logout", "/api/auth/sessions/{session_id}", "/api/user/password")
CONFIG = Path(__file__).with_name("schemathesis.toml")
SERVER_ERROR_TYPE = "ServerError"  # the `not_a_server_error` check; every other failure breaks the contract


@dataclass
class ContractRun:
    """What one Schemathesis run saw: requests (generated test cases, one request each), server errors (5xx or no
    answer), contract violations (every other failed check), and one line per kind of failure."""

    requests: int = 0
    server_errors: int = 0
    violations: int = 0
    failures: list[str] = field(default_factory=list)
    exit_code: int = 0
    output: str = ""

    def figures(self) -> dict:
        return {"requests": self.requests, "serverErrors": self.server_errors, "violations": self.violations}


def contract_run(*, base_url: str, access_token: str, max_examples: int, seed: int = 14) -> ContractRun:
    """Run Schemathesis against `base_url` (its schema at /api/schema/) as the holder of `access_token`, with
    `max_examples` cases per operation and phase and a fixed seed, so two runs send the same requests."""
    with tempfile.TemporaryDirectory() as report_dir:
        report, schema = Path(report_dir) / "run.json", Path(report_dir) / "schema.json"
        # Fetched here with a generous timeout (building it takes seconds on a busy machine; Schemathesis waits 10).
        served = httpx.get(f"{base_url}/api/schema/", params={"format": "json"}, timeout=120)
        served.raise_for_status()
        schema.write_bytes(served.content)
        command = [
            str(Path(sys.executable).with_name("st")),
            "--config-file",
            str(CONFIG),
            "run",
            str(schema),
            "--url",
            base_url,
            "--header",
            f"Authorization: Bearer {access_token}",
            "--max-examples",
            str(max_examples),
            "--seed",
            str(seed),
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--no-shrink",
            "--request-timeout",
            "30",
            "--report",
            "json",
            "--report-json-path",
            str(report),
            "--output-truncate",
            "true",
            "--warnings",
            "off",
            "--generation-database",
            "none",
            "--generation-allow-x00",
            "false",
        ]
        for path in EXCLUDED_PATHS:
            command += ["--exclude-path", path]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        run = ContractRun(exit_code=done.returncode, output=done.stdout + done.stderr)
        if report.exists():
            _read_report(run, json.loads(report.read_text()))
        return run


def _read_report(run: ContractRun, report: dict) -> None:
    """Schemathesis' JSON run report: failures grouped by kind, each with its count and operations."""
    run.requests = report["test_cases"]["generated"]
    for failure in report["failures"]:
        line = f"{failure['code']} {failure['title']} ({failure['count']}): {', '.join(failure['operations'])}"
        run.failures.append(line)
        if failure["type"] == SERVER_ERROR_TYPE:
            run.server_errors += failure["count"]
        else:
            run.violations += failure["count"]
    for error in report["errors"]:  # a request that got no answer at all (timeout, connection reset)
        run.failures.append(f"error {error['title']} ({error['count']})")
        run.server_errors += error["count"]
