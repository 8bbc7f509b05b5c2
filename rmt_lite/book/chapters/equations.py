"""Chapter 5 (quadratic equations): the test samples, their chunks, greedy decoding, per-chunk
accuracy and the answer-accuracy tables, ours beside the paper's.

A sample is six chunks of ``chunk_len`` (30) characters: problem | canonical form | discriminant |
root 1 | root 2 | answer (``data_gen.QuadraticTask``). With 30-token segments, input segment ``i``
predicts exactly chunk ``i``; the paper's metric, *answer accuracy*, is the whole final chunk
exactly right under greedy decoding. The figures are drawn by :mod:`rmt_lite.book.plots.equations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from ...config import display_name, remembers, stated_memory
from ...curriculum import make_task
from ...evaluate import greedy_predictions
from ...records import RunRecord
from ...repro.claims.tasks import at_profile  # noqa: F401  (chapters 5 and 10 read it from here)
from ...run_config import resolve
from ..plots.equations import CHUNK_NAMES, SETTING_ORDER

#: what the chapter trains: the name of a setting -> (model, overrides), as the reproduction queue runs them
SETTINGS = {
    "transformer (whole)": ("transformer", {"num_segments": 1}),
    "xl": ("xl", {}),
    "rmt": ("rmt", {}),
}


# ------------------------------------------------------------------------------------------------
# samples
def fixed_set(profile: str, split: str = "test", n: int | None = None, seed: int = 0, experiment: str = "quadratic"):
    """The quadratic task of ``experiment`` (``quadratic`` or ``quadratic_small``) at ``profile`` and
    one of its fixed sets (``split``: test or valid): ``n`` samples, by default as many as a run of
    the profile scores (``test_size`` for test, ``eval_size`` for valid), then exactly the set its
    metrics are computed on."""
    if split not in ("test", "valid"):
        raise ValueError(f"split={split!r} is not allowed: test or valid")
    if experiment not in ("quadratic", "quadratic_small"):
        raise ValueError(f"experiment={experiment!r} is not allowed: quadratic or quadratic_small")
    cfg = resolve(experiment, "rmt", profile, seed)
    task = make_task(cfg)
    default = cfg.test_size if split == "test" else cfg.eval_size
    return task, task.fixed_set(split, default if n is None else n)


def rootless_shares(root_ranges: Sequence[int], k_max: int = 10, n: int = 250) -> pd.DataFrame:
    """Why a small range cannot be tested fairly: for each root range, the distinct equations of
    the task, the held-out real-root equations among them, and the share of rootless equations in
    its fixed test set of ``n`` (NaN where the held-out equations cannot fill it)."""
    from data_gen.quadratic import QuadraticTask

    rows = []
    for r in root_ranges:
        task = QuadraticTask(root_range=r, k_max=k_max)
        held_out = task.held_out_real_roots("test")
        try:
            share = empty_answer_share(task.fixed_set("test", n).targets, task.chunk_len)
        except ValueError:  # not enough distinct held-out equations
            share = float("nan")
        rows.append(
            {
                "roots in": f"-{r}..{r}",
                "distinct equations": task.space_size,
                "held-out test equations with real roots": held_out,
                f"rootless share of {n} test equations": share,
            }
        )
    return pd.DataFrame(rows)


def characters(row) -> list[str]:
    """One character per token: '·' for padding, '>' for the start token, '?' for anything else."""
    from data_gen.quadratic import ID_TO_CHAR
    from data_gen.tasks import PAD, START

    out = []
    for t in row.tolist() if isinstance(row, Tensor) else list(row):
        t = int(t)
        out.append("·" if t == PAD else ">" if t == START else ID_TO_CHAR.get(t, "?"))
    return out


def chunk_texts(row, chunk_len: int = 30) -> list[str]:
    """The six chunks of a target (or predicted) row as text: trailing padding removed, padding
    inside a chunk shown as '·' (a correct chunk never has any)."""
    chars = characters(row)
    if len(chars) % chunk_len:
        raise ValueError(f"row of {len(chars)} tokens is not allowed: a multiple of chunk_len={chunk_len}")
    return ["".join(chars[i : i + chunk_len]).rstrip("·") for i in range(0, len(chars), chunk_len)]


def has_real_roots(targets_row, chunk_len: int = 30) -> bool:
    """Whether a sample's equation has real roots (otherwise its root chunks are empty)."""
    return chunk_texts(targets_row, chunk_len)[3] != ""


