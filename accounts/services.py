from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketing_ai.errors import Conflict

from .models import AuditEvent, LoginSession, Membership, RefreshToken, User, Workspace
from .tokens import access_token_issue, refresh_token_generate, refresh_token_hash


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_dict(self) -> dict:
        return {"accessToken": self.access_token, "refreshToken": self.refresh_token, "expiresIn": self.expires_in}


def audit_record(
    *, kind: str, user: User | None = None, email: str = "", ip: str | None = None, user_agent: str = "", **detail
) -> AuditEvent:
    """Append one security event to the audit log."""
    return AuditEvent.objects.create(
        kind=kind,
        user=user,
        email=(email or (user.email if user else ""))[:254],
        ip_address=ip,
        user_agent=user_agent[:512],
        detail=detail,
    )


@transaction.atomic
def user_register(
    *, email: str, password: str, first_name: str = "", last_name: str = "", company_name: str = ""
) -> User:
    """Create the user and their workspace (named after the company, else the e-mail's domain) as owner.

    Raises Conflict when the e-mail is taken (case-insensitive) and ValidationError for a weak password.
    """
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("An account with this email already exists.")
    user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip())
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("An account with this email already exists.") from exc
    workspace = Workspace(name=(company_name.strip() or email.split("@", 1)[1])[:200])
    workspace.full_clean()
    workspace.save()
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
    user.current_workspace = workspace
    user.save(update_fields=["current_workspace", "updated_at"])
    return user


@transaction.atomic
def login_session_open(*, user: User, ip: str | None = None, user_agent: str = "") -> tuple[LoginSession, TokenPair]:
    """Open a 7-day login session for the user and issue its first token pair; records lastLoginAt."""
    now = timezone.now()
    session = LoginSession.objects.create(
        user=user,
        ip_address=ip,
        user_agent=user_agent[:512],
        last_used_at=now,
        expires_at=now + settings.LOGIN_SESSION_LIFETIME,
    )
    user.last_login_at = now
    user.save(update_fields=["last_login_at", "updated_at"])
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
