import io
from decimal import Decimal

import pytest
from PIL import Image

from accounts.models import Membership
from campaigns.models import ActivityLog, BrandAsset, Campaign, ContentJob, ContentVariant
from tests.conftest import api_client_for

from .factories import CampaignFactory, RecommendationFactory, scored_variant

pytestmark = pytest.mark.django_db

CAMPAIGN = {
    "name": "Summer drop",
    "objective": "Sell the summer collection",
    "segment": "high_value",
    "channels": ["instagram", "x"],
    "budget": "250.00",
    "startsAt": "2026-12-01T09:00:00Z",
    "endsAt": "2026-12-15T09:00:00Z",
}


def test_create_a_campaign(jwt_api_client, workspace):
    response = jwt_api_client.post("/api/campaigns", CAMPAIGN, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["budget"] == "250.00"
    assert body["channels"] == ["instagram", "x"]
    assert Campaign.objects.get(pk=body["id"]).workspace == workspace


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"budget": "-1"}, "budget"),
        ({"endsAt": "2026-11-30T09:00:00Z"}, "endsAt"),
        ({"channels": ["myspace"]}, "channels"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_campaigns_are_a_400_with_the_field(jwt_api_client, change, field):
    response = jwt_api_client.post("/api/campaigns", {**CAMPAIGN, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400
    assert any(key.startswith(field) for key in response.json()["errors"])
    assert not Campaign.objects.exists()


def test_a_viewer_cannot_create_campaigns(workspace):
    from .factories import member

    viewer = member(workspace=workspace, role=Membership.Role.VIEWER)
    response = api_client_for(viewer).post("/api/campaigns", CAMPAIGN, format="json")
    assert response.status_code == 403


def test_create_from_a_recommendation_copies_its_fields_and_rationale(jwt_api_client, workspace, user):
    recommendation = RecommendationFactory(workspace=workspace, created_by=user)

    response = jwt_api_client.post(f"/api/campaigns/from-recommendation/{recommendation.pk}")

    assert response.status_code == 201
    body = response.json()
    assert body["recommendationId"] == recommendation.pk
    assert (body["name"], body["objective"], body["segment"]) == (
        recommendation.name,
        recommendation.objective,
        "high_value",
    )
    assert body["channels"] == ["instagram", "email"]
    assert body["rationale"] == recommendation.rationale
    assert body["keyMessage"] == recommendation.key_message
    assert body["budget"] == "500.00"


def test_another_workspaces_recommendation_is_a_404(jwt_api_client, other_workspace_user):
    foreign = RecommendationFactory(workspace=other_workspace_user.current_workspace)
    response = jwt_api_client.post(f"/api/campaigns/from-recommendation/{foreign.pk}")
    assert response.status_code == 404
    assert not Campaign.objects.exists()


def test_list_filters_by_status_within_the_workspace(
    jwt_api_client, workspace, other_workspace_user, django_assert_max_num_queries
):
    CampaignFactory(workspace=workspace, status="draft")
    CampaignFactory(workspace=workspace, status="approved", name="Live one")
    CampaignFactory(workspace=other_workspace_user.current_workspace, status="approved")

    with django_assert_max_num_queries(8):
        response = jwt_api_client.get("/api/campaigns?status=approved")

    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["Live one"]
    assert jwt_api_client.get("/api/campaigns?status=bogus").status_code == 400


def test_another_workspaces_campaign_is_a_404_everywhere(other_jwt_api_client, workspace):
    campaign = CampaignFactory(workspace=workspace)
    for method, path in [
        ("get", f"/api/campaigns/{campaign.pk}"),
        ("patch", f"/api/campaigns/{campaign.pk}"),
        ("delete", f"/api/campaigns/{campaign.pk}"),
        ("get", f"/api/campaigns/{campaign.pk}/variants"),
        ("post", f"/api/campaigns/{campaign.pk}/submit"),
        ("get", f"/api/campaigns/{campaign.pk}/metrics"),
        ("post", f"/api/campaigns/{campaign.pk}/content"),
    ]:
        response = getattr(other_jwt_api_client, method)(path, {}, format="json")
        assert response.status_code == 404, path
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_patch_edits_a_draft_and_refuses_a_wrong_transition(jwt_api_client, workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user)

    edited = jwt_api_client.patch(f"/api/campaigns/{campaign.pk}", {"budget": "99.50"}, format="json")
    approve = jwt_api_client.patch(f"/api/campaigns/{campaign.pk}", {"status": "approved"}, format="json")
    complete = jwt_api_client.patch(f"/api/campaigns/{campaign.pk}", {"status": "completed"}, format="json")

    assert edited.status_code == 200 and edited.json()["budget"] == "99.50"
    assert approve.status_code == 409
    assert complete.status_code == 409
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_an_approved_campaign_moves_through_schedule_active_completed(jwt_api_client, workspace, user):
    campaign = CampaignFactory(
        workspace=workspace,
        created_by=user,
        status="approved",
        starts_at="2026-12-01T00:00:00Z",
        ends_at="2026-12-02T00:00:00Z",
    )
    statuses = []
    for status in ("scheduled", "active", "completed"):
        response = jwt_api_client.patch(f"/api/campaigns/{campaign.pk}", {"status": status}, format="json")
        statuses.append((response.status_code, response.json()["status"]))
    assert statuses == [(200, "scheduled"), (200, "active"), (200, "completed")]
    assert jwt_api_client.patch(f"/api/campaigns/{campaign.pk}", {"name": "x"}, format="json").status_code == 409
    assert ActivityLog.objects.filter(campaign=campaign, verb="status").count() == 3


def test_delete_a_draft_but_not_a_campaign_in_review(jwt_api_client, workspace, user):
    draft = CampaignFactory(workspace=workspace, created_by=user)
    reviewing = CampaignFactory(workspace=workspace, created_by=user, status="in_review")

    assert jwt_api_client.delete(f"/api/campaigns/{draft.pk}").status_code == 204
    assert jwt_api_client.delete(f"/api/campaigns/{reviewing.pk}").status_code == 409
    assert list(Campaign.objects.values_list("pk", flat=True)) == [reviewing.pk]


def test_submit_then_decide_through_the_api(jwt_api_client, workspace, user):
    from .factories import member

    approver = member(workspace=workspace, role=Membership.Role.APPROVER, email="approver@acme.test")
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)

    submitted = jwt_api_client.post(f"/api/campaigns/{campaign.pk}/submit", {}, format="json")
    again = jwt_api_client.post(f"/api/campaigns/{campaign.pk}/submit", {}, format="json")
    step_id = submitted.json()["steps"][0]["id"]
    own = jwt_api_client.post(f"/api/approvals/{step_id}/decision", {"decision": "approve"}, format="json")
    decided = api_client_for(approver).post(
        f"/api/approvals/{step_id}/decision", {"decision": "approve", "comment": "Great"}, format="json"
    )
    twice = api_client_for(approver).post(f"/api/approvals/{step_id}/decision", {"decision": "reject"}, format="json")

    assert submitted.status_code == 200 and submitted.json()["status"] == "pending"
    assert again.status_code == 409
    assert own.status_code == 403  # the owner created the campaign: four-eyes
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert decided.json()["decisions"][0]["comment"] == "Great"
    assert twice.status_code == 409
    assert jwt_api_client.get(f"/api/campaigns/{campaign.pk}").json()["status"] == "approved"


def test_a_viewer_deciding_is_a_403_and_another_workspace_step_a_404(
    jwt_api_client, workspace, user, other_jwt_api_client
):
    from .factories import member

    viewer = member(workspace=workspace, role=Membership.Role.VIEWER)
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)
    step_id = jwt_api_client.post(f"/api/campaigns/{campaign.pk}/submit", {}, format="json").json()["steps"][0]["id"]

    assert (
        api_client_for(viewer)
        .post(f"/api/approvals/{step_id}/decision", {"decision": "approve"}, format="json")
        .status_code
        == 403
    )
    assert (
        other_jwt_api_client.post(
            f"/api/approvals/{step_id}/decision", {"decision": "approve"}, format="json"
        ).status_code
        == 404
    )


def test_a_too_long_comment_is_a_400_and_writes_nothing(jwt_api_client, workspace, user):
    from .factories import member

    approver = member(workspace=workspace, role=Membership.Role.APPROVER)
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)
    step_id = jwt_api_client.post(f"/api/campaigns/{campaign.pk}/submit", {}, format="json").json()["steps"][0]["id"]
    logged = ActivityLog.objects.count()

    response = api_client_for(approver).post(
        f"/api/approvals/{step_id}/decision", {"decision": "approve", "comment": "y" * 1500}, format="json"
    )

    assert response.status_code == 400
    assert ActivityLog.objects.count() == logged
    assert jwt_api_client.get(f"/api/campaigns/{campaign.pk}").json()["status"] == "in_review"


