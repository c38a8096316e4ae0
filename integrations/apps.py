from django.apps import AppConfig
from django.db.backends.signals import connection_created


class BitOr:
    """BIT_OR(integer) for SQLite, which has no bitwise aggregate: the rollups' type masks are ORed per customer."""

    def __init__(self):
        self.mask = None

    def step(self, value):
        if value is not None:
            self.mask = (self.mask or 0) | int(value)

    def finalize(self):
        return self.mask


def sqlite_functions_add(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("BIT_OR", 1, BitOr)


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        connection_created.connect(sqlite_functions_add, dispatch_uid="integrations-sqlite-functions")
