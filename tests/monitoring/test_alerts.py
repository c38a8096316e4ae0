"""Alert rules on real rows: each fires, notifies staff (and the workspace's managers) in the app and by e-mail,
stays one open alert while the breach lasts, and resolves once it clears."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent, Notification
from ai.models import ProviderCall
from integrations.models import DataSource
from monitoring.alerts import alerts_evaluate
from monitoring.models import Alert, MetricSample, WorkspaceBudget

pytestmark = pytest.mark.django_db


@pytest.fixture
def evaluate(django_capture_on_commit_callbacks):
    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return alerts_evaluate(**kwargs)

    return run


def _provider_calls(workspace, *, failures: int, successes: int = 0, cost: str = "0"):
    for status in ["error"] * failures + ["ok"] * successes:
        ProviderCall.objects.create(workspace=workspace, provider="openai", status=status, cost=Decimal(cost))


def test_provider_failures_open_one_alert_and_notify_staff_in_the_app_and_by_email(evaluate, workspace, staff_user):
    _provider_calls(workspace, failures=6, successes=2)

    assert evaluate() == {"opened": 1, "resolved": 0}

    alert = Alert.objects.get()
    assert (alert.rule, alert.subject, alert.status) == ("provider_failures", "provider:openai", "open")
    assert "failed 6 of 8 calls" in alert.message
    notice = Notification.objects.get(user=staff_user)
    assert notice.level == "warning" and notice.subject == f"alert:{alert.id}"
    assert [message.to for message in mail.outbox] == [[staff_user.email]]


def test_an_alert_is_not_raised_twice_while_its_breach_lasts(evaluate, workspace, staff_user):
    _provider_calls(workspace, failures=6)
    evaluate()
    _provider_calls(workspace, failures=3)

    assert evaluate() == {"opened": 0, "resolved": 0}

    alert = Alert.objects.get()
    assert "failed 9 of 9" in alert.message
    assert Notification.objects.filter(user=staff_user).count() == 1
    assert len(mail.outbox) == 1


def test_an_alert_resolves_when_its_breach_clears_and_a_new_breach_opens_a_new_one(evaluate, workspace, staff_user):
    _provider_calls(workspace, failures=6)
    evaluate()

    assert evaluate(now=timezone.now() + timedelta(minutes=30)) == {"opened": 0, "resolved": 1}
    assert Alert.objects.get().status == "resolved"

    _provider_calls(workspace, failures=5)
    assert evaluate() == {"opened": 1, "resolved": 0}
    assert list(Alert.objects.values_list("status", flat=True).order_by("id")) == ["resolved", "open"]


def test_a_few_failures_among_many_successes_are_no_alert(evaluate, workspace, staff_user):
    _provider_calls(workspace, failures=5, successes=20)

    assert evaluate() == {"opened": 0, "resolved": 0}


def test_cost_over_a_workspace_budget_alerts_staff_and_the_workspace_owner(evaluate, workspace, user, staff_user):
    WorkspaceBudget.objects.create(workspace=workspace, monthly_cost_limit=Decimal("1.00"))
    _provider_calls(workspace, failures=0, successes=3, cost="0.40")

    evaluate()

    alert = Alert.objects.get(rule="cost_budget")
    assert alert.subject == f"workspace:{workspace.id}" and alert.workspace == workspace
    assert "$1.20" in alert.message and "$1.00" in alert.message
    assert set(Notification.objects.values_list("user__email", flat=True)) == {user.email, staff_user.email}


def test_cost_under_the_budget_is_no_alert(evaluate, workspace, staff_user):
    WorkspaceBudget.objects.create(workspace=workspace, monthly_cost_limit=Decimal("5.00"))
    _provider_calls(workspace, failures=0, successes=3, cost="0.40")

    evaluate()

    assert not Alert.objects.exists()


def test_a_failed_login_spike_alerts(evaluate, settings, staff_user):
    settings.ALERT_FAILED_LOGINS = 20
    AuditEvent.objects.bulk_create(
        [AuditEvent(kind=AuditEvent.Kind.LOGIN_FAILED, email=f"x{n}@site.test") for n in range(25)]
    )

    evaluate()

    alert = Alert.objects.get(rule="failed_logins")
    assert alert.subject == "site" and "25 failed sign-ins" in alert.message


def test_an_error_rate_spike_alerts_from_the_stored_samples(evaluate, staff_user):
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    MetricSample.objects.create(minute=minute, name="http_requests", value=200)
    MetricSample.objects.create(minute=minute, name="http_errors", value=30)

    evaluate()

    alert = Alert.objects.get(rule="error_rate")
    assert "15% of requests failed" in alert.message


def test_a_push_source_that_usually_sends_and_went_quiet_alerts_until_events_arrive(evaluate, workspace, staff_user):
    now = timezone.now()
    quiet = DataSource.objects.create(
        workspace=workspace, source_type="gtm", name="Shop site", last_event_at=now - timedelta(hours=3)
    )
    DataSource.objects.create(  # never sent anything: not "usually sends"
        workspace=workspace, source_type="gtm", name="New site", last_event_at=None
    )
    DataSource.objects.create(  # pull source: silence is normal between syncs
        workspace=workspace, source_type="shopify", name="Store", last_event_at=now - timedelta(hours=3)
    )

    evaluate()
    alert = Alert.objects.get(rule="ingest_stopped")
    assert alert.subject == f"source:{quiet.id}" and "Shop site" in alert.message

    DataSource.objects.filter(id=quiet.id).update(last_event_at=timezone.now())
    evaluate()
    assert Alert.objects.get(rule="ingest_stopped").status == "resolved"


def test_support_staff_are_not_sent_alerts(evaluate, workspace, staff_user):
    from django.contrib.auth.models import Group

    from accounts.models import User

    support = User.objects.create_user(email="help@site.test", password="Help-Passw0rd!", is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    _provider_calls(workspace, failures=6)

    evaluate()

    assert list(Notification.objects.values_list("user__email", flat=True)) == [staff_user.email]
