"""The password-hashing budget: bounded, low priority, shedding instead of queueing."""

import os
import sys
import threading
import time

import pytest
from django.conf import settings

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


@pytest.mark.django_db(transaction=True)  # the logins run in threads, each on its own connection
@pytest.mark.skipif(not settings.DATABASE_IS_POSTGRES, reason="concurrent writers (SQLite's test database refuses)")
def test_a_correct_login_gets_in_during_a_flood_of_bad_logins_for_another_account(settings, user, password):
    """A flood against one account holds one hashing slot at a time (the rest is refused at once), so a correct
    login from the same address waits for one check at most, not for the whole flood."""
    from django.db import connection
    from rest_framework.test import APIClient

    from accounts.services import user_register

    settings.PASSWORD_HASHERS = ["tests.accounts.slow_hasher.SlowMD5PasswordHasher"]
    settings.LOGIN_FAILURE_LIMIT = settings.LOGIN_IP_FAILURE_LIMIT = 1000  # no lockout: only the hashing budget
    target = user_register(email="target@acme.test", password=password, first_name="T", last_name="T", company_name="")
    user.set_password(password)  # through the slow hasher too
    user.save(update_fields=["password"])
    start, statuses = threading.Barrier(21), {}

    def attempt(name, email, secret, delay=0.0):
        try:
            start.wait()
            time.sleep(delay)
            response = APIClient().post("/api/auth/login", {"email": email, "password": secret}, format="json")
            statuses[name] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(f"bad{n}", target.email, "wrong")) for n in range(20)]
    threads.append(threading.Thread(target=attempt, args=("correct", user.email, password, 0.05)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses["correct"] == 200
    flood = [status for name, status in statuses.items() if name != "correct"]
    assert set(flood) <= {401, 429} and flood.count(401) >= 1
