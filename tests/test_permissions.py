"""The permission matrix (DESIGN §3): every role against every state-changing endpoint and page.

A role the policy allows succeeds (2xx/3xx); any other gets 403 — the §4 error shape from the API, the 403 page
from a page — and nothing changes; another workspace's object is 404 even for its owner's peers. The list of
routes is read from the URL resolver: a new route that changes state fails `test_every_route_is_classified`
until it is added to CASES (with the policy action it needs) or to UNGATED (with the reason no role gates it).

One workspace pair is built per module (module-scoped, outside the per-test transaction, which rolls each
request's writes back), so the matrix stays fast on SQLite and on PostgreSQL.
"""

import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.invitations import invitation_create
from accounts.models import AuditEvent, User, Workspace
from accounts.policy import POLICY, policy_allows, policy_require, role_allows
from accounts.services import login_session_open, user_register
from ai.files.models import FileUpload
from ai.models import ProviderKey
from ai.predictions.models import PredictionModel
from ai.predictions.training import ConstantModel
from campaigns.models import Campaign, Publication
from campaigns.workflow import campaign_submit
from integrations.audiences.models import Audience
from integrations.models import Customer, DataSource, IdentityMerge, SyncJob
from marketing_ai.errors import NotFound
from tests.ai.ai_helpers import fake  # noqa: F401 (pytest fixture: a fake OpenAI-compatible server)
from tests.campaigns.factories import CampaignFactory, RecommendationFactory, member, scored_variant

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "editor", "approver", "viewer")
PASSWORD = "Correct-Horse-42"


# --- the two workspaces -------------------------------------------------------------------------------------------


def _png(size=(64, 64)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (91, 75, 255)).save(buffer, format="PNG")
    return SimpleUploadedFile("asset.png", buffer.getvalue(), content_type="image/png")


def _csv(text="date,platform,impressions,clicks\n2026-01-02,instagram,100,5\n") -> SimpleUploadedFile:
    return SimpleUploadedFile("rows.csv", text.encode(), content_type="text/csv")


