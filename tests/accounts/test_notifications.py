"""The one notification service (accounts): create, e-mail after commit, list per workspace, mark read; its API
and page; and the migration that moved the rows from campaigns without losing one."""

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Membership, Notification, Workspace
from accounts.notifications import notification_create, notification_delete_for_subject, notification_mark_read
from accounts.selectors import notification_list_for_user
from marketing_ai.errors import NotFound

from .factories import member

pytestmark = pytest.mark.django_db


def test_create_makes_one_row_per_distinct_user_and_emails_them_after_commit(
    user, workspace, django_capture_on_commit_callbacks
):
    colleague = member(workspace=workspace, role=Membership.Role.ADMIN)

    with django_capture_on_commit_callbacks(execute=True):
        rows = notification_create(
            users=[user, colleague, user, None], workspace=workspace, kind="key_failed", message="Your key failed."
        )
        assert mail.outbox == []  # nothing leaves before the transaction commits

    assert {row.user for row in rows} == {user, colleague}
    assert sorted(message.to[0] for message in mail.outbox) == sorted([user.email, colleague.email])
    assert Notification.objects.filter(emailed_at__isnull=False).count() == 2


def test_create_without_email_sends_nothing(user, workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(users=[user], workspace=workspace, kind="note", message="Quiet.", email=False)

    assert mail.outbox == []
    assert Notification.objects.get().emailed_at is None


def test_list_shows_the_current_workspace_and_workspace_less_alerts_only(user, workspace):
    elsewhere = Workspace.objects.create(name="Side project")
    Membership.objects.create(user=user, workspace=elsewhere, role=Membership.Role.OWNER)
    notification_create(users=[user], workspace=workspace, kind="a", message="here")
    notification_create(users=[user], workspace=elsewhere, kind="a", message="elsewhere")
    notification_create(users=[user], kind="alert", message="staff alert", level=Notification.Level.CRITICAL)

    assert {n.message for n in notification_list_for_user(user=user)} == {"here", "staff alert"}


def test_mark_read_of_another_users_notification_is_not_found(user, other_workspace_user):
    [theirs] = notification_create(users=[other_workspace_user], kind="a", message="theirs", email=False)

    with pytest.raises(NotFound):
        notification_mark_read(user=user, notification_id=theirs.id)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_delete_for_subject_removes_only_that_subjects_notices(user, workspace):
    notification_create(users=[user], workspace=workspace, kind="a", message="one", subject="campaign:1")
    notification_create(users=[user], workspace=workspace, kind="a", message="two", subject="campaign:2")

    assert notification_delete_for_subject(subject="campaign:1") == 1
    assert list(Notification.objects.values_list("subject", flat=True)) == ["campaign:2"]


def test_api_lists_notifications_paginated_with_the_unread_filter(jwt_api_client, user, workspace):
    first, second = (
        notification_create(users=[user], workspace=workspace, kind="a", message=text, email=False)[0]
        for text in ("first", "second")
    )
    notification_mark_read(user=user, notification_id=first.id)

    body = jwt_api_client.get("/api/notifications").json()
    unread = jwt_api_client.get("/api/notifications?unread=true").json()

    assert body["count"] == 2 and {"next", "previous", "results"} <= body.keys()
    assert [row["message"] for row in body["results"]] == ["second", "first"]
    assert body["results"][1]["read"] is True and body["results"][1]["readAt"]
    assert [row["id"] for row in unread["results"]] == [second.id]


def test_api_marks_one_read_and_another_users_is_404(jwt_api_client, user, other_workspace_user):
    [mine] = notification_create(users=[user], kind="a", message="mine", email=False)
    [theirs] = notification_create(users=[other_workspace_user], kind="a", message="theirs", email=False)

    response = jwt_api_client.post(f"/api/notifications/{mine.id}/read")
    foreign = jwt_api_client.post(f"/api/notifications/{theirs.id}/read")

    assert response.status_code == 200 and response.json()["read"] is True
    assert foreign.status_code == 404 and foreign.json()["statusCode"] == 404


def test_api_marks_all_read(jwt_api_client, user, workspace):
    notification_create(users=[user, None], workspace=workspace, kind="a", message="x", email=False)
    notification_create(users=[user], workspace=workspace, kind="a", message="y", email=False)

    assert jwt_api_client.post("/api/notifications/read").json() == {"marked": 2}
    assert not Notification.objects.filter(read_at=None).exists()


def test_page_lists_notifications_and_mark_all_read(logged_in_client, user, workspace):
    notification_create(users=[user], workspace=workspace, kind="a", message="Budget reached", email=False)

    page = logged_in_client.get("/notifications/")
    logged_in_client.post("/notifications/read/")

    assert page.status_code == 200
    assert "Budget reached" in page.content.decode() and "Mark all 1 read" in page.content.decode()
    assert not Notification.objects.filter(read_at=None).exists()


def test_opening_a_notification_marks_it_read_and_never_redirects_off_site(logged_in_client, user, workspace):
    [inside] = notification_create(
        users=[user], workspace=workspace, kind="a", message="in", url="/campaigns/", email=False
    )
    [outside] = notification_create(
        users=[user], workspace=workspace, kind="a", message="out", url="https://evil.test/", email=False
    )

    assert logged_in_client.post(f"/notifications/{inside.id}/open/")["Location"] == "/campaigns/"
    assert logged_in_client.post(f"/notifications/{outside.id}/open/")["Location"] == "/notifications/"
    assert not Notification.objects.filter(read_at=None).exists()


@pytest.mark.django_db(transaction=True)
def test_the_move_from_campaigns_keeps_every_row_and_its_campaign_link():
    before = [("accounts", "0001_initial"), ("campaigns", "0003_providercall_day_statistics")]
    after = [("accounts", "0003_notification_general"), ("campaigns", "0004_notification_moved_to_accounts")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    owner = old.get_model("accounts", "User").objects.create(email="old@acme.test", password="x")
    workspace = old.get_model("accounts", "Workspace").objects.create(name="Old Co")
    campaign = old.get_model("campaigns", "Campaign").objects.create(workspace=workspace, name="Spring", objective="x")
    OldNotification = old.get_model("campaigns", "Notification")
    linked = OldNotification.objects.create(
        workspace=workspace, user=owner, campaign=campaign, kind="approved", message="Approved.", url="/campaigns/1/"
    )
    OldNotification.objects.create(workspace=workspace, user=owner, kind="note", message="No campaign.")

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    rows = {n.message: n for n in new.get_model("accounts", "Notification").objects.all()}

    assert set(rows) == {"Approved.", "No campaign."}
    assert rows["Approved."].id == linked.id and rows["Approved."].subject == f"campaign:{campaign.id}"
    assert rows["Approved."].url == "/campaigns/1/" and rows["No campaign."].subject == ""
    assert "accounts_notification" in connection.introspection.table_names()

    executor = MigrationExecutor(connection)
    executor.migrate(before)  # and back: the campaign link returns
    back = executor.loader.project_state(before).apps.get_model("campaigns", "Notification")
    assert back.objects.get(id=linked.id).campaign_id == campaign.id
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
