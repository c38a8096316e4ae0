"""Approval workflows: submit, decide (approve / reject / delegate), auto-approve and escalate.

Each decision, the status changes it causes and their activity-log entries are written in one
transaction; notifications are created in it too and e-mailed after commit.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from accounts.models import Membership, User
from accounts.policy import policy_require, role_allows, role_rank
from marketing_ai.errors import Conflict, PermissionDenied

from .activity import activity_record, campaign_notify, members_with_role_at_least
from .models import ApprovalDecision, ApprovalStep, ApprovalWorkflow, Campaign, ContentVariant
from .models.workflow import ApproverRole
from .services import campaign_locked, campaign_transition

DEFAULT_STEPS = [{"name": "Brand review", "approver_role": ApproverRole.APPROVER}]
MAX_STEPS = 10
Decision = ApprovalDecision.Decision


def campaign_min_score(*, campaign: Campaign) -> Decimal | None:
    """The lowest compliance score among the campaign's current variants (None without variants)."""
    return campaign.variants.filter(is_current=True).aggregate(low=Min("compliance_score"))["low"]


def steps_from_template(*, campaign: Campaign) -> list[dict]:
    """The workspace's template steps (admin-managed), else one step for any approver."""
    template = ApprovalWorkflow.objects.filter(workspace=campaign.workspace, campaign__isnull=True).first()
    if template is None or not template.steps.exists():
        return [dict(step) for step in DEFAULT_STEPS]
    return [
        {
            "name": step.name,
            "approver_role": step.approver_role,
            "approver_user": step.approver_user,
            "min_compliance_score": step.min_compliance_score,
            "auto_approve_min_score": step.auto_approve_min_score,
            "escalate_after_hours": step.escalate_after_hours,
            "escalate_to_role": step.escalate_to_role,
        }
        for step in template.steps.order_by("order")
    ]


def _approver_user_check(*, user: User | None, campaign: Campaign, field: str) -> None:
    if user is None:
        return
    role = Membership.objects.filter(user=user, workspace_id=campaign.workspace_id).values_list("role", flat=True)
    if not role or not role_allows(role[0], "approvals.decide"):
        raise ValidationError({field: "This person cannot decide approval steps in the workspace (viewers cannot)."})


@transaction.atomic
def campaign_submit(*, campaign: Campaign, user: User, steps: list[dict] | None = None) -> ApprovalWorkflow:
    """Start the approval workflow of a draft (or rejected) campaign with content; Conflict from another state."""
    policy_require(user=user, workspace=campaign.workspace, action="campaigns.edit")
    campaign = campaign_locked(campaign)
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.REJECTED):
        raise Conflict(f"Only a draft or rejected campaign can be submitted; this one is {campaign.status}.")
    if not campaign.variants.filter(is_current=True).exists():
        raise Conflict("Generate content before submitting the campaign for approval.")
    specs = steps if steps else steps_from_template(campaign=campaign)
    if len(specs) > MAX_STEPS:
        raise ValidationError({"steps": f"At most {MAX_STEPS} steps."})
    workflow = ApprovalWorkflow(
        workspace=campaign.workspace, campaign=campaign, name=f"Approval of {campaign.name}"[:200], submitted_by=user
    )
    workflow.full_clean()
    workflow.save()
    for order, spec in enumerate(specs, start=1):
        _approver_user_check(user=spec.get("approver_user"), campaign=campaign, field=f"steps[{order - 1}]")
        step = ApprovalStep(
            workflow=workflow,
            order=order,
            name=(spec.get("name") or f"Step {order}")[:120],
            approver_role=spec.get("approver_role") or "",
            approver_user=spec.get("approver_user"),
            min_compliance_score=spec.get("min_compliance_score") or Decimal("0"),
            auto_approve_min_score=spec.get("auto_approve_min_score"),
            escalate_after_hours=spec.get("escalate_after_hours"),
            escalate_to_role=spec.get("escalate_to_role") or ApproverRole.OWNER,
        )
        if not step.approver_role and step.approver_user is None:
            step.approver_role = ApproverRole.APPROVER
        step.full_clean(exclude=["workflow"])
        step.save()
    campaign_transition(campaign=campaign, to_status=Campaign.Status.IN_REVIEW, actor=user, check_role=False)
    _advance(workflow=workflow, campaign=campaign)
    return workflow


def _step_approvers(step: ApprovalStep) -> list[User]:
    if step.approver_user_id:
        return [step.approver_user]
    return members_with_role_at_least(workspace=step.workflow.workspace, role=step.approver_role)


