"""Reference reward for GRPO training on the exported prompts: the negative Brier score.

Turtel et al. 2025 ("Outcome-based Reinforcement Learning to Predict the Future", arXiv 2505.17989)
reward a forecast p of a question with outcome y (1 = YES) by -(p - y)^2. What they give a response
without a usable probability is NOT confirmed: the paper's abstract (v2/v3, arxiv.org/abs/2505.17989)
says only that "lightweight guard-rails ... penalise gibberish, non-English responses and missing
rationales", and the sources we could consult state no number. UNPARSEABLE_REWARD = -1 is therefore
OUR choice: the worst Brier score, so that a malformed answer never beats a wrong but well-formed one
(any value above -1 would let answering nothing beat a confident miss).

The signature is TRL's: ``GRPOTrainer`` calls a reward function with the generated ``completions``
and every other dataset column as a keyword argument, so the export's ``answer`` column arrives as
``answer``::

    from trl import GRPOConfig, GRPOTrainer
    from exporter.reward import brier_reward
    trainer = GRPOTrainer(model=..., reward_funcs=brier_reward, train_dataset=prompts, args=GRPOConfig(...))
"""

from __future__ import annotations

import re

UNPARSEABLE_REWARD = -1.0  # our choice (not confirmed in the paper): the worst Brier score, see above
_ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.IGNORECASE | re.DOTALL)
_NUMBER = re.compile(r"^([0-9]*\.?[0-9]+)\s*(%?)$")


def parse_probability(text: str) -> float | None:
    """The probability in the last <answer>...</answer> of a response (0..1, or a percentage), else None."""
    found = _ANSWER.findall(text or "")
    if not found:
        return None
    m = _NUMBER.match(found[-1].strip())
    if not m:
        return None
    value = float(m.group(1)) / (100.0 if m.group(2) else 1.0)
    return value if 0.0 <= value <= 1.0 else None


def _text(completion) -> str:
    """A completion as text: a plain string, or TRL's conversational list of {role, content} messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return ""


def brier_reward(completions: list, answer: list[str], **_: object) -> list[float]:
    """-(p - y)^2 per completion; UNPARSEABLE_REWARD when it holds no probability in 0..1."""
    rewards = []
    for completion, label in zip(completions, answer, strict=True):
        p = parse_probability(_text(completion))
        y = 1.0 if str(label).upper() == "YES" else 0.0
        rewards.append(UNPARSEABLE_REWARD if p is None else -((p - y) ** 2))
    return rewards
