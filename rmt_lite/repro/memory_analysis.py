"""What the memory of a trained ``rmt`` holds while it solves copy and reverse (chapter 07); where
it loses the needle (chapter 9) is :mod:`rmt_lite.repro.needle_analysis`, built on the probes here.

Three measurements of one task model (paper section 5 looks at attention maps the same way):

* :func:`mean_attention`: the attention weights of every layer in every segment, averaged over
  samples and heads. Rows are the queries ``[R ; x ; W]`` (read memory, tokens, write memory),
  columns the keys ``[R ; x ; W]`` (an ``rmt`` has no XL cache); :func:`block_mass` sums them per
  block, :func:`read_write_maps` cuts out the write and read blocks along the sample;
* :func:`ridge_probe` / :func:`probe_memory`: linear probes that decode each input symbol of the
  sample from the memory vectors, per slot and from all slots together, trained on one set of
  samples and scored on another (held out);
* :func:`memory_norms`: the norm of every memory slot, and how alike the slots are, from the
  initial memory ``M_0`` to the memory after the last segment.

:func:`analyse` runs all three on a model and returns a :class:`MemoryAnalysis` that can be
saved as JSON under ``results/memory_analysis/`` and read back (so that the book can show the
analysis of a ``cpu`` run without its checkpoint, which is not committed).

Only measurements live here. The model to analyse comes from
``rmt_lite.runs.train_or_reuse``; the chapter's tables and the numbers of its prose come
from ``rmt_lite.book.chapters.memory``, its figures from ``rmt_lite.book.plots.memory``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from ..curriculum import make_task
from ..model import MemoryTransformer
from ..records import RunRecord, atomic_write_json
from ..run_config import RunConfig
from ..runner import run_segments, segment_bounds

BLOCKS = ("read", "tokens", "write")
ANALYSIS_DIR = "memory_analysis"


# ------------------------------------------------------------------------------------------------
# the segment length analysed
def final_segment_len(cfg: RunConfig) -> int:
    """The segment length of the run's final curriculum stage (the one the model is tested at)."""
    from ..curriculum import stages

    task = make_task(cfg)
    return int(stages(cfg, int(task.seq_len))[-1]["segment_len"])


# ------------------------------------------------------------------------------------------------
# measurements
@torch.no_grad()
def mean_attention(model: MemoryTransformer, tokens: Tensor, segment_len: int, batch_size: int = 256) -> list[Tensor]:
    """Attention weights averaged over samples and heads: one ``[n_layers, rows, cols]`` tensor per
    segment (rows ``[R ; x ; W]``, cols ``[cache ; R ; x ; W]``; an ``rmt`` has no cache)."""
    model.eval()
    sums: list[Tensor] | None = None
    dev = next(model.parameters()).device
    for i in range(0, tokens.shape[0], batch_size):
        out = run_segments(model, tokens[i : i + batch_size].to(dev), segment_len, return_attention=True)
        per_seg = [torch.stack([a.float().sum(0).mean(0) for a in o.attentions]).cpu() for o in out.outputs]
        sums = per_seg if sums is None else [s + p for s, p in zip(sums, per_seg)]
    return [s / tokens.shape[0] for s in sums]


def block_slices(num_mem: int, seg_len: int) -> dict[str, slice]:
    """Positions of the read block, the tokens and the write block in ``[R ; x ; W]``."""
    M, T = num_mem, seg_len
    return {"read": slice(0, M), "tokens": slice(M, M + T), "write": slice(M + T, 2 * M + T)}


def block_mass(attention: list[Tensor], num_mem: int, seg_lens: list[int]) -> pd.DataFrame:
    """Share of the attention of each query block that goes to each key block, per layer and
    segment (mean over the queries of the block): columns segment, layer, query, key, share."""
    rows = []
    for s, (att, T) in enumerate(zip(attention, seg_lens)):
        b = block_slices(num_mem, T)
        for layer in range(att.shape[0]):
            for q in BLOCKS:
                for k in BLOCKS:
                    share = att[layer, b[q], b[k]].sum(-1).mean()
                    rows.append(dict(segment=s, layer=layer, query=q, key=k, share=float(share)))
    return pd.DataFrame(rows)