def _space(label: str) -> SimpleNamespace:
    """A workspace with one member per role, an author (editor) whose content the role members decide on, and one
    object of each kind the endpoints act on."""
    owner = user_register(email=f"owner@{label}.test", password=PASSWORD, company_name=label.title())
    workspace = owner.current_workspace
    users = {"owner": owner}
    for role in ROLES[1:]:
        users[role] = member(workspace=workspace, role=role, email=f"{role}@{label}.test")
    author = member(workspace=workspace, role="editor", email=f"author@{label}.test")
    s = SimpleNamespace(label=label, workspace=workspace, users=users, author=author)

    s.gtm = DataSource.objects.create(
        workspace=workspace, source_type="gtm", name="Site tag", config={"containerId": "GTM-ABC1234"}
    )
    s.shopify = DataSource.objects.create(
        workspace=workspace,
        source_type="shopify",
        name="Store",
        config={"shopDomain": f"{label}.myshopify.com"},
        secrets={"accessToken": "shpat_test"},
    )
    s.csv = DataSource.objects.create(workspace=workspace, source_type="csv", name="CSV uploads")
    s.csv_path = default_storage.save(
        f"csv-imports/{workspace.id}/matrix.csv", ContentFile(b"order_id,email,total\n1,a@b.test,10\n")
    )
    s.meta = DataSource.objects.create(
        workspace=workspace,
        source_type="facebook_pixel",
        name="Pixel",
        config={"pixelId": "123456789012345", "adAccountId": "act_1", "pageId": "1001"},
        secrets={"accessToken": "EAAB-test"},
    )
    s.failed_job = SyncJob.objects.create(
        workspace=workspace, source=s.gtm, kind="dummy_data", status="failed", params={"count": 5, "seed": 1}
    )
    s.queued_job = SyncJob.objects.create(
        workspace=workspace, source=s.gtm, kind="dummy_data", status="queued", params={"count": 5, "seed": 2}
    )

    s.draft = CampaignFactory(workspace=workspace, created_by=author)
    scored_variant(campaign=s.draft, user=author)
    in_review = CampaignFactory(workspace=workspace, created_by=author)
    scored_variant(campaign=in_review, user=author)
    s.step = campaign_submit(
        campaign=in_review, user=author, steps=[{"name": "Review", "approver_role": "approver"}]
    ).steps.get()
    s.approved = CampaignFactory(
        workspace=workspace, created_by=author, status=Campaign.Status.APPROVED, starts_at=timezone.now()
    )
    s.variant = scored_variant(campaign=s.approved, user=author, platform="facebook")
    later = timezone.now() + timedelta(days=3)
    s.scheduled_post = Publication.objects.create(
        workspace=workspace,
        campaign=s.approved,
        variant=scored_variant(campaign=s.approved, user=author, platform="instagram"),
        platform="instagram",
        target_id="2002",
        scheduled_for=later,
        created_by=author,
    )
    failed_variant = s.approved.variants.get(platform="facebook")
    s.failed_post = Publication.objects.create(
        workspace=workspace,
        campaign=s.approved,
        variant=failed_variant,
        platform="facebook",
        target_id="1001",
        scheduled_for=timezone.now(),
        status=Publication.Status.FAILED,
        error="Meta said no.",
        created_by=author,
    )
    s.published_post = Publication.objects.create(
        workspace=workspace,
        campaign=s.draft,
        variant=s.draft.variants.get(),
        platform="instagram",
        target_id="2002",
        scheduled_for=timezone.now(),
        status=Publication.Status.PUBLISHED,
        platform_post_id="17890000000000001",
        created_by=author,
    )
    s.recommendation = RecommendationFactory(workspace=workspace)
    s.audience = Audience.objects.create(workspace=workspace, name="Repeat buyers", rules=REPEAT, created_by=author)
    s.file = FileUpload.objects.create(
        workspace=workspace,
        uploaded_by=author,
        name="notes.txt",
        kind="text",
        content_type="text/plain",
        size=12,
        sha256="0" * 64,
        storage_name=f"workspaces/{workspace.id}/gone/notes.txt",
        status="succeeded",
        progress=100,
    )
    s.customer = Customer.objects.create(
        workspace=workspace, customer_key="u-1", first_seen_at=timezone.now(), last_seen_at=timezone.now()
    )
    s.model = _trained_model(workspace)
    s.loner = User.objects.create_user(email=f"loner@{label}.test", password=PASSWORD)
    s.invitation, _ = invitation_create(workspace=workspace, actor=owner, email=f"new@{label}.test", role="viewer")
    s.key = ProviderKey.objects.create(
        workspace=workspace, provider="openai", secret="sk-test-key-0042", last_four="0042", base_url=DEAD_URL
    )
    ProviderKey.objects.create(workspace=workspace, provider="meta", secret="EAAB-test", last_four="test")
    s.tokens = {
        role: login_session_open(user=user, ip="127.0.0.1", user_agent="pytest")[1] for role, user in users.items()
    }
    return s


def _trained_model(workspace) -> PredictionModel:
    """A ready version whose estimators predict constants (activating it scores the workspace's customers)."""
    estimators = {"purchase": ConstantModel(0.3), "churn": ConstantModel(0.2), "orderValue": 40.0, "features": []}
    return PredictionModel.objects.create(
        workspace=workspace, version=1, status="ready", algorithm="constant", artifact=pickle.dumps(estimators)
    )


REPEAT = {"match": "all", "conditions": [{"type": "total", "field": "orders", "op": "gte", "value": 2}]}
REPEAT_ROW = {"c-0-type": "total", "c-0-field": "orders", "c-0-op": "gte", "c-0-value": "2", "match": "all"}
DEAD_URL = "http://127.0.0.1:9/v1"  # the discard port: a provider call is refused at once, never leaves the host


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        last_audit = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        main, other = _space("acme"), _space("globex")
    yield SimpleNamespace(main=main, other=other, media=media)
    with django_db_blocker.unblock():  # leave the database as the next module expects it: empty
        Workspace.objects.filter(id__in=[main.workspace.id, other.workspace.id]).delete()
        User.objects.filter(email__endswith="@acme.test").delete()
        User.objects.filter(email__endswith="@globex.test").delete()
        AuditEvent.objects.filter(id__gt=last_audit).delete()


