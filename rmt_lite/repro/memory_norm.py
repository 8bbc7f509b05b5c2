"""Does the needle's memory grow or collapse as it is carried along (issue 31)?

``python -m rmt_lite.repro.memory_norm`` streams the needle's committed ``rmt`` models (every seed with
weights) over test samples of ``SEGMENTS`` segments and records, after each segment, the mean
length (L2 norm) of a memory slot, its spread over samples and slots, and the share of samples
answered right in the end. One JSON file per run under
``results/memory_analysis/needle_norm/<run_id>.json``, read by :func:`load`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch

from ..curriculum import make_task
from ..evaluate import segment_bounds, streamed_exact
from ..records import RECORD, RunRecord, atomic_write_json
from ..run_config import resolve
from ..utils import git_sha
from .memory_analysis import ANALYSIS_DIR

SEGMENTS = 128  # as far as the needle's runs are tested (chapter 9)
FOLDER = "needle_norm"


@torch.no_grad()
def memory_norms(model, cfg, segments: int = SEGMENTS, n_samples: int = 100) -> pd.DataFrame:
    """One row per segment boundary (0: the initial memory): ``segment``, ``norm`` (the mean L2
    norm of a memory slot over samples and slots) and ``spread`` (their standard deviation)."""
    task = make_task(cfg, segments * cfg.segment_len)
    tokens = task.fixed_set("test", n_samples).tokens
    state = model.init_state(tokens.shape[0])
    rows = []
    for i, (a, b) in enumerate([(0, 0), *segment_bounds(tokens.shape[1], cfg.segment_len)]):
        if b > a:
            state = model(tokens[:, a:b], state).state
        norms = state.memory.float().norm(dim=-1)
        rows.append(dict(segment=i, norm=float(norms.mean()), spread=float(norms.std())))
    return pd.DataFrame(rows)


def measure(run_dir: str | Path, segments: int = SEGMENTS, n_samples: int = 100) -> dict:
    from ..runs import load_model

    model, cfg = load_model(run_dir, device="cpu")
    model.eval()
    norms = memory_norms(model, cfg, segments, n_samples)
    batch = make_task(cfg, segments * cfg.segment_len).fixed_set("test", n_samples)
    answered = float(streamed_exact(model, batch, cfg.segment_len, amp=False).float().mean())
    record = RunRecord.load(Path(run_dir) / RECORD)
    return dict(
        run_id=record.run_id,
        seed=cfg.seed,
        git_sha=record.git_sha,
        analysis_git_sha=git_sha(),
        segments=segments,
        n_samples=n_samples,
        answered=answered,
        rows=norms.to_dict("records"),
    )


def load(results_dir: str | Path) -> pd.DataFrame:
    """Every committed record as one row per run and segment: seed, run_id, answered, the commit
    that measured it, segment, norm and spread."""
    frames = []
    for path in sorted((Path(results_dir) / ANALYSIS_DIR / FOLDER).glob("*.json")):
        r = json.loads(path.read_text())
        keys = {k: r[k] for k in ("seed", "run_id", "answered", "analysis_git_sha")}
        frames.append(pd.DataFrame(r["rows"]).assign(**keys))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rmt_lite.repro.memory_norm", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default="results")
    p.add_argument("--samples", type=int, default=100)
    args = p.parse_args(argv)
    from ..runs import default_run_id, finished

    torch.set_num_threads(1)
    for seed in (0, 1, 2):
        run_dir = Path(args.results) / "needle" / default_run_id(resolve("needle", "rmt", "cpu", seed))
        if not finished(run_dir):
            print(f"skipped {run_dir}: no finished run")
            continue
        record = measure(run_dir, n_samples=args.samples)
        out = Path(args.results) / ANALYSIS_DIR / FOLDER / f"{record['run_id']}.json"
        atomic_write_json(out, record)
        norms = [r["norm"] for r in record["rows"]]
        print(
            f"{out}: norm {norms[1]:.2f} after 1 segment, {norms[-1]:.2f} after {len(norms) - 1}; "
            f"answered {record['answered']:.2f}"
        )
    return 0


if __name__ == "__main__":
    from ..cli import run

    sys.exit(run(main))
