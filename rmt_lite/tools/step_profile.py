"""Where the time of a training step goes (issue 30): its matrix-multiplication and SDPA attention
kernels against the rest (element-wise work, copies, the dispatch of about a thousand operators).

The torch profiler times each operator on the wall clock and adds its own cost between operators,
so the sum of its operator times overstates the step (on a shared machine it also counts the time
the process waited). The step is therefore timed twice in every round: once bare, on the
benchmark's clock, and once under the profiler for the kernels' share. The rest is the bare step
less the kernels.
"""

from __future__ import annotations

import statistics

import torch
from torch.profiler import ProfilerActivity, profile

from ..model import MemoryTransformer
from . import measure
from .measure import BATCH, N_SEG, SEG_LEN, copy_config, train_step_fn

MATMUL = ("aten::mm", "aten::addmm", "aten::bmm")


def _kernels(ops, steps: int) -> dict[str, float]:
    """Milliseconds per step of the profiler's operator table ``ops``: every operator, the matrix
    multiplications and the SDPA kernels (self times)."""

    def ms(keep) -> float:
        return sum(e.self_cpu_time_total for e in ops if keep(e.key)) / steps / 1e3

    return dict(
        profiled_ms=ms(lambda k: True),
        matmul_ms=ms(lambda k: k in MATMUL),
        sdpa_ms=ms(lambda k: "scaled_dot_product" in k),
    )


def _copy_step():
    torch.manual_seed(0)
    return train_step_fn(MemoryTransformer(copy_config("rmt")).train(), BATCH, SEG_LEN, N_SEG)


def step_split(rounds: int = 8, warmup: int = 3) -> dict:
    """rmt's copy training step (``measure.train_step_fn``): medians over ``rounds`` of the bare
    step (``step_ms``, the benchmark's clock) and of the profiled one's operator times, the
    kernels' milliseconds, the rest (``rest_ms`` = bare step - kernels) and its share of the step."""
    step = _copy_step()
    for _ in range(warmup):
        step()
    bare, split = [], []
    for _ in range(rounds):
        start = measure._clock()
        step()
        bare.append(1e3 * (measure._clock() - start))
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        split.append(_kernels(prof.key_averages(), 1))
    row = dict(model="rmt", step_ms=statistics.median(bare))
    row |= {k: statistics.median(s[k] for s in split) for k in split[0]}
    row["rest_ms"] = row["step_ms"] - row["matmul_ms"] - row["sdpa_ms"]
    row["rest_share"] = row["rest_ms"] / row["step_ms"]
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


def profile_step(steps: int = 5, warmup: int = 3) -> str:
    """The torch profiler's operator table of rmt's copy training step over ``steps`` steps, then
    :func:`step_split`'s line: the step under the profiler and bare, the kernels and the rest."""
    step = _copy_step()
    for _ in range(warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    row = step_split(rounds=steps, warmup=0)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25) + (
        f"\nper step: {row['profiled_ms']:.0f} ms under the profiler, {row['step_ms']:.0f} ms without it; "
        f"matrix multiplications {row['matmul_ms']:.0f} ms, SDPA kernels {row['sdpa_ms']:.0f} ms; "
        f"the rest {row['rest_ms']:.0f} ms of the step without the profiler\n"
    )