def read_write_maps(analysis: MemoryAnalysis, layer: int) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
    """For one layer: ``write [M, P_w]`` = attention of each write slot to each token of the
    segments whose memory is read later (all but the last), and ``read [M, P_r]`` = attention
    of each token of the later segments (all but the first) to each read slot, transposed.
    Also the sample positions of the two column ranges."""
    M, lens = analysis.num_mem, analysis.seg_lens
    starts = np.cumsum([0] + lens[:-1]).tolist()
    write, read, wpos, rpos = [], [], [], []
    for s, (a, T) in enumerate(zip(starts, lens)):
        b = block_slices(M, T)
        att = analysis.attention[s][layer]
        if s < len(lens) - 1:
            write.append(att[b["write"], b["tokens"]].numpy())
            wpos += list(range(a, a + T))
        if s > 0:
            read.append(att[b["tokens"], b["read"]].numpy().T)
            rpos += list(range(a, a + T))
    return np.concatenate(write, axis=1), np.concatenate(read, axis=1), wpos, rpos


def read_write_layers(analysis: MemoryAnalysis, layers: list[int] | None = None) -> dict[int, tuple]:
    """:func:`read_write_maps` of each layer (all by default), by layer: what the read/write figure draws."""
    n_layers = analysis.attention[0].shape[0]
    return {layer: read_write_maps(analysis, layer) for layer in (range(n_layers) if layers is None else layers)}


@torch.no_grad()
def memory_states(model: MemoryTransformer, tokens: Tensor, segment_len: int, batch_size: int = 512) -> Tensor:
    """The memory before the first segment and after every segment: ``[n_segments + 1, N, M, d]``
    (index 0 is the learned ``M_0``; index t the memory written by segment t - 1). Read one segment
    at a time, so that only the memory, not the logits, grows with the sample's length."""
    if not model.cfg.has_memory:
        raise ValueError(f"model variant {model.cfg.variant!r} has no memory tokens; allowed: rmt, mt, rmt_xl")
    model.eval()
    dev = next(model.parameters()).device
    chunks = []
    for i in range(0, tokens.shape[0], batch_size):
        t = tokens[i : i + batch_size].to(dev)
        state = model.init_state(t.shape[0])
        states = [state.memory.float().cpu()]
        for a, b in segment_bounds(t.shape[1], segment_len):
            state = model(t[:, a:b], state).state
            states.append(state.memory.float().cpu())
        chunks.append(torch.stack(states))
    return torch.cat(chunks, dim=1)


def ridge_probe(
    x_train: Tensor, y_train: Tensor, x_test: Tensor, y_test: Tensor, num_classes: int, ridge: float = 1e-2
) -> Tensor:
    """Linear least-squares probes (ridge) from features to class labels, scored on held-out data.

    ``x_*``: ``[G, N, F]`` (G feature sets, e.g. one per memory slot); ``y_*``: ``[N, P]``
    integer labels in ``[0, num_classes)`` (P targets, e.g. one per input position). Features
    are standardised with the training statistics; each probe regresses the one-hot labels with
    a bias and an L2 penalty ``ridge * N`` and predicts the arg-max. Returns the held-out
    accuracy ``[G, P]``.
    """
    if x_test.dim() == 3 and y_test.shape[0] != x_test.shape[1]:
        raise ValueError(f"y_test {tuple(y_test.shape)} must have one row per sample of x_test ({x_test.shape[1]})")
    pred = ridge_predict(x_train, y_train, x_test, num_classes, ridge)
    return (pred == y_test.long()).double().mean(1).float()


