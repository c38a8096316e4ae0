import uuid
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from marketing_ai.models import TimeStampedModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)

    def _create(self, email: str, password: str | None, **extra):
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True, is_verified=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin, TimeStampedModel):
    """Email is the login, unique regardless of case (stored lower-cased)."""

    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    last_login_at = models.DateTimeField(null=True, blank=True)
    current_workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="current_users"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    @property
    def company_name(self) -> str:
        return self.current_workspace.name if self.current_workspace_id else ""


class Workspace(TimeStampedModel):
    """The tenant: every piece of customer data belongs to exactly one workspace."""

    name = models.CharField(max_length=200)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    high_value_threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("100.00"),
        help_text="Purchase total above which a customer is high value.",
    )
    compliance_threshold = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        help_text="Brand-compliance score that auto-approves a variant.",
    )
    ai_providers = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated provider order; empty uses the AI_PROVIDERS setting."
    )
    currency = models.CharField(
        max_length=3, default="USD", help_text="ISO 4217 code money is shown in (the data's own currency wins)."
    )
    locale = models.CharField(
        max_length=16, default="en_US", help_text="How numbers, money and dates read, e.g. en_US, en_GB, de_DE, fr_FR."
    )
    members = models.ManyToManyField("accounts.User", through="accounts.Membership", related_name="workspaces")

    def __str__(self) -> str:
        return self.name


class Membership(TimeStampedModel):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        EDITOR = "editor", "Editor"
        APPROVER = "approver", "Approver"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="accounts_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class LoginSession(models.Model):
    """One login (API or browser); access tokens carry its id and die with it."""

    class RevokeReason(models.TextChoices):
        LOGOUT = "logout", "Logged out"
        USER = "user_revoked", "Revoked by the user"
        ADMIN = "admin_revoked", "Revoked by an admin"
        REFRESH_REUSE = "refresh_reuse", "Refresh token reused"
        PASSWORD_CHANGED = "password_changed", "Password changed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="login_sessions")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True)
    django_session_key = models.CharField(max_length=40, blank=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_session_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} session {self.id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class RefreshToken(models.Model):
    """A refresh token's SHA-256 hash; rotated tokens stay so that a replay can be recognised."""

    session = models.ForeignKey("accounts.LoginSession", on_delete=models.CASCADE, related_name="refresh_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refresh token of {self.session_id}"


class AuditEvent(models.Model):
    class Kind(models.TextChoices):
        REGISTERED = "registered", "Registered"
        LOGIN_SUCCEEDED = "login_succeeded", "Login succeeded"
        LOGIN_FAILED = "login_failed", "Login failed"
        LOCKED_OUT = "locked_out", "Locked out"
        REFRESH_REUSE = "refresh_reuse", "Refresh token reuse"
        SESSION_REVOKED = "session_revoked", "Session revoked"
        LOGGED_OUT = "logged_out", "Logged out"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        MEMBER_ADDED = "member_added", "Member added"
        PROVIDER_KEY_CHANGED = "provider_key_changed", "Provider key changed"
        STAFF_ROLE_GRANTED = "staff_role_granted", "Staff role granted"
        STAFF_ROLE_REVOKED = "staff_role_revoked", "Staff role revoked"

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    email = models.CharField(max_length=254, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.email}"


class RateCounter(models.Model):
    """A fixed-window counter kept in the database: a login lockout (always), or a rate-limit counter while the
    cache (Redis) is unreachable. Expired rows mean nothing and are purged on a schedule."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key} = {self.count}"


class Notification(models.Model):
    """An in-app notice for one user (also e-mailed after commit): approvals, AI key checks, alerts.

    `subject` names what it is about ("campaign:42", "alert:7") so the owner of that object can find or
    remove its notices without this app knowing the other apps' models.
    """

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.INFO)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    subject = models.CharField(max_length=64, blank=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="accounts_notif_user_idx")]

    def __str__(self) -> str:
        return self.message


class Invitation(TimeStampedModel):
    """An e-mailed link that lets someone join a workspace with a role: expiring, single use.

    Only the SHA-256 of the token is stored; the token itself travels in the link."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    token_sha256 = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations_sent"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations_accepted"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "email"], name="accounts_invitation_email_idx")]

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace} as {self.role}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()
