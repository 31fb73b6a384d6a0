"""The market baseline's numbers and the reference reward, computed by hand on small batches."""

from __future__ import annotations

import json
import math

import pytest

from exporter.baseline import Baseline
from exporter.reward import UNPARSEABLE_REWARD, brier_reward, parse_probability


def test_brier_log_loss_and_ece_by_hand():
    b = Baseline()
    data = [(0.9, "YES", "kalshi", "horizon", 1.0), (0.8, "NO", "kalshi", "horizon", 7.0),
            (0.15, "NO", "polymarket", "random", None), (0.12, "YES", "polymarket", "horizon", 1.0)]
    for p, y, plat, kind, h in data:
        b.add(p, y, plat, kind, h)
    b.add_split(0.9, "YES", "test")
    r = b.result()
    ys = [1 if y == "YES" else 0 for _, y, *_ in data]
    ps = [p for p, *_ in data]
    assert r["overall"]["n"] == 4
    assert r["overall"]["brier"] == pytest.approx(sum((p - y) ** 2 for p, y in zip(ps, ys)) / 4, abs=1e-6)
    ll = -sum(math.log(p) if y else math.log(1 - p) for p, y in zip(ps, ys)) / 4
    assert r["overall"]["log_loss"] == pytest.approx(ll, abs=1e-6)
    # bins: [0.1,0.2) holds 0.15 (NO) and 0.12 (YES): |0.135 - 0.5| * 2; 0.8 bin: |0.8 - 0|; 0.9 bin: |0.9 - 1|
    assert r["overall"]["ece"] == pytest.approx((2 * abs(0.135 - 0.5) + 0.8 + 0.1) / 4, abs=1e-6)
    assert [x["n"] for x in r["overall"]["bins"]] == [0, 2, 0, 0, 0, 0, 0, 0, 1, 1]
    assert list(r["horizon"]) == ["1d", "7d", "random"]
    assert r["platform"]["kalshi"]["n"] == 2 and r["split"]["test"]["n"] == 1
    json.dumps(r)  # goes into manifest.json


@pytest.mark.parametrize("text, p", [
    ("I think... <answer>0.62</answer>", 0.62), ("<answer> 62% </answer>", 0.62),
    ("<answer>0.1</answer> on reflection <answer>.3</answer>", 0.3), ("<ANSWER>1</ANSWER>", 1.0),
    ("0.62", None), ("<answer>likely</answer>", None), ("<answer>1.5</answer>", None), ("<answer>-0.2</answer>", None),
    ("", None)])
def test_parse_probability(text, p):
    assert parse_probability(text) == (pytest.approx(p) if p is not None else None)


def test_reward_on_a_batch_as_grpo_trainer_calls_it():
    completions = [[{"role": "assistant", "content": "Reasoning. <answer>0.8</answer>"}],
                   [{"role": "assistant", "content": "<answer>0.8</answer>"}],
                   "plain text <answer>0.25</answer>",
                   [{"role": "assistant", "content": "no answer tag: 0.9"}],
                   [{"role": "assistant", "content": "<answer>two</answer>"}]]
    answer = ["YES", "NO", "NO", "YES", "NO"]
    got = brier_reward(completions=completions, answer=answer, prompts=[None] * 5, market_id=["m"] * 5)
    assert got == pytest.approx([-0.04, -0.64, -0.0625, UNPARSEABLE_REWARD, UNPARSEABLE_REWARD])
    assert UNPARSEABLE_REWARD == -1.0 and min(got[:3]) > UNPARSEABLE_REWARD  # malformed never beats well-formed
