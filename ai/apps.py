from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "ai"
    verbose_name = "AI platform"

    def ready(self):
        from integrations.signals import events_stored

        from .predictions.services import events_stored_receiver

        events_stored.connect(events_stored_receiver, dispatch_uid="ai-predictions-rescore")