def pick_samples(targets: Tensor, n_real: int = 2, n_none: int = 1, chunk_len: int = 30) -> list[int]:
    """Indices of the first ``n_real`` samples with real roots and the first ``n_none`` without."""
    real, none = [], []
    for i, row in enumerate(targets):
        (real if has_real_roots(row, chunk_len) else none).append(i)
    if len(real) < n_real or len(none) < n_none:
        raise ValueError(
            f"targets hold {len(real)} samples with real roots and {len(none)} without; "
            f"allowed: at least n_real={n_real} and n_none={n_none}"
        )
    return sorted(real[:n_real] + none[:n_none])


def samples_table(targets: Tensor, indices: list[int], chunk_len: int = 30) -> pd.DataFrame:
    """One row per chunk (= segment), one column of text per chosen sample."""
    cols = {"chunk = segment": [f"{k + 1}. {n}" for k, n in enumerate(CHUNK_NAMES)]}
    for i in indices:
        kind = "real roots" if has_real_roots(targets[i], chunk_len) else "no real root"
        cols[f"sample {i} ({kind})"] = chunk_texts(targets[i], chunk_len)
    return pd.DataFrame(cols)


# ------------------------------------------------------------------------------------------------
# decoding
@torch.no_grad()
def greedy_decode(model, batch, segment_len: int, batch_size: int = 128) -> Tensor:
    """Greedy predictions ``[N, S]`` aligned with ``batch.targets`` (positions before the first
    scored one hold 0), exactly as the paper's answer accuracy decodes
    (:func:`rmt_lite.evaluate.greedy_predictions`)."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, batch.tokens.shape[0], batch_size):
        t, m = batch.tokens[i : i + batch_size].to(device), batch.loss_mask[i : i + batch_size].to(device)
        out.append(greedy_predictions(model, t, m, segment_len).cpu())
    return torch.cat(out)


def empty_answer_share(targets: Tensor, chunk_len: int = 30) -> float:
    """Share of samples whose final chunk is empty (no real root): the answer accuracy of a model
    that writes nothing but padding."""
    return float((targets[:, -chunk_len:] == 0).all(dim=1).float().mean())


def chunk_accuracy(pred: Tensor, targets: Tensor, chunk_len: int = 30, first: int = 1) -> pd.DataFrame:
    """Fraction of samples whose chunk is exactly right (text and padding), for chunks ``first``
    (0-based; default 1: chunk 1 is the given problem, never scored) to the last. Columns
    ``chunk`` (name), ``index`` (1-based) and ``accuracy``; the last row is the answer accuracy."""
    if pred.shape != targets.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and targets {tuple(targets.shape)} must have one shape")
    n = targets.shape[1] // chunk_len
    rows = []
    for k in range(first, n):
        sl = slice(k * chunk_len, (k + 1) * chunk_len)
        ok = (pred[:, sl] == targets[:, sl]).all(dim=1)
        name = CHUNK_NAMES[k] if k < len(CHUNK_NAMES) else f"chunk {k + 1}"
        rows.append(dict(chunk=name, index=k + 1, accuracy=float(ok.float().mean())))
    return pd.DataFrame(rows)


def decoded_table(targets_row: Tensor, preds: Mapping[str, Tensor], chunk_len: int = 30) -> pd.DataFrame:
    """One row per chunk: the target beside each model's greedy chunk, marked ✓ (exactly right)
    or ✗; an empty chunk shows as —, the given problem as (given)."""
    target = chunk_texts(targets_row, chunk_len)
    cols = {"chunk": list(CHUNK_NAMES[: len(target)]), "target": [t or "—" for t in target]}
    for name, row in preds.items():
        got = chunk_texts(row, chunk_len)
        cols[name] = ["(given)"] + [
            ("✓ " if _exact(row, targets_row, k, chunk_len) else "✗ ") + (got[k] or "—") for k in range(1, len(got))
        ]
    return pd.DataFrame(cols)


def _exact(row: Tensor, targets_row: Tensor, k: int, chunk_len: int) -> bool:
    sl = slice(k * chunk_len, (k + 1) * chunk_len)
    return bool((row[sl] == targets_row[sl]).all())


# ------------------------------------------------------------------------------------------------
# runs and records beside the paper
def setting_of(model: str, num_segments: Any) -> str:
    """The chapter's name of a run: the transformer is split into whole-sample and segmented."""
    try:
        name = display_name(model, num_segments)
    except (TypeError, ValueError):
        name = model
    return "transformer (segmented)" if name == "transformer" else name


