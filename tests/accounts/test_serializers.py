"""FlatOutput renders exactly what DRF's generic serializer renders, without its per-instance field copies."""

import pytest
from django.utils import timezone
from rest_framework import serializers

from accounts.serializers import FlatOutput, UserOutput

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("last_login_at", [None, timezone.now()])
def test_the_user_output_equals_drfs_generic_rendering(user, last_login_at):
    user.last_login_at = last_login_at

    fast = UserOutput(user).data
    generic = serializers.Serializer.to_representation(UserOutput(), user)

    assert dict(fast) == dict(generic)
    assert list(fast) == [
        "id",
        "email",
        "firstName",
        "lastName",
        "companyName",
        "isVerified",
        "lastLoginAt",
        "createdAt",
        "updatedAt",
    ]


def test_a_flat_output_refuses_fields_it_cannot_render_unbound():
    with pytest.raises(TypeError, match="plain scalar attributes"):

        class Nested(FlatOutput):
            user = UserOutput()

    with pytest.raises(TypeError, match="plain scalar attributes"):

        class Dotted(FlatOutput):
            workspaceName = serializers.CharField(source="current_workspace.name")
