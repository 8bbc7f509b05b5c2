"""Command line: ``python -m rmt_lite.train --experiment copy --model rmt --profile cpu --seed 0``.

The same entry point runs under ``torchrun --nproc_per_node N -m rmt_lite.train ...``
(DistributedDataParallel; gloo on CPU, nccl on CUDA); the global batch stays ``batch_size``.
"""

from __future__ import annotations

import argparse
import sys

from .config import VARIANTS
from .records import RunInUse
from .run_config import CONFIG_KEYS, EXPERIMENTS, PROFILES, describe, parse_overrides

PROFILE_HELP = {
    "smoke": "seconds; proves the code path (writes to runs/smoke/, never to results/)",
    "cpu": "a real run on a 2-core CPU, about 10 minutes at most",
    "paper": "the paper's reference hyperparameters (GPU, hours)",
}
MODEL_HELP = {
    "transformer": "no memory; segmented, or the whole sample with --set num_segments=1",
    "xl": "Transformer-XL: detached cache of mem_size hidden states per layer",
    "rmt": "Recurrent Memory Transformer: [M ; x ; M], memory trained by BPTT",
    "mt": "memory tokens at the start only (the paper's MT ablation)",
    "rmt_xl": "memory tokens and an XL cache of mem_size each",
}


def _epilog() -> str:
    lines = ["experiments:"]
    lines += [f"  {name:<15} {e.description}" for name, e in EXPERIMENTS.items()]
    lines += ["", "models:"]
    lines += [f"  {name:<15} {MODEL_HELP[name]}" for name in VARIANTS]
    lines += ["", "profiles:"]
    lines += [f"  {name:<15} {PROFILE_HELP[name]}" for name in PROFILES]
    lines += [
        "",
        "--set keys: num_segments, the task's own keys (length, num_symbols, num_pairs, corpus, ...) and",
        "  " + ", ".join(CONFIG_KEYS),
        "",
        "Use --show to print the resolved configuration without training; --list for a table of all profiles.",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rmt_lite.train",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train and evaluate one RMT-book experiment; writes a JSON record and the experiment's "
        "summary CSV (results/<experiment>/).",
        epilog=_epilog(),
    )
    p.add_argument("--experiment", help=f"one of: {', '.join(EXPERIMENTS)}")
    p.add_argument("--model", default="rmt", help=f"one of: {', '.join(VARIANTS)} (default rmt)")
    p.add_argument("--profile", default="cpu", help=f"one of: {', '.join(PROFILES)} (default cpu)")
    p.add_argument("--seed", default="0", help="integer >= 0 (default 0)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set lr=3e-4 --set num_segments=6 (repeatable)",
    )
    p.add_argument("--out", default=None, help="results folder (default results/, smoke: runs/smoke/)")
    p.add_argument("--run-name", default=None, help="run folder name (default <model>-<profile>-s<seed>[-changes])")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--rerun", action="store_true", help="retrain even if a finished record exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    p.add_argument("--show", action="store_true", help="print the resolved configuration and exit")
    p.add_argument("--list", action="store_true", help="print the table of experiments and profiles and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.list:
            import pandas as pd

            with pd.option_context("display.width", 250, "display.max_columns", 40, "display.max_colwidth", 40):
                print(describe().to_string(index=False))
            return 0
        if not args.experiment:
            raise ValueError(f"--experiment is required: one of {', '.join(EXPERIMENTS)}")
        if args.threads is not None:
            if args.threads < 1:
                raise ValueError(f"--threads={args.threads} is not allowed: a positive integer")
            import torch

            torch.set_num_threads(args.threads)
        overrides = parse_overrides(args.overrides)
        if args.show:
            import json

            from .run_config import resolve

            cfg = resolve(args.experiment, args.model, args.profile, args.seed, overrides)
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        from .runs import train_experiment

        seed = args.seed
        record = train_experiment(
            args.experiment,
            args.model,
            args.profile,
            int(seed) if seed.isdigit() else seed,
            overrides,
            out_dir=args.out,
            run_name=args.run_name,
            device=args.device,
            progress=not args.no_progress,
            rerun=args.rerun,
        )
    except (ValueError, FileNotFoundError) as e:  # bad input, or a data file that is not there
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FloatingPointError as e:  # TrainingDiverged: the last good checkpoint is kept
        print(f"error: {e}", file=sys.stderr)
        return 3
    except RunInUse as e:  # another process trains in the same run folder
        print(f"error: {e}", file=sys.stderr)
        return 4
    print(f"record: {record.run_dir}/record.json")
    return 0


if __name__ == "__main__":
    from .cli import run

    sys.exit(run(main))
