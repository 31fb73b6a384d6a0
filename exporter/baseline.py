"""The market baseline: how good is the market's own price at as_of as a forecast of the answer?

Turtel et al. 2025 compare their models against exactly this (market Brier 0.151 vs their best
model's 0.190), so an export reports it for its own prompts: Brier score, log loss and expected
calibration error (ECE, 10 equal-width bins), overall, per platform, per horizon and per split.
Accumulated prompt by prompt in constant memory (sums per group and bin), so it streams with the
export. ``calibration.png`` draws the reliability diagram of all prompts with the count per bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

BINS = 10
LOG_EPS = 1e-6  # log loss clips p to [eps, 1 - eps]: a market at 0 or 1 that is wrong is finite, not inf


@dataclass
class _Sums:
    n: int = 0
    brier: float = 0.0
    log_loss: float = 0.0
    bin_n: list[int] = field(default_factory=lambda: [0] * BINS)
    bin_p: list[float] = field(default_factory=lambda: [0.0] * BINS)
    bin_y: list[int] = field(default_factory=lambda: [0] * BINS)

    def add(self, p: float, y: int) -> None:
        self.n += 1
        self.brier += (p - y) ** 2
        q = min(max(p, LOG_EPS), 1.0 - LOG_EPS)
        self.log_loss -= math.log(q) if y else math.log(1.0 - q)
        b = min(int(p * BINS), BINS - 1)
        self.bin_n[b] += 1
        self.bin_p[b] += p
        self.bin_y[b] += y

    def result(self) -> dict:
        if not self.n:
            return {"n": 0, "brier": None, "log_loss": None, "ece": None, "bins": []}
        ece = sum(abs(self.bin_p[b] - self.bin_y[b]) for b in range(BINS)) / self.n  # sum_b n_b/N |mean p - freq|
        bins = [{"lo": b / BINS, "hi": (b + 1) / BINS, "n": self.bin_n[b],
                 "mean_p": round(self.bin_p[b] / self.bin_n[b], 6) if self.bin_n[b] else None,
                 "frac_yes": round(self.bin_y[b] / self.bin_n[b], 6) if self.bin_n[b] else None}
                for b in range(BINS)]
        return {"n": self.n, "brier": round(self.brier / self.n, 6), "log_loss": round(self.log_loss / self.n, 6),
                "ece": round(ece, 6), "bins": bins}


def horizon_label(kind: str, horizon_days: float | None) -> str:
    return f"{horizon_days:g}d" if kind == "horizon" and horizon_days is not None else "random"


def _order(key: str) -> tuple:
    """Horizons by length ("1d" < "7d" < "30d" < "random"), other keys alphabetically."""
    return (0, float(key[:-1]), "") if key.endswith("d") and key[:-1].replace(".", "", 1).isdigit() else (1, 0.0, key)


class Baseline:
    """Add every exported prompt; ``result()`` gives the manifest's ``baseline`` section."""

    def __init__(self):
        self.groups: dict[str, dict[str, _Sums]] = {"overall": {}, "platform": {}, "horizon": {}, "split": {}}

    def add(self, price: float | None, answer: str, platform: str, kind: str, horizon_days: float | None) -> None:
        for group, key in (("overall", "all"), ("platform", platform), ("horizon", horizon_label(kind, horizon_days))):
            self._add(group, key, price, answer)

    def add_split(self, price: float | None, answer: str, split: str) -> None:
        self._add("split", split, price, answer)

    def _add(self, group: str, key: str, price: float | None, answer: str) -> None:
        if price is not None and answer in ("YES", "NO"):
            self.groups[group].setdefault(key, _Sums()).add(price, 1 if answer == "YES" else 0)

    def result(self) -> dict:
        out = {group: {k: d[k].result() for k in sorted(d, key=_order)} for group, d in self.groups.items()}
        out["overall"] = out["overall"].get("all", _Sums().result())
        out["definition"] = ("p = price_at_as_of (the market's YES price observed at or before as_of), y = 1 for YES. "
                             f"brier = mean (p - y)^2; log_loss = mean -log(p if y else 1 - p), p clipped to "
                             f"[{LOG_EPS:g}, 1 - {LOG_EPS:g}]; ece = sum over {BINS} equal-width bins of "
                             "n_bin / n * |mean p - fraction YES|.")
        return out


def table(b: dict) -> str:
    """The card's markdown table: one row per group."""
    rows = ["| prompts | n | Brier | log loss | ECE |", "| --- | --- | --- | --- | --- |"]

    def row(name: str, r: dict) -> str:
        f = (lambda x: "–" if x is None else f"{x:.4f}")
        return f"| {name} | {r['n']} | {f(r['brier'])} | {f(r['log_loss'])} | {f(r['ece'])} |"

    rows.append(row("all", b["overall"]))
    for group in ("platform", "horizon", "split"):
        for key, r in b[group].items():
            rows.append(row(f"{group} `{key}`", r))
    return "\n".join(rows)


def plot(b: dict, path: Path) -> None:
    """Reliability diagram of all prompts: mean price vs fraction YES per bin, counts on the bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # not pyplot: its import alone takes seconds
    from matplotlib.figure import Figure

    bins = b["overall"]["bins"]
    fig = Figure(figsize=(6, 7))
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    filled = [x for x in bins if x["n"]]
    top.plot([x["mean_p"] for x in filled], [x["frac_yes"] for x in filled], marker="o", label="market price")
    top.set_ylabel("fraction resolved YES")
    top.set_title(f"Market calibration at as_of (n={b['overall']['n']}, Brier {b['overall']['brier']:.4f}, "
                  f"ECE {b['overall']['ece']:.4f})", fontsize=9)
    top.legend(loc="upper left", fontsize=8)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    centers = [(x["lo"] + x["hi"]) / 2 for x in bins]
    bars = bottom.bar(centers, [x["n"] for x in bins], width=1 / BINS * 0.9, color="tab:blue", alpha=0.6)
    bottom.bar_label(bars, labels=[str(x["n"]) for x in bins], fontsize=7)
    bottom.set_xlabel("market YES price at as_of (10 bins)")
    bottom.set_ylabel("prompts")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100, metadata={"Software": None})  # no version stamp: reproducible bytes