def ridge_predict(x_train: Tensor, y_train: Tensor, x_test: Tensor, num_classes: int, ridge: float = 1e-2) -> Tensor:
    """The probes of :func:`ridge_probe`, their predicted class for every test sample: ``[G, N_test, P]``."""
    if x_train.dim() != 3 or x_test.dim() != 3:
        raise ValueError(f"x_train {tuple(x_train.shape)} and x_test {tuple(x_test.shape)}: expected [G, N, F]")
    if y_train.shape[0] != x_train.shape[1]:
        raise ValueError(f"y_train {tuple(y_train.shape)} must have one row per sample of x_train ({x_train.shape[1]})")
    if ridge <= 0:
        raise ValueError(f"ridge={ridge!r} is not allowed: a number > 0")
    G, N, Fdim = x_train.shape
    P = y_train.shape[1]
    xa, xb = x_train.double(), x_test.double()
    mu, sd = xa.mean(1, keepdim=True), xa.std(1, keepdim=True).clamp_min(1e-8)
    xa, xb = (xa - mu) / sd, (xb - mu) / sd
    xa = torch.cat((xa, xa.new_ones(G, N, 1)), dim=2)
    xb = torch.cat((xb, xb.new_ones(G, xb.shape[1], 1)), dim=2)
    targets = F.one_hot(y_train.long(), num_classes).double().reshape(N, P * num_classes)
    gram = xa.transpose(1, 2) @ xa
    penalty = torch.eye(Fdim + 1, dtype=gram.dtype) * ridge * N
    penalty[-1, -1] = 0.0  # the bias is not penalised
    weights = torch.linalg.solve(gram + penalty, xa.transpose(1, 2) @ targets)  # [G, F+1, P*K]
    return (xb @ weights).view(G, xb.shape[1], P, num_classes).argmax(-1)


def probe_memory(
    train_mem: Tensor,
    train_labels: Tensor,
    test_mem: Tensor,
    test_labels: Tensor,
    num_classes: int,
    ridge: float = 1e-2,
) -> pd.DataFrame:
    """Decode every input position from every memory state, per slot and from all slots.

    ``*_mem``: ``[n_states, N, M, d]`` (:func:`memory_states`); ``*_labels``: ``[N, P]`` the input
    symbols as classes. Returns columns memory (state index t: ``M_t``), slot (``"0"``, ``"1"``,
    ... and ``"all"``), position, accuracy (held out)."""
    rows = []
    n_states, _, M, _ = train_mem.shape
    for t in range(n_states):
        per_slot = ridge_probe(
            train_mem[t].transpose(0, 1), train_labels, test_mem[t].transpose(0, 1), test_labels, num_classes, ridge
        )  # [M, P]
        joint = ridge_probe(
            train_mem[t].flatten(1)[None], train_labels, test_mem[t].flatten(1)[None], test_labels, num_classes, ridge
        )  # [1, P]
        for slot, accs in [(str(s), per_slot[s]) for s in range(M)] + [("all", joint[0])]:
            for pos, acc in enumerate(accs.tolist()):
                rows.append(dict(memory=t, slot=slot, position=pos, accuracy=acc))
    return pd.DataFrame(rows)


def memory_norms(memories: Tensor) -> pd.DataFrame:
    """Per memory state ``t`` and slot (``memories``: ``[n_states, N, M, d]``):

    * ``norm``: mean L2 norm over samples;
    * ``cosine_to_other_slots``: mean cosine similarity of the slot with the other slots of the
      same sample (1 = every slot holds the same vector);
    * ``centred_cosine``: the same for the sample-specific parts (each slot minus its mean over
      samples): near 1 means the slots vary together, i.e. store the same thing; NaN when the
      slot does not vary (``M0``);
    * ``relative_change``: ``|M_t - M_t-1| / |M_t-1|`` for the slot, mean over samples.
    """
    n_states, N, M, _ = memories.shape

    def mean_cos(x: Tensor) -> Tensor:  # [n_states, N, M, d] -> [n_states, M]
        unit = F.normalize(x, dim=-1)
        cos = unit @ unit.transpose(-1, -2)  # [n_states, N, M, M]
        return ((cos.sum(-1) - cos.diagonal(dim1=-2, dim2=-1)) / max(M - 1, 1)).mean(1)

    norms = memories.norm(dim=-1).mean(1)  # [n_states, M]
    raw = mean_cos(memories)
    centred = memories - memories.mean(1, keepdim=True)
    varies = centred.norm(dim=-1).mean(1) > 1e-6 * memories.norm(dim=-1).mean(1).clamp_min(1e-12)
    cen = torch.where(varies, mean_cos(centred), torch.full_like(raw, float("nan")))
    change = torch.full((n_states, M), float("nan"))
    if n_states > 1:
        diff = (memories[1:] - memories[:-1]).norm(dim=-1) / memories[:-1].norm(dim=-1).clamp_min(1e-8)
        change[1:] = diff.mean(1)
    rows = [
        dict(
            memory=t,
            slot=s,
            norm=float(norms[t, s]),
            cosine_to_other_slots=float(raw[t, s]),
            centred_cosine=float(cen[t, s]),
            relative_change=float(change[t, s]),
        )
        for t in range(n_states)
        for s in range(M)
    ]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
