"""Cost against the length of the input (issue 30): ``python -m rmt_lite.tools.bench_length``.

RMT exists so that reading a long input costs time linear in its length and memory that stays
flat, where a transformer that reads the whole sample at once pays quadratically. This measures
it on the needle's configuration (chapter 9: 4 layers, d_model 128, segments of 32 tokens, 8
memory tokens or an 8-token cache): one evaluation forward (no gradient) over ``LENGTHS`` tokens,
streamed segment by segment for ``rmt`` and ``xl`` (memory or cache carried, logits dropped), in
one piece for the whole-sample ``transformer``.

Every (model, length, batch) runs in a fresh process, so that its peak resident memory (the
operating system's ``ru_maxrss``) is its own; the table gives the time per token and the peak
minus the memory resident before the forward (the model and the input). The transformer stops at
the first length that does not finish within ``--limit`` seconds or runs out of memory; the table
says which, with the memory its quadratic fit predicts there. Results: ``results/bench/length.csv``,
the targets (``TARGETS``) in ``length_targets.csv`` and the provenance (commit, date, machine) in
``length.json``; a run with ``--batch B`` other than 1 (many samples side by side, as a user
evaluating a test set reads them) writes ``length-batchB.csv``, ``length-batchB_targets.csv`` and
``length-batchB.json`` beside them. Time it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

LENGTHS = (1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576)
MODELS = ("rmt", "xl", "transformer")
TARGETS = {  # (numerator length, denominator length, quantity, at most)
    "rmt time per token, 1M / 4k tokens": (1_048_576, 4_096, "us_per_token", 1.15),
    "rmt peak memory, 1M / 4k tokens": (1_048_576, 4_096, "activation_mib", 1.1),
}


def file_stem(batch: int) -> str:
    """The name of a sweep's files: ``length`` for one sample at a time, ``length-batchB`` else."""
    return "length" if batch == 1 else f"length-batch{batch}"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def one(model_name: str, length: int, batch: int, threads: int) -> dict:
    """Time one forward over ``length`` tokens in this process; the peak memory is this process's."""
    import torch

    from ..curriculum import make_task
    from ..run_config import resolve

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = resolve("needle", model_name, "cpu")
    from ..model import MemoryTransformer

    model = MemoryTransformer(cfg.model_config(make_task(cfg).vocab_size)).eval()
    tokens = torch.randint(6, model.cfg.vocab_size, (batch, length))
    before = _rss_mib()
    start = time.perf_counter()
    with torch.no_grad():
        if model_name == "transformer":  # the whole sample in one segment
            model(tokens, model.init_state(batch))
        else:
            state = model.init_state(batch)
            for a in range(0, length, cfg.segment_len):
                state = model(tokens[:, a : a + cfg.segment_len], state).state
    seconds = time.perf_counter() - start
    peak = _rss_mib()
    return dict(seconds=seconds, us_per_token=1e6 * seconds / (batch * length), activation_mib=peak - before)


def sweep(lengths=LENGTHS, models=MODELS, batch: int = 1, threads: int = 1, limit: float = 600.0) -> list[dict]:
    """One row per (model, length): the measurement, or why the model stopped there."""
    rows = []
    for name in models:
        for length in lengths:
            row = dict(model=name, tokens=length, batch=batch, threads=threads)
            cmd = [sys.executable, "-m", "rmt_lite.tools.bench_length", "--one", name, str(length), str(batch)]
            cmd += ["--threads", str(threads)]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
            except subprocess.TimeoutExpired:
                rows.append(row | dict(stopped=f"over {limit:g} s", **_estimate(rows, name, length)))
                break
            if done.returncode != 0:  # killed for memory, or an allocation refused
                rows.append(
                    row | dict(stopped=f"out of memory (exit {done.returncode})", **_estimate(rows, name, length))
                )
                break
            rows.append(row | json.loads(done.stdout.strip().splitlines()[-1]) | dict(stopped=""))
    return rows


def _estimate(rows: list[dict], name: str, length: int) -> dict:
    """The activation memory a quadratic through the origin, fitted to the last measured length,
    predicts at ``length`` (the whole-sample transformer's attention grows with the square)."""
    done = [r for r in rows if r["model"] == name and "activation_mib" in r and r["activation_mib"] > 0]
    if not done:
        return {}
    last = done[-1]
    return dict(estimated_mib=round(last["activation_mib"] * (length / last["tokens"]) ** 2))


def target_rows(rows: list[dict]) -> list[dict]:
    out = []
    for what, (num, den, key, most) in TARGETS.items():
        at = {r["tokens"]: r.get(key) for r in rows if r["model"] == "rmt" and r.get(key) is not None}
        ratio = at[num] / at[den] if num in at and den in at and at[den] else None
        met = "" if ratio is None else ("yes" if ratio <= most else "no")
        out.append(dict(target=what, at_most=most, measured=None if ratio is None else round(ratio, 3), met=met))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rmt_lite.tools.bench_length", description=__doc__.split("\n\n")[0])
    p.add_argument("--one", nargs=3, metavar=("MODEL", "TOKENS", "BATCH"), help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help="torch threads per measurement (default 1)")
    p.add_argument("--batch", type=int, default=1, help="samples read side by side (default 1)")
    p.add_argument("--limit", type=float, default=600.0, help="seconds one forward may take (default 600)")
    p.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="comma-separated token counts")
    p.add_argument("--out", default=None, help="folder for length.csv (default results/bench; '-' prints only)")
    args = p.parse_args(argv)
    if args.one:
        name, length, batch = args.one[0], int(args.one[1]), int(args.one[2])
        print(json.dumps(one(name, length, batch, args.threads)))
        return 0
    lengths = tuple(int(x) for x in args.lengths.split(","))
    if any(n < 1 for n in lengths) or args.batch < 1 or args.threads < 1 or args.limit <= 0:
        p.error("--lengths, --batch and --threads must be positive integers and --limit a positive number")
    rows = sweep(lengths, batch=args.batch, threads=args.threads, limit=args.limit)
    targets = target_rows(rows)
    for r in rows + targets:
        print(r, flush=True)
    if args.out != "-":
        from .bench import REPO
        from .measure import write_csv

        out = Path(args.out) if args.out else REPO / "results" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        stem = file_stem(args.batch)
        keys = list(dict.fromkeys(k for r in rows for k in r))
        write_csv(out / f"{stem}.csv", [{k: r.get(k, "") for k in keys} for r in rows])
        write_csv(out / f"{stem}_targets.csv", targets)
        from ..records import atomic_write_json
        from ..utils import git_sha
        from .measure import machine

        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        about = dict(git_sha=git_sha(), date=when, threads=args.threads, clock="wall", batch=args.batch)
        about["limit_s"] = args.limit
        atomic_write_json(out / f"{stem}.json", about | dict(machine=machine()))
    return 0


if __name__ == "__main__":
    from ..cli import run

    sys.exit(run(main))