@pytest.fixture(autouse=True)
def _quiet_outside(settings, world):
    settings.MEDIA_ROOT = world.media
    settings.AI_RETRY_BACKOFF_SECONDS = 0
    settings.META_BACKOFF_SECONDS = 0


# --- the matrix ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    route: str  # URL name
    method: str  # post, put, patch, delete; get for reads the policy gates (exports)
    action: str  # the policy action it needs
    args: Callable[[SimpleNamespace], list] = lambda s: []
    body: Callable[[SimpleNamespace], dict] = lambda s: {}
    multipart: bool = False
    fixtures: tuple[str, ...] = field(default=())

    @property
    def is_api(self) -> bool:
        return "-api:" in self.route

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.route}"


def fresh_merge(s: SimpleNamespace) -> IdentityMerge:
    """An identity merge into the space's customer, new for each request (an undone one cannot be undone again)."""
    return IdentityMerge.objects.create(
        workspace=s.workspace,
        kind="anonymous",
        value=f"cid-{IdentityMerge.objects.count()}",
        customer_key=s.customer.customer_key,
        reason="identified",
        created_at=timezone.now(),
    )


def ids_of(*names: str) -> Callable[[SimpleNamespace], list]:
    """Address arguments: the ids of the space's objects of these names, e.g. `ids_of("approved", "variant")`."""
    return lambda s: [getattr(s, name).id for name in names]


def api_and_page(api_route: str, page_route: str, action: str, *args, **options) -> list[Case]:
    """One action posted from the API and from a page alike: the same address arguments, the same body."""
    return [Case(api_route, "post", action, *args, **options), Case(page_route, "post", action, *args, **options)]


