from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save, pre_delete


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and workspaces"

    def ready(self):
        from .models import LoginSession, User, Workspace
        from .session_lookup import session_changed, user_changed, workspace_changed
        from .staff import staff_groups_sync_after_migrate

        # The cached session rows behind Bearer tokens follow every save and delete of what they hold.
        post_save.connect(session_changed, sender=LoginSession, dispatch_uid="auth-cache-session")
        post_delete.connect(session_changed, sender=LoginSession, dispatch_uid="auth-cache-session-delete")
        post_save.connect(user_changed, sender=User, dispatch_uid="auth-cache-user")
        pre_delete.connect(user_changed, sender=User, dispatch_uid="auth-cache-user-delete")
        post_save.connect(workspace_changed, sender=Workspace, dispatch_uid="auth-cache-workspace")
        pre_delete.connect(workspace_changed, sender=Workspace, dispatch_uid="auth-cache-workspace-delete")
        # Staff groups follow the models: a model added later (alerts) gets its permissions after its migrate.
        post_migrate.connect(staff_groups_sync_after_migrate, dispatch_uid="accounts.staff_groups_sync")