def test_submit_with_custom_steps(jwt_api_client, workspace, user):
    from .factories import member

    approver = member(workspace=workspace, role=Membership.Role.APPROVER)
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)
    response = jwt_api_client.post(
        f"/api/campaigns/{campaign.pk}/submit",
        {
            "steps": [
                {"name": "Brand", "approverUserId": approver.pk, "escalateAfterHours": 24},
                {"name": "Exec", "approverRole": "owner", "minComplianceScore": "0.50"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    steps = response.json()["steps"]
    assert [(s["name"], s["status"], s["approverUserId"], s["approverRole"]) for s in steps] == [
        ("Brand", "pending", approver.pk, ""),
        ("Exec", "waiting", None, "owner"),
    ]


def test_content_generation_is_a_job_that_produces_scored_variants(
    jwt_api_client, workspace, user, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(
        workspace=workspace, created_by=user, name="Autumn boots", objective="Sell more boots to returning customers"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = jwt_api_client.post(
            f"/api/campaigns/{campaign.pk}/content", {"platforms": ["instagram", "x", "email"]}, format="json"
        )

    assert response.status_code == 202
    job_id = response.json()["job"]["id"]
    job = jwt_api_client.get(f"/api/content-jobs/{job_id}").json()
    assert (job["status"], job["progress"], job["variantsCount"]) == ("succeeded", 100, 3)

    variants = jwt_api_client.get(f"/api/campaigns/{campaign.pk}/variants").json()["results"]
    assert sorted(v["platform"] for v in variants) == ["email", "instagram", "x"]
    for variant in variants:
        assert Decimal(variant["complianceScore"]) >= 0
        assert set(variant["complianceBreakdown"]) == {"colour", "logo", "typography", "layout"}
        assert variant["validationStatus"] in ("passed", "manual_review")
        assert variant["imageUrl"]
    assert ActivityLog.objects.filter(campaign=campaign, verb="content").count() == 1
    x_post = next(v for v in variants if v["platform"] == "x")
    assert len(x_post["body"] + " " + " ".join("#" + t for t in x_post["hashtags"])) <= 280
    assert (x_post["imageWidth"], x_post["imageHeight"], x_post["imageRatio"]) == (1600, 900, "16:9")


def test_content_for_an_unknown_platform_is_a_400(jwt_api_client, workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    response = jwt_api_client.post(f"/api/campaigns/{campaign.pk}/content", {"platforms": ["tiktok"]}, format="json")
    assert response.status_code == 400
    assert not ContentJob.objects.exists()


def test_content_for_a_campaign_in_review_is_a_409(jwt_api_client, workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user, status="in_review")
    response = jwt_api_client.post(f"/api/campaigns/{campaign.pk}/content", {"platforms": ["x"]}, format="json")
    assert response.status_code == 409
    assert not ContentVariant.objects.exists()


def test_another_workspaces_content_job_is_a_404(other_jwt_api_client, workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    job = ContentJob.objects.create(workspace=workspace, campaign=campaign, platforms=["x"])
    assert other_jwt_api_client.get(f"/api/content-jobs/{job.pk}").status_code == 404


def test_brand_profile_get_and_put(jwt_api_client):
    empty = jwt_api_client.get("/api/brand-profile")
    saved = jwt_api_client.put(
        "/api/brand-profile",
        {
            "palette": ["#5b4bff", "#abc"],
            "logoRequirements": {"required": True, "position": "bottom-right", "minWidthRatio": 0.1},
            "typography": {"fonts": ["Inter"], "minFontSize": 14},
            "layout": {"requireCta": True, "maxHashtags": 3},
            "toneOfVoice": "Warm and direct",
            "bannedWords": ["Cheap", "guarantee"],
        },
        format="json",
    )
    assert empty.status_code == 200 and empty.json()["palette"] == []
    assert saved.status_code == 200
    assert saved.json()["palette"] == ["#5B4BFF", "#AABBCC"]
    assert saved.json()["bannedWords"] == ["cheap", "guarantee"]
    assert jwt_api_client.get("/api/brand-profile").json()["logoRequirements"]["position"] == "bottom-right"


def test_brand_profile_rejects_a_bad_colour(jwt_api_client):
    response = jwt_api_client.put("/api/brand-profile", {"palette": ["purple"]}, format="json")
    assert response.status_code == 400
    assert "palette" in response.json()["errors"]


def png_bytes(size=(64, 64), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (91, 75, 255)).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/png")


def test_a_real_image_is_accepted_whatever_its_name(jwt_api_client):
    response = jwt_api_client.post(
        "/api/brand-assets", {"file": upload("logo.txt", png_bytes()), "kind": "logo"}, format="multipart"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["format"], body["width"], body["height"], body["kind"]) == ("PNG", 64, 64, "logo")
    assert body["dominantColors"][0]["colour"] == "#5B4BFF"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("logo.png", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not a PNG, JPEG or WEBP"),
        ("logo.png", png_bytes()[:60], "damaged"),
        ("logo.gif", None, "GIF images are not accepted"),
        ("tiny.png", png_bytes(size=(8, 8)), "between 16 and 6000"),
    ],
)
def test_a_bad_image_is_a_400_with_the_reason(jwt_api_client, name, content, reason):
    if content is None:
        content = png_bytes(fmt="GIF")
    response = jwt_api_client.post("/api/brand-assets", {"file": upload(name, content)}, format="multipart")
    assert response.status_code == 400
    assert reason in response.json()["errors"]["file"][0]
    assert not BrandAsset.objects.exists()


def test_anonymous_callers_are_401(anonymous_api_client):
    assert anonymous_api_client.get("/api/campaigns").status_code == 401


def test_an_asset_over_5_mb_is_refused_before_decoding(jwt_api_client):
    response = jwt_api_client.post(
        "/api/brand-assets", {"file": upload("big.png", png_bytes() + b"0" * (5 * 1024 * 1024))}, format="multipart"
    )
    assert response.status_code == 400
    assert "larger than 5 MB" in response.json()["errors"]["file"][0]
