"""Deterministic, allocation-free randomness for the simulated world.

Every property of every market is a pure function of (seed, labels...), so the world needs no
per-market state to be reproducible and 200,000 markets cost nothing until someone looks at them.
Python's tuple-of-int hash is deterministic across runs (PYTHONHASHSEED only salts str/bytes), which
makes it ~10x cheaper than hashlib for the hot price path; hashlib is kept for the wide identifiers.
"""

from __future__ import annotations

import hashlib

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
INV_2_53 = 1.0 / (1 << 53)
MOD256 = 1 << 256
B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def u01(*parts: int) -> float:
    """Uniform float in [0, 1) from integer labels (fast path, used per price point)."""
    return (((hash(parts) * GOLDEN) & MASK64) >> 11) * INV_2_53


def uint(*parts: int) -> int:
    """Uniform 64-bit integer from integer labels."""
    x = (hash(parts) * GOLDEN) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    return x ^ (x >> 31)


def pick(seq, *parts: int):
    """Deterministic choice from a sequence."""
    return seq[uint(*parts) % len(seq)]


def between(lo: float, hi: float, *parts: int) -> float:
    """Uniform float in [lo, hi)."""
    return lo + (hi - lo) * u01(*parts)


def digest(*parts) -> bytes:
    """32 strong bytes for identifiers that must look like real hashes (condition ids, hashes)."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=32).digest()


def hex64(*parts) -> str:
    """`0x` + 64 hex digits."""
    return "0x" + digest(*parts).hex()


def b36(n: int) -> str:
    """Upper-case base-36, used inside Kalshi tickers so they can be decoded back to an index."""
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(B36[r])
    return "".join(reversed(out))


def unb36(s: str) -> int:
    return int(s, 36)


class Bijection:
    """Invertible affine map on [0, 2**256): index <-> an opaque-looking wide id.

    Why: CLOB token ids and condition ids must look random, yet a lookup by id must not need a
    200,000-entry dictionary. x -> a*x + b (a odd) is a permutation of Z/2^256 with a cheap inverse.
    """

    def __init__(self, *label) -> None:
        self.a = int.from_bytes(digest("mul", *label), "big") | 1
        self.b = int.from_bytes(digest("add", *label), "big")
        self.a_inv = pow(self.a, -1, MOD256)
        self.tag = int.from_bytes(digest("tag", *label)[:8], "big") << 64

    def encode(self, n: int) -> int:
        return (self.a * (self.tag | n) + self.b) % MOD256

    def decode(self, v: int) -> int | None:
        x = ((v - self.b) * self.a_inv) % MOD256
        if x >> 64 != self.tag >> 64:
            return None
        return x & MASK64
