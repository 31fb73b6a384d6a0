"""Order-book levels packed for storage: one small blob per (market, grid time, outcome book).

A top-5 book is 10 (price, size) pairs; as SQLite integer columns that would be ~60 bytes of
record header and values per market-snapshot, so the levels of one book are packed into one blob
that plain SQL can still decode (the ``order_books`` view in sink/schema.py does, with
``levels_sql``), no extension function needed:

    byte 0   number of bid levels (high nibble) and ask levels (low nibble), 0..15 each
    byte 1   k * 32 + (pw - 1) * 8 + (sw - 1): prices are in units of 10**k millionths (k 0..4),
             written in pw bytes (1..3); sizes in whole shares/contracts, sw bytes (1..8)
    then     bids best first, then asks best first; each level = price (pw bytes) then size
             (sw bytes), little-endian

Prices are integer millionths of a dollar (probability x 1e6) on the wire; k is the largest
power of ten dividing every price of the book, so a 1-cent-tick book stores 0.45 as 45, one byte.
An empty book is the 2-byte header with zero counts; "no book at all" is NULL, not a blob.
"""

from __future__ import annotations

from collector.bounds import PRICE_SCALE
MAX_LEVELS = 15  # per side: a nibble in byte 0


class BadLevels(ValueError):
    """Levels that cannot be packed (price outside 0..1e6, negative size, too many levels)."""


def _width(n: int) -> int:
    return max(1, (n.bit_length() + 7) // 8)


def pack(bid_px: list[int], bid_sz: list[int], ask_px: list[int], ask_sz: list[int]) -> bytes:
    """Pack best-first levels (integer millionths, whole units) into the blob described above."""
    nb, na = len(bid_px), len(ask_px)
    if nb != len(bid_sz) or na != len(ask_sz) or nb > MAX_LEVELS or na > MAX_LEVELS:
        raise BadLevels(f"level lists of unequal length or more than {MAX_LEVELS}: {nb}/{na}")
    prices = bid_px + ask_px
    sizes = bid_sz + ask_sz
    if any(p < 0 or p > PRICE_SCALE for p in prices) or any(s < 0 for s in sizes):
        raise BadLevels("price outside 0..1 or negative size")
    k = 0
    while k < 4 and all(p % 10 ** (k + 1) == 0 for p in prices):
        k += 1
    unit = 10 ** k
    scaled = [p // unit for p in prices]
    pw = _width(max(scaled, default=0))
    sw = _width(max(sizes, default=0))
    if sw > 8:
        raise BadLevels("size too large")
    out = bytearray((nb << 4 | na, k * 32 + (pw - 1) * 8 + (sw - 1)))
    for p, s in zip(scaled, sizes):
        out += p.to_bytes(pw, "little") + s.to_bytes(sw, "little")
    return bytes(out)


def unpack(blob: bytes) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The inverse of pack: (bids, asks), each a best-first list of (price millionths, size)."""
    nb, na = blob[0] >> 4, blob[0] & 15
    k, pw, sw = blob[1] >> 5, ((blob[1] >> 3) & 3) + 1, (blob[1] & 7) + 1
    unit, step = 10 ** k, pw + sw
    levels = []
    for i in range(nb + na):
        off = 2 + i * step
        levels.append((int.from_bytes(blob[off:off + pw], "little") * unit,
                       int.from_bytes(blob[off + pw:off + step], "little")))
    return levels[:nb], levels[nb:]


def hash_prefix(book_hash: str | None) -> int | None:
    """The first 8 hex digits of a book hash as an integer: a change detector needs no more."""
    if not book_hash:
        return None
    try:
        return int(book_hash[:8], 16)
    except ValueError:
        return None


# --- decoding in SQL (used by the order_books view) ---------------------------------------------

_HEX = "'0123456789ABCDEF'"


def _byte(blob: str, pos: str) -> str:
    """SQL for the unsigned byte at 1-based position ``pos`` of ``blob``."""
    h = f"hex(substr({blob}, {pos}, 1))"
    return f"((instr({_HEX}, substr({h}, 1, 1)) - 1) * 16 + instr({_HEX}, substr({h}, 2, 1)) - 1)"


def _uint(blob: str, pos: str, width: str, max_width: int) -> str:
    """SQL for a little-endian unsigned integer of ``width`` (<= max_width) bytes at ``pos``."""
    terms = [f"(CASE WHEN {j} < {width} THEN {_byte(blob, f'{pos} + {j}')} << {8 * j} ELSE 0 END)"
             for j in range(max_width)]
    return "(" + " + ".join(terms) + ")"


def levels_sql(blob: str, index: str) -> dict[str, str]:
    """SQL expressions for level number ``index`` (0-based over bids then asks) of ``blob``."""
    b0, b1 = _byte(blob, "1"), _byte(blob, "2")
    nb, na = f"({b0} >> 4)", f"({b0} & 15)"
    k, pw, sw = f"({b1} >> 5)", f"((({b1} >> 3) & 3) + 1)", f"(({b1} & 7) + 1)"
    pos = f"(3 + {index} * ({pw} + {sw}))"
    unit = f"(CASE {k} WHEN 0 THEN 1 WHEN 1 THEN 10 WHEN 2 THEN 100 WHEN 3 THEN 1000 ELSE 10000 END)"
    return {
        "count": f"({nb} + {na})",
        "side": f"(CASE WHEN {index} < {nb} THEN 'bid' ELSE 'ask' END)",
        "level": f"(CASE WHEN {index} < {nb} THEN {index} + 1 ELSE {index} - {nb} + 1 END)",
        "price_millionths": f"({_uint(blob, pos, pw, 3)} * {unit})",
        "size": _uint(blob, f"({pos} + {pw})", sw, 8),
    }
