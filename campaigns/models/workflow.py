from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from marketing_ai.models import TimeStampedModel


class ApproverRole(models.TextChoices):
    """Roles that may be put in charge of a step (a higher role may decide a lower role's step)."""

    APPROVER = "approver", "Approver"
    ADMIN = "admin", "Admin"
    OWNER = "owner", "Owner"


class ApprovalWorkflow(TimeStampedModel):
    """Ordered approval steps. Without a campaign it is the workspace's template copied on each submit."""

    class Status(models.TextChoices):
        TEMPLATE = "template", "Template"
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="approval_workflows")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="workflows"
    )
    name = models.CharField(max_length=200, default="Approval")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    submitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="workflows_submitted"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(campaign__isnull=True), name="campaigns_one_template_per_ws"
            ),
            models.UniqueConstraint(
                fields=["campaign"], condition=Q(status="pending"), name="campaigns_one_pending_workflow"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class ApprovalStep(TimeStampedModel):
    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"  # an earlier step is still open
        PENDING = "pending", "Pending"  # the step to decide now
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SKIPPED = "skipped", "Skipped"  # the workflow ended before reaching it

    workflow = models.ForeignKey("campaigns.ApprovalWorkflow", on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    approver_role = models.CharField(max_length=16, choices=ApproverRole.choices, blank=True)
    approver_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_steps"
    )
    min_compliance_score = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    auto_approve_min_score = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Auto-approve when every current variant passed and scores at least this.",
    )
    escalate_after_hours = models.PositiveIntegerField(null=True, blank=True)
    escalate_to_role = models.CharField(max_length=16, choices=ApproverRole.choices, default=ApproverRole.OWNER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    activated_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_steps_decided"
    )

    class Meta:
        ordering = ["workflow", "order"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "order"], name="campaigns_step_order_unique"),
            models.CheckConstraint(
                condition=~Q(approver_role="") | Q(approver_user__isnull=False), name="campaigns_step_has_approver"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    @property
    def approver_label(self) -> str:
        if self.approver_user_id:
            return self.approver_user.full_name
        return f"any {self.get_approver_role_display().lower()}"


class ApprovalDecision(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        DELEGATE = "delegate", "Delegate"

    step = models.ForeignKey("campaigns.ApprovalStep", on_delete=models.CASCADE, related_name="decisions")
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_decisions"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.CharField(max_length=2000, blank=True)
    delegate_to = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_delegations"
    )
    automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A step is approved or rejected once: a second final decision fails even under a race.
            models.UniqueConstraint(
                fields=["step"], condition=Q(decision__in=["approve", "reject"]), name="campaigns_one_final_decision"
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision} on step {self.step_id}"


class ActivityLog(models.Model):
    """What happened to a campaign, by whom: the audit trail shown on the timeline."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="campaign_activity")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="activity"
    )
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_activity"
    )
    verb = models.CharField(max_length=32)
    message = models.CharField(max_length=1000)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message