CASES = [
    # integrations: identity merges undone and product recommendations refreshed (editor)
    Case("integrations-api:identity-merge-undo", "post", "identities.undo", lambda s: [fresh_merge(s).id]),
    Case("integrations:identity-merge-undo", "post", "identities.undo", lambda s: [s.customer.id, fresh_merge(s).id]),
    *api_and_page(
        "integrations-api:product-recommendation-refresh",
        "integrations:product-recommendations-refresh",
        "product_recommendations.refresh",
    ),
    # integrations: sources (admin), jobs and CSV imports on existing sources (editor), audience pushes (editor)
    Case(
        "integrations-api:source-list",
        "post",
        "sources.manage",
        body=lambda s: {"sourceType": "gtm", "name": "New tag", "config": {"containerId": "GTM-NEW1234"}},
    ),
    Case("integrations-api:source-detail", "patch", "sources.manage", ids_of("gtm"), lambda s: {"name": "Tag"}),
    Case("integrations-api:source-detail", "delete", "sources.manage", ids_of("gtm")),
    *api_and_page("integrations-api:source-sync", "integrations:source-sync", "jobs.run", ids_of("shopify")),
    Case("integrations-api:dummy-data", "post", "jobs.run", lambda s: ["gtm"], lambda s: {"count": 5}),
    *api_and_page(
        "integrations-api:source-csv",
        "integrations:csv-upload",
        "jobs.run",
        ids_of("csv"),
        lambda s: {"file": _csv("order_id,email,total\n1,a@b.test,10\n")},
        multipart=True,
    ),
    *api_and_page("integrations-api:job-retry", "integrations:job-retry", "jobs.run", ids_of("failed_job")),
    *api_and_page("integrations-api:job-cancel", "integrations:job-cancel", "jobs.run", ids_of("queued_job")),
    Case(
        "integrations-api:audience-push-list",
        "post",
        "audiences.push",
        body=lambda s: {"segment": "cart_abandoners", "audienceId": "555"},
    ),
    Case("integrations-api:audience-list", "post", "audiences.edit", body=lambda s: {"name": "Loyal", "rules": REPEAT}),
    Case("integrations-api:audience-detail", "patch", "audiences.edit", ids_of("audience"), lambda s: {"name": "R"}),
    Case("integrations-api:audience-detail", "delete", "audiences.edit", ids_of("audience")),
    *api_and_page(
        "integrations-api:audience-refresh", "audiences:audience-refresh", "audiences.edit", ids_of("audience")
    ),
    Case("integrations-api:audience-export", "get", "customers.export", ids_of("audience")),
    Case(
        "integrations-api:audience-pushes",
        "post",
        "audiences.push",
        ids_of("audience"),
        lambda s: {"audienceId": "555"},
    ),
    Case("audiences:audience-new", "post", "audiences.edit", body=lambda s: {"name": "Loyal", **REPEAT_ROW}),
    Case(
        "audiences:audience-edit", "post", "audiences.edit", ids_of("audience"), lambda s: {"name": "R", **REPEAT_ROW}
    ),
    Case("audiences:audience-push", "post", "audiences.push", ids_of("audience"), lambda s: {"audience_id": "555"}),
    Case("audiences:audience-delete", "post", "audiences.edit", ids_of("audience")),
    Case("analytics-api:segment-export", "get", "customers.export", lambda s: ["cart_abandoners"]),
    # predictions: training and rolling back are admins' (a train here is refused for want of data: still a 202)
    Case("ai-api:model-train", "post", "models.train", body=lambda s: {"kind": "customer"}),
    *api_and_page("ai-api:model-activate", "ai:predictions-activate", "models.train", ids_of("model")),
    Case("ai:predictions-train", "post", "models.train"),
    Case("analytics-api:segment-meta-audience", "get", "customers.export", lambda s: ["cart_abandoners"]),
    Case(
        "integrations:source-create",
        "post",
        "sources.manage",
        body=lambda s: {"source_type": "gtm", "name": "T", "containerId": "GTM-ABC1235"},
    ),
    Case("integrations:source-delete", "post", "sources.manage", ids_of("gtm")),
    Case("integrations:dummy-data", "post", "jobs.run", lambda s: ["gtm"]),
    Case("integrations:demo-data", "post", "jobs.run"),
    Case(
        "integrations:csv-import",
        "post",
        "jobs.run",
        ids_of("csv"),
        lambda s: {"path": s.csv_path, "map_email": "email"},
    ),
    Case(
        "analytics:segment-push",
        "post",
        "audiences.push",
        lambda s: ["cart_abandoners"],
        lambda s: {"audience_id": "555"},
    ),
    # campaigns (editor), approvals (approver), brand (admin)
    Case(
        "campaigns-api:campaign-list",
        "post",
        "campaigns.edit",
        body=lambda s: {"name": "Summer", "objective": "Sell more", "channels": ["instagram"]},
    ),
    *api_and_page(
        "campaigns-api:campaign-from-recommendation",
        "campaigns:from-recommendation",
        "campaigns.edit",
        ids_of("recommendation"),
    ),
    Case("campaigns-api:campaign-detail", "patch", "campaigns.edit", ids_of("draft"), lambda s: {"name": "Renamed"}),
    Case("campaigns-api:campaign-detail", "delete", "campaigns.edit", ids_of("draft")),
    *api_and_page(
        "campaigns-api:campaign-content",
        "campaigns:campaign-generate",
        "content.generate",
        ids_of("draft"),
        lambda s: {"platforms": ["instagram"]},
    ),
    *api_and_page("campaigns-api:campaign-submit", "campaigns:campaign-submit", "campaigns.edit", ids_of("draft")),
    Case(
        "campaigns-api:campaign-metrics",
        "post",
        "metrics.import",
        ids_of("draft"),
        lambda s: {"rows": [{"date": "2026-01-02", "platform": "instagram", "impressions": 100, "clicks": 5}]},
    ),
    Case("campaigns-api:variant-publish", "post", "campaigns.publish", ids_of("approved", "variant")),
    Case("campaigns-api:publication-cancel", "post", "campaigns.publish", ids_of("scheduled_post")),
    Case("campaigns-api:publication-retry", "post", "campaigns.publish", ids_of("failed_post")),
    Case(
        "campaigns-api:publication-metrics",
        "post",
        "metrics.import",
        ids_of("published_post"),
        lambda s: {"since": "2026-01-01", "until": "2026-01-07"},
        fixtures=("graph",),
    ),
    *api_and_page(
        "campaigns-api:approval-decision",
        "campaigns:approval-decision",
        "approvals.decide",
        ids_of("step"),
        lambda s: {"decision": "approve"},
    ),
    Case(
        "campaigns-api:brand-profile",
        "put",
        "brand.edit",
        body=lambda s: {"palette": ["#5B4BFF"], "bannedWords": ["cheap"]},
    ),
    Case(
        "campaigns-api:brand-assets",
        "post",
        "brand.edit",
        body=lambda s: {"file": _png(), "kind": "image"},
        multipart=True,
    ),
    Case("campaigns-api:recommendation-generate", "post", "recommendations.generate"),
    Case(
        "campaigns:campaign-new",
        "post",
        "campaigns.edit",
        body=lambda s: {"name": "Summer", "objective": "Sell more", "budget": "0"},
    ),
    Case("campaigns:campaign-status", "post", "campaigns.edit", ids_of("approved"), lambda s: {"status": "scheduled"}),
    Case(
        "campaigns:campaign-metrics",
        "post",
        "metrics.import",
        ids_of("draft"),
        lambda s: {"file": _csv()},
        multipart=True,
    ),
    Case(
        "campaigns:campaign-publish",
        "post",
        "campaigns.publish",
        ids_of("approved"),
        lambda s: {"variant": s.variant.id},
    ),
    Case("campaigns:publication-cancel", "post", "campaigns.publish", ids_of("approved", "scheduled_post")),
    Case("campaigns:publication-retry", "post", "campaigns.publish", ids_of("approved", "failed_post")),
    Case(
        "campaigns:brand-profile", "post", "brand.edit", body=lambda s: {"palette": "#5B4BFF", "tone_of_voice": "Warm"}
    ),
    Case(
        "campaigns:brand-asset-new",
        "post",
        "brand.edit",
        body=lambda s: {"file": _png(), "kind": "image"},
        multipart=True,
    ),
    # AI provider settings (admin)
    Case("ai-api:providers", "put", "provider_keys.manage", body=lambda s: {"providers": ["local"]}),
    Case(
        "ai-api:provider-keys",
        "post",
        "provider_keys.manage",
        body=lambda s: {"provider": "openai", "secret": "sk-test-valid-key-1234", "baseUrl": s.fake_url},
        fixtures=("fake",),
    ),
    Case("ai-api:provider-keys", "delete", "provider_keys.manage", body=lambda s: {"provider": "openai"}),
    Case("ai-api:provider-key-detail", "delete", "provider_keys.manage", lambda s: ["openai"]),
    *api_and_page("ai-api:provider-key-test", "ai:provider-key-test", "provider_keys.manage", lambda s: ["openai"]),
    Case("ai:provider-order", "post", "provider_keys.manage", body=lambda s: {"providers": "local"}),
    Case(
        "ai:provider-key-save",
        "post",
        "provider_keys.manage",
        body=lambda s: {
            "provider": "openai",
            "secret": "sk-test-valid-key-1234",
            "base_url": s.fake_url,
            "scope": "workspace",
        },
        fixtures=("fake",),
    ),
    Case("ai:provider-key-delete", "post", "provider_keys.manage", lambda s: ["openai"]),
    # uploaded files (editor)
    *api_and_page(
        "files-api:file-list", "files:file-upload", "files.upload", body=lambda s: {"file": _csv()}, multipart=True
    ),
    Case("files-api:file-detail", "delete", "files.upload", ids_of("file")),
    *api_and_page("files-api:file-reanalyse", "files:file-reanalyse", "files.upload", ids_of("file")),
    Case("files:file-delete", "post", "files.upload", ids_of("file")),
    # members and workspace settings (admin)
    Case(
        "accounts-api:invitation-create",
        "post",
        "members.manage",
        body=lambda s: {"email": "x@new.test", "role": "viewer"},
    ),
    Case("accounts:members", "post", "members.manage", body=lambda s: {"email": s.loner.email, "role": "viewer"}),
    Case(
        "accounts:invitation-create",
        "post",
        "members.manage",
        body=lambda s: {"invite-email": "y@new.test", "invite-role": "viewer"},
    ),
    Case("accounts:invitation-revoke", "post", "members.manage", ids_of("invitation")),
    Case(
        "accounts:workspace-display",
        "post",
        "workspace.settings",
        body=lambda s: {"currency": "EUR", "locale": "de_DE"},
    ),
]

