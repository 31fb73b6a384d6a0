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


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_decode_into_something_else(data):
    try:
        wire.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, wire.WrongVersion):
        pass


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
