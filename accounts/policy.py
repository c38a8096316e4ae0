"""The one permission policy of DESIGN §3: every named action with the least role that may do it.

Roles are ranked viewer < approver < editor < admin < owner and each includes what the roles below it may do.
Services call `policy_require` before they write, so the API, the pages, the admin actions and the tasks obey the
same table; pages and templates call `policy_allows` / read `can` (the `policy` context processor) only to hide
what a role cannot use. Deciding an approval step also needs the step to be the user's (campaigns/workflow).
"""

import functools

from accounts.models import Membership, User, Workspace
from marketing_ai.errors import NotFound, PermissionDenied

Role = Membership.Role

ROLE_ORDER = (Role.VIEWER, Role.APPROVER, Role.EDITOR, Role.ADMIN, Role.OWNER)
ROLE_RANK = {role: rank for rank, role in enumerate(ROLE_ORDER)}

# action -> (least role, what it lets one do: the end of "Your role (viewer) cannot ...").
POLICY: dict[str, tuple[str, str]] = {
    # viewer: read the workspace; own conversations
    "workspace.read": (Role.VIEWER, "read this workspace"),
    "conversations.own": (Role.VIEWER, "hold conversations"),
    # approver: decide approval steps assigned to them
    "approvals.decide": (Role.APPROVER, "decide approval steps"),
    # editor: campaigns, content, metrics imports, audiences, files, jobs on existing sources, exports
    "campaigns.edit": (Role.EDITOR, "create or edit campaigns"),
    "campaigns.publish": (Role.EDITOR, "publish campaign content"),
    "content.generate": (Role.EDITOR, "generate campaign content"),
    "metrics.import": (Role.EDITOR, "import campaign metrics"),
    "recommendations.generate": (Role.EDITOR, "generate campaign recommendations"),
    "audiences.edit": (Role.EDITOR, "create or change audiences"),
    "audiences.push": (Role.EDITOR, "push audiences to ad platforms"),
    "files.upload": (Role.EDITOR, "upload or analyse files"),
    "jobs.run": (Role.EDITOR, "start, retry or cancel syncs, imports and demo data"),
    "customers.export": (Role.EDITOR, "export customer data"),
    "identities.undo": (Role.EDITOR, "undo identity merges"),
    "product_recommendations.refresh": (Role.EDITOR, "refresh product recommendations"),
    # admin: sources and their secrets, provider keys, brand, workflows, members below owner, models
    "sources.manage": (Role.ADMIN, "create, change or delete data sources"),
    "provider_keys.manage": (Role.ADMIN, "change AI provider keys and settings"),
    "brand.edit": (Role.ADMIN, "change the brand profile"),
    "workflows.edit": (Role.ADMIN, "change approval workflows"),
    "members.manage": (Role.ADMIN, "invite or manage members"),
    "workspace.settings": (Role.ADMIN, "change the workspace's name or display settings"),
    "models.train": (Role.ADMIN, "train prediction models"),
    # owner: owners, delete the workspace
    "owners.manage": (Role.OWNER, "grant or remove the owner role"),
    "workspace.delete": (Role.OWNER, "delete the workspace"),
}


def role_rank(role: str | None) -> int:
    """The rank of a role (-1 for none or an unknown one, below every role)."""
    return ROLE_RANK.get(role, -1)


def role_allows(role: str | None, action: str) -> bool:
    """Whether a member with `role` may do `action` (KeyError for an action the table does not name)."""
    least, _ = POLICY[action]
    return role_rank(role) >= ROLE_RANK[least]


def roles_allowed(action: str) -> list[str]:
    """The roles that may do `action`, lowest first (for `role__in` queries)."""
    return [role for role in ROLE_ORDER if role_allows(role, action)]


def roles_at_least(role: str) -> list[str]:
    """`role` and every role above it."""
    return [name for name in ROLE_ORDER if ROLE_RANK[name] >= ROLE_RANK[role]]


def _membership(*, user: User, workspace: Workspace | int) -> Membership | None:
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, workspace_id=workspace_id).first()


def policy_allows(*, user: User, workspace: Workspace | int, action: str) -> bool:
    """Whether the user's role in the workspace allows `action` (False for a non-member)."""
    membership = _membership(user=user, workspace=workspace)
    return membership is not None and role_allows(membership.role, action)


def policy_require(*, user: User | None, workspace: Workspace | int, action: str) -> Membership | None:
    """The user's membership when their role allows `action`; PermissionDenied (403) when it does not, NotFound
    (404) when they are not a member. `user=None` is the system itself (staff in the admin, scheduled tasks),
    which the admin's own staff permissions guard; it is allowed and returns None."""
    if action not in POLICY:  # a misspelt action fails loudly, for the system too
        raise KeyError(f"No such action in the permission policy: {action}")
    if user is None:
        return None
    membership = _membership(user=user, workspace=workspace)
    if membership is None:
        raise NotFound()
    if not role_allows(membership.role, action):
        raise PermissionDenied(_refusal(membership, action))
    return membership


def _refusal(membership: Membership, action: str) -> str:
    return f"Your role ({membership.get_role_display().lower()}) cannot {POLICY[action][1]}."


def policy_capabilities(role: str | None) -> dict[str, dict[str, bool]]:
    """`{"sources": {"manage": True, ...}, ...}` for a role: templates read `can.sources.manage`."""
    capabilities: dict[str, dict[str, bool]] = {}
    for action in POLICY:
        noun, verb = action.split(".")
        capabilities.setdefault(noun, {})[verb] = role is not None and role_allows(role, action)
    return capabilities


def policy_page(action: str, *, methods: tuple[str, ...] | None = None):
    """Page view decorator: the 403 page (via the error middleware) unless the current role allows `action`
    (for every request, or only for `methods`, e.g. a page anyone may read that only some may post).

    Pages check before drawing a form nobody could submit; the services they call check again.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if methods is not None and request.method not in methods:
                return view(request, *args, **kwargs)
            membership = request.membership.get() if getattr(request, "membership", None) is not None else None
            if membership is None:
                raise NotFound("You do not belong to any workspace.")
            if not role_allows(membership.role, action):
                raise PermissionDenied(_refusal(membership, action))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
