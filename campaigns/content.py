"""Content generation: per-platform copy through the provider router (JSON asked, validated, else an
offline default written here from the campaign and brand), an image from the image adapter, then scoring."""

import io
import json
import re

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from accounts.models import User, Workspace
from accounts.policy import policy_require
from ai import router
from ai.providers.base import ChatRequest
from ai.ratelimit import ai_rate_limit_check
from integrations.recommendations.selectors import products_to_feature
from marketing_ai.celery import QUEUE_UNAVAILABLE, task_publish_on_commit
from marketing_ai.errors import Conflict, RateLimited

from .activity import activity_record
from .adapters.images import campaign_image
from .compliance import blocking_failures, route, score_content
from .models import BrandAsset, BrandProfile, Campaign, ComplianceCheck, ContentJob, ContentVariant
from .platforms import PLATFORMS, PlatformSpec
from .services import EDITABLE_STATUSES

COPY_SCHEMA = {
    "type": "object",
    "required": ["headline", "body", "hashtags", "cta"],
    "properties": {
        "headline": {"type": "string"},
        "body": {"type": "string"},
        "hashtags": {"type": "array", "items": {"type": "string"}},
        "cta": {"type": "string"},
    },
}
CTA_BY_KEYWORD = [
    (("purchase", "sale", "sell", "revenue", "shop", "order", "buy", "cart", "checkout"), "Shop now"),
    (("sign", "register", "lead", "subscribe", "newsletter"), "Sign up"),
    (("book", "demo", "trial"), "Get started"),
]


@transaction.atomic
def content_job_start(*, campaign: Campaign, user: User, platforms: list[str]) -> ContentJob:
    """Queue a generation job for a draft/rejected campaign; the task starts after commit."""
    from .tasks import content_generate_task

    policy_require(user=user, workspace=campaign.workspace, action="content.generate")
    wanted = list(dict.fromkeys(str(p).lower() for p in platforms or []))
    unknown = [p for p in wanted if p not in PLATFORMS]
    if not wanted or unknown:
        raise ValidationError({"platforms": f"Choose from {', '.join(PLATFORMS)}."})
    if campaign.status not in EDITABLE_STATUSES:
        raise Conflict(f"Content can only be generated for a draft or rejected campaign, not {campaign.status}.")
    job = ContentJob.objects.create(
        workspace=campaign.workspace, campaign=campaign, requested_by=user, platforms=wanted
    )
    task_publish_on_commit(content_generate_task, job.pk, on_unavailable=lambda: _job_unqueued(job))
    return job


def _job_unqueued(job: ContentJob) -> None:
    ContentJob.objects.filter(pk=job.pk, status=ContentJob.Status.QUEUED).update(
        status=ContentJob.Status.FAILED, error=QUEUE_UNAVAILABLE, finished_at=timezone.now(), updated_at=timezone.now()
    )


def content_job_run(*, job: ContentJob) -> ContentJob:
    """Generate one scored variant per platform; the job ends succeeded or failed (with a safe error)."""
    if job.status in (ContentJob.Status.SUCCEEDED, ContentJob.Status.FAILED):
        return job
    job.status, job.started_at = ContentJob.Status.RUNNING, timezone.now()
    job.save(update_fields=["status", "started_at", "updated_at"])
    try:
        for index, platform in enumerate(job.platforms, start=1):
            variant_generate(campaign=job.campaign, platform=platform, job=job, user=job.requested_by)
            job.progress, job.variants_count = int(index * 100 / len(job.platforms)), index
            job.save(update_fields=["progress", "variants_count", "updated_at"])
    except Exception as exc:  # recorded on the job; the task itself does not retry content generation
        job.status, job.error, job.finished_at = ContentJob.Status.FAILED, _safe_error(exc), timezone.now()
        job.save(update_fields=["status", "error", "finished_at", "updated_at"])
        activity_record(  # the log keeps it, and the open campaign page stops waiting
            workspace=job.workspace,
            campaign=job.campaign,
            actor=job.requested_by,
            verb="content_failed",
            message=f"Content generation failed: {job.error}"[:1000],
            job=job.pk,
        )
        return job
    with transaction.atomic():
        job.status, job.finished_at = ContentJob.Status.SUCCEEDED, timezone.now()
        job.save(update_fields=["status", "finished_at", "updated_at"])
        passed = job.variants.filter(validation_status=ContentVariant.ValidationStatus.PASSED).count()
        who = job.requested_by.full_name if job.requested_by else "The system"
        activity_record(
            workspace=job.workspace,
            campaign=job.campaign,
            actor=job.requested_by,
            verb="content",
            message=f"{who} generated {job.variants_count} variant(s) ({', '.join(job.platforms)}): "
            f"{passed} passed the brand check, {job.variants_count - passed} need manual review.",
            job=job.pk,
        )
    return job