def _approval_request_notify(*, step: ApprovalStep, campaign: Campaign) -> None:
    """Ask the step's approvers; under the four-eyes rule the authors are told that someone else must decide."""
    approvers = _step_approvers(step)
    deciding = [user for user in approvers if not four_eyes_conflict(step=step, user=user)]
    campaign_notify(
        users=deciding,
        campaign=campaign,
        kind="approval_requested",
        message=f"“{campaign.name}” waits for your approval ({step.name}).",
    )
    if approvers and not deciding:  # every approver wrote the content: they cannot decide it themselves
        campaign_notify(
            users=approvers,
            campaign=campaign,
            kind="approval_requested",
            message=f"“{campaign.name}” needs another approver ({step.name}): under the four-eyes rule nobody "
            "approves their own campaign. Invite a colleague as approver.",
        )


def _auto_approvable(*, step: ApprovalStep, campaign: Campaign) -> bool:
    if step.auto_approve_min_score is None:
        return False
    variants = list(campaign.variants.filter(is_current=True).values_list("validation_status", "compliance_score"))
    return bool(variants) and all(
        status == ContentVariant.ValidationStatus.PASSED and score is not None and score >= step.auto_approve_min_score
        for status, score in variants
    )


def _advance(*, workflow: ApprovalWorkflow, campaign: Campaign) -> None:
    """Open the next waiting step (auto-approving it when its conditions hold) or finish the workflow."""
    now = timezone.now()
    while True:
        step = workflow.steps.filter(status=ApprovalStep.Status.WAITING).order_by("order").first()
        if step is None:
            workflow.status, workflow.finished_at = ApprovalWorkflow.Status.APPROVED, now
            workflow.save(update_fields=["status", "finished_at", "updated_at"])
            campaign_transition(campaign=campaign, to_status=Campaign.Status.APPROVED, actor=None, check_role=False)
            campaign_notify(
                users=[campaign.created_by, workflow.submitted_by],
                campaign=campaign,
                kind="approved",
                message=f"“{campaign.name}” was approved.",
            )
            return
        step.status, step.activated_at = ApprovalStep.Status.PENDING, now
        step.save(update_fields=["status", "activated_at", "updated_at"])
        if not _auto_approvable(step=step, campaign=campaign):
            _approval_request_notify(step=step, campaign=campaign)
            return
        ApprovalDecision.objects.create(step=step, decision=Decision.APPROVE, automatic=True, comment="")
        step.status, step.decided_at = ApprovalStep.Status.APPROVED, now
        step.save(update_fields=["status", "decided_at", "updated_at"])
        activity_record(
            workspace=campaign.workspace,
            campaign=campaign,
            actor=None,
            verb="auto_approved",
            message=f"Step {step.order} “{step.name}” was auto-approved: every variant passed its compliance check.",
            step=step.pk,
        )


def can_decide(*, step: ApprovalStep, user: User, role: str | None) -> bool:
    """Whether the user is this step's approver (named user, or a role at least the step's role, by the policy)."""
    if step.approver_user_id:
        return step.approver_user_id == user.pk
    return role_allows(role, "approvals.decide") and role_rank(role) >= role_rank(step.approver_role)


def four_eyes_conflict(*, step: ApprovalStep, user: User) -> bool:
    """True when the user created or requested the campaign or its content (they may not decide on it)."""
    campaign = step.workflow.campaign
    if user.pk in (campaign.created_by_id, step.workflow.submitted_by_id):
        return True
    return campaign.variants.filter(is_current=True, created_by=user).exists()


