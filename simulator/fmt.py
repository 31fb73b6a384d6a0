"""Number spellings on the wire. Prices arrive as integer units of 1e-4 dollars (see pricing.UNIT)."""

from __future__ import annotations

from .pricing import UNIT


def pm_str(u: int) -> str:
    """Polymarket decimal string, trailing zeros trimmed: 455 -> "0.0455", 10000 -> "1"."""
    whole, frac = divmod(u, UNIT)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:04d}".rstrip("0")


def pm_num(u: int) -> float | int:
    """Polymarket JSON number: 455 -> 0.0455, 10000 -> 1."""
    return u // UNIT if u % UNIT == 0 else u / UNIT


KX_DOLLARS = "%d.%04d"   # of divmod(units, UNIT): whole dollars and 1e-4 dollars
KX_COUNT = "%.2f"
KX_WHOLE_COUNT = "%d.00"  # KX_COUNT of a whole number, from an int (the catalogue rows' counts)


def kx_dollars(u: int) -> str:
    """Kalshi FixedPointDollars: 6700 -> "0.6700" (simulator/kalshi_batch.py keeps a table of it
    for every price from 0 to 1 dollar)."""
    return KX_DOLLARS % divmod(u, UNIT)


def kx_cents(u: int) -> int:
    """Legacy Kalshi integer cents: 6700 -> 67."""
    return u // 100


def kx_count(x: float) -> str:
    """Kalshi FixedPointCount: 4918 -> "4918.00"."""
    return KX_COUNT % x
