from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from .policy import policy_capabilities
from .selectors import workspace_list_for_user

# (label, url name, icon) — entries whose URL does not exist (yet) are skipped, never an error.
NAVIGATION = [
    ("Dashboard", "accounts:dashboard", "home"),
    ("Chat", "chat:chat", "chat"),
    ("Files", "files:file-list", "file"),
    ("Data sources", "integrations:source-list", "database"),
    ("Customers", "integrations:customer-list", "users"),
    ("Analytics", "analytics:overview", "chart"),
    ("Audiences", "audiences:audience-list", "users"),
    ("Predictions", "ai:predictions", "sparkles"),
    ("Campaigns", "campaigns:campaign-list", "megaphone"),
    ("Brand", "campaigns:brand-profile", "palette"),
    ("Usage & cost", "ai:usage", "coins"),
    ("AI providers", "ai:settings", "cpu"),
]


def navigation(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    items = []
    for label, name, icon in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "icon": icon, "active": False})
    if request.user.is_staff:  # the site's monitoring page (monitoring/), staff only
        items.append({"label": "Monitoring", "url": reverse("monitoring:page"), "icon": "chart", "active": False})
    # The longest matching prefix wins, so /campaigns/brand/ marks "Brand", not "Campaigns" too.
    matching = [item for item in items if item["url"] != "/" and request.path.startswith(item["url"])]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["active"] = True
    membership = getattr(request, "membership", None)
    user = request.user
    return {
        "nav_items": items,
        "current_membership": membership.get() if membership is not None else None,
        # Queried only when a template asks (the workspace switcher in the sidebar).
        "user_workspaces": SimpleLazyObject(lambda: list(workspace_list_for_user(user=user))),
    }


def policy(request):
    """`can`: what the current role may do, by the one policy (`{% if can.sources.manage %}`), to hide the rest."""
    membership = getattr(request, "membership", None)
    if membership is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"can": policy_capabilities(None)}
    return {"can": SimpleLazyObject(lambda: policy_capabilities(getattr(membership.get(), "role", None)))}
