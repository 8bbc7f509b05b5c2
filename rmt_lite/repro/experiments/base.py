"""The pieces every profile shares: the smoke, cpu and paper settings, and the helpers that build an
experiment from them."""

from __future__ import annotations

import dataclasses

from ...run_config import EXPERIMENTS, Experiment


def merge(*dicts: dict) -> dict:
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = {**out.get(k, {}), **v} if k == "task" else v
    return out


# shared pieces -----------------------------------------------------------------------------------
SMOKE = dict(
    d_model=32,
    n_layers=2,
    n_heads=2,
    d_ff=64,
    dropout=0.0,
    steps=16,
    batch_size=8,
    lr=3e-3,
    weight_decay=0.0,
    clip=1.0,
    schedule="cosine",
    warmup_steps=2,
    min_lr=0.0,
    eval_interval=8,
    eval_size=16,
    test_size=16,
    eval_batch_size=16,
)
CPU = dict(
    d_model=128,
    n_layers=4,
    n_heads=4,
    d_ff=256,
    dropout=0.0,
    batch_size=64,
    lr=1e-3,
    weight_decay=0.01,
    clip=1.0,
    schedule="cosine",
    warmup_steps=50,
    min_lr=1e-5,
    eval_size=256,
    test_size=1000,
    eval_batch_size=256,
)
# short synthetic tasks of the paper (short_synthetic+MT.csv): adam 1e-4, dev_perf (reduce on
# plateau x0.5, patience 8), clip 0.25, batch 32, dropout 0.1, evaluation on 50 batches of 32.
PAPER_SHORT = dict(
    d_model=128,
    n_layers=4,
    n_heads=4,
    d_ff=256,
    dropout=0.1,
    batch_size=32,
    lr=1e-4,
    weight_decay=0.0,
    clip=0.25,
    schedule="plateau",
    warmup_steps=0,
    min_lr=1e-6,
    decay_rate=0.5,
    patience=8,
    steps=400_000,
    eval_interval=12_000,
    eval_size=1600,
    test_size=1600,
    eval_batch_size=256,
)


def task_experiment(name, description, metric, smoke, cpu, paper, source, length_factor=0, task_name=""):
    return Experiment(
        name=name,
        kind="task",
        description=description,
        metric=metric,
        maximize=True,
        profiles={"smoke": merge(SMOKE, smoke), "cpu": merge(CPU, cpu), "paper": paper},
        source=source,
        length_factor=length_factor,
        task_name=task_name or name,
    )


COPY_PAPER = merge(PAPER_SHORT, dict(task=dict(length=24, num_symbols=10), segment_len=24, mem_size=24))
COPY_SMOKE = dict(task=dict(length=6, num_symbols=4), segment_len=6, mem_size=2)
SEGMENT_CURRICULUM = dict(curriculum_threshold=0.9, min_lr=1e-4, target=0.999)


def variant_of(base: str, name: str, description: str, cpu: dict, every: dict | None = None) -> Experiment:
    """Experiment ``base`` under a new name: ``every`` changes all three profiles, ``cpu`` the cpu
    profile only (on top of ``every``); the task, metric and source stay the base's."""
    e = EXPERIMENTS[base]
    return dataclasses.replace(
        e,
        name=name,
        description=description,
        task_name=e.task_name,
        profiles={p: merge(c, every or {}, cpu if p == "cpu" else {}) for p, c in e.profiles.items()},
    )


def short_cpu(length: int, **run) -> dict:
    """A cpu profile of copy or reverse: ``length`` symbols out of 10, the segment and the memory
    as long as the sample's symbols (the paper's rows), a curriculum over segments."""
    task = dict(length=length, num_symbols=10)
    return merge(SEGMENT_CURRICULUM, dict(task=task, segment_len=length, mem_size=length, **run))
