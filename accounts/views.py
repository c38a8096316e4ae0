"""Server-rendered account pages (HTMX). Thin: parse the form, call one service or selector, render."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh, trigger_client_event

from marketing_ai.errors import ApplicationError, Conflict, NotFound, RateLimited, Unauthorized

from .browser import browser_login, browser_login_session, browser_logout, client_ip, client_user_agent
from .forms import (
    InvitationForm,
    InvitedSignupForm,
    LoginForm,
    MemberAddForm,
    PasswordChangeForm,
    ProfileForm,
    SignupForm,
    WorkspaceDisplayForm,
    form_add_service_errors,
)
from .invitations import (
    invitation_accept,
    invitation_create,
    invitation_get_by_token,
    invitation_list_open,
    invitation_revoke,
    invitation_url,
)
from .models import LoginSession, Membership
from .notifications import notification_mark_read
from .policy import policy_page, role_allows
from .selectors import (
    login_session_get_for_user,
    login_session_list_for_user,
    membership_current_for_user,
    membership_list_for_workspace,
    notification_get_for_user,
    notification_list_for_user,
    notification_unread_count_for_user,
)
from .services import (
    login_session_revoke,
    login_session_revoke_all,
    membership_add,
    password_change,
    profile_update,
    user_authenticate,
    user_register,
    workspace_display_update,
    workspace_switch,
)

LANDING_CHAT_TEMPLATE = "chat/_landing_chat.html"
SESSIONS_PER_PAGE = 25
NOTIFICATIONS_PER_PAGE = 25


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("accounts:dashboard")


def _membership_current(request: HttpRequest) -> Membership:
    """The signed-in member's membership of the current workspace; NotFound (the 404 page) when they have none."""
    membership = request.membership.get()
    if membership is None:
        raise NotFound("You do not belong to any workspace.")
    return membership


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:dashboard")
    try:  # the chat app's anonymous chat box, once it exists
        landing_chat_template = get_template(LANDING_CHAT_TEMPLATE) and LANDING_CHAT_TEMPLATE
    except TemplateDoesNotExist:
        landing_chat_template = None
    return render(request, "accounts/landing.html", {"landing_chat_template": landing_chat_template})


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_register(**form.cleaned_data, ip=client_ip(request), user_agent=client_user_agent(request))
        except Conflict as exc:
            form.add_error("email", exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        except RateLimited as exc:
            form.add_error(None, exc.message)
        else:
            browser_login(request, user)
            messages.success(request, f"Welcome to Marketing AI! Your workspace “{user.company_name}” is ready.")
            return redirect("accounts:dashboard")
    return render(request, "accounts/signup.html", {"form": form}, status=422 if form.errors else 200)


def login_page(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            user = user_authenticate(**form.cleaned_data, ip=client_ip(request), user_agent=client_user_agent(request))
        except Unauthorized as exc:
            form.add_error(None, exc.message)
        except RateLimited as exc:
            form.add_error(None, f"{exc.message} (about {max(1, round(exc.retry_after / 60))} min)")
            status, retry_after = 429, exc.retry_after
        else:
            browser_login(request, user)
            return redirect(_safe_next(request))
    if form.errors and status == 200:
        status = 422
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    response = render(request, "accounts/login.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    browser_logout(request)
    messages.info(request, "You have been logged out.")
    return redirect("accounts:login")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The home page: key figures of the chosen range against the previous one, charts, segments, campaigns,
    recommendations and source health. `?part=` serves one live region (static/js/live.js asks for it)."""
    from .dashboard import dashboard_context

    membership = _membership_current(request)
    context, status = dashboard_context(request, membership=membership)
    template = "accounts/dashboard.html"
    part = request.GET.get("part")
    if request.htmx and part in DASHBOARD_PARTS:
        template += f"#{part}"
    response = render(request, template, context, status=status)
    response["Vary"] = "HX-Request"
    return response


DASHBOARD_PARTS = ("dashboard-figures", "dashboard-activity", "dashboard-sources")


def _profile_context(request: HttpRequest, **forms) -> dict:
    user = request.user
    membership = membership_current_for_user(user=user)
    forms.setdefault(
        "profile_form",
        ProfileForm(
            initial={"first_name": user.first_name, "last_name": user.last_name, "company_name": user.company_name}
        ),
    )
    forms.setdefault("password_form", PasswordChangeForm())
    can_rename = bool(membership and role_allows(membership.role, "workspace.settings"))
    return {"membership": membership, "can_rename": can_rename, **forms}


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "accounts/profile.html", _profile_context(request))
    form = ProfileForm(request.POST)
    status = 422
    if form.is_valid():
        data = dict(form.cleaned_data)
        if data["company_name"] == request.user.company_name:
            data.pop("company_name")
        try:
            profile_update(user=request.user, **data)
        except ApplicationError as exc:
            form.add_error("company_name", exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            if request.htmx and "company_name" in data:  # the sidebar shows the workspace name too
                return HttpResponseClientRefresh()
            status = 200
            form = None
    template = "accounts/profile.html#profile-form" if request.htmx else "accounts/profile.html"
    response = render(
        request, template, _profile_context(request, **({"profile_form": form} if form else {})), status=status
    )
    if status == 200:
        trigger_client_event(response, "toast", {"message": "Profile saved.", "level": "success"})
    return response


@login_required
@require_POST
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST)
    status, note = 422, ""
    if form.is_valid():
        try:
            revoked = password_change(
                user=request.user,
                **form.cleaned_data,
                keep=browser_login_session(request),
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        except RateLimited as exc:
            form.add_error(None, exc.message)
            status = 429
        else:
            update_session_auth_hash(request, request.user)
            status, form = 200, PasswordChangeForm()
            note = f" {revoked} other session{'s' if revoked != 1 else ''} signed out." if revoked else ""
    template = "accounts/profile.html#password-form" if request.htmx else "accounts/profile.html"
    response = render(request, template, _profile_context(request, password_form=form), status=status)
    if status == 200:
        trigger_client_event(response, "toast", {"message": "Password changed." + note, "level": "success"})
    return response


@login_required
def sessions(request: HttpRequest) -> HttpResponse:
    current = browser_login_session(request)
    page = Paginator(login_session_list_for_user(user=request.user), SESSIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "sessions": page.object_list, "current_id": current.id if current else None}
    return render(request, "accounts/sessions.html", context)


def _logged_out_redirect(request: HttpRequest) -> HttpResponse:
    url = reverse("accounts:login")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def session_revoke(request: HttpRequest, session_id) -> HttpResponse:
    try:
        session = login_session_get_for_user(user=request.user, session_id=session_id)
    except NotFound:
        return render(request, "404.html", status=404)
    current = browser_login_session(request)
    if current is not None and current.id == session.id:
        browser_logout(request, reason=LoginSession.RevokeReason.USER)
        return _logged_out_redirect(request)
    login_session_revoke(
        session=session,
        reason=LoginSession.RevokeReason.USER,
        actor=request.user,
        ip=client_ip(request),
        user_agent=client_user_agent(request),
    )
    if request.htmx:
        response = HttpResponse("")
        return trigger_client_event(response, "toast", {"message": "Session revoked.", "level": "success"})
    messages.success(request, "Session revoked.")
    return redirect("accounts:sessions")


@login_required
@require_POST
def sessions_revoke_others(request: HttpRequest) -> HttpResponse:
    revoked = login_session_revoke_all(
        user=request.user,
        reason=LoginSession.RevokeReason.USER,
        keep=browser_login_session(request),
        actor=request.user,
        ip=client_ip(request),
        user_agent=client_user_agent(request),
    )
    messages.success(request, f"Signed out {revoked} other session{'s' if revoked != 1 else ''}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("accounts:sessions"))
    return redirect("accounts:sessions")


@login_required
@require_POST
def workspace_switch_view(request: HttpRequest) -> HttpResponse:
    try:
        workspace = workspace_switch(user=request.user, workspace_id=int(request.POST.get("workspace", "0")))
    except (NotFound, ValueError):
        return render(request, "404.html", status=404)
    messages.success(request, f"Switched to {workspace.name}.")
    return redirect(_safe_next(request))


@login_required
@policy_page("members.manage", methods=("POST",))
def members(request: HttpRequest) -> HttpResponse:
    membership = _membership_current(request)
    form = MemberAddForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                added = membership_add(workspace=membership.workspace, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                status, form = 200, MemberAddForm()
                toast = f"{added.user.email} joined as {added.get_role_display()}."
                if not request.htmx:
                    messages.success(request, toast)
    response = _members_page(request, membership, status=status, form=form)
    if request.htmx and request.method == "POST" and status == 200:
        trigger_client_event(response, "toast", {"message": toast, "level": "success"})
    return response


def _members_page(request: HttpRequest, membership, *, status: int = 200, **extra) -> HttpResponse:
    """The members page, or for htmx only its panel (where the page's forms post)."""
    template = "accounts/members.html" + ("#members-panel" if request.htmx else "")
    return render(request, template, _members_context(membership, **extra), status=status)


def _members_context(membership, **extra) -> dict:
    can_manage = role_allows(membership.role, "members.manage")
    return {
        "membership": membership,
        "members": membership_list_for_workspace(workspace=membership.workspace),
        "can_manage": can_manage,
        "invitations": invitation_list_open(workspace=membership.workspace) if can_manage else [],
        "form": extra.pop("form", None) or MemberAddForm(),
        "invite_form": extra.pop("invite_form", None) or InvitationForm(prefix="invite"),
        "display_form": extra.pop("display_form", None)
        or WorkspaceDisplayForm(
            initial={"currency": membership.workspace.currency, "locale": membership.workspace.locale}
        ),
        **extra,
    }


@login_required
@require_POST
@policy_page("members.manage")
def invitation_create_view(request: HttpRequest) -> HttpResponse:
    """The members page's "Invite by e-mail": the panel again, with the link to share."""
    membership = _membership_current(request)
    form, status, extra = InvitationForm(request.POST, prefix="invite"), 422, {}
    if form.is_valid():
        try:
            invitation, token = invitation_create(
                workspace=membership.workspace, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        except ApplicationError as exc:
            form.add_error("email" if exc.status == 409 else None, exc.message)
            status = exc.status if exc.status == 403 else 422
        else:
            status, form = 200, InvitationForm(prefix="invite")
            extra["invited"] = {"email": invitation.email, "url": request.build_absolute_uri(invitation_url(token))}
    response = _members_page(request, membership, status=status, invite_form=form, **extra)
    if status == 200:
        trigger_client_event(response, "toast", {"message": f"Invitation sent to {extra['invited']['email']}."})
    return response


@login_required
@require_POST
@policy_page("workspace.settings")
def workspace_display_view(request: HttpRequest) -> HttpResponse:
    """The members page's "Money and numbers": the workspace's currency and locale."""
    membership = _membership_current(request)
    form, status = WorkspaceDisplayForm(request.POST), 422
    if form.is_valid():
        try:
            workspace_display_update(workspace=membership.workspace, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, "Money and numbers now read the way you chose.")
            return (
                HttpResponseClientRedirect(reverse("accounts:members"))
                if request.htmx
                else redirect("accounts:members")
            )
    return _members_page(request, membership, status=status, display_form=form)


@login_required
@require_POST
@policy_page("members.manage")
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    membership = _membership_current(request)
    try:
        invitation_revoke(invitation_id=invitation_id, workspace=membership.workspace, actor=request.user)
    except NotFound:
        return render(request, "404.html", status=404)
    except ApplicationError as exc:
        return render(request, "403.html", {"message": exc.message}, status=exc.status)
    return _members_page(request, membership)


def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link of an invitation e-mail: accept it signed in, or create an account for the invited address."""
    try:
        invitation = invitation_get_by_token(token=token)
    except NotFound:
        return render(request, "404.html", status=404)
    except ApplicationError as exc:
        return render(request, "accounts/invitation.html", {"gone": exc.message}, status=exc.status)
    form = InvitedSignupForm(request.POST or None) if not request.user.is_authenticated else None
    context = {"invitation": invitation, "form": form, "token": token}
    if request.method != "POST":
        return render(request, "accounts/invitation.html", context)
    user = request.user
    if not user.is_authenticated:
        if not form.is_valid():
            return render(request, "accounts/invitation.html", context, status=422)
        try:
            user = user_register(
                email=invitation.email,
                **form.cleaned_data,
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        except Conflict:
            form.add_error(None, "An account already uses this address: log in to accept the invitation.")
            return render(request, "accounts/invitation.html", context, status=409)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            return render(request, "accounts/invitation.html", context, status=422)
        browser_login(request, user)
    try:
        membership = invitation_accept(token=token, user=user)
    except ApplicationError as exc:
        return render(request, "accounts/invitation.html", {**context, "error": exc.message}, status=exc.status)
    messages.success(
        request, f"Welcome to {membership.workspace.name}: you joined as {membership.get_role_display().lower()}."
    )
    return redirect("accounts:dashboard")


@login_required
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The sidebar's bell: unread notifications (refreshed when a live message says one arrived)."""
    return render(request, "accounts/_bell.html", {"unread": notification_unread_count_for_user(user=request.user)})


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    rows = notification_list_for_user(user=request.user)
    page = Paginator(rows, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "unread_count": rows.filter(read_at=None).count()}
    return render(request, "accounts/notifications.html", context)


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    marked = notification_mark_read(user=request.user)
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} as read.")
    return redirect("accounts:notifications")


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and go where it points (the list when it points nowhere safe)."""
    try:
        notification = notification_get_for_user(user=request.user, notification_id=notification_id)
    except NotFound:
        return render(request, "404.html", status=404)
    notification_mark_read(user=request.user, notification_id=notification.id)
    target = notification.url
    if not (target and url_has_allowed_host_and_scheme(target, {request.get_host()})):
        target = reverse("accounts:notifications")
    return redirect(target)