def runs_table(records: Mapping[str, RunRecord]) -> pd.DataFrame:
    """One row per run (``{setting: record}``): segments, memory, steps, training time and the
    test metrics (answer accuracy, token accuracy with greedy and with teacher-forced inputs)."""
    rows = []
    for name, r in records.items():
        test = r.metrics["test"]
        rows.append(
            {
                "setting": name,
                "segments": r.metrics["segments"],
                "memory": stated_memory(r.model, r.config["mem_size"]),
                "steps": r.steps,
                "train time (s)": r.wall_time_s,
                "answer accuracy": test["answer_acc"],
                "token accuracy (greedy)": test["acc_greedy"],
                "token accuracy (teacher-forced)": test["acc_tf"],
            }
        )
    return pd.DataFrame(rows)


def source_order(sources) -> list[str]:
    """Our sources first (sorted), the paper last."""
    sources = set(sources)
    return sorted(sources - {"paper"}) + (["paper"] if "paper" in sources else [])


TIDY_COLUMNS = ["source", "setting", "mem_size", "segment_len", "seed", "answer_accuracy"]


def answer_accuracy_table(
    records: pd.DataFrame | None, paper: pd.DataFrame | None = None, label: str = "ours"
) -> pd.DataFrame:
    """Tidy rows ``source, setting, mem_size, segment_len, seed, answer_accuracy`` from our
    records (``rmt_lite.load_records``: ``test_answer_acc``; source = ``label``) and the paper's
    (``rmt_lite.repro.paper.quadratic()``; source = "paper"), for
    :func:`rmt_lite.book.plots.equations.plot_answer_accuracy`."""
    frames = []
    if records is not None and len(records):
        frames.append(
            pd.DataFrame(
                {
                    "source": label,
                    "setting": [setting_of(m, n) for m, n in zip(records["model"], records["num_segments"])],
                    "mem_size": [stated_memory(m, s) for m, s in zip(records["model"], records["mem_size"])],
                    "segment_len": records["segment_len"],
                    "seed": records["seed"],
                    "answer_accuracy": records["test_answer_acc"].astype(float),
                }
            )
        )
    if paper is not None and len(paper):
        frames.append(
            pd.DataFrame(
                {
                    "source": "paper",
                    "setting": paper["model"],
                    "mem_size": paper["mem_size"],
                    "segment_len": paper["segment_len"],
                    "seed": paper["seed"],
                    "answer_accuracy": paper["answer_accuracy"].astype(float),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=TIDY_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def summarize(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per source and setting (ours first, the chapter's order of settings): memory,
    segment length, number of runs and the mean, standard deviation, lowest and highest answer
    accuracy over them."""
    cols = ["source", "setting", "memory", "segment length", "runs", "mean", "sd", "lowest", "highest"]
    if tidy.empty:
        return pd.DataFrame(columns=cols)
    g = tidy.groupby(["source", "setting"])
    out = g["answer_accuracy"].agg(mean="mean", sd="std", lowest="min", highest="max", runs="count")
    out["memory"] = g["mem_size"].agg(lambda s: ", ".join(str(int(v)) for v in sorted(set(s))))
    out["segment length"] = g["segment_len"].agg(lambda s: ", ".join(str(int(v)) for v in sorted(set(s))))
    out = out.reset_index()
    sources, order = source_order(out["source"]), {s: i for i, s in enumerate(SETTING_ORDER)}
    key = [(sources.index(s), order.get(t, len(order)), t) for s, t in zip(out["source"], out["setting"])]
    out = out.assign(_key=key).sort_values("_key").drop(columns="_key")
    return out[cols].reset_index(drop=True)


def paired_seeds(tidy: pd.DataFrame, source: str) -> pd.DataFrame:
    """The answer accuracy of ``source`` with one row per seed and one column per setting (the
    seeds in which every setting ran), as the claim's per-seed rule compares them."""
    rows = tidy[tidy["source"] == source]
    if rows.empty:
        return pd.DataFrame()
    return rows.pivot_table(index="seed", columns="setting", values="answer_accuracy").dropna()


def answers_table(records: pd.DataFrame) -> pd.DataFrame:
    """One row per record (``rmt_lite.load_records``), by model and seed: the model as the chapter
    names it, seed, memory (0 for the transformer), steps, answer accuracy and exact match."""
    shown = records.sort_values(["model", "seed"])
    return pd.DataFrame(
        {
            "model": [display_name(m, n) for m, n in zip(shown["model"], shown["num_segments"])],
            "seed": shown["seed"],
            "memory": [m if remembers(model) else 0 for model, m in zip(shown["model"], shown["mem_size"])],
            "steps": shown["steps_done"],
            "answer accuracy": shown["test_answer_acc"],
            "exact match": shown["test_exact_match"],
        }
    ).reset_index(drop=True)
