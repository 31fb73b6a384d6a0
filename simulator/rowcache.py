"""Rendered catalogue rows, kept as JSON bytes on the market record while they cannot change, and
as a template whose few price fields are filled in when only the simulated minute moved.

Why: a real-scale sweep asks for ~46k Gamma and ~120k Kalshi rows, and building one from the
closed-form price walk costs 0.3-1.5 ms of Python, far too slow for 20x the fetchers' need. A row
is a pure function of a few things about `now`: the market's minute index now and a day/week/
month/year back (prices, volumes and trades step once per simulated minute counted from the
market's own open), and which of the market's and its event's lifecycle moments (open, close,
proposals, disputes, settlement, ...) have passed. A row rendered at `now` is kept with the
interval between the moments on either side of `now` and those minute indices, computed with the
render's own float arithmetic (`(now - span - open) // 60`), and served again while a request's
`now` is inside that interval with equal indices: exactly the inputs the render would see.

A fetcher sweeping every 15 minutes meets a new minute every time, though. Inside one lifecycle
interval only the price and volume fields change (a Kalshi row's 13 `*_dollars`/`*_fp` numbers),
so a row may also keep a template: its JSON text with those values replaced by %-format slots
(and any literal `%` doubled), filled with one `%` operation from the freshly computed numbers. The
template is made from the full render's own dict (`template`), so the two cannot disagree on
anything but the slots. The catalogues' `row_cache = False` switch renders every row afresh, and
tests/test_simulator_rowcache.py checks both serve the same bytes over a moving clock. The bytes
live on the record, so the record memo's cap (simulator/memo.py) bounds them too.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Callable

import msgspec

_MARK = "\ue000{}\ue000"          # a private-use character never found in a rendered row
_MARKS = [_MARK.format(j) for j in range(64)]
_SLOT = re.compile('"\ue000([0-9]+)\ue000"')
_GETTERS: dict[tuple, Callable] = {}    # one getter per slot order, shared by every template


def between_moments(now: float, moments) -> tuple[float, float]:
    """[lo, hi): the last moment at or before `now` and the first after it (a render tests
    `now >= moment`, so every such test answers the same anywhere in the interval)."""
    lo, hi = float("-inf"), float("inf")
    for x in moments:
        if x is None:
            continue
        if x <= now:
            lo = max(lo, x)
        else:
            hi = min(hi, x)
    return lo, hi


def counts() -> dict[str, int]:
    """A catalogue's row tally (the bench and tests read it): rows served as kept bytes, re-made
    from a template at a new minute, rendered afresh."""
    return {"kept": 0, "filled": 0, "rendered": 0}


def lookup(m, now: float, variant, minutes: tuple):
    """(bytes, None) when m's kept row is valid at `now`; (None, (template, getter)) when only its
    minutes differ and it has a template; (None, None) when it must be rendered afresh."""
    hit = m.row
    if hit is None or not hit[0] <= now < hit[1] or hit[2] != variant:
        return None, None
    if hit[3] == minutes:
        return (hit[4] if hit[5] is None else fill(hit[5], hit[6], hit[4])), None
    return None, (hit[5:] if hit[5] is not None else None)


def keep(m, now: float, moments, variant, minutes: tuple, data: bytes, tmpl=None, values=None) -> None:
    """Keep a row on m for the lifecycle interval around `now`: its bytes, or with a `(template,
    getter)` pair only the slot values (the bytes are re-made by one `fill`; a template and the
    row's bytes would both be ~1.5 KB per Kalshi row)."""
    tmpl, getter = tmpl or (None, None)
    m.row = (*between_moments(now, moments), variant, minutes, data if tmpl is None else values, tmpl, getter)


def template(d: dict, slots, order: str | None = "sorted") -> tuple[str, Callable]:
    """(text, getter) for row dict `d` whose keys `slots` ((key, %-format) pairs, all in `d`)
    become format slots: `fill(text, getter, values)`, `values` the slots' numbers flat in
    `slots` order (as many per slot as its format takes), gives `d`'s encoded bytes when
    `d[key] == format % those numbers` for each. A slot keeps the JSON quotes of a string
    value; its format must write nothing JSON would escape."""
    marked = dict(d)
    for j, (key, _) in enumerate(slots):
        marked[key] = _MARKS[j]
    raw = msgspec.json.encode(marked, order=order).decode()
    if "%" in raw:
        raw = raw.replace("%", "%%")
    parts = _SLOT.split(raw)              # static, j, static, j, ..., static
    seen = tuple(map(int, parts[1::2]))  # slot numbers in the order the text holds them
    first, at = [], 0                    # slot j's values start at first[j] in `values`
    for _, spec in slots:
        first.append(at)
        at += spec.count("%")
    placed = tuple(first[j] + n for j in seen for n in range(slots[j][1].count("%")))
    out = [parts[0]]
    for j, static in zip(seen, parts[2::2]):
        key, spec = slots[j]
        value = d[key]
        if type(value) is str:
            out.append(f'"{spec}"')
        elif type(value) is int:
            out.append(spec)
        else:
            raise TypeError(f"slot {key} holds {type(value).__name__}")
        out.append(static)
    text = "".join(out)
    getter = _GETTERS.get(placed)
    if getter is None:
        getter = _GETTERS[placed] = tuple if placed == tuple(range(len(placed))) else \
            itemgetter(*placed) if len(placed) > 1 else (lambda v: (v[placed[0]],))
    return text, getter


def fill(text: str, getter: Callable, values: tuple) -> bytes:
    """The row bytes of a template (`template`) with `values` in its slots."""
    return (text % getter(values)).encode()


def fill_many(out: list, fills, numbers) -> None:
    """`out[at] = fill(template, getter, values)` for each `(at, m, minutes, (template, getter))`
    of `fills` (the `lookup` answers) with its `values` from `numbers`, in one loop for the page
    (no call per row). m keeps the new minutes and values unless another request has meanwhile
    kept a row for another lifecycle interval (its template is another object)."""
    for (at, m, minutes, tmpl), values in zip(fills, numbers):
        text, getter = tmpl
        out[at] = (text % getter(values)).encode()
        hit = m.row
        if hit is not None and hit[5] is text:
            m.row = (hit[0], hit[1], hit[2], minutes, values, text, hit[6])
