"""The paper's own numbers, read from its raw result CSVs (committed under ``results/paper``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import display_name

PAPER_DIR = Path(__file__).resolve().parents[2] / "results" / "paper"
SOURCE = "Bulatov et al. 2022, raw result CSVs (results/paper/)"
# The paper's Hyperpartisan accuracy (%), not in its raw CSVs: Bulatov, Kuratov, Burtsev,
# "Recurrent Memory Transformer", NeurIPS 2022, the Hyperpartisan row of its results table (also the
# "Classification (Hyperpartisan)" row of the reference repository's README). Both models there
# fine-tune a pretrained RoBERTa-base; the Transformer reads one 512-token window, RMT reads the
# article in segments with memory tokens.
HYPERPARTISAN = {"transformer": 94.9, "rmt": 98.1}
HYPERPARTISAN_SOURCE = (
    "Bulatov et al., NeurIPS 2022, results table (Hyperpartisan, accuracy %); pretrained RoBERTa-base fine-tuned"
)


def _read(name: str) -> pd.DataFrame:
    path = PAPER_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the paper's CSVs ship with the repository under results/paper/")
    return pd.read_csv(path)


def model_name(mem_len: int, num_mem_tokens: int, mem_at_end: bool, n_segments: int | None = None) -> str:
    """The paper's rule for naming a row (results/paper/README.md)."""
    if num_mem_tokens > 0:
        if not mem_at_end:
            return "mt"
        return "rmt_xl" if mem_len > 0 else "rmt"
    if mem_len > 0:
        return "xl"
    return display_name("transformer", n_segments)


def chunked_segments(seq_len: int, segment_len: int) -> int:
    """How many segments the reference really made: ``torch.chunk(x, seq_len // segment_len)``
    gives chunks of ``ceil(seq_len / n)`` tokens (retrieval: segment_len 4 and 5 both give 2)."""
    n = max(1, seq_len // segment_len)
    size = -(-seq_len // n)
    return -(-seq_len // size)


def synthetic() -> pd.DataFrame:
    """Copy, reverse and retrieval (short and long): one row per run, columns task, model,
    mem_size, segment_len, n_segments (as the reference really split; ``n_chunks_csv`` is the
    CSV's own column, sometimes nominal), seq_len (model input length), accuracy, seed."""
    frames = []
    for name in ("short_synthetic+MT.csv", "long_copy_reverse.csv"):
        df = _read(name)
        task = df["dataset"].str.replace(r"\d+$", "", regex=True)
        length = df["seq_len"] if "seq_len" in df else task.map({"copy": 24, "reverse": 24, "retrieval": 4})
        input_len = task.map({"copy": 3, "reverse": 2, "retrieval": 2}) * length + (task == "retrieval") * 2
        frames.append(
            pd.DataFrame(
                {
                    "task": df["dataset"],
                    "length": length,
                    "seq_len": input_len,
                    "segment_len": df["tgt_len"],
                    "n_segments": [chunked_segments(int(s), int(t)) for s, t in zip(input_len, df["tgt_len"])],
                    "n_chunks_csv": df["n_chunks"],
                    "model": [
                        model_name(m, n, e, chunked_segments(int(s), int(t)))
                        for m, n, e, s, t in zip(
                            df["mem_len"], df["num_mem_tokens"], df["mem_at_end"], input_len, df["tgt_len"]
                        )
                    ],
                    "mem_size": df["mem_size"],
                    "accuracy": df["test acc"],
                    "seed": df["seed"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True).dropna(subset=["accuracy"])


def quadratic() -> pd.DataFrame:
    """Quadratic equations: model, mem_size, segment_len, answer accuracy, seed."""
    df = _read("res_square_equations.csv")
    n_seg = (180 // df["tgt_len"]).astype(int)
    return pd.DataFrame(
        {
            "model": [
                model_name(m, n, e, s)
                for m, n, e, s in zip(df["mem_len"], df["num_mem_tokens"], df["mem_at_end"], n_seg)
            ],
            "mem_size": df["mem_len"] + df["num_mem_tokens"],
            "segment_len": df["tgt_len"],
            "n_segments": n_seg,
            "answer_accuracy": df["answer_acc"],
            "seed": df["seed"],
        }
    )


def language_modelling() -> pd.DataFrame:
    """WikiText-103 (ppl) and enwik8 (bpc): dataset, segment_len, model, mem_size, cache (the XL
    cache length), bptt_depth, metric, value.

    Caveat from the CSVs' README: ``mem_at_end=False`` on rows dated 2021-12-07/08 is a filled-in
    default, so the few "mt" rows here may be RMT runs; chapters should not lean on them."""
    df = _read("results_wt103_enwik8.csv")
    metric = df["dataset"].map({"wt103": "ppl", "enwik8": "bpc"})
    value = df["test ppl"].where(df["dataset"] == "wt103", df["test bpc"])
    return pd.DataFrame(
        {
            "dataset": df["dataset"],
            "segment_len": df["tgt_len"],
            "eval_segment_len": df["eval_tgt_len"],
            "model": [model_name(m, n, e) for m, n, e in zip(df["mem_len"], df["num_mem_tokens"], df["mem_at_end"])],
            "mem_size": df["mem_len"].where(df["num_mem_tokens"] == 0, df["num_mem_tokens"]),
            "cache": df["mem_len"],
            "bptt_depth": df["mem_backprop_depth"],
            "metric": metric,
            "value": value,
        }
    ).dropna(subset=["value"])
