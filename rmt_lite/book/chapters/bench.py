"""The benchmarks page: the committed measurements of ``results/bench/`` (``make bench`` and
``python -m rmt_lite.tools.bench_length``) read once, and the numbers its prose quotes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# the ways of back-propagating through segments the page compares (results/bench/memory.csv also
# holds the earlier truncation that kept every graph until one backward at the end)
MODES = ["full BPTT", "truncated BPTT (k=2)", "checkpointed segments", "truncated (k=2) + checkpointed"]


@dataclass
class Bench:
    length: pd.DataFrame  # one evaluation forward: model, tokens, us_per_token, activation_mib, stopped, ...
    memory: pd.DataFrame  # one training step: mode, segments, peak_mib, step_ms
    throughput: pd.DataFrame  # training on the copy configuration: model, tokens_per_s, vs_rmt, ...
    length_about: dict  # commit, date, machine of the length sweep
    about: dict  # commit, date, machine of make bench
    batched: pd.DataFrame | None = None  # the length sweep with many samples side by side, if measured
    batched_about: dict | None = None


def load(results_dir: str | Path) -> Bench:
    """The committed files; of the sweeps with many samples side by side (``length-batchB.csv``),
    the one with the largest batch."""
    folder = Path(results_dir) / "bench"
    batches = {
        int(m[1]): p for p in folder.glob("length-batch*.csv") if (m := re.fullmatch(r"length-batch(\d+)", p.stem))
    }
    largest = batches[max(batches)] if batches else None
    return Bench(
        length=pd.read_csv(folder / "length.csv"),
        memory=pd.read_csv(folder / "memory.csv"),
        throughput=pd.read_csv(folder / "throughput.csv"),
        length_about=json.loads((folder / "length.json").read_text()),
        about=json.loads((folder / "summary.json").read_text()),
        batched=pd.read_csv(largest) if largest else None,
        batched_about=json.loads(largest.with_suffix(".json").read_text()) if largest else None,
    )


def provenance(about: dict, what: str) -> str:
    """The line under a figure: which command, commit, day and machine measured it."""
    m = about["machine"]
    sha = about.get("git_sha") or about.get("commit")
    clock = "CPU time" if about.get("clock") == "cpu" else "wall clock"
    n = int(about.get("threads", 1))
    threads = "one thread" if n == 1 else f"{n} threads"
    return f"{what}: commit {sha}, {str(about['date'])[:10]}, {m['cpu']} with {m['cores']} cores, {threads}, {clock}"


def batch_table(single: pd.DataFrame, batched: pd.DataFrame) -> pd.DataFrame:
    """Time per token read one sample at a time (``single``) and many side by side (``batched``),
    per model and length, where both were measured; memory per sample side by side."""
    keys = ["model", "tokens"]
    both = single.dropna(subset=["us_per_token"]).merge(
        batched.dropna(subset=["us_per_token"]), on=keys, suffixes=("_1", "_b")
    )
    b = int(batched["batch"].iloc[0])
    out = pd.DataFrame(
        {
            "model": both["model"],
            "tokens": both["tokens"],
            "µs per token, 1 sample": both["us_per_token_1"],
            f"µs per token, {b} samples": both["us_per_token_b"],
            "speed-up": both["us_per_token_1"] / both["us_per_token_b"],
            f"peak memory, {b} samples (MiB)": both["activation_mib_b"],
        }
    )
    return out.reset_index(drop=True)


def quadratic_fit(length: pd.DataFrame, tokens) -> pd.DataFrame:
    """The whole-sample transformer's cost at ``tokens`` from its measured rows of ``length``: time
    as ``a·n + b·n²`` (least squares on the total seconds, so per token ``a + b·n``) and memory as a
    quadratic through the origin scaled to the longest measured length (the attention scores grow
    with the square of the length; what ``rmt_lite.tools.bench_length`` estimates too)."""
    done = length[(length["model"] == "transformer") & length["seconds"].notna()].sort_values("tokens")
    n = done["tokens"].to_numpy(float)
    a, b = np.linalg.lstsq(np.stack([n, n * n], axis=1), done["seconds"].to_numpy(float), rcond=None)[0]
    last = done.iloc[-1]
    t = np.asarray(tokens, float)
    mib = last["activation_mib"] * (t / last["tokens"]) ** 2
    return pd.DataFrame(dict(tokens=t, us_per_token=(a + b * t) * 1e6, activation_mib=mib))


def at(frame: pd.DataFrame, value: str, **where) -> float:
    """The one value of column ``value`` in the row of ``frame`` matching ``where``."""
    rows = frame
    for key, wanted in where.items():
        rows = rows[rows[key] == wanted]
    if len(rows) != 1:
        raise KeyError(f"{len(rows)} rows match {where}, expected one")
    return float(rows[value].iloc[0])


def throughput_table(throughput: pd.DataFrame) -> pd.DataFrame:
    """Training speed as a reader compares it: tokens a second per core and time relative to rmt."""
    out = throughput.rename(
        columns={"tokens_per_s": "tokens/s per core", "step_ms": "step (ms)", "vs_rmt": "step time / rmt's"}
    )
    # the peer's row is named "peer rmt (<package> <version>)": the package is what a reader knows
    out["model"] = out["model"].str.replace(r"^peer rmt \((.*)\)$", r"\1 (rmt)", regex=True)
    return out[["model", "step (ms)", "tokens/s per core", "step time / rmt's"]]
