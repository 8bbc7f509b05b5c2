"""The benchmarks page: the committed measurements of ``results/bench/`` (``make bench`` and
``python -m rmt_lite.tools.bench_length``) read once, and the numbers its prose quotes."""

from __future__ import annotations

import json
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


def load(results_dir: str | Path) -> Bench:
    folder = Path(results_dir) / "bench"
    return Bench(
        length=pd.read_csv(folder / "length.csv"),
        memory=pd.read_csv(folder / "memory.csv"),
        throughput=pd.read_csv(folder / "throughput.csv"),
        length_about=json.loads((folder / "length.json").read_text()),
        about=json.loads((folder / "summary.json").read_text()),
    )


def provenance(about: dict, what: str) -> str:
    """The line under a figure: which command, commit, day and machine measured it."""
    m = about["machine"]
    sha = about.get("git_sha") or about.get("commit")
    clock = "CPU time" if about.get("clock") == "cpu" else "wall clock"
    return f"{what}: commit {sha}, {str(about['date'])[:10]}, {m['cpu']} with {m['cores']} cores, one thread, {clock}"


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
