"""Bounded memo for the lazily built event and market records of the catalogues.

A real-scale world (tens of thousands open, hundreds of thousands closed per platform) would keep
every record a client ever touched: ~1-2 KB each, over a long run the whole catalogue. The memo
keeps the most recently built `cap` and forgets the oldest first; a forgotten record is rebuilt
from its hashes (identical: the world is deterministic), so the cap trades CPU for memory only.
The default holds the open catalogue of a real-scale world (~46k Polymarket / ~120k Kalshi open),
so periodic sweeps of it stay warm while the closed history cycles through.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, TypeVar

V = TypeVar("V")
DEFAULT_CAP = 200_000        # records per memo; README "Simulator and demo" states the RSS it gives


class Memo(Generic[V]):
    __slots__ = ("_d", "_build", "cap")

    def __init__(self, build: Callable[[int], V], cap: int = DEFAULT_CAP) -> None:
        self._d: OrderedDict[int, V] = OrderedDict()
        self._build, self.cap = build, cap

    def get(self, key: int) -> V:
        d = self._d
        v = d.get(key)
        if v is None:
            v = d[key] = self._build(key)
            if len(d) > self.cap:
                d.popitem(last=False)
        return v

    def __len__(self) -> int:
        return len(self._d)
