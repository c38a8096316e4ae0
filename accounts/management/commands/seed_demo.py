"""`manage.py seed_demo`: the demo user and workspace (idempotent); prints how to log in every run."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, User, Workspace

DEMO_EMAIL = "demo@marketing-ai.local"
DEMO_PASSWORD = "demo-Marketing-AI-2025"
DEMO_WORKSPACE = "Demo Store"
DEMO_EVENTS_PER_SOURCE = 2400


class Command(BaseCommand):
    help = "Create the demo user and the 'Demo Store' workspace when missing, then print the login."

    def handle(self, *args, **options):
        with transaction.atomic():
            user, created = User.objects.get_or_create(
                email=DEMO_EMAIL, defaults={"first_name": "Demo", "last_name": "Marketer", "is_verified": True}
            )
            if created or not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password", "updated_at"])
            membership = (
                Membership.objects.select_related("workspace").filter(user=user, workspace__name=DEMO_WORKSPACE).first()
            )
            if membership is None:
                workspace = Workspace.objects.create(name=DEMO_WORKSPACE)
                membership = Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
            if user.current_workspace_id is None:
                user.current_workspace = membership.workspace
                user.save(update_fields=["current_workspace", "updated_at"])

        # Demo events for the dashboard, analytics, chat and recommendations: dummy GTM, pixel and Shopify data,
        # once (integrations); enough customers for repeat orders of the same bundles to show as co-purchases.
        from integrations.jobs import demo_data_ensure

        demo_data_ensure(workspace=membership.workspace, count=DEMO_EVENTS_PER_SOURCE)

        state = "Created" if created else "Ready"
        self.stdout.write(self.style.SUCCESS(f"{state}: demo workspace '{membership.workspace.name}'."))
        self.stdout.write(f"  Log in at  http://127.0.0.1:{settings.PORT}/login/")
        self.stdout.write(f"  Email      {DEMO_EMAIL}")
        self.stdout.write(f"  Password   {DEMO_PASSWORD}")