def _safe_error(exc: Exception) -> str:
    return str(getattr(exc, "message", "")) or f"Generation failed ({type(exc).__name__})."


def _hashtag(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", text) if part)


def offline_copy(*, campaign: Campaign, brand: BrandProfile | None, spec: PlatformSpec) -> dict:
    """A default copy written from the campaign's own fields (no model needed)."""
    objective = campaign.objective.strip().rstrip(".")
    haystack = f"{campaign.objective} {campaign.name}".lower()
    cta = next((label for words, label in CTA_BY_KEYWORD if any(w in haystack for w in words)), "Learn more")
    message = (campaign.key_message or objective).strip().rstrip(".")
    parts = [f"{message}."]
    if campaign.offer:
        parts.append(f"{campaign.offer.strip().rstrip('.')}.")
    parts.append(f"{cta}.")
    tags = [_hashtag(campaign.name), _hashtag(campaign.segment)] if campaign.segment else [_hashtag(campaign.name)]
    return {"headline": campaign.name, "body": " ".join(parts), "hashtags": [t for t in tags if t], "cta": cta}


def _parse_copy(text: str) -> dict | None:
    match = re.search(r"\{.*\}", text or "", re.DOTALL)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("headline", "body", "cta")):
        return None
    tags = data.get("hashtags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return None
    if not data["body"].strip():
        return None
    return {"headline": data["headline"], "body": data["body"], "hashtags": tags, "cta": data["cta"]}


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)].rsplit(" ", 1)[0].rstrip(",.;:")
    return cut + "…"


def fit_to_platform(*, copy: dict, spec: PlatformSpec, brand: BrandProfile | None) -> dict:
    """Enforce the platform's limits: hashtag count, total length (body + hashtags), headline length."""
    layout = (brand.layout if brand else None) or {}
    max_tags = min(spec.max_hashtags, int(layout.get("maxHashtags", spec.max_hashtags)))
    tags = [t for t in (_hashtag(str(tag)) for tag in copy["hashtags"]) if t]
    tags = list(dict.fromkeys(tags))[:max_tags]
    tag_text = " ".join(f"#{t}" for t in tags)
    room = spec.max_chars - (len(tag_text) + 1 if tag_text else 0)
    return {
        "headline": _truncate(copy["headline"].strip(), spec.max_headline),
        "body": _truncate(" ".join(copy["body"].split()), room),
        "hashtags": tags,
        "cta": copy["cta"].strip()[:80],
    }


def copy_generate(
    *, campaign: Campaign, brand: BrandProfile | None, spec: PlatformSpec, user: User | None = None
) -> tuple[dict, dict]:
    """Ask the provider router for JSON copy (its usage counted for `user`); the offline copy when unusable."""
    workspace = campaign.workspace
    products = products_to_feature(workspace=workspace, segment=campaign.segment or "")
    featured = "; ".join(f"{p.name} ({p.reason})" for p in products)
    prompt = (
        f"Write a {spec.label} post for the campaign “{campaign.name}”. Objective: {campaign.objective}. "
        f"Audience segment: {campaign.segment or 'all customers'}. Key message: {campaign.key_message or '-'}. "
        f"Offer: {campaign.offer or '-'}. "
        + (f"Products this audience is most likely to buy next: {featured}. " if featured else "")
        + f"At most {spec.max_chars} characters including at most "
        f"{spec.max_hashtags} hashtags. Answer as JSON with headline, body, hashtags (list) and cta."
    )
    system = "You write on-brand marketing copy."
    if brand and brand.tone_of_voice:
        system += f" Tone of voice: {brand.tone_of_voice}."
    if brand and brand.banned_words:
        system += f" Never use these words: {', '.join(brand.banned_words)}."
    request = ChatRequest(
        messages=[{"role": "user", "content": prompt}],
        system=system,
        context={
            "campaign": {"name": campaign.name, "objective": campaign.objective, "segment": campaign.segment},
            "products": [{"name": p.name, "reason": p.reason, "lift": p.lift} for p in products],
        },
        purpose="content",
        json_schema=COPY_SCHEMA,
    )
    try:
        ai_rate_limit_check(workspace=workspace)
    except RateLimited:
        return offline_copy(campaign=campaign, brand=brand, spec=spec), {"copySource": "offline", "reason": "rate"}
    # The router never raises for a provider failure: it falls back, and logs each call itself.
    text, usage = router.complete_sync(request=request, workspace=workspace, user=user)
    parsed = _parse_copy(text)
    meta = {"provider": usage.get("provider", ""), "model": usage.get("model", "")}
    if parsed is None:
        return offline_copy(campaign=campaign, brand=brand, spec=spec), {**meta, "copySource": "offline"}
    return parsed, {**meta, "copySource": "provider"}


