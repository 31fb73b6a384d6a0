"""The whole wire protocol: every message that crosses a ZeroMQ socket, in one place.

Two conversations use it:

* fetcher --Batch--> sink, sink --Ack--> fetcher  (DEALER connects to the sink's ROUTER).
  A Batch carries records (markets, snapshots, resolutions, headlines, phase reports). The sink
  acknowledges a batch only after the transaction holding it has committed; a fetcher keeps every
  unacknowledged batch and sends it again, so delivery is at-least-once and the sink's idempotent
  upserts make storage exactly-once.
* scheduler --Job--> fetcher, fetcher --Heartbeat/JobDone--> scheduler (DEALER connects to the
  scheduler's ROUTER).

Rules (msgspec schema evolution): new fields go last with defaults, a field's type never changes,
unknown fields are ignored so an old reader skips what a new writer adds. ``v`` is the protocol
version; a frame with another major version is rejected and counted, never guessed at.

Bad input is answered, never retried forever. The sink checks every record against
collector/bounds.py before its transaction; a record out of bounds is dropped, counted and logged,
the rest of its batch is stored, and the batch's Ack says ``rejected=N`` with a ``reason``. A batch
frame that does not decode at all (NaN where an int belongs, a 2**70 integer, a wrong type) is
answered ``Ack(seq, rejected=-1, reason=...)`` when its ``seq`` can still be read (``batch_seq``).
Either way the sender treats the Ack like any other: the batch is done, it is not sent again.
Only ``Ack.error`` (a whole database refused, e.g. simulator data into a live db) stops a sender.
Every socket refuses frames above MAX_FRAME_BYTES (ZMQ_MAXMSGSIZE): no sender can make a
process allocate more than that for one message.
"""

from __future__ import annotations

import math
import re

from typing import Union

import msgspec

from collector.bounds import PRICE_SCALE, SIZE_MAX

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024 * 1024  # ZMQ_MAXMSGSIZE on every socket; a batch is ~100 KB-5 MB
PHASES = ("discover", "snapshot", "resolve", "backfill", "news", "archive")
MARKET_STATUSES = ("active", "closed", "resolved", "voided")
FINAL_STATUSES = ("resolved", "voided")  # a market in one of these never changes again


# --- records: what a Batch carries to the sink ------------------------------------------------


class MarketUpsert(msgspec.Struct, tag="market", kw_only=True, omit_defaults=True):
    """A market's metadata as seen at ``observed_at``; an older observation never overwrites a newer one.

    ``status`` is only ever 'active' or 'closed' here: 'resolved'/'voided' come from Resolution.
    ``extra`` keeps platform ids later phases need (clob_token_ids, neg_risk_market_id,
    event_id, event_ticker, series_ticker, gamma_id, ...), stored as JSON.
    """

    platform: str
    market_id: str
    observed_at: float  # unix seconds when the fetcher saw this
    status: str = "active"
    slug: str | None = None
    title: str | None = None
    description: str | None = None
    category: str | None = None
    outcomes: list[str] | None = None
    volume: float | None = None
    liquidity: float | None = None
    end_date: str | None = None  # ISO 8601 UTC
    created_at: str | None = None  # the platform's own creation time, ISO 8601 UTC
    updated_at: str | None = None  # the platform's own update time, ISO 8601 UTC
    extra: dict[str, str] = {}


class PriceSnapshot(msgspec.Struct, tag="snap", omit_defaults=True):
    """One market's prices at one grid time. Prices are probabilities 0..1 of the YES side.

    ``t`` is the snapshot grid time (unix seconds) the scheduler's job stands for, so every
    market of one cycle shares it.
    """

    platform: str
    market_id: str
    t: int
    yes_price: float | None = None
    best_bid: float | None = None
    best_ask: float | None = None
    volume: float | None = None
    liquidity: float | None = None
    source: str = "live"  # 'live' | 'backfill'; live always wins for the same market and time
    observed_at: float | None = None  # unix seconds the price was read (its page fetched); None = at t


class SnapshotColumns(msgspec.Struct, tag="snapcols", kw_only=True):
    """Many markets' snapshots at one grid time, column by column: the high-volume path.

    Publishers build these from PriceSnapshot records (``columnize``) so the sink can hand the
    columns to SQLite without per-row Python work. Prices are integer millionths of a dollar
    (probability x 1e6, clamped to 0..1e6), volume and liquidity whole units; None = unknown.
    All lists have the same length.
    """

    platform: str
    t: int
    source: str = "live"
    market_ids: list[str]
    yes: list[int | None]
    bid: list[int | None]
    ask: list[int | None]
    volume: list[int | None]
    liquidity: list[int | None]
    lag: list[int | None] | None = None  # whole seconds from t to when each price was read; None = at t


