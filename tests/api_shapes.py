"""Comparing a JSON answer with a recorded example of the real API (tests/fixtures/api, provenance in
its PROVENANCE.md): same keys and JSON types, keys in ``optional`` allowed to be absent
(tests/test_simulator_shapes.py, test_books_sim.py).
"""

from __future__ import annotations

import json

from tests.conftest import API_EXAMPLES

NULLABLE = {"rates", "game_start_time", "category", "occurrence_datetime"}
FREE_FORM = {"custom_strike"}       # object whose keys depend on the market


def jtype(v) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", type(None): "null", list: "array", dict: "object"}[type(v)]


def shape_errors(example, actual, optional=frozenset(), path="$") -> list[str]:
    """Where actual differs from example in shape, as JSON paths; [] when it matches."""
    errors = []
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected object, got {jtype(actual)}"]
        for key, ev in example.items():
            if key not in actual:
                if key not in optional:
                    errors.append(f"{path}.{key}: missing")
                continue
            av = actual[key]
            if key in FREE_FORM:
                continue
            if av is None or ev is None:
                if (av is None) != (ev is None) and key not in NULLABLE:
                    errors.append(f"{path}.{key}: null mismatch")
                continue
            errors += shape_errors(ev, av, optional, f"{path}.{key}")
    elif isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{path}: expected array, got {jtype(actual)}"]
        for j, item in enumerate(actual[:20]):
            if example:
                errors += shape_errors(example[0], item, optional, f"{path}[{j}]")
    elif jtype(example) != jtype(actual):
        errors.append(f"{path}: {jtype(example)} expected, got {jtype(actual)}")
    return errors


def load(name: str):
    """A recorded example by its path under tests/fixtures/api, e.g. "kalshi/market.json"."""
    return json.loads((API_EXAMPLES / name).read_text())
