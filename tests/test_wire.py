"""Every wire message round-trips; garbage, truncation and other versions are rejected cleanly."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from collector import platforms, wire

text = st.text(max_size=40)
opt_float = st.none() | st.floats(allow_nan=False, allow_infinity=False)
ts = st.floats(min_value=0, max_value=4e9, allow_nan=False)

records = st.one_of(
    st.builds(wire.MarketUpsert, platform=st.sampled_from(platforms.market_names()), market_id=text, observed_at=ts,
              title=st.none() | text, outcomes=st.none() | st.lists(text, max_size=4), volume=opt_float,
              extra=st.dictionaries(text, text, max_size=3)),
    st.builds(wire.PriceSnapshot, platform=text, market_id=text, t=st.integers(0, 2**40),
              yes_price=opt_float, best_bid=opt_float, best_ask=opt_float, volume=opt_float),
    st.builds(wire.Resolution, platform=text, market_id=text, observed_at=ts,
              status=st.sampled_from(["closed", "resolved", "voided"]),
              resolution=st.none() | st.sampled_from(["YES", "NO"]), settlement_value=opt_float),
    st.builds(wire.NewsHeadline, platform=text, market_id=text, headline=text, source=text, captured_at=text),
    st.builds(wire.PhaseReport, job_id=text, platform=text, phase=st.sampled_from(wire.PHASES),
              started_at=ts, finished_at=ts, ok=st.booleans(), requests=st.integers(0, 10**6)),
)
messages = st.one_of(
    st.builds(wire.Batch, sender=text, seq=st.integers(0, 2**62), source=st.sampled_from(["live", "simulator"]),
              records=st.lists(records, max_size=5)),
    st.builds(wire.Ack, seq=st.integers(0, 2**62), stored=st.integers(0, 10**6), error=text),
    st.builds(wire.Job, job_id=text, platform=text, phase=text, grid_time=st.integers(0, 2**40), deadline=ts),
    st.builds(wire.Heartbeat, sender=text, platform=text, busy_job=text),
    st.builds(wire.JobDone, report=st.builds(wire.PhaseReport, job_id=text, platform=text, phase=text,
                                             started_at=ts, finished_at=ts, ok=st.booleans())),
)


@settings(max_examples=300, deadline=None)
@given(messages)
def test_every_message_round_trips(msg):
    assert wire.decode(wire.encode(msg)) == msg


# What wire.decode documents it raises on bad input; anything else would crash a receiver.
DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, wire.WrongVersion)


@st.composite
def damaged_frames(draw) -> bytes:
    """A real frame cut short, with bytes overwritten or inserted, or re-sent under another version;
    or plain random bytes. Damage to a real frame is what reaches decode's success path too."""
    how = draw(st.sampled_from(["random", "cut", "overwrite", "insert", "version"]))
    if how == "random":
        return draw(st.binary(max_size=200))
    frame = wire.encode(draw(messages))
    if how == "cut":
        return frame[:draw(st.integers(0, len(frame) - 1))]
    at = draw(st.integers(0, len(frame) - 1))
    if how == "overwrite":
        return frame[:at] + draw(st.binary(min_size=1, max_size=4)) + frame[at + 4:]
    if how == "insert":
        return frame[:at] + draw(st.binary(min_size=1, max_size=4)) + frame[at:]
    raw = msgspec.msgpack.decode(frame)
    raw["v"] = draw(st.integers(-2**31, 2**31).filter(lambda v: v != wire.PROTOCOL_VERSION))
    return msgspec.msgpack.encode(raw)


@settings(max_examples=500, deadline=None)
@given(damaged_frames())
def test_a_damaged_frame_is_rejected_with_a_documented_error_or_decodes_into_a_whole_message(frame):
    """What a receiver relies on: decode either raises one of its documented errors (the sink counts
    and answers those) or returns a message of this protocol version that survives re-encoding."""
    try:
        msg = wire.decode(frame)
    except DECODE_ERRORS:
        return
    assert isinstance(msg, (wire.Batch, wire.Ack, wire.Job, wire.Heartbeat, wire.JobDone))
    assert msg.v == wire.PROTOCOL_VERSION, "a frame of another protocol version was accepted"
    again = wire.encode(msg)
    assert wire.encode(wire.decode(again)) == again


def test_truncated_and_wrong_version_frames_are_rejected():
    frame = wire.encode(wire.Ack(seq=1))
    with pytest.raises(msgspec.DecodeError):
        wire.decode(frame[:-3])
    with pytest.raises(wire.WrongVersion):
        wire.decode(wire.encode(wire.Ack(seq=1, v=2)))
    unknown_tag = msgspec.msgpack.encode({"type": "nope", "v": 1})
    with pytest.raises(msgspec.ValidationError):
        wire.decode(unknown_tag)


def test_old_reader_skips_new_fields():
    """Schema evolution: a newer writer's extra field does not break this reader."""
    newer = msgspec.msgpack.encode({"type": "ack", "seq": 5, "stored": 1, "error": "", "v": 1, "added_later": [1, 2]})
    assert wire.decode(newer) == wire.Ack(seq=5, stored=1)
