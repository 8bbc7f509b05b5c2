"""The notebooks' parameters, checked by one set of rules: by each notebook right after its
parameters cell (``validate(globals())``) and by ``python -m rmt_lite.book execute`` before any
kernel starts, so that ``-p SEED abc`` ends in a message naming ``SEED``, not a failure deep in a
later cell. A name without a rule is not checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...config import VARIANTS
from ...run_config import EXPERIMENTS, PROFILES

DEVICES = ("auto", "cpu", "cuda", "mps")


def _int(low: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low), f"an integer >= {low}"


def _choice(options) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in options), "one of " + ", ".join(map(repr, options))


def _list_of(ok: Callable[[Any], bool], what: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, list) and all(ok(x) for x in v)), f"a list of {what}"


def _text() -> tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, str)), "a string"


_POSITIVE = _int(1)[0]


def _positive_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "PROFILE": _choice(PROFILES),
    "COMMITTED_PROFILE": _choice(PROFILES),
    "RESULTS_PROFILE": _choice(PROFILES),
    "SEED": _int(0),
    "N_SEEDS": _int(1),
    "DEVICE": (
        lambda v: isinstance(v, str) and (v in DEVICES or v.startswith("cuda:")),
        "one of " + ", ".join(map(repr, DEVICES)) + " or 'cuda:N'",
    ),
    "RESULTS_DIR": _text(),
    "THREADS": _int(0),
    "TASK": _choice(tuple(EXPERIMENTS)),
    "TASKS": _list_of(lambda v: v in EXPERIMENTS, "experiment names"),
    "LONG_TASKS": _list_of(lambda v: v in EXPERIMENTS, "experiment names"),
    "MEMORY_TASK": _choice(tuple(EXPERIMENTS)),
    "GENERALISE_TASK": _choice(tuple(EXPERIMENTS)),
    "FRESH_MODELS": _list_of(lambda v: v in (*VARIANTS, "transformer (whole)"), "model variants"),
    "MEM_SIZES": _list_of(_POSITIVE, "positive integers"),
    "MEMORY_SIZES": _list_of(_POSITIVE, "positive integers"),
    "BPTT_DEPTHS": _list_of(_int(0)[0], "integers >= 0"),
    "FACTORS": _list_of(_positive_number, "numbers > 0"),
    "GENERALISE_FACTORS": _list_of(_positive_number, "numbers > 0"),
}
for _name in ("N_EXAMPLES", "N_SAMPLES", "GENERALISE_SAMPLES", "DECODE_SAMPLES", "N_ATTENTION", "N_PROBE_TEST"):
    RULES[_name] = _int(1)
RULES["N_PROBE_TRAIN"] = _int(0)
for _name in ("ENWIK8_PATH", "WT103_PATH", "HP_ARTICLES_XML", "HP_GROUND_TRUTH_XML", "HP_TEST_ARTICLES_XML"):
    RULES[_name] = _text()
RULES["HP_TEST_GROUND_TRUTH_XML"] = _text()


def problems(values: dict[str, Any]) -> list[str]:
    """One message per parameter in ``values`` that breaks its rule (names without a rule pass)."""
    return [
        f"{name}={value!r} is not allowed: {what}"
        for name, value in values.items()
        if name in RULES
        for ok, what in [RULES[name]]
        if not ok(value)
    ]


def validate(values: dict[str, Any]) -> None:
    """Raise a ValueError naming every parameter in ``values`` (a notebook passes ``globals()``)
    whose value breaks its rule."""
    found = problems(values)
    if found:
        raise ValueError("; ".join(found))
