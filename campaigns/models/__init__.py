"""Campaign models, split by sub-domain; import them from `campaigns.models`."""

from .analytics import PerformanceMetric
from .campaign import BrandAsset, BrandProfile, Campaign, ComplianceCheck, ContentJob, ContentVariant
from .publishing import Publication
from .recommendation import CampaignRecommendation
from .workflow import ActivityLog, ApprovalDecision, ApprovalStep, ApprovalWorkflow

__all__ = [
    "ActivityLog",
    "ApprovalDecision",
    "ApprovalStep",
    "ApprovalWorkflow",
    "BrandAsset",
    "BrandProfile",
    "Campaign",
    "CampaignRecommendation",
    "ComplianceCheck",
    "ContentJob",
    "ContentVariant",
    "PerformanceMetric",
    "Publication",
]
