"""`Path.walk` for many (market, minute) pairs at once, bit for bit the same floats.

Why: a catalogue page of 1,000 Kalshi rows asks for ~4,000 walk values (the quote now and a day
back, and the mids at the last trades), and the scalar walk's Python loop over 8 octaves x 2
lattice hashes costs ~35 us each: most of a page rendered at a new simulated minute. Here the
lattice hashes and the interpolation run as numpy uint64/float64 array operations over the whole
batch; only the transcendental tail (two sines, an exp and a cube) stays in Python's `math`, whose
results numpy's own SIMD versions do not always match to the last bit.

Exactness: the lattice value is `hash((s, j, n))` of a 3-tuple of ints, which CPython (3.8+)
computes with a fixed xxHash-style mix of the ints' own hashes (PYTHONHASHSEED salts only str and
bytes); `_tuple3_hash` reproduces it in wrapping uint64 arithmetic. The +, -, *, / between doubles
are IEEE-exact in both numpy and Python when done in the same order, so every value equals the
scalar walk's. `EXACT` checks that on this interpreter at import (and tests/test_simulator_batch.py
over many paths and minutes); where it fails, `walk_many` falls back to the scalar walk.
"""

from __future__ import annotations

import math
from itertools import repeat
from operator import attrgetter

import numpy as np

from .hashing import GOLDEN, INV_2_53
from .pricing import AMPS, FIRST_SHIFT, OCTAVES, SLOW_AMP, SLOW_PERIODS_MIN

_P1, _P2, _P5 = np.uint64(11400714785074694791), np.uint64(14029467366897019727), np.uint64(2870177450012600261)
_LEN3 = np.uint64(3 ^ (2870177450012600261 ^ 3527539))     # the length term of a 3-tuple
_MINUS_ONE = np.uint64((1 << 64) - 1)
_HASH_OF_MINUS_ONE = np.uint64(1546275796)                 # CPython never returns -1 as a hash
_INT_MOD = (1 << 61) - 1                                   # hash(n) = n mod 2**61-1 for n >= 0
_GOLDEN = np.uint64(GOLDEN)
_W0, _W1 = 2.0 * math.pi / SLOW_PERIODS_MIN[0], 2.0 * math.pi / SLOW_PERIODS_MIN[1]


def _lane(acc: np.ndarray, lane: np.ndarray) -> np.ndarray:
    """One item of CPython's tuple hash: acc += lane * P2; rotate left 31; acc *= P1."""
    acc = acc + lane * _P2
    acc = (acc << np.uint64(31)) | (acc >> np.uint64(33))
    return acc * _P1


def _tuple3_hash(prefix: np.ndarray, n: np.ndarray) -> np.ndarray:
    """hash((s, j, n)) as uint64 bits, given `prefix` = the state after the lanes s and j."""
    acc = _lane(prefix, n) + _LEN3
    return np.where(acc == _MINUS_ONE, _HASH_OF_MINUS_ONE, acc)


def tuple_hash(*lanes) -> np.ndarray:
    """hash(tuple) as uint64 bits for tuples of ints given lane by lane (arrays or ints, each
    0 <= x < 2**61 - 1, where an int's hash is itself)."""
    acc = np.uint64(2870177450012600261)
    with np.errstate(over="ignore"):
        for lane in lanes:
            acc = _lane(acc, np.asarray(lane, dtype=np.uint64))
        acc = acc + np.uint64(len(lanes) ^ (2870177450012600261 ^ 3527539))
    return np.where(acc == _MINUS_ONE, _HASH_OF_MINUS_ONE, acc)


def _lattice(h: np.ndarray) -> np.ndarray:
    """u01 of a hash: `(((h * GOLDEN) & MASK64) >> 11) * INV_2_53`."""
    with np.errstate(over="ignore"):
        return ((h * _GOLDEN) >> np.uint64(11)).astype(np.float64) * INV_2_53


def u01_many(*lanes) -> np.ndarray:
    """hashing.u01 over arrays of labels (see `tuple_hash`)."""
    return _lattice(tuple_hash(*lanes))


def uint_many(*lanes) -> np.ndarray:
    """hashing.uint over arrays of labels (see `tuple_hash`), as uint64."""
    with np.errstate(over="ignore"):
        x = tuple_hash(*lanes) * _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        return x ^ (x >> np.uint64(31))


def column(objs: list, name: str, dtype=np.float64) -> np.ndarray:
    """The attribute `name` of every object of `objs` as an array (one C-level pass, no
    per-element bytecode as a list comprehension would run)."""
    return np.fromiter(map(attrgetter(name), objs), dtype, len(objs))


