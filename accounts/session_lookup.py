"""The per-request lookup behind every Bearer token: the login session with its user and workspace, from the
shared cache or from one primary-key query without the ORM's SQL compiler.

Building `LoginSession.objects.select_related("user", "user__current_workspace")` costs ~25 times the
query itself (measured: ~4 ms of SQL compilation vs ~0.15 ms for the query on SQLite), and it runs on
every authenticated API request. The SQL below is built once per database vendor from the models' own field
lists, and rows are turned into model instances with the backends' converters, exactly as the ORM would
(tests/accounts/test_session_lookup.py checks they are equal).

With `AUTH_SESSION_CACHE_SECONDS` set, the converted rows are kept between requests (accounts/session_cache.py);
the receivers at the end mark them stale on every save or delete of a session, its user or the user's workspace.
"""

import functools
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models.expressions import Col
from django.utils import timezone

from .models import LoginSession, User, Workspace
from .session_cache import session_row, session_rows_forget

_TABLES = ((LoginSession, "s"), (User, "u"), (Workspace, "w"))
# The last-used time is recorded when the database is read, at most once per this interval: with the cache on,
# it trails the last request by up to this plus AUTH_SESSION_CACHE_SECONDS.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@functools.cache
def _query(vendor: str) -> tuple[str, list, list]:
    quote = connection.ops.quote_name
    columns, converters, layout = [], [], []
    for model, alias in _TABLES:
        fields = model._meta.concrete_fields
        start = len(columns)
        for field in fields:
            column = Col(alias, field)
            columns.append(f"{alias}.{quote(field.column)}")
            converters.append((connection.ops.get_db_converters(column) + field.get_db_converters(connection), column))
        layout.append((model, [field.attname for field in fields], start, len(columns)))
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(LoginSession._meta.db_table)} s "
        f"INNER JOIN {quote(User._meta.db_table)} u ON u.{quote('id')} = s.{quote('user_id')} "
        f"LEFT OUTER JOIN {quote(Workspace._meta.db_table)} w ON w.{quote('id')} = u.{quote('current_workspace_id')} "
        f"WHERE s.{quote('id')} = %s AND s.{quote('user_id')} = %s"
    )
    return sql, converters, layout


def login_session_with_user(*, session_id: uuid.UUID, user_id: int) -> LoginSession | None:
    """The session with its user and the user's current workspace attached, or None.

    Kept rows first (accounts/session_cache.py), else one query; then the session's last use is recorded (at most
    once a minute, if it is live).
    """
    loaded = {}  # the session built while loading, when the row came from the database
    values = session_row(session_id, lambda: _values_loaded(session_id=session_id, user_id=user_id, built=loaded))
    if values is None:
        return None
    session = loaded.get("session") or _session_built(values)
    return session if session.user_id == user_id else None


def _values_loaded(*, session_id: uuid.UUID, user_id: int, built: dict) -> list | None:
    sql, converters, layout = _query(connection.vendor)
    params = [LoginSession._meta.pk.get_db_prep_value(session_id, connection), user_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (functions, column) in zip(row, converters, strict=True):
        for convert in functions:
            value = convert(value, column, connection)
        values.append(value)
    session = _session_built(values)
    now = timezone.now()
    if session.is_active and session.user.is_active and now - session.last_used_at > LAST_USED_RESOLUTION:
        # Coarse on purpose: one write per minute per session, not one per request.
        LoginSession.objects.filter(id=session_id).update(last_used_at=now)
        values[_LAST_USED_INDEX] = session.last_used_at = now
    built["session"] = session
    return values


def _session_built(values: list) -> LoginSession:
    (_, session_fields, s0, s1), (_, user_fields, u0, u1), (_, workspace_fields, w0, w1) = _query(connection.vendor)[2]
    session = LoginSession.from_db(connection.alias, session_fields, values[s0:s1])
    user = User.from_db(connection.alias, user_fields, values[u0:u1])
    workspace = Workspace.from_db(connection.alias, workspace_fields, values[w0:w1]) if values[w0] is not None else None
    User._meta.get_field("current_workspace").set_cached_value(user, workspace)
    LoginSession._meta.get_field("user").set_cached_value(session, user)
    return session


_LAST_USED_INDEX = [field.attname for field in LoginSession._meta.concrete_fields].index("last_used_at")


# Receivers (connected in accounts/apps.py): the writes that change what a cached row says.


def _live_session_ids(**filters) -> list[uuid.UUID]:
    if not settings.AUTH_SESSION_CACHE_SECONDS:
        return []
    return list(
        LoginSession.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now(), **filters).values_list(
            "id", flat=True
        )
    )


def session_changed(sender, instance: LoginSession, created: bool = False, **kwargs) -> None:
    if not created:  # a new session has nothing cached yet
        session_rows_forget([instance.pk])


def user_changed(sender, instance: User, **kwargs) -> None:
    """Saved or about to be deleted (its sessions go with it)."""
    session_rows_forget(_live_session_ids(user_id=instance.pk))


def workspace_changed(sender, instance: Workspace, **kwargs) -> None:
    """Saved or about to be deleted (its users' current workspace is cleared without a save)."""
    session_rows_forget(_live_session_ids(user__current_workspace_id=instance.pk))
