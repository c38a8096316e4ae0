"""Admin for ops: users, workspaces, memberships, login sessions (revocable), audit log, provider keys."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from .models import AuditEvent, LoginSession, Membership, User, Workspace
from .services import login_session_revoke
from .staff import OPS, STAFF_ROLES, SUPERADMIN, SUPPORT, staff_roles_audit, staff_roles_of, staff_roles_set

_admin_site_login = admin.site.login


def admin_login(request, extra_context=None):
    """Staff sign in through the product's login page: throttled, audited, a revocable LoginSession."""
    if request.user.is_authenticated:  # signed in without staff rights: the admin explains
        return _admin_site_login(request, extra_context)
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), login_url=reverse("accounts:login"))


admin.site.login = admin_login


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["-created_at"]
    list_display = [
        "email",
        "full_name",
        "current_workspace",
        "is_verified",
        "is_active",
        "is_staff",
        "last_login_at",
        "created_at",
    ]
    list_filter = ["is_staff", "is_superuser", "is_verified", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    list_select_related = ["current_workspace"]
    readonly_fields = ["last_login_at", "last_login", "created_at", "updated_at"]
    autocomplete_fields = ["current_workspace"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "current_workspace", "is_verified"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login_at", "last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal = ["groups", "user_permissions"]
    actions = ["grant_support", "grant_ops", "grant_superadmin", "remove_staff_roles"]

    def save_related(self, request, form, formsets, change):
        """Groups edited on the form: the staff roles given or taken are audited, and `is_staff` follows them."""
        before = {group.name for group in form.initial.get("groups") or []} & set(STAFF_ROLES)
        super().save_related(request, form, formsets, change)
        after = staff_roles_of(form.instance)
        if before != after:
            staff_roles_audit(
                user=form.instance,
                granted=after - before,
                revoked=before - after,
                actor=request.user,
                ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )

    def _staff_roles(self, request, queryset, change) -> None:
        for user in queryset:
            roles = change(staff_roles_of(user))
            staff_roles_set(
                user=user,
                roles=roles,
                actor=request.user,
                ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        self.message_user(
            request, f"Staff roles updated for {queryset.count()} user(s); the audit log has each change."
        )

    @admin.action(description="Give the support staff role (read-only admin)", permissions=["change"])
    def grant_support(self, request, queryset):
        self._staff_roles(request, queryset, lambda roles: roles | {SUPPORT})

    @admin.action(description="Give the ops staff role (jobs, sources, schedules, alerts)", permissions=["change"])
    def grant_ops(self, request, queryset):
        self._staff_roles(request, queryset, lambda roles: roles | {OPS})

    @admin.action(description="Give the superadmin staff role (everything)", permissions=["change"])
    def grant_superadmin(self, request, queryset):
        self._staff_roles(request, queryset, lambda roles: roles | {SUPERADMIN})

    @admin.action(description="Remove every staff role", permissions=["change"])
    def remove_staff_roles(self, request, queryset):
        self._staff_roles(request, queryset, lambda roles: set())


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "public_id", "created_at"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, workspace):
        return workspace.member_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "workspace__name"]
    list_select_related = ["user", "workspace"]
    autocomplete_fields = ["user", "workspace"]


class SessionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(Q(revoked_at__isnull=True) & Q(expires_at__lte=now))
        return queryset


@admin.register(LoginSession)
class LoginSessionAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "ip_address",
        "short_user_agent",
        "kind",
        "created_at",
        "last_used_at",
        "expires_at",
        "state",
    ]
    list_filter = [SessionStateFilter, "revoked_reason", "created_at"]
    search_fields = ["user__email", "ip_address", "user_agent"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    actions = ["revoke_sessions"]
    readonly_fields = [f.name for f in LoginSession._meta.fields if f.name != "django_session_key"]
    exclude = ["django_session_key"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="User agent")
    def short_user_agent(self, session):
        return (session.user_agent[:60] + "…") if len(session.user_agent) > 60 else session.user_agent

    @admin.display(description="Kind")
    def kind(self, session):
        return "browser" if session.django_session_key else "api"

    @admin.display(description="State")
    def state(self, session):
        if session.revoked_at:
            return f"revoked ({session.get_revoked_reason_display()})"
        return "active" if session.is_active else "expired"

    @admin.action(description="Revoke selected sessions (tokens stop working at once)", permissions=["change"])
    def revoke_sessions(self, request, queryset):
        revoked = sum(
            login_session_revoke(
                session=session,
                reason=LoginSession.RevokeReason.ADMIN,
                actor=request.user,
                ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            for session in queryset.select_related("user")
        )
        self.message_user(request, f"Revoked {revoked} session(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "email", "ip_address", "short_user_agent", "detail"]
    list_filter = ["kind", "created_at"]
    search_fields = ["email", "ip_address"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="User agent")
    def short_user_agent(self, event):
        return event.user_agent[:60]
