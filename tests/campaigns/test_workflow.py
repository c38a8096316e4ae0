from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Notification
from accounts.notifications import notification_create
from campaigns.models import (
    ActivityLog,
    ApprovalDecision,
    ApprovalStep,
    ApprovalWorkflow,
    BrandProfile,
    Campaign,
)
from campaigns.services import campaign_delete
from campaigns.workflow import approval_decide, approval_escalate_overdue, campaign_submit
from marketing_ai.errors import Conflict, PermissionDenied

from .factories import CampaignFactory, scored_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_campaign(campaign, editor):
    scored_variant(campaign=campaign, user=editor)
    return campaign


def three_steps(*, named_admin):
    return [
        {"name": "Brand review", "approver_role": "approver"},
        {"name": "Legal", "approver_user": named_admin},
        {"name": "Sign-off", "approver_role": "owner"},
    ]


def step(workflow, order):
    return workflow.steps.get(order=order)


def test_a_three_step_workflow_with_a_delegation_ends_rejected_by_the_last_step(
    ready_campaign,
    editor,
    approver,
    second_approver,
    admin_member,
    user,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    workflow = campaign_submit(campaign=ready_campaign, user=editor, steps=three_steps(named_admin=admin_member))
    assert [s.status for s in workflow.steps.order_by("order")] == ["pending", "waiting", "waiting"]

    approval_decide(step=step(workflow, 1), user=approver, decision="approve", comment="On brand")
    legal = step(workflow, 2)
    assert legal.status == "pending"

    approval_decide(
        step=legal, user=admin_member, decision="delegate", comment="Out this week", delegate_to=second_approver
    )
    legal.refresh_from_db()
    assert (legal.status, legal.approver_user) == ("pending", second_approver)
    with pytest.raises(PermissionDenied):
        approval_decide(step=legal, user=admin_member, decision="approve")

    approval_decide(step=legal, user=second_approver, decision="approve")
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(step=step(workflow, 3), user=user, decision="reject", comment="Wrong season")

    ready_campaign.refresh_from_db()
    workflow.refresh_from_db()
    assert ready_campaign.status == Campaign.Status.REJECTED
    assert workflow.status == ApprovalWorkflow.Status.REJECTED
    assert [s.status for s in workflow.steps.order_by("order")] == ["approved", "approved", "rejected"]
    assert list(ApprovalDecision.objects.order_by("id").values_list("decision", "actor__email")) == [
        ("approve", "approver@acme.test"),
        ("delegate", "admin@acme.test"),
        ("approve", "approver2@acme.test"),
        ("reject", "owner@acme.test"),
    ]
    verbs = list(ActivityLog.objects.filter(campaign=ready_campaign).order_by("id").values_list("verb", flat=True))
    assert verbs == ["status", "approved", "delegated", "approved", "status", "rejected"]
    assert Notification.objects.filter(user=editor, kind="rejected").exists()
    assert [m.to for m in mailoutbox] == [["editor@acme.test"]]
    assert "rejected" in mailoutbox[0].subject


def test_deleting_a_rejected_campaign_removes_its_notifications(ready_campaign, editor, approver, user):
    workflow = campaign_submit(
        campaign=ready_campaign, user=editor, steps=[{"name": "Check", "approver_role": "approver"}]
    )
    approval_decide(step=step(workflow, 1), user=approver, decision="reject", comment="No")
    other = CampaignFactory(workspace=ready_campaign.workspace, created_by=editor)
    notification_create(
        users=[editor], workspace=other.workspace, kind="x", message="kept", subject=f"campaign:{other.pk}"
    )
    assert Notification.objects.filter(subject=f"campaign:{ready_campaign.pk}").exists()

    campaign_delete(campaign=Campaign.objects.get(pk=ready_campaign.pk), user=editor)

    assert list(Notification.objects.values_list("message", flat=True)) == ["kept"]


def test_the_last_approval_marks_the_campaign_approved(ready_campaign, editor, approver, admin_member, user):
    workflow = campaign_submit(campaign=ready_campaign, user=editor, steps=three_steps(named_admin=admin_member))
    approval_decide(step=step(workflow, 1), user=approver, decision="approve")
    approval_decide(step=step(workflow, 2), user=admin_member, decision="approve")
    approval_decide(step=step(workflow, 3), user=user, decision="approve")

    ready_campaign.refresh_from_db()
    assert ready_campaign.status == Campaign.Status.APPROVED
    assert ready_campaign.decided_at is not None
    assert Notification.objects.filter(user=editor, kind="approved").count() == 1


def test_a_viewer_cannot_decide(ready_campaign, editor, viewer):
    workflow = campaign_submit(campaign=ready_campaign, user=editor)
    with pytest.raises(PermissionDenied):
        approval_decide(step=step(workflow, 1), user=viewer, decision="approve")
    assert step(workflow, 1).status == "pending"


def test_an_editor_decides_a_step_meant_for_approvers_on_someone_elses_content(ready_campaign, editor, workspace):
    """DESIGN §3: each role includes the rows above it, so an editor may decide what an approver may."""
    from .factories import member

    other_editor = member(workspace=workspace, role="editor", email="editor2@acme.test")
    workflow = campaign_submit(campaign=ready_campaign, user=editor)
    approval_decide(step=step(workflow, 1), user=other_editor, decision="approve")
    assert step(workflow, 1).status == "approved"


def test_an_editor_cannot_decide_a_step_meant_for_admins(ready_campaign, editor, workspace):
    from .factories import member

    other_editor = member(workspace=workspace, role="editor", email="editor2@acme.test")
    workflow = campaign_submit(
        campaign=ready_campaign, user=editor, steps=[{"name": "Legal", "approver_role": "admin"}]
    )
    with pytest.raises(PermissionDenied):
        approval_decide(step=step(workflow, 1), user=other_editor, decision="approve")
    assert step(workflow, 1).status == "pending"


def test_four_eyes_nobody_approves_a_campaign_they_submitted(workspace, admin_member):
    from .factories import CampaignFactory

    own = CampaignFactory(workspace=workspace, created_by=admin_member)
    scored_variant(campaign=own, user=admin_member)
    workflow = campaign_submit(campaign=own, user=admin_member)
    with pytest.raises(PermissionDenied, match="Four-eyes"):
        approval_decide(step=step(workflow, 1), user=admin_member, decision="approve")


def test_four_eyes_nobody_approves_content_they_requested(campaign, editor, approver):
    scored_variant(campaign=campaign, user=approver)  # the approver generated this content
    workflow = campaign_submit(campaign=campaign, user=editor)
    with pytest.raises(PermissionDenied, match="Four-eyes"):
        approval_decide(step=step(workflow, 1), user=approver, decision="approve")


def test_a_decided_step_answers_conflict(ready_campaign, editor, approver, admin_member):
    workflow = campaign_submit(campaign=ready_campaign, user=editor, steps=three_steps(named_admin=admin_member))
    approval_decide(step=step(workflow, 1), user=approver, decision="approve")
    with pytest.raises(Conflict, match="already been decided"):
        approval_decide(step=step(workflow, 1), user=approver, decision="reject")


def test_a_waiting_step_cannot_be_decided_yet(ready_campaign, editor, admin_member):
    workflow = campaign_submit(campaign=ready_campaign, user=editor, steps=three_steps(named_admin=admin_member))
    with pytest.raises(Conflict, match="earlier step"):
        approval_decide(step=step(workflow, 2), user=admin_member, decision="approve")


def test_a_failure_inside_a_decision_leaves_nothing_half_written(ready_campaign, editor, approver):
    workflow = campaign_submit(campaign=ready_campaign, user=editor)
    activity_before = ActivityLog.objects.count()
    notifications_before = Notification.objects.count()

    # 1,500 characters pass the decision's own limit but not the activity log's: its full_clean fails
    # after the decision row, the step and the campaign status were already written in the transaction.
    with pytest.raises(ValidationError):
        approval_decide(step=step(workflow, 1), user=approver, decision="approve", comment="x" * 1500)

    ready_campaign.refresh_from_db()
    workflow.refresh_from_db()
    assert ready_campaign.status == Campaign.Status.IN_REVIEW
    assert workflow.status == ApprovalWorkflow.Status.PENDING
    assert step(workflow, 1).status == "pending"
    assert ApprovalDecision.objects.count() == 0
    assert ActivityLog.objects.count() == activity_before
    assert Notification.objects.count() == notifications_before


def test_a_step_below_its_minimum_compliance_score_cannot_be_approved(ready_campaign, editor, approver, workspace):
    ready_campaign.variants.update(compliance_score=Decimal("0.70"))
    workflow = campaign_submit(
        campaign=ready_campaign,
        user=editor,
        steps=[{"name": "Strict", "approver_role": "approver", "min_compliance_score": Decimal("0.90")}],
    )
    with pytest.raises(Conflict, match="at least 0.90"):
        approval_decide(step=step(workflow, 1), user=approver, decision="approve")


def test_a_step_auto_approves_when_every_variant_passed(campaign, editor, workspace):
    BrandProfile.objects.create(workspace=workspace, palette=["#5B4BFF"])
    variant = scored_variant(campaign=campaign, user=editor)
    assert variant.validation_status == "passed"

    workflow = campaign_submit(
        campaign=campaign,
        user=editor,
        steps=[{"name": "Auto", "approver_role": "approver", "auto_approve_min_score": Decimal("0.90")}],
    )

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.APPROVED
    assert step(workflow, 1).decisions.get().automatic is True


def test_overdue_steps_escalate_once(ready_campaign, editor, admin_member, user):
    workflow = campaign_submit(
        campaign=ready_campaign,
        user=editor,
        steps=[{"name": "Review", "approver_user": admin_member, "escalate_after_hours": 2}],
    )
    first = step(workflow, 1)
    ApprovalStep.objects.filter(pk=first.pk).update(activated_at=timezone.now() - timedelta(hours=3))

    assert approval_escalate_overdue() == 1
    assert approval_escalate_overdue() == 0

    first.refresh_from_db()
    assert (first.approver_user, first.approver_role) == (None, "owner")
    assert first.escalated_at is not None
    assert Notification.objects.filter(user=user, kind="escalated").count() == 1


def test_submitting_twice_is_a_conflict(ready_campaign, editor):
    campaign_submit(campaign=ready_campaign, user=editor)
    with pytest.raises(Conflict):
        campaign_submit(campaign=ready_campaign, user=editor)


def test_a_campaign_without_content_cannot_be_submitted(campaign, editor):
    with pytest.raises(Conflict, match="Generate content"):
        campaign_submit(campaign=campaign, user=editor)


def test_a_rejected_campaign_can_be_edited_and_resubmitted(ready_campaign, editor, approver):
    from campaigns.services import campaign_update

    first = campaign_submit(campaign=ready_campaign, user=editor)
    approval_decide(step=step(first, 1), user=approver, decision="reject", comment="Softer tone please")
    campaign_update(campaign=ready_campaign, user=editor, data={"name": "Spring sale, softer"})
    second = campaign_submit(campaign=ready_campaign, user=editor)

    ready_campaign.refresh_from_db()
    assert ready_campaign.status == Campaign.Status.IN_REVIEW
    assert list(ready_campaign.workflows.values_list("status", flat=True)) == ["pending", "rejected"]
    assert second.pk != first.pk


def test_submit_copies_the_workspace_template_steps(ready_campaign, editor, admin_member, workspace):
    template = ApprovalWorkflow.objects.create(
        workspace=workspace, name="House rules", status=ApprovalWorkflow.Status.TEMPLATE
    )
    ApprovalStep.objects.create(workflow=template, order=1, name="Brand", approver_role="approver")
    ApprovalStep.objects.create(
        workflow=template, order=2, name="Legal", approver_user=admin_member, escalate_after_hours=48
    )

    workflow = campaign_submit(campaign=ready_campaign, user=editor)

    assert list(workflow.steps.values_list("name", "approver_role", "approver_user", "escalate_after_hours")) == [
        ("Brand", "approver", None, None),
        ("Legal", "", admin_member.pk, 48),
    ]
    assert list(template.steps.values_list("status", flat=True)) == ["waiting", "waiting"]


def test_withdrawing_a_campaign_cancels_its_workflow_and_allows_a_new_submission(ready_campaign, editor, approver):
    from campaigns.services import campaign_update

    first = campaign_submit(campaign=ready_campaign, user=editor)
    campaign_update(campaign=ready_campaign, user=editor, data={"status": "draft"})

    first.refresh_from_db()
    assert first.status == ApprovalWorkflow.Status.CANCELLED
    assert step(first, 1).status == "skipped"
    with pytest.raises(Conflict, match="withdrawn"):
        approval_decide(step=step(first, 1), user=approver, decision="approve")
    assert campaign_submit(campaign=ready_campaign, user=editor).status == ApprovalWorkflow.Status.PENDING