class Resolution(msgspec.Struct, tag="resolution", kw_only=True, omit_defaults=True):
    """Resolution state of a market. Sent only with what the platform's documented rule says.

    status: 'closed' (trading over, not final: proposed/disputed/determined), 'resolved'
    (final YES/NO) or 'voided' (final but not a clean YES/NO: 50-50, scalar, cancelled).
    resolution is 'YES' | 'NO' only when status == 'resolved'.
    """

    platform: str
    market_id: str
    observed_at: float
    status: str
    resolution: str | None = None
    winning_outcome: str | None = None  # the winning outcome's own label, e.g. "Under"
    resolved_at: str | None = None  # ISO 8601 UTC, when the result became final
    settlement_value: float | None = None  # payout per YES share, 0..1
    detail: str | None = None  # e.g. "uma:proposed", "kalshi:determined"
    closed_at: str | None = None  # ISO 8601 UTC, when trading actually stopped


class NewsHeadline(msgspec.Struct, tag="news", kw_only=True, omit_defaults=True):
    platform: str
    market_id: str
    headline: str
    source: str
    captured_at: str  # ISO 8601 UTC
    url: str | None = None
    published_at: str | None = None


_NON_WORD = re.compile(r"[^0-9a-z]+")


def news_url_key(url: str) -> str:
    """A headline's identity by its link: the news fetcher skips it, the sink stores it once."""
    return "url:" + url.strip()


def news_headline_key(headline: str) -> str:
    """... or by its text up to case and punctuation (the same story on two sites)."""
    return "h:" + _NON_WORD.sub(" ", headline.casefold()).strip()


def news_key(h: NewsHeadline) -> str:
    """The key the sink stores a headline under (news_context.dedup_key): its URL, else its text."""
    return news_url_key(h.url) if h.url else news_headline_key(h.headline)


class BackfillMark(msgspec.Struct, tag="backfill_mark", kw_only=True, omit_defaults=True):
    """A market's history is complete in the stream before this record: the backfill checkpoint.

    The sink commits batches in order, so once this record is stored every history row sent
    before it is stored too; a rerun skips markets with a mark and duplicates nothing.
    """

    platform: str
    market_id: str
    points: int  # history points published for the market
    resolution_s: int  # the time resolution actually obtained (e.g. 43200 for 12-hour fidelity)
    done_at: float


class ArchiveCommit(msgspec.Struct, tag="archive_commit", kw_only=True):
    """archiver -> sink: the live snapshots of [t_start, t_end) on a platform are now in ``file``.

    The sink deletes those rows only if the file's sha256 matches and the rows it is about to
    delete have exactly this count and these column sums, all in one transaction that also
    registers the file. Otherwise nothing changes and the refusal is counted.
    """

    platform: str
    day: str  # YYYY-MM-DD (UTC) of the partition
    t_start: int
    t_end: int
    file: str  # path relative to the archive directory
    sha256: str
    rows: int
    markets: int  # distinct markets in the file
    sum_t: int
    sum_yes: int
    sum_bid: int
    sum_ask: int
    sum_volume: int
    sum_liquidity: int


class PhaseReport(msgspec.Struct, tag="phase", kw_only=True, omit_defaults=True):
    """What one run of one phase did; stored by the sink, read by the scheduler and `status`."""

    job_id: str
    platform: str
    phase: str
    started_at: float
    finished_at: float
    ok: bool
    grid_time: int | None = None  # for snapshot jobs, the grid time they stood for
    requests: int = 0
    retries: int = 0
    records: int = 0
    skipped: int = 0
    errors: int = 0
    message: str = ""
    # Phase state, typed (issue 18): never parsed from ``message``, which is for people.
    listings_complete: list[str] = []  # the exchange listings this run read to their end (windows move then)
    interrupted: bool = False  # stopped on request (SIGTERM) at a page boundary: not a failure


class OrderBook(msgspec.Struct, tag="book", kw_only=True, omit_defaults=True):
    """The top of one market's book in one SNAPSHOT cycle (collector/books.py packs it for storage).

    ``t`` is the cycle's grid time, as for PriceSnapshot; ``observed_at`` is when the book's
    response arrived (causality is by observation, never by the grid). Levels are best first:
    prices integer millionths of the YES probability (the NO token's own for ``outcome`` 1),
    sizes whole shares/contracts. ``found`` False = the platform has no book for the market (404,
    left out of a batch): stored as "no book", distinct from an empty book (found, no levels).
    """

    platform: str
    market_id: str
    t: int
    observed_at: float
    outcome: int = 0  # 0: the YES token's book (Kalshi: the one book); 1: Polymarket's NO token
    found: bool = True
    bid_px: list[int] = []
    bid_sz: list[int] = []
    ask_px: list[int] = []
    ask_sz: list[int] = []
    book_ms: int | None = None  # the platform's own book timestamp (Polymarket, unix ms)
    book_hash: str | None = None  # the platform's book hash (Polymarket)


class BookArchiveCommit(msgspec.Struct, tag="book_archive_commit", kw_only=True):
    """archiver -> sink: the order books of [t_start, t_end) on a platform are now in ``file``.

    As ArchiveCommit: the sink deletes the rows only if the file's sha256 matches and the rows
    have exactly this count and these sums (of t, seen_ms and packed level bytes).
    """

    platform: str
    day: str
    t_start: int
    t_end: int
    file: str
    sha256: str
    rows: int
    sum_t: int
    sum_seen_ms: int
    sum_level_bytes: int


