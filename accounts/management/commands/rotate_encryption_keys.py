"""Re-encrypt stored secrets with the newest FIELD_ENCRYPTION_KEYS key (put the new key first, run, drop the old)."""

from django.core.management.base import BaseCommand, CommandError

from marketing_ai.fields import encrypted_fields_rotate


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first (newest) FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        rewritten, unreadable = encrypted_fields_rotate()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rewritten} rows."))
        if unreadable:
            raise CommandError(
                f"{unreadable} rows could not be read with any configured key and were left as they are."
            )
