"""The password-hashing budget: bounded, low priority, shedding instead of queueing."""

import os
import sys
import threading

import pytest

from accounts.models import AuditEvent, LoginSession
from accounts.throttle import _hashing_resources, password_hash_run

pytestmark = pytest.mark.django_db


def test_a_login_is_shed_with_429_while_every_hashing_slot_is_busy(anonymous_api_client, user, password):
    slots, _ = _hashing_resources()
    assert slots.acquire(timeout=5)
    try:
        response = anonymous_api_client.post(
            "/api/auth/login", {"email": user.email, "password": password}, format="json"
        )
    finally:
        slots.release()

    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert not LoginSession.objects.exists()
    assert not AuditEvent.objects.filter(kind="login_failed").exists()  # shed, not counted as a failure


def test_the_same_login_succeeds_once_a_slot_is_free(anonymous_api_client, user, password):
    response = anonymous_api_client.post("/api/auth/login", {"email": user.email, "password": password}, format="json")

    assert response.status_code == 200


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are a Linux feature")
def test_hashing_runs_in_a_lowest_priority_thread_not_the_request_thread():
    def probe():
        return threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread_id, niceness = password_hash_run(probe)

    assert thread_id != threading.get_native_id()
    assert niceness == 19
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != 19
