"""Trained on n segments, tested on more (chapter 4, the claims' "longer than trained" row).

A copy or reverse model is evaluated, at its own segment length, on samples of its task that are
``FACTORS`` times as long, so that a longer sample takes more segments than training ever showed.
``python -m rmt_lite.repro.generalisation`` does it for the seed-0 ``xl`` and ``rmt`` runs of
``copy_long`` and ``reverse_long`` (and the needle's three models, ``NEEDLE_FACTORS`` up to 32
times as long; ``needle_lengths``: rmt trained on each of ``NEEDLE_TRAINED_LENGTHS``, up to twice
as long; ``needle_memory`` and ``needle_distractors``: issue 31's runs, up to ``NEEDLE_FARTHEST``
segments) whose weights are there (``--seed`` another seed), and writes one JSON file per run
under ``results/generalisation/<experiment>/<run_id>.json`` (read by :func:`load`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..curriculum import make_task, num_segments, sample_len
from ..evaluate import evaluate_task, streamed_exact
from ..records import RECORD, RunRecord, atomic_write_json
from ..run_config import resolve
from ..utils import git_sha

FACTORS = (1, 1.5, 2, 4, 8)
# the needle is tested far past its training length: 4 trained segments -> up to 128
NEEDLE_FACTORS = (1, 2, 4, 8, 16, 32)
# claim 10 with the content of a segment held constant (repro/experiments/needle.py, needle_lengths): rmt trained
# on each of these lengths, tested up to twice as long
NEEDLE_TRAINED_LENGTHS = (64, 128, 192)
TWICE = (1, 1.5, 2)
EXPERIMENTS = {
    "copy_long": FACTORS,
    "reverse_long": FACTORS,
    "needle": NEEDLE_FACTORS,
    "needle_lengths": TWICE,
    "needle_memory": NEEDLE_FACTORS,  # each run up to NEEDLE_FARTHEST segments
    "needle_distractors": NEEDLE_FACTORS,  # likewise
}
NEEDLE_FARTHEST = 128  # segments: where the profile's needle runs are tested farthest
FOLDER = "generalisation"


def length_generalisation(
    model, cfg, lengths: Sequence[int], *, n_samples: int = 200, batch_size: int = 100
) -> pd.DataFrame:
    """Evaluate a trained task model (``model, cfg = rmt_lite.load_model(run_dir)``) on samples of
    other ``lengths`` of its task, at its own segment length, so that longer samples take more
    segments (a task with a one-token answer, the needle, is read one segment at a time so that
    memory does not grow with the length). Samples come from each length's fixed test set. One row per length: length,
    seq_len, segments, acc (greedy), acc_tf, exact_match, and ``trained`` (the sample is no
    longer than the ones the model was trained on)."""
    return _measure_lengths(model, cfg, lengths, n_samples, batch_size)[0]


def _measure_lengths(model, cfg, lengths, n_samples: int, batch_size: int = 100) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`length_generalisation`'s rows and, for the needle, one row per test sample: length,
    ``depth`` (where its answering fact starts, as a share of the sample: 0 = the first token) and
    ``correct`` (empty for other tasks)."""
    if cfg.kind != "task" or "length" not in cfg.task:
        raise ValueError(
            f"cfg.experiment={cfg.experiment!r} is not allowed: a task experiment with a length (copy, reverse, needle)"
        )
    trained = sample_len(cfg)
    rows, samples = [], []
    for L in lengths:
        if not isinstance(L, (int, np.integer)) or isinstance(L, bool) or L < 1:
            raise ValueError(f"lengths contains {L!r}; allowed: positive integers")
        task = make_task(cfg, int(L))
        batch = task.fixed_set("test", n_samples)
        if hasattr(task, "fact_position"):  # one answer token (the needle): greedy = teacher-forced, streamed
            hits = streamed_exact(model, batch, cfg.segment_len, batch_size=batch_size, amp=cfg.amp)
            acc = int(hits.sum()) / len(hits)
            m = dict(acc_greedy=acc, acc_tf=acc, exact_greedy=acc)
            depth = [task.fact_position(t) / task.seq_len for t in batch.tokens]
            samples.append(pd.DataFrame(dict(length=int(L), depth=depth, correct=hits.tolist())))
        else:
            m = evaluate_task(model, batch, cfg.segment_len, batch_size=batch_size, greedy=True, amp=cfg.amp)
        rows.append(
            dict(
                length=int(L),
                seq_len=int(task.seq_len),
                segments=num_segments(int(task.seq_len), cfg.segment_len),
                acc=m["acc_greedy"],
                acc_tf=m["acc_tf"],
                exact_match=m["exact_greedy"],
                trained=int(task.seq_len) <= trained,
            )
        )
    empty = pd.DataFrame(columns=["length", "depth", "correct"])
    return pd.DataFrame(rows), pd.concat(samples, ignore_index=True) if samples else empty


