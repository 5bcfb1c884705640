"""Encryption at rest for coaching private notes: Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``.

``RHYTHM_ENCRYPTION_KEY`` holds one or more Fernet keys, comma-separated, newest first: new text is sealed with
the first, and text sealed with any of them still opens. Rotating a key: put the new key in front, run
``rhythm crypto rotate`` (re-seals every stored note with it), then remove the old key.
The key lives in settings only; it is never stored, logged or derived from anything in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from bot.config import Settings

KEY_HELP = (
    'generate one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


@dataclass(frozen=True, slots=True)
class Sealed:
    """Ciphertext (a Fernet token). Columns of type ``SealedText`` take only this, so plaintext can't land there."""

    token: str

    def __repr__(self) -> str:
        return "Sealed(…)"


class CannotDecrypt(Exception):
    """The text was sealed with a key that is no longer configured (or was tampered with)."""


def parse_keys(raw: str) -> list[str]:
    """The comma-separated Fernet keys of ``RHYTHM_ENCRYPTION_KEY``; ValueError names what is wrong."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise ValueError(f"is empty; {KEY_HELP}")
    for n, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ValueError(f"key {n} is not a Fernet key (32 url-safe base64-encoded bytes); {KEY_HELP}") from None
    return keys


class Cipher:
    def __init__(self, keys: Sequence[str]) -> None:
        fernets = [Fernet(k.encode()) for k in keys]
        self._newest = fernets[0]
        self._fernet = MultiFernet(fernets)

    def seal(self, text: str) -> Sealed:
        return Sealed(self._fernet.encrypt(text.encode("utf-8")).decode("ascii"))

    def open(self, sealed: Sealed) -> str:
        try:
            return self._fernet.decrypt(sealed.token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise CannotDecrypt("sealed with a key that is not configured") from None

    def is_current(self, sealed: Sealed) -> bool:
        """Sealed with the newest key already (nothing to rotate)."""
        try:
            self._newest.decrypt(sealed.token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, sealed: Sealed) -> Sealed:
        """Re-seal with the newest key (after a key rotation)."""
        try:
            return Sealed(self._fernet.rotate(sealed.token.encode("ascii")).decode("ascii"))
        except InvalidToken:
            raise CannotDecrypt("sealed with a key that is not configured") from None


def cipher_from(settings: Settings) -> Cipher | None:
    """The configured cipher, or None when no key is set (private notes are then refused, not stored plain)."""
    if settings.encryption_key is None:
        return None
    return Cipher(parse_keys(settings.encryption_key.get_secret_value()))


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")
