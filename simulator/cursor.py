"""Opaque, signed page cursors.

Why signed: a client must never be able to build or edit a cursor (the docs tell them not to), and
a corrupted cursor must be rejected (Gamma answers 422) rather than silently restarting the sweep.
Format: 16 chars of base64url HMAC, then base64url JSON naming the last row's key — the same
shape as the real keyset cursor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec

SIG_BYTES = 12


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Cursors:
    def __init__(self, seed: int, kind: str) -> None:
        self.key = hashlib.sha256(f"cursor/{seed}/{kind}".encode()).digest()
        self.kind = kind

    def encode(self, last_key: int) -> str:
        payload = msgspec.json.encode({"v": 1, "k": self.kind,
                                       "keys": [{"t": "string", "v": str(last_key)}]})
        sig = hmac.new(self.key, payload, hashlib.sha256).digest()[:SIG_BYTES]
        return _b64(sig) + _b64(payload)

    def decode(self, cursor: str) -> int | None:
        """The last key, or None if the cursor is not one of ours."""
        try:
            sig, payload = _unb64(cursor[:16]), _unb64(cursor[16:])
            if not hmac.compare_digest(sig, hmac.new(self.key, payload, hashlib.sha256).digest()[:SIG_BYTES]):
                return None
            return int(msgspec.json.decode(payload)["keys"][0]["v"])
        except (ValueError, KeyError, IndexError, TypeError, msgspec.DecodeError):
            return None
