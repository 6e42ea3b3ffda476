"""Encryption at rest for secrets the notifications app stores (Slack webhook URLs).

Fernet (AES-128-CBC + HMAC-SHA256) with keys derived from `FIELD_ENCRYPTION_KEY`. Each ciphertext is
stored next to the id of the key that made it: after a rotation (new FIELD_ENCRYPTION_KEY, the old
one moved to FIELD_ENCRYPTION_OLD_KEYS) old values still decrypt, and
`manage.py notifications_reencrypt` rewrites them under the new key.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class DecryptionError(Exception):
    pass


def _derive(secret: str) -> tuple[str, Fernet]:
    # A label in the derivation keeps this key distinct from every other use of the same secret
    # (SECRET_KEY signs sessions and JWTs when FIELD_ENCRYPTION_KEY is not set).
    material = hashlib.sha256(b"billing.notifications.field-encryption:" + secret.encode()).digest()
    key_id = hashlib.sha256(b"key-id:" + material).hexdigest()[:12]
    return key_id, Fernet(base64.urlsafe_b64encode(material))


def current_key_id() -> str:
    return _derive(settings.FIELD_ENCRYPTION_KEY)[0]


def _keys() -> dict[str, Fernet]:
    secrets = [settings.FIELD_ENCRYPTION_KEY, *getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", [])]
    return dict(_derive(secret) for secret in secrets if secret)


def encrypt(plaintext: str) -> tuple[str, str]:
    """-> (key_id, ciphertext) under the current key."""
    key_id, fernet = _derive(settings.FIELD_ENCRYPTION_KEY)
    return key_id, fernet.encrypt(plaintext.encode()).decode()


def decrypt(key_id: str, ciphertext: str) -> str:
    fernet = _keys().get(key_id)
    if fernet is None:
        raise DecryptionError(
            f"encryption key {key_id} is not configured (FIELD_ENCRYPTION_OLD_KEYS?)"
        )
    try:
        return fernet.decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("ciphertext does not verify under its key") from exc
