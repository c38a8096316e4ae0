"""Serializers shared by the account APIs (camelCase on the wire via `source=`)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans, lists and objects instead of coercing them to text."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A BooleanField that takes only JSON true/false, not 0, 1 or "yes"."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictFloatField(serializers.FloatField):
    """A FloatField that takes only JSON numbers, not "0.5" or true."""

    default_error_messages = {"invalid": "Must be a number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that takes only JSON whole numbers, not "5", 5.0 or true."""

    default_error_messages = {"invalid": "Must be a whole number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    default_error_messages = {"invalid": "Enter a valid email address."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FlatOutput(serializers.Serializer):
    """An output serializer of plain attributes, rendered straight from its declared fields.

    DRF deep-copies every declared field for each serializer instance before rendering (for a nine-field user,
    more CPU than the rest of the request's view code). Fields of the scalar kinds below render the same unbound,
    so they are used as declared; tests/accounts/test_serializers.py checks the output equals DRF's own.
    """

    _SCALARS = (
        serializers.BooleanField,
        serializers.CharField,  # EmailField is one
        serializers.DateTimeField,
        serializers.IntegerField,
    )

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if not isinstance(field, cls._SCALARS) or "." in (field.source or ""):
                raise TypeError(f"{cls.__name__}.{name}: FlatOutput renders plain scalar attributes only.")

    def to_representation(self, instance) -> dict:
        output = {}
        for name, field in self._declared_fields.items():
            value = getattr(instance, field.source or name)
            output[name] = None if value is None else field.to_representation(value)
        return output


class UserOutput(FlatOutput):
    """The sanitized user: never the password hash, flags or internal ids beyond `id`."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    companyName = serializers.CharField(source="company_name")
    isVerified = serializers.BooleanField(source="is_verified")
    lastLoginAt = serializers.DateTimeField(source="last_login_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class TokensOutput(serializers.Serializer):
    accessToken = serializers.CharField()
    refreshToken = serializers.CharField()
    expiresIn = serializers.IntegerField(help_text="Seconds until the access token expires.")


class AuthOutput(serializers.Serializer):
    user = UserOutput()
    tokens = TokensOutput()


class RefreshOutput(serializers.Serializer):
    tokens = TokensOutput()


class LoginSessionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    ipAddress = serializers.IPAddressField(source="ip_address", allow_null=True)
    userAgent = serializers.CharField(source="user_agent")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at")
    expiresAt = serializers.DateTimeField(source="expires_at")
    kind = serializers.SerializerMethodField(help_text="`browser` or `api`.")
    current = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(help_text="`browser` or `api`."))
    def get_kind(self, session) -> str:
        return "browser" if session.django_session_key else "api"

    def get_current(self, session) -> bool:
        return str(session.id) == self.context.get("current_session_id")


class NotificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    level = serializers.ChoiceField(choices=["info", "warning", "critical"])
    message = serializers.CharField()
    url = serializers.CharField(help_text="Where the notice points in the app (may be empty).")
    subject = serializers.CharField(help_text='What it is about, e.g. "campaign:42" (may be empty).')
    read = serializers.SerializerMethodField()
    readAt = serializers.DateTimeField(source="read_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    def get_read(self, notification) -> bool:
        return notification.read_at is not None