def generalisation_lengths(cfg, factors: Sequence[float]) -> list[int]:
    """Task lengths ``round(f * length)`` of a copy/reverse run configuration, for each factor
    ``f`` (distinct, sorted; at least 1)."""
    if "length" not in cfg.task:
        raise ValueError(f"cfg.experiment={cfg.experiment!r} is not allowed: a task experiment with a length")
    bad = [f for f in factors if not isinstance(f, (int, float)) or isinstance(f, bool) or f <= 0]
    if bad:
        raise ValueError(f"factors contains {bad}; allowed: positive numbers")
    return sorted({max(1, round(f * cfg.task["length"])) for f in factors})


def measure(run_dir: str | Path, factors: Sequence[float] = FACTORS, n_samples: int = 200) -> dict:
    """The generalisation record of one finished run: where it came from and one row per length."""
    from ..runs import load_model

    model, cfg = load_model(run_dir, device="cpu")
    rows, samples = _measure_lengths(model, cfg, generalisation_lengths(cfg, factors), n_samples)
    record = RunRecord.load(Path(run_dir) / RECORD)
    return dict(
        experiment=cfg.experiment,
        model=cfg.model,
        seed=cfg.seed,
        profile=cfg.profile,
        run_id=record.run_id,
        git_sha=record.git_sha,
        analysis_git_sha=git_sha(),
        trained_length=cfg.task["length"],
        segment_len=cfg.segment_len,
        mem_size=cfg.mem_size,
        n_samples=n_samples,
        rows=rows.to_dict("records"),
        **({"samples": samples.to_dict("list")} if len(samples) else {}),
    )


def load(results_dir: str | Path) -> pd.DataFrame:
    """Every committed generalisation record as one row per run and length (columns of
    :func:`length_generalisation` plus experiment, model, seed, profile, run_id, the commit that
    evaluated it and factor)."""
    frames = []
    for path in sorted((Path(results_dir) / FOLDER).glob("*/*.json")):
        r = json.loads(path.read_text())
        keys = ("experiment", "model", "seed", "profile", "run_id", "analysis_git_sha")
        df = pd.DataFrame(r["rows"]).assign(**{k: r[k] for k in keys})
        frames.append(df.assign(factor=df["length"] / r["trained_length"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_samples(results_dir: str | Path) -> pd.DataFrame:
    """One row per test sample of every committed needle generalisation record: experiment, model,
    seed, run_id, length, segments, ``depth`` (where the answering fact starts, as a share of the
    sample) and ``correct``."""
    frames = []
    for path in sorted((Path(results_dir) / FOLDER).glob("*/*.json")):
        r = json.loads(path.read_text())
        if "samples" not in r:
            continue
        segments = {row["length"]: row["segments"] for row in r["rows"]}
        df = pd.DataFrame(r["samples"]).assign(**{k: r[k] for k in ("experiment", "model", "seed", "run_id")})
        frames.append(df.assign(segments=df["length"].map(segments)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rmt_lite.repro.generalisation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results", default="results")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--only", action="append", choices=sorted(EXPERIMENTS), help="only these experiments")
    args = parser.parse_args(argv)
    from ..runs import default_run_id, finished

    wanted = args.only or list(EXPERIMENTS)
    for experiment in wanted:
        for model, overrides in _runs_of(experiment, args.seed):
            cfg = resolve(experiment, model, "cpu", args.seed, overrides)
            run_dir = Path(args.results) / experiment / default_run_id(cfg)
            if not finished(run_dir):  # not trained, still training, or trained elsewhere (no weights here)
                print(f"skipped {run_dir}: no finished run with its weights")
                continue
            factors = EXPERIMENTS[experiment]
            if experiment in ("needle_memory", "needle_distractors"):  # as far as the profile's runs, not farther
                trained = num_segments(sample_len(cfg), cfg.segment_len)
                factors = tuple(f for f in factors if f * trained <= NEEDLE_FARTHEST)
            record = measure(run_dir, factors, n_samples=args.samples)
            out = Path(args.results) / FOLDER / experiment / f"{record['run_id']}.json"
            atomic_write_json(out, record)
            print(f"{out}: " + ", ".join(f"{r['segments']} seg {r['acc']:.3f}" for r in record["rows"]))
    return 0


def _runs_of(experiment: str, seed: int) -> list[tuple[str, dict | None]]:
    """(model, overrides) of the runs of ``experiment`` and ``seed`` that this command evaluates
    (of the needle's later experiments, only those the queue trains for that seed)."""
    if experiment == "needle":
        return [(m, None) for m in ("xl", "rmt", "transformer")]
    if experiment == "needle_lengths":
        return [("rmt", {"length": n}) for n in NEEDLE_TRAINED_LENGTHS]
    if experiment in ("needle_memory", "needle_distractors"):
        from .reproduce import needle_distractors, needle_memory

        runs = needle_memory() if experiment == "needle_memory" else needle_distractors()
        return [(r.model, r.overrides or None) for r in runs if r.seed == seed]
    return [("xl", None), ("rmt", None)]


if __name__ == "__main__":
    from ..cli import run

    sys.exit(run(main))