Record = Union[MarketUpsert, PriceSnapshot, SnapshotColumns, Resolution, NewsHeadline, BackfillMark, ArchiveCommit,
               PhaseReport, OrderBook, BookArchiveCommit]



def _scaled(p: float | None) -> int | None:
    if p is None or p != p:  # None or NaN
        return None
    return round(min(max(p, 0.0), 1.0) * PRICE_SCALE)


def _whole(x: float | None) -> int | None:
    """Whole units, or None when unknown or outside [0, SIZE_MAX) (parsers skip such records first)."""
    if x is None or not 0 <= x < SIZE_MAX:  # also False for NaN
        return None
    return round(x)


def _lag(observed_at: float | None, t: int) -> int | None:
    """Seconds after the grid time, rounded up (a read is never placed before it happened); None = at t."""
    if observed_at is None or observed_at != observed_at or observed_at in (float("inf"), float("-inf")):
        return None
    return max(0, math.ceil(observed_at - t))


def columnize(records: list[Record]) -> list[Record]:
    """Replace the PriceSnapshot records of a batch by one SnapshotColumns per (platform, t, source).

    Other records keep their order and come first, so markets precede their snapshots.
    """
    columns: dict[tuple[str, int, str], SnapshotColumns] = {}
    out: list[Record] = []
    for r in records:
        if not isinstance(r, PriceSnapshot):
            out.append(r)
            continue
        key = (r.platform, r.t, r.source)
        col = columns.get(key)
        if col is None:
            col = columns[key] = SnapshotColumns(platform=r.platform, t=r.t, source=r.source, market_ids=[],
                                                 yes=[], bid=[], ask=[], volume=[], liquidity=[], lag=[])
        col.market_ids.append(r.market_id)
        col.yes.append(_scaled(r.yes_price))
        col.bid.append(_scaled(r.best_bid))
        col.ask.append(_scaled(r.best_ask))
        col.volume.append(_whole(r.volume))
        col.liquidity.append(_whole(r.liquidity))
        col.lag.append(_lag(r.observed_at, r.t))
    out.extend(columns.values())
    return out


# --- envelopes: what crosses the sockets -------------------------------------------------------


class Batch(msgspec.Struct, tag="batch", kw_only=True):
    """fetcher -> sink. ``seq`` is unique per sender run; ``source`` is 'live' or 'simulator'."""

    sender: str
    seq: int
    source: str
    records: list[Record]
    v: int = PROTOCOL_VERSION


class Ack(msgspec.Struct, tag="ack", kw_only=True):
    """sink -> fetcher, after commit. ``error`` set means the batch was refused and never will be stored.

    ``rejected``: records of this batch dropped for breaking a bound (-1: the whole frame was
    unreadable); ``reason`` says why (the first one). The sender drops the batch either way.
    """

    seq: int
    stored: int = 0
    error: str = ""
    v: int = PROTOCOL_VERSION
    rejected: int = 0
    reason: str = ""


class Job(msgspec.Struct, tag="job", kw_only=True):
    """scheduler -> fetcher: run one phase now."""

    job_id: str
    platform: str
    phase: str
    grid_time: int  # the cadence slot this run stands for (unix seconds)
    deadline: float  # unix seconds; not done by then, the scheduler re-issues
    v: int = PROTOCOL_VERSION


class Heartbeat(msgspec.Struct, tag="hb", kw_only=True):
    """fetcher -> scheduler, every few seconds and on connect."""

    sender: str
    platform: str
    busy_job: str = ""
    v: int = PROTOCOL_VERSION


class JobDone(msgspec.Struct, tag="done", kw_only=True):
    """fetcher -> scheduler: a job finished (the same report also goes to the sink)."""

    report: PhaseReport
    v: int = PROTOCOL_VERSION


Message = Union[Batch, Ack, Job, Heartbeat, JobDone]

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Message)


def encode(msg: Message) -> bytes:
    return _encoder.encode(msg)


class WrongVersion(ValueError):
    pass


def decode(frame: bytes) -> Message:
    """Decode one frame; raises msgspec.DecodeError/ValidationError or WrongVersion on bad input."""
    try:
        msg = _decoder.decode(frame)
    except UnicodeDecodeError as exc:  # msgspec lets invalid UTF-8 in a str field through as this
        raise msgspec.DecodeError(f"invalid UTF-8: {exc}") from None
    if msg.v != PROTOCOL_VERSION:
        raise WrongVersion(f"protocol version {msg.v}, expected {PROTOCOL_VERSION}")
    return msg


class _BatchHead(msgspec.Struct, tag="batch"):
    seq: int


_head_decoder = msgspec.msgpack.Decoder(_BatchHead)


def batch_seq(frame: bytes) -> int | None:
    """The seq of a Batch frame whose records do not decode, so the sink can answer it; else None."""
    try:
        return _head_decoder.decode(frame).seq
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
