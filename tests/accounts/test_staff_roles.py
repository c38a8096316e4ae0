"""Staff roles in the admin: support reads, ops runs jobs and sources, superadmin does
everything; the groups come from a migration and every grant is audited."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.models import AuditEvent, User
from accounts.staff import OPS, SUPERADMIN, SUPPORT, staff_roles_set
from integrations.models import DataSource, SyncJob

pytestmark = pytest.mark.django_db


def staff(role: str) -> User:
    person = User.objects.create_user(email=f"{role}@staff.test", password="Correct-Horse-42")
    staff_roles_set(user=person, roles={role}, actor=None)
    person.refresh_from_db()
    return person


@pytest.fixture
def failed_job(workspace):
    source = DataSource.objects.create(workspace=workspace, source_type="gtm", name="Tag", config={"containerId": "G"})
    return SyncJob.objects.create(
        workspace=workspace, source=source, kind="dummy_data", status="failed", params={"count": 5, "seed": 1}
    )


def _codes(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


def test_the_migration_gives_each_staff_group_its_permissions():
    support, ops, superadmin = _codes(SUPPORT), _codes(OPS), _codes(SUPERADMIN)

    assert support and all(code.startswith("view_") for code in support)
    assert {"view_syncjob", "view_user", "view_auditevent", "view_campaign"} <= support
    assert {"change_syncjob", "change_datasource", "delete_datasource", "change_publication", "change_alert"} <= ops
    assert "view_alert" in support and "change_alert" not in support
    assert not {"change_user", "change_membership", "change_campaign", "change_providerkey"} & ops
    assert superadmin == set(Permission.objects.values_list("codename", flat=True))


def test_support_staff_can_look_but_not_change_anything(client, failed_job):
    client.force_login(staff(SUPPORT))
    source = failed_job.source

    assert client.get("/admin/integrations/syncjob/").status_code == 200
    page = client.get(f"/admin/integrations/datasource/{source.id}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/integrations/datasource/{source.id}/change/", {"name": "Hacked"}).status_code == 403
    assert client.post(f"/admin/integrations/datasource/{source.id}/delete/", {"post": "yes"}).status_code == 403
    client.post("/admin/integrations/syncjob/", {"action": "retry_jobs", "_selected_action": [failed_job.id]})

    failed_job.refresh_from_db()
    source.refresh_from_db()
    assert (failed_job.status, source.name) == ("failed", "Tag")


def test_ops_staff_retry_jobs_and_manage_sources_but_not_people(client, failed_job, user):
    client.force_login(staff(OPS))

    response = client.post(
        "/admin/integrations/syncjob/", {"action": "retry_jobs", "_selected_action": [failed_job.id]}
    )
    assert response.status_code == 302
    failed_job.refresh_from_db()
    assert failed_job.status == "queued"
    assert (
        client.post(f"/admin/integrations/datasource/{failed_job.source_id}/delete/", {"post": "yes"}).status_code
        == 302
    )
    assert not DataSource.objects.filter(id=failed_job.source_id).exists()
    assert client.post(f"/admin/accounts/user/{user.id}/change/", {"email": "x@y.test"}).status_code == 403
    assert client.get("/admin/accounts/user/").status_code == 200  # they still see who is who


def test_a_superadmin_gives_staff_roles_from_the_admin_and_the_audit_log_says_who(client, user):
    admin = staff(SUPERADMIN)
    client.force_login(admin)

    response = client.post("/admin/accounts/user/", {"action": "grant_ops", "_selected_action": [user.id]})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_staff and set(user.groups.values_list("name", flat=True)) == {OPS}
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.STAFF_ROLE_GRANTED, detail__role=OPS)
    assert (event.user, event.detail["member"], event.detail["by"]) == (admin, user.email, admin.email)

    client.post("/admin/accounts/user/", {"action": "remove_staff_roles", "_selected_action": [user.id]})
    user.refresh_from_db()
    assert not user.is_staff and not user.groups.exists()
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.STAFF_ROLE_REVOKED, detail__member=user.email).count() == 1


def test_groups_changed_on_the_user_form_are_audited_too(client, user):
    admin = staff(SUPERADMIN)
    client.force_login(admin)
    form = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on",
        "groups": [Group.objects.get(name=SUPPORT).id],
    }

    response = client.post(f"/admin/accounts/user/{user.id}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.is_staff
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.STAFF_ROLE_GRANTED, detail__member=user.email)
    assert (event.user, event.detail["member"], event.detail["role"]) == (admin, user.email, SUPPORT)


def test_support_staff_cannot_give_themselves_more(client, user):
    helper = staff(SUPPORT)
    client.force_login(helper)

    client.post("/admin/accounts/user/", {"action": "grant_superadmin", "_selected_action": [helper.id]})

    assert set(helper.groups.values_list("name", flat=True)) == {SUPPORT}
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.STAFF_ROLE_GRANTED, user=helper).exists()