# Routes no role gates, each with the reason; everything else that changes state must be in CASES.
UNGATED = {
    "integrations:product-recommendations": "read-only: the recommendations block every member may read",
    "accounts-api:register": "public: creates the caller's own account and workspace",
    "accounts-api:login": "public: authentication",
    "accounts-api:refresh": "public: authentication",
    "accounts-api:logout": "the caller's own login session",
    "accounts-api:session-revoke": "the caller's own login sessions (another user's is 404, tests/accounts)",
    "accounts-api:profile": "the caller's own profile; renaming the workspace asks workspace.settings (tests/accounts)",
    "accounts-api:password-change": "the caller's own password",
    "accounts-api:invitation-accept": "the invited person joins with the role the invitation carries",
    "accounts-api:notification-read-all": "the caller's own notifications",
    "accounts-api:notification-read": "the caller's own notifications",
    "ai-api:intent": "classifies a text; stores nothing",
    "chat-api:conversation-list": "own conversations (every role, DESIGN §3)",
    "chat-api:message-create": "own conversations (every role)",
    "chat-api:conversation-detail": "own conversations (another user's is 404, tests/chat)",
    "chat-api:conversation-stream": "own conversations: answers the caller's last message",
    "integrations-api:collect": "public intake, authenticated by the source's write key",
    "integrations-api:shopify-webhook": "public intake, authenticated by the HMAC signature",
    "integrations.tracking_api.segment_call": "public intake, authenticated by the source's write key",
    "integrations.tracking_api.conversions_api_events": "public intake, authenticated by the source's access token",
    "accounts:landing": "read",
    "accounts:dashboard": "read",
    "accounts:login": "public: authentication",
    "accounts:signup": "public: creates the caller's own account and workspace",
    "accounts:logout": "the caller's own login session",
    "accounts:profile": "the caller's own profile; renaming the workspace asks workspace.settings",
    "accounts:password-change": "the caller's own password",
    "accounts:sessions": "read (own sessions)",
    "accounts:sessions-revoke-others": "the caller's own login sessions",
    "accounts:session-revoke": "the caller's own login sessions",
    "accounts:workspace-switch": "the caller's own current workspace, among their memberships",
    "accounts:invitation": "the invited person joins with the role the invitation carries",
    "accounts:notifications": "read (own notifications)",
    "accounts:notifications-read": "the caller's own notifications",
    "accounts:notification-bell": "read",
    "accounts:notification-open": "the caller's own notification",
    "integrations:source-list": "read",
    "integrations:send-data": "read",
    "integrations:job-detail": "read",
    "integrations:customer-list": "read",
    "integrations:customer-detail": "read",
    "integrations:source-detail": "read",
    "analytics:overview": "read",
    "audiences:audience-list": "read",
    "audiences:audience-detail": "read",
    "ai:predictions": "read",
    "analytics:segment-customers": "read",
    "chat:chat": "own conversations",
    "chat:conversation-new": "own conversations",
    "chat:conversation": "own conversations",
    "chat:conversation-rename": "own conversations",
    "chat:conversation-delete": "own conversations",
    "chat:conversation-export": "own conversations",
    "chat:message": "own conversations",
    "ai:settings": "read",
    "ai:usage": "read; its POST recomputes the usage summary from the call log (derived, idempotent)",
    "files:file-list": "read",
    "files:file-detail": "read",
    "files:file-download": "public: an expiring signed link naming one file (the token is the permission)",
    "campaigns:campaign-list": "read",
    "campaigns:campaign-detail": "read",
    "campaigns:variant-image": "read",
    "campaigns:brand-asset-file": "read",
    "campaigns:variant-image-public": "public: an expiring signed link for Instagram",
    "django.views.generic.base.RedirectView": "a redirect",
    "monitoring:healthz": "public: liveness probe, reads nothing",
    "monitoring:readyz": "public: readiness probe (database, Redis, broker)",
    "monitoring:metrics": "read: the metrics token or staff (monitoring's own tests)",
    "monitoring:page": "read: staff only (admin staff roles, tests/accounts/test_staff_roles.py)",
    "schema": "read",
    "docs": "read",
}
STATE_CHANGING = ("post", "put", "patch", "delete")


