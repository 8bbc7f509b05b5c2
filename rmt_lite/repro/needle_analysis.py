"""Where the memory of a needle ``rmt`` loses the fact (chapter 9): is a fact lost when it is written, or
while it is kept? A linear probe (:func:`rmt_lite.repro.memory_analysis.ridge_predict`) reads the asked
place from the memory after every segment of samples far longer than the training ones.
``python -m rmt_lite.repro.needle_analysis`` measures the committed needle runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from data_gen.needle import WENT

from ..curriculum import make_task
from ..evaluate import streamed_exact
from ..model import MemoryTransformer
from ..records import RECORD, RunRecord, atomic_write_json
from ..run_config import RunConfig
from ..runner import segment_bounds
from .memory_analysis import ANALYSIS_DIR, memory_states, ridge_predict

NEEDLE_FACTOR = 8  # test samples 8 times the trained length (32 segments for the cpu runs)


def needle_memory(
    model: MemoryTransformer,
    cfg: RunConfig,
    length: int,
    *,
    n_train: int = 2000,
    n_test: int = 400,
    ridge: float = 1e-2,
) -> pd.DataFrame:
    """Per test sample of the needle at ``length`` tokens: ``fact_segment`` (0-based, the segment
    that holds the fact's place, its last token), whether a linear probe reads the place of the
    fact from the memory written by that segment
    (``written``) and from the memory the question's segment reads (``kept``), and whether the
    model answers right (``answered``). The probes (:func:`ridge_predict`, all slots together) are
    trained on ``n_train`` samples of the training stream (a ``torch.Generator`` seeded with the
    run's seed) and scored on the fixed test set. A sample whose fact sits in the question's own
    segment needs no memory and is left out."""
    task = make_task(cfg, length)
    if not hasattr(task, "fact_position") or not model.cfg.has_memory:
        raise ValueError(f"cfg.experiment={cfg.experiment!r}, model {model.cfg.variant!r}: allowed: the needle, rmt")
    seg = cfg.segment_len
    n = len(segment_bounds(int(task.seq_len), seg))
    train = task.batch(n_train, torch.Generator().manual_seed(cfg.seed))
    test = task.fixed_set("test", n_test)
    _, places = torch.unique(torch.cat([train.targets[:, -1], test.targets[:, -1]]), return_inverse=True)

    def read(batch):
        mem = memory_states(model, batch.tokens, seg)  # [n + 1, N, M, d]
        # the segment that holds the fact's place: a fact cut by a boundary is whole only after it
        fact = torch.tensor([task.place_position(t) // seg for t in batch.tokens])
        written = mem[fact + 1, torch.arange(len(fact))].flatten(1)
        return fact, fact < n - 1, written, mem[n - 1].flatten(1)

    f_tr, use_tr, w_tr, k_tr = read(train)
    f_te, use_te, w_te, k_te = read(test)
    y_tr, y_te = places[: len(f_tr), None][use_tr], places[len(f_tr) :]
    k = int(places.max()) + 1
    written = ridge_predict(w_tr[use_tr][None], y_tr, w_te[None], k, ridge)[0, :, 0] == y_te
    kept = ridge_predict(k_tr[use_tr][None], y_tr, k_te[None], k, ridge)[0, :, 0] == y_te
    answered = streamed_exact(model, test, seg, amp=cfg.amp)
    df = pd.DataFrame(dict(fact_segment=f_te, written=written, kept=kept, answered=answered))
    return df[use_te.numpy()].assign(segments=n).reset_index(drop=True)


def measure_needle_memory(run_dir: str | Path, factor: int = NEEDLE_FACTOR, length: int | None = None, **kw) -> dict:
    """:func:`needle_memory` of one committed needle ``rmt`` run at ``length`` tokens (by default
    ``factor`` times its trained length), with where it comes from (written by ``python -m
    rmt_lite.repro.needle_analysis``)."""
    from ..runs import load_model
    from ..utils import git_sha

    model, cfg = load_model(run_dir, device="cpu")
    length = length or factor * int(cfg.task["length"])
    df = needle_memory(model, cfg, length, **kw)
    record = RunRecord.load(Path(run_dir) / RECORD)
    meta = dict(experiment=cfg.experiment, model=cfg.model, seed=cfg.seed, profile=cfg.profile, run_id=record.run_id)
    meta.update(git_sha=record.git_sha, analysis_git_sha=git_sha(), length=length, segment_len=cfg.segment_len)
    return dict(meta, samples={c: df[c].tolist() for c in df.columns})


ANSWERS_DIR = "needle_answers"


@torch.no_grad()
def named_answers(model: MemoryTransformer, cfg: RunConfig, n_samples: int = 500) -> dict:
    """What a needle run answers among distractors, on ``n_samples`` test samples at its trained
    length: the share it answers right (``right``), the share it answers with a place that one of
    the sample's facts names, about anyone (``named``), and the share a reader scores that answers
    with the place of one of those facts at random (``random_fact``)."""
    from .needle_million import read_needles

    task = make_task(cfg, int(cfg.task["length"]))
    if not hasattr(task, "fact_position"):
        raise ValueError(f"cfg.experiment={cfg.experiment!r}, model {model.cfg.variant!r}: allowed: the needle, rmt")
    params = task.fixed_params("test", n_samples)
    read = read_needles(model.eval(), task, params, cfg.segment_len, amp=cfg.amp)  # refuses a model with a cache
    predicted, answer = read["predicted"], read["answer"]
    tokens = task.window(params, "test", 0, task.seq_len)  # the samples' input tokens
    places = [t[(t[:-1] == WENT).nonzero().flatten() + 1] for t in tokens]  # name went PLACE
    return dict(
        n=n_samples,
        right=int((predicted == answer).sum()) / n_samples,
        named=sum(bool((p == q).any()) for p, q in zip(places, predicted)) / n_samples,
        random_fact=round(sum(int((p == a).sum()) / len(p) for p, a in zip(places, answer)) / n_samples, 6),
    )


def load_named_answers(results_dir: str | Path) -> pd.DataFrame:
    """Every committed :func:`named_answers` record, one row per run: experiment, seed, run_id,
    analysis_git_sha, n, right, named, random_fact."""
    rows = [json.loads(p.read_text()) for p in sorted((Path(results_dir) / ANSWERS_DIR).glob("*/*.json"))]
    return pd.DataFrame(rows)


def load_needle_memory(results_dir: str | Path, experiment: str = "needle") -> pd.DataFrame:
    """Every committed :func:`measure_needle_memory` record of ``experiment``'s runs, one row per
    test sample, with seed, run_id and analysis_git_sha."""
    frames = []
    for path in sorted((Path(results_dir) / ANALYSIS_DIR / experiment).glob("*.json")):
        r = json.loads(path.read_text())
        frames.append(pd.DataFrame(r["samples"]).assign(**{k: r[k] for k in ("seed", "run_id", "analysis_git_sha")}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def main(argv: list[str] | None = None) -> int:
    """``python -m rmt_lite.repro.needle_analysis --seed 0``: the needle memory of the committed rmt
    run of the profile; ``--run results/needle_memory/<run_id>``: of another finished rmt needle run,
    probed at the same length as the profile's runs (``NEEDLE_FACTOR`` times their trained length)."""
    import argparse

    from ..run_config import resolve
    from ..runs import default_run_id, finished

    parser = argparse.ArgumentParser(prog="python -m rmt_lite.repro.needle_analysis", description=main.__doc__)
    parser.add_argument("--results", default="results")
    parser.add_argument("--seed", type=int, action="append", help="seeds (default 0, 1 and 2)")
    parser.add_argument("--run", action="append", help="a finished rmt needle run folder (instead of --seed)")
    parser.add_argument("--answers", action="store_true", help="what the runs answer among distractors, not the probes")
    args = parser.parse_args(argv)
    profile = resolve("needle", "rmt", "cpu")
    length = NEEDLE_FACTOR * int(profile.task["length"])  # every probe at one length, so that they compare
    runs = [Path(r) for r in args.run or []] or [
        Path(args.results) / "needle" / default_run_id(resolve("needle", "rmt", "cpu", seed))
        for seed in args.seed or (0, 1, 2)
    ]
    for run_dir in runs:
        if not finished(run_dir):
            print(f"skipped {run_dir}: no finished run")
            continue
        if args.answers:
            print(_write_named_answers(run_dir, args.results))
            continue
        record = measure_needle_memory(run_dir, length=length)
        out = Path(args.results) / ANALYSIS_DIR / record["experiment"] / f"{record['run_id']}.json"
        atomic_write_json(out, record)
        shares = pd.DataFrame(record["samples"])[["written", "kept", "answered"]].mean()
        print(f"{out}: " + ", ".join(f"{k} {v:.3f}" for k, v in shares.items()))
    return 0


def _write_named_answers(run_dir: Path, results: str | Path) -> str:
    from ..runs import load_model
    from ..utils import git_sha

    model, cfg = load_model(run_dir, device="cpu")
    record = RunRecord.load(run_dir / RECORD)
    out = dict(experiment=cfg.experiment, seed=cfg.seed, run_id=record.run_id, git_sha=record.git_sha)
    out.update(analysis_git_sha=git_sha(), **named_answers(model, cfg))
    path = Path(results) / ANSWERS_DIR / cfg.experiment / f"{record.run_id}.json"
    atomic_write_json(path, out)
    return f"{path}: right {out['right']:.3f}, a place the sample names {out['named']:.3f}"


if __name__ == "__main__":
    import sys

    from ..cli import run

    sys.exit(run(main))