@transaction.atomic
def approval_decide(
    *, step: ApprovalStep, user: User, decision: str, comment: str = "", delegate_to: User | None = None
) -> ApprovalStep:
    """Record a decision on the pending step and apply it; 403 for roles that decide nothing, for another role's or
    person's step and for four-eyes, 409 when decided."""
    policy_require(user=user, workspace=step.workflow.workspace_id, action="approvals.decide")
    step = ApprovalStep.objects.select_for_update(of=("self",)).select_related("workflow__campaign").get(pk=step.pk)
    workflow = step.workflow
    campaign = Campaign.objects.select_for_update().get(pk=workflow.campaign_id)
    if workflow.status == ApprovalWorkflow.Status.CANCELLED:
        raise Conflict("The campaign was withdrawn from review.")
    if step.status in (ApprovalStep.Status.APPROVED, ApprovalStep.Status.REJECTED, ApprovalStep.Status.SKIPPED):
        raise Conflict("This step has already been decided.")
    if step.status != ApprovalStep.Status.PENDING:
        raise Conflict("An earlier step has to be decided first.")
    role = Membership.objects.filter(user=user, workspace_id=workflow.workspace_id).values_list("role", flat=True)
    if not can_decide(step=step, user=user, role=role[0] if role else None):
        raise PermissionDenied("You are not the approver of this step.")
    if four_eyes_conflict(step=step, user=user):
        raise PermissionDenied("Four-eyes rule: you cannot decide on content you created or requested.")
    if decision not in Decision.values:
        raise ValidationError({"decision": "Choose approve, reject or delegate."})
    now = timezone.now()
    if decision == Decision.DELEGATE:
        _delegate_check(step=step, user=user, delegate_to=delegate_to)
    elif decision == Decision.APPROVE:
        low = campaign_min_score(campaign=campaign)
        if step.min_compliance_score > 0 and (low is None or low < step.min_compliance_score):
            raise Conflict(f"This step needs every variant to score at least {step.min_compliance_score}.")
    record = ApprovalDecision(step=step, actor=user, decision=decision, comment=comment, delegate_to=delegate_to)
    record.full_clean(validate_constraints=False)  # the unique index answers races as a Conflict
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as exc:  # a concurrent final decision won
        raise Conflict("This step has already been decided.") from exc
    said = f": {comment}" if comment else "."
    if decision == Decision.DELEGATE:
        step.approver_user = delegate_to
        step.save(update_fields=["approver_user", "updated_at"])
        verb, message = "delegated", f"{user.full_name} delegated “{step.name}” to {delegate_to.full_name}{said}"
    else:
        approved = decision == Decision.APPROVE
        step.status = ApprovalStep.Status.APPROVED if approved else ApprovalStep.Status.REJECTED
        step.decided_by, step.decided_at = user, now
        step.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
        if not approved:
            workflow.steps.filter(status=ApprovalStep.Status.WAITING).update(status=ApprovalStep.Status.SKIPPED)
            workflow.status, workflow.finished_at = ApprovalWorkflow.Status.REJECTED, now
            workflow.save(update_fields=["status", "finished_at", "updated_at"])
            campaign_transition(campaign=campaign, to_status=Campaign.Status.REJECTED, actor=user, check_role=False)
        verb = "approved" if approved else "rejected"
        message = f"{user.full_name} {verb} step {step.order} “{step.name}”{said}"
    activity_record(
        workspace=campaign.workspace, campaign=campaign, actor=user, verb=verb, message=message, step=step.pk
    )
    if decision == Decision.DELEGATE:
        campaign_notify(
            users=[delegate_to],
            campaign=campaign,
            kind="approval_requested",
            message=f"{user.full_name} asked you to decide “{step.name}” for “{campaign.name}”.",
        )
    elif decision == Decision.REJECT:
        campaign_notify(
            users=[campaign.created_by, workflow.submitted_by],
            campaign=campaign,
            kind="rejected",
            message=f"“{campaign.name}” was rejected by {user.full_name}{said}"[:500],
        )
    else:
        _advance(workflow=workflow, campaign=campaign)
    return step


def _delegate_check(*, step: ApprovalStep, user: User, delegate_to: User | None) -> None:
    if delegate_to is None:
        raise ValidationError({"delegate_to": "Choose who should decide instead."})
    if delegate_to.pk == user.pk:
        raise ValidationError({"delegate_to": "Delegate to someone else."})
    _approver_user_check(user=delegate_to, campaign=step.workflow.campaign, field="delegate_to")
    if four_eyes_conflict(step=step, user=delegate_to):
        raise ValidationError({"delegate_to": "This person created or requested the content (four-eyes rule)."})


def approval_escalate_overdue(*, now: datetime | None = None) -> int:
    """Hand every pending step past its time limit to its escalation role, once; returns how many moved."""
    now = now or timezone.now()
    candidates = ApprovalStep.objects.filter(
        status=ApprovalStep.Status.PENDING, escalate_after_hours__isnull=False, escalated_at__isnull=True
    ).values_list("pk", "activated_at", "escalate_after_hours")
    due = [pk for pk, since, hours in candidates if since and since + timedelta(hours=hours) <= now]
    for pk in due:
        _escalate(step_id=pk, now=now)
    return len(due)


@transaction.atomic
def _escalate(*, step_id: int, now: datetime) -> None:
    step = ApprovalStep.objects.select_for_update(of=("self",)).select_related("workflow__campaign").get(pk=step_id)
    if step.status != ApprovalStep.Status.PENDING or step.escalated_at is not None:
        return
    campaign = step.workflow.campaign
    step.approver_user, step.approver_role, step.escalated_at = None, step.escalate_to_role, now
    step.save(update_fields=["approver_user", "approver_role", "escalated_at", "updated_at"])
    activity_record(
        workspace=campaign.workspace,
        campaign=campaign,
        actor=None,
        verb="escalated",
        message=f"Step {step.order} “{step.name}” passed its {step.escalate_after_hours} h limit and went to "
        f"any {step.escalate_to_role}.",
        step=step.pk,
    )
    campaign_notify(
        users=_step_approvers(step),
        campaign=campaign,
        kind="escalated",
        message=f"Escalated to you: “{campaign.name}” ({step.name}) is overdue.",
    )