def _logo_image(workspace: Workspace) -> Image.Image | None:
    asset = BrandAsset.objects.filter(workspace=workspace, kind=BrandAsset.Kind.LOGO).first()
    if asset is None:
        return None
    try:
        with asset.file.open("rb") as handle:
            image = Image.open(handle)
            image.load()
            return image
    except (OSError, ValueError):
        return None


def variant_generate(*, campaign: Campaign, platform: str, job: ContentJob | None, user: User | None) -> ContentVariant:
    """Copy + image for one platform, scored; it becomes the platform's current variant."""
    spec = PLATFORMS[platform]
    brand = BrandProfile.objects.filter(workspace=campaign.workspace).first()
    raw, copy_meta = copy_generate(campaign=campaign, brand=brand, spec=spec, user=user)
    copy = fit_to_platform(copy=raw, spec=spec, brand=brand)
    typography = (brand.typography if brand else None) or {}
    picture = campaign_image(
        workspace=campaign.workspace,
        spec=spec,
        title=copy["headline"] or campaign.name,
        query=f"{campaign.name} {campaign.segment}".strip(),
        palette=(brand.palette if brand else None) or [],
        logo=_logo_image(campaign.workspace),
        logo_requirements=(brand.logo_requirements if brand else None) or {},
    )
    fonts = typography.get("fonts") or ["Aileron"]
    metadata = {
        **copy_meta,
        **picture.metadata,
        "imageSource": picture.source,
        "font": {
            "family": fonts[0],
            "size": max(int(typography.get("minFontSize") or 0), picture.metadata["textSize"]),
        },
    }
    return variant_store(
        campaign=campaign, platform=platform, job=job, user=user, copy=copy, image=picture.image, metadata=metadata
    )


@transaction.atomic
def variant_store(
    *,
    campaign: Campaign,
    platform: str,
    job: ContentJob | None,
    user: User | None,
    copy: dict,
    image: Image.Image | None,
    metadata: dict,
) -> ContentVariant:
    """Score and save a variant and its compliance check; older variants of the platform stop being current."""
    brand = BrandProfile.objects.filter(workspace=campaign.workspace).first()
    score, breakdown = score_content(platform=platform, image=image, metadata=metadata, brand=brand, **copy)
    status = route(score, campaign.workspace.compliance_threshold, blocking=blocking_failures(breakdown))
    if brand is None:  # nothing to score against: a person reviews it, nothing is auto-approved on an empty rule set
        status = ContentVariant.ValidationStatus.MANUAL_REVIEW
    variant = ContentVariant(
        workspace=campaign.workspace,
        campaign=campaign,
        job=job,
        created_by=user,
        platform=platform,
        image_ratio=PLATFORMS[platform].ratio,
        image_width=image.width if image else 0,
        image_height=image.height if image else 0,
        metadata=metadata,
        compliance_score=score,
        compliance_breakdown=breakdown,
        validation_status=status,
        **copy,
    )
    if image is not None:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        variant.image.save(f"c{campaign.pk}-{platform}.png", ContentFile(buffer.getvalue()), save=False)
    variant.full_clean()
    campaign.variants.filter(platform=platform, is_current=True).update(is_current=False)
    variant.save()
    ComplianceCheck.objects.create(
        variant=variant,
        score=score,
        threshold=campaign.workspace.compliance_threshold,
        breakdown=breakdown,
        validation_status=status,
    )
    return variant