@dataclass
class MemoryAnalysis:
    """Everything chapter 07 shows about one model, and where it comes from."""

    meta: dict  # experiment, task, profile, seed, run_id, git_sha, sizes, metrics
    attention: list[Tensor]  # per segment [n_layers, rows, cols]
    probes: pd.DataFrame  # memory, slot, position, accuracy, model ("trained"/"untrained")
    norms: pd.DataFrame  # memory, slot, norm, cosine_to_other_slots, relative_change, data
    blocks: pd.DataFrame = field(default_factory=pd.DataFrame)  # block_mass of ``attention``

    @property
    def num_mem(self) -> int:
        return int(self.meta["num_mem_tokens"])

    @property
    def seg_lens(self) -> list[int]:
        return [int(n) for n in self.meta["segment_lens"]]

    def to_dict(self) -> dict:
        return {
            "meta": self.meta,
            "attention": [
                [[[round(float(v), 5) for v in row] for row in layer] for layer in seg.tolist()]
                for seg in self.attention
            ],
            "probes": self.probes.to_dict(orient="list"),
            "norms": self.norms.to_dict(orient="list"),
        }

    def save(self, path: str | Path) -> Path:
        """Write the analysis as JSON (atomically)."""
        atomic_write_json(path, self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> MemoryAnalysis:
        d = json.loads(Path(path).read_text())
        attention = [torch.tensor(seg, dtype=torch.float32) for seg in d["attention"]]
        meta = d["meta"]
        norms = pd.DataFrame(d["norms"])
        for col in ("norm", "cosine_to_other_slots", "centred_cosine", "relative_change"):  # JSON stores NaN as "nan"
            norms[col] = pd.to_numeric(norms[col], errors="coerce")
        return cls(
            meta=meta,
            attention=attention,
            probes=pd.DataFrame(d["probes"]),
            norms=norms,
            blocks=block_mass(attention, int(meta["num_mem_tokens"]), [int(n) for n in meta["segment_lens"]]),
        )


def analysis_path(results_dir: str | Path, experiment: str, run_id: str) -> Path:
    """``<results>/memory_analysis/<experiment>/<run_id>.json``."""
    return Path(results_dir) / ANALYSIS_DIR / experiment / f"{run_id}.json"


def find_analyses(results_dir: str | Path, experiment: str, profile: str = "cpu") -> list[Path]:
    """Saved analyses of ``experiment`` at ``profile`` under ``results_dir``, sorted by name."""
    folder = Path(results_dir) / ANALYSIS_DIR / experiment
    return sorted(p for p in folder.glob(f"*-{profile}-s*.json")) if folder.is_dir() else []


def _untrained_like(model: MemoryTransformer, seed: int) -> MemoryTransformer:
    torch.manual_seed(seed)
    fresh = MemoryTransformer(model.cfg).to(next(model.parameters()).device)
    return fresh.eval()


def analyse(
    model: MemoryTransformer,
    cfg: RunConfig,
    *,
    segment_len: int,
    record: RunRecord | None = None,
    n_attention: int = 128,
    n_probe_train: int = 0,
    n_probe_test: int = 1000,
    ridge: float = 1e-2,
    seed: int = 0,
) -> MemoryAnalysis:
    """Attention maps, probes and memory norms of a copy/reverse ``rmt`` model.

    Samples: attention and norms on the task's fixed test set; probes trained on
    ``n_probe_train`` samples of the training stream (0 = four times the number of features of
    the all-slot probe, ``4 * num_mem_tokens * d_model``, and at least 1000) (``torch.Generator`` seeded with ``seed``)
    and scored on ``n_probe_test`` samples of the fixed test set, which the training stream never
    yields. The probes also run on an untrained model of the same configuration (initialised
    with ``seed``): random features can decode a little by themselves, and that is the level a
    trained memory must beat. The probe targets are the input symbols ``x`` (the first ``length``
    tokens of a sample), as classes ``0 .. num_symbols - 1``.
    """
    task = make_task(cfg)
    if not hasattr(task, "length") or not hasattr(task, "num_symbols"):
        raise ValueError(
            f"experiment {cfg.experiment!r} is not a copy/reverse task; allowed: copy, reverse, copy_long, reverse_long"
        )
    L, K = int(task.length), int(task.num_symbols)
    if n_probe_train == 0:
        n_probe_train = max(1000, 4 * model.cfg.num_mem_tokens * model.cfg.d_model)
    if task.holdout:  # a small sample space (smoke): its test bucket holds about 1/64 of it
        cap = max(16, int(task.space_size) // 128)
        n_attention, n_probe_test = min(n_attention, cap), min(n_probe_test, cap)
    test = task.fixed_set("test", max(n_attention, n_probe_test))
    train = task.batch(n_probe_train, torch.Generator().manual_seed(seed))
    bounds = segment_bounds(int(task.seq_len), segment_len)

    attention = mean_attention(model, test.tokens[:n_attention], segment_len)
    M = model.cfg.num_mem_tokens
    seg_lens = [b - a for a, b in bounds]

    def labels(b):
        return b.tokens[:, :L] - 2  # symbols 2 .. K+1 -> classes 0 .. K-1

    frames = []
    for name, net in (("trained", model), ("untrained", _untrained_like(model, seed))):
        tr = memory_states(net, train.tokens, segment_len)
        te = memory_states(net, test.tokens[:n_probe_test], segment_len)
        df = probe_memory(tr, labels(train), te, labels(test[:n_probe_test]), K, ridge)
        df["model"] = name
        frames.append(df)
        if name == "trained":
            norms = memory_norms(te)
    probes = pd.concat(frames, ignore_index=True)

    meta = dict(
        experiment=cfg.experiment,
        task=task.name,
        length=L,
        num_symbols=K,
        profile=cfg.profile,
        seed=cfg.seed,
        model=cfg.model,
        num_mem_tokens=M,
        n_layers=model.cfg.n_layers,
        n_heads=model.cfg.n_heads,
        d_model=model.cfg.d_model,
        segment_len=segment_len,
        segment_lens=seg_lens,
        seq_len=int(task.seq_len),
        answer_start=int(task.seq_len - task.answer_len),
        chance=1.0 / K,
        n_attention=n_attention,
        n_probe_train=n_probe_train,
        n_probe_test=n_probe_test,
        ridge=ridge,
        analysis_seed=seed,
    )
    if record is not None:
        test_metrics = record.metrics.get("test", {})
        meta.update(
            run_id=record.run_id,
            git_sha=record.git_sha,
            steps=record.steps,
            stop_reason=record.stop_reason,
            wall_time_s=record.wall_time_s,
            test_acc=test_metrics.get("acc"),
            test_exact_match=test_metrics.get("exact_match"),
        )
    from ..utils import git_sha

    meta["analysis_git_sha"] = git_sha()
    return MemoryAnalysis(
        meta=meta, attention=attention, probes=probes, norms=norms, blocks=block_mass(attention, M, seg_lens)
    )