def _routes(patterns=None, namespace=""):
    """(name, view) of every route outside the Django admin (staff permissions are tested in tests/accounts)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue
            inner = pattern.namespace or ""
            yield from _routes(pattern.url_patterns, f"{namespace}:{inner}".strip(":") if inner else namespace)
        elif isinstance(pattern, URLPattern):
            view = pattern.callback
            if pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            else:
                target = getattr(view, "view_class", None) or view
                name = f"{target.__module__}.{target.__qualname__}"
            yield name, view


def test_every_route_is_classified():
    """A route that may change state is in the matrix or says why no role gates it; none is forgotten."""
    covered = {(case.route, case.method) for case in CASES}
    missing = []
    for name, view in _routes():
        api_class = getattr(view, "cls", None)
        if api_class is not None:  # DRF: each method the view implements
            for method in STATE_CHANGING:
                if hasattr(api_class, method) and (name, method) not in covered and name not in UNGATED:
                    missing.append(f"{method.upper()} {name}")
        elif name not in UNGATED and not any(route == name for route, _ in covered):
            missing.append(name)
    assert not missing, f"Add these routes to CASES (with their policy action) or to UNGATED (with why): {missing}"


def test_the_matrix_names_only_routes_and_actions_that_exist():
    names = {name for name, _ in _routes()}
    assert {case.route for case in CASES} <= names
    assert {case.action for case in CASES} <= set(POLICY)
    assert set(UNGATED) <= names


def _request(case: Case, space: SimpleNamespace, role: str, request):
    for fixture in case.fixtures:
        server = request.getfixturevalue(fixture)
        space.fake_url = getattr(server, "base_url", "")
    url = reverse(case.route, args=case.args(space))
    body = case.body(space)
    if case.is_api:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {space.tokens[role].access_token}")
        if case.method == "get":
            return client.get(url)
        return getattr(client, case.method)(url, body, format="multipart" if case.multipart else "json")
    client = Client()
    client.force_login(space.users[role])
    return getattr(client, case.method)(url, body)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_role_matrix(case, role, world, request):
    response = _request(case, world.main, role, request)

    if role_allows(role, case.action):
        assert 200 <= response.status_code < 400, (response.status_code, response.content[:400])
    elif case.is_api:
        assert response.status_code == 403
        body = response.json()
        assert body["statusCode"] == 403 and body["message"].startswith(f"Your role ({role}) cannot ")
    else:
        assert response.status_code == 403
        assert "You do not have access to this page" in response.content.decode()


def _takes_an_object(case: Case) -> bool:
    """Whether the case's address names an object of the workspace (rather than a type, a segment or nothing)."""
    probe = SimpleNamespace()
    try:
        case.args(probe)
    except AttributeError:
        return True
    return False


