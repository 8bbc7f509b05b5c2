"""The needle across a million tokens (issue 31): BABILong's grid of where the fact sits against
how long the haystack is.

``python -m rmt_lite.repro.needle_million`` reads each seed's rmt trained on the needle up to 16
segments (the training that holds in every seed, chapter 9; ``--experiment needle_distractors``:
the runs of the needle among distractors; ``--run`` another finished run) on test samples of each
of ``LENGTHS`` tokens, up to a million (31,250 segments of 32 tokens), with the fact at each of
``DEPTHS`` of the haystack, ``PER_DEPTH`` samples each. A sample is made a segment at a time
(:meth:`data_gen.needle.NeedleTask.window`) and only the memory is carried, so neither the sample
nor what the model holds grows with its length. One JSON file per run,
``results/needle_million/<experiment>/<run_id>.json``, read by :func:`load`.

A million tokens take over an hour on one CPU core. Every ``SAVE_EVERY`` segments the memory and
what has been counted are saved to ``<run_id>.partial.pt`` beside the record (tensors and numbers
only, read with ``weights_only=True``); a killed read resumes there and gives the same answers, as
long as the code and the thread count are the same (else the partial file is set aside and the
read starts again).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import torch

from ..curriculum import make_task
from ..evaluate import autocast
from ..model import SegmentState
from ..records import RECORD, RunRecord, atomic_torch_save, atomic_write_json
from ..runner import segment_bounds
from ..utils import git_sha

LENGTHS = (4_096, 16_384, 65_536, 262_144, 1_000_000)
DEPTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
PER_DEPTH = 20
SAVE_EVERY = 1024  # segments between saves of a read in progress (a few minutes on one core)
FOLDER = "needle_million"
TRAINED_TO = 16  # segments: the needle_memory runs read by default end their curriculum here


@torch.no_grad()
def read_needles(
    model,
    task,
    params: torch.Tensor,
    segment_len: int,
    *,
    start: dict | None = None,
    save: Callable[[dict], None] | None = None,
    every: int = SAVE_EVERY,
    amp: bool = False,
) -> dict:
    """Read the samples ``params`` of ``task`` (:meth:`~data_gen.needle.NeedleTask.at_depths`) one
    segment at a time from the test articles, carrying only the memory. Returns ``predicted``
    (the answer token of each sample), ``answer`` and ``norms`` (after every ``every`` segments
    and the last: the segment and the mean L2 norm of a memory slot). ``save`` receives the read
    so far (``segment``, ``memory``, ``norms``) every ``every`` segments; ``start`` is such a
    dict to go on from."""
    if model.cfg.has_cache or not model.cfg.has_memory:
        raise ValueError(
            f"model variant {model.cfg.variant!r} is not allowed: a model whose state is its memory only (rmt, mt)"
        )
    device = next(model.parameters()).device
    bounds = segment_bounds(task.seq_len, segment_len)
    first = 0 if start is None else start["segment"]
    memory = model.init_state(len(params)).memory if start is None else start["memory"].to(device)
    norms = [] if start is None else list(start["norms"])
    out = None
    with autocast(device, amp):
        for i in range(first, len(bounds)):
            a, b = bounds[i]
            out = model(task.window(params, "test", a, b).to(device), SegmentState(memory=memory))
            memory = out.state.memory
            done = i + 1
            if done % every == 0 or done == len(bounds):
                norms.append([done, float(memory.float().norm(dim=-1).mean())])
                if save is not None and done < len(bounds):
                    save(dict(segment=done, memory=memory.cpu(), norms=norms))
    if out is None:
        raise ValueError(f"start={start['segment']} is not allowed: the read is already past the last segment")
    answer = task.window(params, "test", task.seq_len, task.seq_len + 1)[:, 0]
    return dict(predicted=out.logits[:, -1].argmax(-1).cpu(), answer=answer, norms=norms)


def measure(
    run_dir: str | Path,
    lengths: Sequence[int] = LENGTHS,
    depths: Sequence[float] = DEPTHS,
    per_depth: int = PER_DEPTH,
    *,
    partial: str | Path | None = None,
    every: int = SAVE_EVERY,
    log: Callable[[str], None] = print,
) -> dict:
    """The record of one finished rmt needle run read at each of ``lengths`` with the fact at each of
    ``depths``: one row per length and depth (``n``, ``correct``), the memory's norms along each
    read, and the seconds each length took. ``partial``: where the read in progress is kept."""
    from ..runs import load_model

    model, cfg = load_model(run_dir, device="cpu")
    record = RunRecord.load(Path(run_dir) / RECORD)
    head = dict(run_id=record.run_id, analysis_git_sha=git_sha(), threads=torch.get_num_threads())
    kept = _resume(partial, head)
    done = {k: kept.get(k, v) for k, v in (("rows", []), ("norms", []), ("seconds", {}))}

    def save(length: int, read: dict) -> None:
        atomic_torch_save(partial, dict(head, **done, length=length, read=read))
        log(f"{record.run_id}: {length:,} tokens, segment {read['segment']:,}, saved")

    for length in lengths:
        if any(r["length"] == length for r in done["rows"]):
            continue
        task = make_task(cfg, int(length))
        params = task.at_depths("test", depths, per_depth)
        start = kept.get("read") if kept.get("length") == length else None
        began, spent = time.perf_counter(), 0.0 if start is None else start["seconds"]

        def saved(read, length=length, began=began, spent=spent):
            save(length, dict(read, seconds=spent + time.perf_counter() - began))

        out = read_needles(
            model, task, params, cfg.segment_len, start=start, save=saved if partial else None, every=every, amp=cfg.amp
        )
        done["seconds"][str(length)] = spent + time.perf_counter() - began
        right = (out["predicted"] == out["answer"]).view(len(depths), per_depth)
        segments = len(segment_bounds(int(length), cfg.segment_len))
        done["rows"] += [
            dict(length=int(length), segments=segments, depth=float(d), n=per_depth, correct=int(r.sum()))
            for d, r in zip(depths, right)
        ]
        done["norms"] += [dict(length=int(length), segment=s, norm=n) for s, n in out["norms"]]
        if partial:
            atomic_torch_save(partial, dict(head, **done))
        share, took = float(right.float().mean()), done["seconds"][str(length)]
        log(f"{record.run_id}: {length:,} tokens, {share:.3f} right, {took:.0f} s")
    if partial and Path(partial).exists():
        Path(partial).unlink()
    return dict(
        head,
        seed=cfg.seed,
        git_sha=record.git_sha,
        segment_len=cfg.segment_len,
        mem_size=cfg.mem_size,
        trained_length=cfg.task["length"],
        per_depth=per_depth,
        **done,
    )


def _resume(partial: str | Path | None, head: dict) -> dict:
    """What a partial file of the same run, code and thread count holds; else nothing (a partial
    file from other code or threads is renamed ``.stale`` so that it is not read again)."""
    if partial is None or not Path(partial).exists():
        return {}
    kept = torch.load(partial, weights_only=True)
    if all(kept.get(k) == v for k, v in head.items()):
        return kept
    Path(partial).replace(f"{partial}.stale")
    return {}


def load(results_dir: str | Path, part: str = "rows", experiment: str | None = None) -> pd.DataFrame:
    """Every committed record (of ``experiment``'s runs; None: of every experiment) as one row per
    run, length and depth: experiment, seed, run_id, the commit that read it, threads, length,
    segments, depth, n, correct, ``acc`` (correct / n) and the ``seconds`` that length took;
    ``part="norms"``: one row per run, length and saved segment with the memory's mean slot norm
    there."""
    if part not in ("rows", "norms"):
        raise ValueError(f"part={part!r} is not allowed: 'rows' or 'norms'")
    frames = []
    for path in sorted((Path(results_dir) / FOLDER).glob(f"{experiment or '*'}/*.json")):
        r = json.loads(path.read_text())
        info = {k: r[k] for k in ("seed", "run_id", "analysis_git_sha", "threads")}
        df = pd.DataFrame(r[part]).assign(experiment=path.parent.name, **info)
        frames.append(df.assign(seconds=df["length"].astype(str).map(r["seconds"])) if part == "rows" else df)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return df.assign(acc=df["correct"] / df["n"]) if len(df) and part == "rows" else df


EXPERIMENTS = ("needle_memory", "needle_distractors")  # whose queued runs --experiment reads


def default_runs(results_dir: str | Path, experiment: str = "needle_memory") -> list[Path]:
    """The needle_memory runs of every seed whose curriculum ends at ``TRAINED_TO`` segments, or
    every queued run of ``needle_distractors``."""
    from ..run_config import resolve
    from ..runs import default_run_id
    from .reproduce import needle_distractors, needle_memory

    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment={experiment!r} is not allowed: one of {', '.join(EXPERIMENTS)}")
    if experiment == "needle_distractors":
        runs = needle_distractors()
    else:
        runs = [r for r in needle_memory() if r.overrides.get("curriculum", "").split(",")[-1] == str(TRAINED_TO)]
    return [
        Path(results_dir) / r.experiment / default_run_id(resolve(r.experiment, r.model, "cpu", r.seed, r.overrides))
        for r in runs
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m rmt_lite.repro.needle_million",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--results", default="results", help="where records go (and runs are found)")
    p.add_argument("--experiment", choices=EXPERIMENTS, default=EXPERIMENTS[0], help="whose queued runs to read")
    p.add_argument("--run", action="append", help="a finished rmt needle run folder (default: the experiment's)")
    p.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    p.add_argument("--per-depth", type=int, default=PER_DEPTH)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rerun", action="store_true", help="read a run again even if its record exists")
    args = p.parse_args(argv)
    if min(args.lengths) < 1 or args.per_depth < 1 or args.threads < 1:
        p.error(f"--lengths {args.lengths}, --per-depth {args.per_depth}, --threads {args.threads}: positive integers")
    from ..runs import finished

    torch.set_num_threads(args.threads)
    for run_dir in [Path(r) for r in args.run or []] or default_runs(args.results, args.experiment):
        if not finished(run_dir):
            print(f"skipped {run_dir}: no finished run with its weights")
            continue
        experiment = RunRecord.load(run_dir / RECORD).experiment  # run ids repeat across experiments
        out = Path(args.results) / FOLDER / experiment / f"{run_dir.name}.json"
        if out.exists() and not args.rerun:  # hours of reading: never twice by accident
            print(f"skipped {run_dir}: already read ({out}; --rerun reads it again)")
            continue
        record = measure(
            run_dir, args.lengths, per_depth=args.per_depth, partial=out.parent / f"{run_dir.name}.partial.pt"
        )
        atomic_write_json(out, record)
        print(
            f"{out}: "
            + ", ".join(f"{r['length']:,} tokens depth {r['depth']} {r['correct']}/{r['n']}" for r in record["rows"])
        )
    return 0


if __name__ == "__main__":
    from ..cli import run

    sys.exit(run(main))
