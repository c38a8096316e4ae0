from django.apps import AppConfig
from django.db.models.signals import post_save


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self):
        from .models import CampaignRecommendation

        # Recommendations are stored by the AI layer, which must not know about the pages' live updates.
        post_save.connect(recommendation_announce, sender=CampaignRecommendation, dispatch_uid="live-recommendation")


def recommendation_announce(sender, instance, created, **kwargs):
    """A new recommendation reaches the workspace's open dashboards and boards (after commit)."""
    from marketing_ai.live import live_publish

    if created:
        data = {"recommendationId": instance.pk, "segment": instance.segment, "name": instance.name}
        live_publish(kind="recommendation.created", workspace_id=instance.workspace_id, data=data)
