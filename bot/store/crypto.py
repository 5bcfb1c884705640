"""The column type that holds ciphertext only: ``Sealed`` in, ``Sealed`` out, never a plain string.

Sealing and opening happen in the services with the cipher built from settings (``bot.crypto``), not inside
the type: the key is never a process global, a missing or rotated-away key never breaks loading a row, and
every decryption is a visible (and audited) step.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

from bot.crypto import Sealed


class SealedText(TypeDecorator[Sealed]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Sealed):
            raise TypeError("an encrypted column takes Sealed ciphertext only; seal the text with bot.crypto.Cipher")
        return value.token

    def process_result_value(self, value: Any, dialect: Dialect) -> Sealed | None:
        return None if value is None else Sealed(str(value))
