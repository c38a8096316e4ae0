from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from integrations.jobs import job_run
from integrations.services import dummy_data_start
from marketing_ai.errors import ApplicationError


class Command(BaseCommand):
    help = "Generate realistic demo events for a workspace through the real pipeline (runs in this process)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace id or slug/name.")
        parser.add_argument("--source-type", default="gtm", choices=["gtm", "facebook_pixel", "shopify", "all"])
        parser.add_argument("--count", type=int, default=None, help="Events per source (default 50-100).")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, workspace, source_type, count, seed, **options):
        ws = self._workspace(str(workspace))
        types = ["gtm", "facebook_pixel", "shopify"] if source_type == "all" else [source_type]
        for kind in types:
            try:
                job = dummy_data_start(workspace=ws, source_type=kind, count=count, seed=seed)
            except ApplicationError as exc:
                raise CommandError(f"{exc.message} {exc.errors or ''}") from exc
            job = job_run(job_id=job.id) or job
            job.refresh_from_db()
            self.stdout.write(
                f"{kind}: job {job.id} {job.status}, {job.events_count} events ({job.rejected_count} rejected)"
            )

    def _workspace(self, value: str) -> Workspace:
        lookup = {"id": int(value)} if value.isdigit() else {"name": value}
        workspace = Workspace.objects.filter(**lookup).first()
        if workspace is None and not value.isdigit():
            workspace = Workspace.objects.filter(slug=value).first() if hasattr(Workspace, "slug") else None
        if workspace is None:
            raise CommandError(f"No workspace {value!r}.")
        return workspace
