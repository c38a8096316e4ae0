"""Account writes: registration, login sessions and tokens, passwords, profile, workspaces, audit."""

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketing_ai.errors import Conflict, NotFound, Unauthorized

from .models import AuditEvent, LoginSession, Membership, RefreshToken, User, Workspace
from .policy import policy_require, role_allows
from .selectors import membership_current_for_user
from .session_cache import session_rows_forget
from .throttle import (
    login_check_admitted,
    login_throttle_check,
    login_throttle_clear,
    login_throttle_fail,
    password_burn,
    password_set,
    password_verify,
)
from .tokens import access_token_issue, refresh_token_generate, refresh_token_hash

INVALID_CREDENTIALS = "Invalid email or password."
INVALID_REFRESH = "Invalid or expired refresh token."


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_dict(self) -> dict:
        return {"accessToken": self.access_token, "refreshToken": self.refresh_token, "expiresIn": self.expires_in}


def email_normalize(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def audit_record(
    *, kind: str, user: User | None = None, email: str = "", ip: str | None = None, user_agent: str = "", **detail
) -> AuditEvent:
    """Append one security event to the audit log."""
    return AuditEvent.objects.create(
        kind=kind,
        user=user,
        email=(email or (user.email if user else ""))[:254],
        ip_address=ip or None,
        user_agent=(user_agent or "")[:512],
        detail=detail,
    )


def _password_validate(*, password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def user_register(
    *,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    company_name: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> User:
    """Create the user and their workspace (named after the company, else the e-mail's domain) as owner.

    Raises Conflict when the e-mail is taken (case-insensitive) and ValidationError for a bad e-mail or a
    weak password; nothing is written then.
    """
    email = email_normalize(email)
    user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip())
    errors = {}
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    workspace = Workspace(name=(company_name.strip() or email.rpartition("@")[2])[:200])
    if errors:
        raise ValidationError(errors)
    workspace.full_clean()
    if User.objects.filter(email=email).exists():
        raise Conflict("An account with this email already exists.")
    password_set(user=user, raw_password=password)  # hashed before the transaction: no lock held meanwhile
    try:
        with transaction.atomic():
            user.save()
            workspace.save()
            Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
            user.current_workspace = workspace
            user.save(update_fields=["current_workspace", "updated_at"])
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("An account with this email already exists.") from exc
    audit_record(kind=AuditEvent.Kind.REGISTERED, user=user, ip=ip, user_agent=user_agent, workspace=workspace.id)
    return user


def user_authenticate(*, email: str, password: str, ip: str | None = None, user_agent: str = "") -> User:
    """The active user with these credentials; every failure is audited and counted towards a lockout.

    Raises Unauthorized with one message for an unknown e-mail and a wrong password, and RateLimited
    while the e-mail or IP is locked out (checked before any hashing).
    """
    email = email_normalize(email)
    login_throttle_check(email=email, ip=ip)
    user = User.objects.filter(email=email).first()
    with login_check_admitted(email=email, ip=ip):
        if user is None:
            password_burn(password)
            valid = False
        else:
            valid = password_verify(user=user, raw_password=password)
    if valid and user.is_active:
        login_throttle_clear(email=email)
        return user
    reason = "unknown_email" if user is None else ("inactive" if valid else "wrong_password")
    locked = login_throttle_fail(email=email, ip=ip)
    audit_record(kind=AuditEvent.Kind.LOGIN_FAILED, user=user, email=email, ip=ip, user_agent=user_agent, reason=reason)
    if locked:
        audit_record(
            kind=AuditEvent.Kind.LOCKED_OUT,
            user=user,
            email=email,
            ip=ip,
            user_agent=user_agent,
            scopes=locked,
            seconds=settings.LOGIN_LOCKOUT_SECONDS,
        )
    raise Unauthorized(INVALID_CREDENTIALS)


@transaction.atomic
def login_session_create(
    *, user: User, ip: str | None = None, user_agent: str = "", django_session_key: str = ""
) -> LoginSession:
    """Open a login session (7 days) for the user, records lastLoginAt and audits the successful login."""
    now = timezone.now()
    user.last_login_at = now
    user.save(update_fields=["last_login_at", "updated_at"])  # before the session: its cached row starts fresh
    session = LoginSession.objects.create(
        user=user,
        ip_address=ip or None,
        user_agent=(user_agent or "")[:512],
        last_used_at=now,
        expires_at=now + settings.LOGIN_SESSION_LIFETIME,
        django_session_key=django_session_key,
    )
    audit_record(
        kind=AuditEvent.Kind.LOGIN_SUCCEEDED,
        user=user,
        ip=ip,
        user_agent=user_agent,
        session=str(session.id),
        channel="browser" if django_session_key else "api",
    )
    return session


@transaction.atomic
def login_session_open(*, user: User, ip: str | None = None, user_agent: str = "") -> tuple[LoginSession, TokenPair]:
    """Open an API login session for the user and issue its first token pair."""
    session = login_session_create(user=user, ip=ip, user_agent=user_agent)
    return session, token_pair_issue(session=session)


def token_pair_issue(*, session: LoginSession) -> TokenPair:
    """A fresh access token and a new refresh token for the session (only the refresh token's hash is stored)."""
    raw_refresh = refresh_token_generate()
    RefreshToken.objects.create(session=session, token_hash=refresh_token_hash(raw_refresh))
    return TokenPair(
        access_token=access_token_issue(user=session.user, session=session),
        refresh_token=raw_refresh,
        expires_in=int(settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
    )


def login_session_refresh(*, refresh_token: str, ip: str | None = None, user_agent: str = "") -> TokenPair:
    """Rotate a refresh token: a new pair, the presented token dead.

    Raises Unauthorized for unknown, expired or revoked tokens; presenting an already-rotated token
    revokes its whole session (reuse detection) and is audited.
    """
    record = (
        RefreshToken.objects.select_related("session__user")
        .filter(token_hash=refresh_token_hash(refresh_token))
        .first()
    )
    if record is None:
        raise Unauthorized(INVALID_REFRESH)
    session = record.session
    now = timezone.now()
    with transaction.atomic():
        # Only one caller can rotate a token: a concurrent or later presentation finds it already rotated.
        rotated = RefreshToken.objects.filter(id=record.id, rotated_at__isnull=True).update(rotated_at=now)
        live = rotated and session.is_active and session.user.is_active
        if live:
            LoginSession.objects.filter(id=session.id).update(last_used_at=now)
            return token_pair_issue(session=session)
    if not rotated and session.is_active:  # a replay of a rotated token on a live session: assume theft
        login_session_revoke(
            session=session, reason=LoginSession.RevokeReason.REFRESH_REUSE, ip=ip, user_agent=user_agent
        )
        audit_record(
            kind=AuditEvent.Kind.REFRESH_REUSE, user=session.user, ip=ip, user_agent=user_agent, session=str(session.id)
        )
    raise Unauthorized(INVALID_REFRESH)


def login_session_revoke(
    *, session: LoginSession, reason: str, actor: User | None = None, ip: str | None = None, user_agent: str = ""
) -> bool:
    """Revoke the session: its access and refresh tokens stop working at once and its browser session is
    deleted. Idempotent; returns whether this call revoked it."""
    now = timezone.now()
    revoked = LoginSession.objects.filter(id=session.id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    if not revoked:
        return False
    session_rows_forget([session.id])
    session.revoked_at, session.revoked_reason = now, reason
    if session.django_session_key:
        import_module(settings.SESSION_ENGINE).SessionStore(session_key=session.django_session_key).delete()
    kind = AuditEvent.Kind.LOGGED_OUT if reason == LoginSession.RevokeReason.LOGOUT else AuditEvent.Kind.SESSION_REVOKED
    detail = {"session": str(session.id), "reason": reason}
    if actor is not None and actor.id != session.user_id:
        detail["actor"] = actor.email
    audit_record(kind=kind, user=session.user, ip=ip, user_agent=user_agent, **detail)
    return True


def login_session_revoke_all(
    *,
    user: User,
    reason: str,
    keep: LoginSession | None = None,
    actor: User | None = None,
    ip: str | None = None,
    user_agent: str = "",
) -> int:
    """Revoke every live session of the user except `keep`; returns how many were revoked."""
    sessions = LoginSession.objects.filter(user=user, revoked_at__isnull=True).select_related("user")
    if keep is not None:
        sessions = sessions.exclude(id=keep.id)
    return sum(
        login_session_revoke(session=session, reason=reason, actor=actor, ip=ip, user_agent=user_agent)
        for session in sessions
    )


def password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    keep: LoginSession | None = None,
    ip: str | None = None,
    user_agent: str = "",
) -> int:
    """Set a new password after checking the current one; revokes every other session and audits.

    Wrong current passwords count towards the login lockout. Returns how many sessions were revoked.
    """
    login_throttle_check(email=user.email, ip=ip)
    valid = password_verify(user=user, raw_password=current_password)
    if not valid:
        login_throttle_fail(email=user.email, ip=ip)
        audit_record(
            kind=AuditEvent.Kind.LOGIN_FAILED, user=user, ip=ip, user_agent=user_agent, reason="password_change"
        )
        raise ValidationError({"current_password": ["Your current password is incorrect."]})
    _password_validate(password=new_password, user=user, field="new_password")
    password_set(user=user, raw_password=new_password)
    with transaction.atomic():
        user.save(update_fields=["password", "updated_at"])
        revoked = login_session_revoke_all(
            user=user, reason=LoginSession.RevokeReason.PASSWORD_CHANGED, keep=keep, ip=ip, user_agent=user_agent
        )
        audit_record(
            kind=AuditEvent.Kind.PASSWORD_CHANGED, user=user, ip=ip, user_agent=user_agent, revoked_sessions=revoked
        )
    return revoked


@transaction.atomic
def profile_update(
    *, user: User, first_name: str | None = None, last_name: str | None = None, company_name: str | None = None
) -> User:
    """Change the user's names; a company name renames the current workspace (owner or admin only)."""
    fields = []
    if first_name is not None:
        user.first_name = first_name.strip()
        fields.append("first_name")
    if last_name is not None:
        user.last_name = last_name.strip()
        fields.append("last_name")
    if company_name is not None and company_name.strip() != user.company_name:
        membership = membership_current_for_user(user=user)
        if membership is None:
            raise NotFound("You do not belong to any workspace.")
        policy_require(user=user, workspace=membership.workspace, action="workspace.settings")
        workspace = membership.workspace
        workspace.name = company_name.strip()
        workspace.full_clean()
        workspace.save(update_fields=["name", "updated_at"])
        user.current_workspace = workspace
    if fields:
        user.full_clean(exclude=["password"], validate_unique=False)
        user.save(update_fields=[*fields, "updated_at"])
    return user


def workspace_display_update(*, workspace: Workspace, actor: User, currency: str, locale: str) -> Workspace:
    """Set the currency and locale money and numbers are shown in (owners and admins)."""
    from .display import CURRENCIES, LOCALES

    policy_require(user=actor, workspace=workspace, action="workspace.settings")
    errors = {}
    if currency not in CURRENCIES:
        errors["currency"] = ["Choose one of the listed currencies."]
    if locale not in LOCALES:
        errors["locale"] = ["Choose one of the listed languages."]
    if errors:
        raise ValidationError(errors)
    workspace.currency, workspace.locale = currency, locale
    workspace.save(update_fields=["currency", "locale", "updated_at"])
    return workspace


def workspace_switch(*, user: User, workspace_id: int) -> Workspace:
    """Make one of the user's workspaces the current one; another workspace is NotFound."""
    membership = Membership.objects.select_related("workspace").filter(user=user, workspace_id=workspace_id).first()
    if membership is None:
        raise NotFound("Workspace not found.")
    user.current_workspace = membership.workspace
    user.save(update_fields=["current_workspace", "updated_at"])
    return membership.workspace


@transaction.atomic
def member_role_grant_check(*, workspace: Workspace, actor: User, role: str, action: str) -> None:
    """Owners and admins bring people in (add, invite); only owners grant owner (the policy's `members.manage` and
    `owners.manage`). 403 / 400 otherwise."""
    actor_membership = policy_require(user=actor, workspace=workspace, action="members.manage")
    if role not in Membership.Role.values:
        raise ValidationError({"role": ["Choose a valid role."]})
    if role == Membership.Role.OWNER and actor_membership and not role_allows(actor_membership.role, "owners.manage"):
        raise ValidationError({"role": [f"Only an owner can {action} another owner."]})


def membership_add(*, workspace: Workspace, actor: User, email: str, role: str) -> Membership:
    """Add an existing user to the workspace with a role; only owners and admins may, only owners grant owner."""
    member_role_grant_check(workspace=workspace, actor=actor, role=role, action="add")
    member = User.objects.filter(email=email_normalize(email), is_active=True).first()
    if member is None:
        raise ValidationError({"email": ["No account uses this email. Ask them to sign up first."]})
    if Membership.objects.filter(user=member, workspace=workspace).exists():
        raise ValidationError({"email": ["This person is already a member of the workspace."]})
    membership = Membership.objects.create(user=member, workspace=workspace, role=role)
    if member.current_workspace_id is None:
        member.current_workspace = workspace
        member.save(update_fields=["current_workspace", "updated_at"])
    audit_record(kind=AuditEvent.Kind.MEMBER_ADDED, user=actor, workspace=workspace.id, member=member.email, role=role)
    return membership
