"""The hand-built per-request lookup must load exactly what the ORM would."""

import uuid

import pytest

from accounts.models import LoginSession
from accounts.session_lookup import login_session_with_user
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_lookup_equals_the_orm_for_session_user_and_workspace(user):
    api_client_for(user)
    expected = LoginSession.objects.select_related("user", "user__current_workspace").get(user=user)

    session = login_session_with_user(session_id=expected.id, user_id=user.id)

    assert _fields(session) == _fields(expected)
    assert _fields(session.user) == _fields(expected.user)
    assert _fields(session.user.current_workspace) == _fields(expected.user.current_workspace)
    assert not session._state.adding and session._state.db == "default"


def test_lookup_is_one_query_including_the_company_name(user, django_assert_num_queries):
    api_client_for(user)
    session_id = LoginSession.objects.get(user=user).id

    with django_assert_num_queries(1):
        session = login_session_with_user(session_id=session_id, user_id=user.id)
        assert session.user.company_name == "Acme"


def test_lookup_handles_a_user_without_a_current_workspace(user):
    api_client_for(user)
    type(user).objects.filter(id=user.id).update(current_workspace=None)

    session = login_session_with_user(session_id=LoginSession.objects.get(user=user).id, user_id=user.id)

    assert session.user.current_workspace is None and session.user.company_name == ""


def test_lookup_of_another_users_or_unknown_session_is_none(user, other_workspace_user):
    api_client_for(user)
    session_id = LoginSession.objects.get(user=user).id

    assert login_session_with_user(session_id=session_id, user_id=other_workspace_user.id) is None
    assert login_session_with_user(session_id=uuid.uuid4(), user_id=user.id) is None