@pytest.mark.parametrize("case", [case for case in CASES if _takes_an_object(case)], ids=lambda case: case.id)
def test_another_workspaces_object_is_not_found(case, world, request):
    """The main workspace's owner (allowed everything) aims at the other workspace's object: 404, nothing leaks."""
    target = SimpleNamespace(**{**vars(world.other), "tokens": world.main.tokens, "users": world.main.users})
    response = _request(case, target, "owner", request)

    assert response.status_code == 404
    if case.is_api:
        assert response.json()["statusCode"] == 404


# --- pages hide what a role cannot use ----------------------------------------------------------------------------

CONTROLS = [
    # (page, the control's text or address, the action it needs)
    (lambda s: reverse("integrations:source-list"), "Add a source", "sources.manage"),
    (lambda s: reverse("integrations:source-list"), "Generate dummy data", "jobs.run"),
    (lambda s: reverse("integrations:source-detail", args=[s.gtm.id]), "/delete/", "sources.manage"),
    (lambda s: reverse("integrations:source-detail", args=[s.shopify.id]), "Sync now", "jobs.run"),
    (lambda s: reverse("integrations:source-detail", args=[s.csv.id]), "Upload a CSV file", "jobs.run"),
    (lambda s: reverse("campaigns:campaign-list"), "New campaign", "campaigns.edit"),
    (lambda s: reverse("campaigns:campaign-list"), "/campaigns/from-recommendation/", "campaigns.edit"),
    (lambda s: reverse("campaigns:campaign-detail", args=[s.draft.id]), "Generate content", "content.generate"),
    (lambda s: reverse("campaigns:brand-profile"), "Save brand profile", "brand.edit"),
    (lambda s: reverse("campaigns:brand-profile"), "/campaigns/brand/assets/", "brand.edit"),
    (lambda s: reverse("audiences:audience-list"), "New audience", "audiences.edit"),
    (lambda s: reverse("ai:predictions"), reverse("ai:predictions-train"), "models.train"),
    (lambda s: reverse("audiences:audience-detail", args=[s.audience.id]), "/refresh/", "audiences.edit"),
    (lambda s: reverse("audiences:audience-detail", args=[s.audience.id]), "Push audience", "audiences.push"),
    (lambda s: reverse("audiences:audience-detail", args=[s.audience.id]), "format=csv", "customers.export"),
    (lambda s: reverse("files:file-list"), "Upload and analyse", "files.upload"),
    (lambda s: reverse("files:file-detail", args=[s.file.id]), "Analyse again", "files.upload"),
    (lambda s: reverse("ai:settings"), reverse("ai:provider-order"), "provider_keys.manage"),
    (lambda s: reverse("ai:settings"), 'value="workspace"', "provider_keys.manage"),
    (lambda s: reverse("accounts:members"), "/workspace/invitations/", "members.manage"),
    (lambda s: reverse("analytics:segment-customers", args=["cart_abandoners"]), "Export CSV", "customers.export"),
    (lambda s: reverse("analytics:segment-customers", args=["cart_abandoners"]), "Push segment", "audiences.push"),
]


@pytest.mark.parametrize("role", ROLES)
def test_pages_show_each_role_only_the_controls_it_may_use(role, world):
    space = world.main
    client = Client()
    client.force_login(space.users[role])
    pages = {}
    wrong = []
    for page, control, action in CONTROLS:
        url = page(space)
        if url not in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            pages[url] = response.content.decode()
        if (control in pages[url]) != role_allows(role, action):
            wrong.append(f"{url}: {control!r} {'shown' if control in pages[url] else 'hidden'}")
    assert not wrong


def test_the_policy_refuses_an_unknown_action_and_answers_a_stranger_not_found(world):
    owner, stranger = world.main.users["owner"], world.other.users["owner"]
    with pytest.raises(KeyError):
        policy_require(user=owner, workspace=world.main.workspace, action="sources.mange")
    with pytest.raises(NotFound):  # another workspace's member learns nothing about this one
        policy_require(user=stranger, workspace=world.main.workspace, action="workspace.read")
    assert not policy_allows(user=stranger, workspace=world.main.workspace, action="workspace.read")
    assert policy_require(user=None, workspace=world.main.workspace, action="workspace.delete") is None  # the system
