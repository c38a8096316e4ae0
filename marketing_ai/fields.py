"""Encrypted model fields: values are Fernet-encrypted at rest with FIELD_ENCRYPTION_KEYS (newest first).

Rotation: put a new key first; old rows still decrypt with the older keys, and
`manage.py rotate_encryption_keys` re-encrypts them with the new one.
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import models


def _fernet_for(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        # Accept any passphrase: derive a valid 32-byte urlsafe key from it.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def encryption_keys() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS) or ["derived:" + settings.SECRET_KEY]
    return MultiFernet([_fernet_for(key) for key in keys])


def encrypt_text(value: str) -> str:
    return encryption_keys().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return encryption_keys().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Encrypted value cannot be read with the configured FIELD_ENCRYPTION_KEYS.") from exc


class EncryptedTextField(models.TextField):
    """Stores text encrypted; Python sees plain text. Not searchable, by design."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_text(value)


class EncryptedJSONField(models.TextField):
    """A JSON object stored encrypted (e.g. a data source's access tokens)."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return {}
        return json.loads(decrypt_text(value))

    def to_python(self, value):
        if isinstance(value, dict) or value is None:
            return value or {}
        return json.loads(value)

    def get_prep_value(self, value):
        return encrypt_text(json.dumps(value or {}, sort_keys=True))


def encrypted_fields_rotate() -> tuple[int, int]:
    """Re-encrypt every encrypted field with the newest FIELD_ENCRYPTION_KEYS key: (rows rewritten, rows unreadable).

    A row no configured key can read is left untouched and counted, so an incomplete key list never
    destroys data.
    """
    rewritten = unreadable = 0
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField | EncryptedJSONField)]
        if not fields:
            continue
        manager = model._default_manager
        for pk in manager.values_list("pk", flat=True).iterator(chunk_size=500):
            try:
                obj = manager.only("pk", *fields).get(pk=pk)
            except ValueError:
                unreadable += 1
                continue
            # update() runs get_prep_value, which encrypts with the first (newest) key.
            manager.filter(pk=pk).update(**{name: getattr(obj, name) for name in fields})
            rewritten += 1
    return rewritten, unreadable