def walk_many(paths, ks) -> list[float]:
    """[paths[i].walk(ks[i]) ...]; minutes must be >= 0 (as `Path.minute` gives them)."""
    if not EXACT or not paths:
        return [p.walk(k) for p, k in zip(paths, ks)]
    return walk_columns(path_columns(paths), np.array(ks, dtype=np.int64)).tolist()


def path_columns(paths: list) -> tuple:
    """The path fields a walk reads, one array each, in `walk_columns` order: (seed, logit0, vol,
    target, k_close). A page gathers them once and indexes them for all its walks."""
    return (column(paths, "s", np.uint64), column(paths, "logit0"), column(paths, "vol"),
            column(paths, "target"), column(paths, "k_close", np.int64))


def walk_columns(cols: tuple, k: np.ndarray) -> np.ndarray:
    """`Path.walk(k[i])` of path i given its `path_columns` (callers check `EXACT` first)."""
    raw, logit0, vol, target, k_close = cols
    with np.errstate(over="ignore"):
        s = raw % np.uint64(_INT_MOD)               # path seeds are < 2**56 (hashing.uint >> 8)
        head = _lane(np.full(len(raw), _P5, dtype=np.uint64), s)
        x = np.zeros(len(raw))
        for j in range(OCTAVES):
            sh = j + FIRST_SHIFT
            prefix = _lane(head, np.uint64(j))
            n = (k >> sh).astype(np.uint64)
            f = (k & ((1 << sh) - 1)) / (1 << sh)
            f = f * f * (3.0 - 2.0 * f)
            a = _lattice(_tuple3_hash(prefix, n))
            b = _lattice(_tuple3_hash(prefix, n + np.uint64(1)))
            x += AMPS[j] * (a + (b - a) * f - 0.5)
    # The tail in the scalar walk's order; sin, exp and the cube stay with Python's libm calls.
    k_f = k.astype(np.float64)
    s_f = (raw & np.uint64(1023)).astype(np.float64), ((raw >> np.uint64(10)) & np.uint64(1023)).astype(np.float64)
    sin, exp, n = math.sin, math.exp, len(raw)        # map over a list: no per-element bytecode
    slow = (np.fromiter(map(sin, (k_f * _W0 + s_f[0]).tolist()), np.float64, n)
            + np.fromiter(map(sin, (k_f * _W1 + s_f[1]).tolist()), np.float64, n))
    x = x * 2.0 + SLOW_AMP * slow
    pr = 1.0 / (1.0 + np.fromiter(map(exp, (-(logit0 + vol * x)).tolist()), np.float64, n))
    ended = k_close != 0                              # the cube (k / k_close) ** 3, 1.0 at k_close 0
    cube = np.fromiter(map(pow, (k / np.where(ended, k_close, 1)).tolist(), repeat(3.0)), np.float64, n)
    w = np.where(ended, cube, 1.0)
    return (1.0 - w) * pr + w * target


def _self_check() -> bool:
    """The tuple hash and the whole walk agree with CPython's on this interpreter."""
    from .pricing import Path
    from .hashing import u01, uint
    samples = [(7, 0, 0), ((1 << 56) - 3, 5, 123456), (2**61 + 5, 7, 1 << 40), (99, 3, (1 << 61) - 2)]
    with np.errstate(over="ignore"):
        for s, j, n in samples:
            head = _lane(np.full(1, _P5, dtype=np.uint64), np.array([s % _INT_MOD], dtype=np.uint64))
            got = _tuple3_hash(_lane(head, np.uint64(j)), np.array([n % _INT_MOD], dtype=np.uint64))
            if int(got[0]) != hash((s, j, n)) & ((1 << 64) - 1):
                return False
    for parts in [(7, 300, 12, 5), ((1 << 56) - 3, 101, 0), (3, 102, 99999), (1, 2)]:
        if float(u01_many(*parts)) != u01(*parts) or int(uint_many(*parts)) != uint(*parts):
            return False
    paths = [Path(s, 0.0, 86400.0 * 30, 86400.0 * 31, 0.3, 0.9, 0.8, 10_000, 100, 200, 3, 1.0)
             for s in (12345, (1 << 56) - 1)]
    ks = [0, 1, 17, 4095, 43199]
    pairs = [(p, k) for p in paths for k in ks]
    global EXACT
    EXACT = True
    try:
        return walk_many([p for p, _ in pairs], [k for _, k in pairs]) == [p.walk(k) for p, k in pairs]
    finally:
        EXACT = False


EXACT = False
EXACT = _self_check()
