"""What the memory of a trained ``rmt`` holds while it solves copy and reverse (chapter 07).

Three measurements of one task model (paper section 5 looks at attention maps the same way):

* :func:`mean_attention`: the attention weights of every layer in every segment, averaged over
  samples and heads. Rows are the queries ``[R ; x ; W]`` (read memory, tokens, write memory),
  columns the keys ``[R ; x ; W]`` (an ``rmt`` has no XL cache);
* :func:`ridge_probe` / :func:`probe_memory`: linear probes that decode each input symbol of the
  sample from the memory vectors, per slot and from all slots together, trained on one set of
  samples and scored on another (held out);
* :func:`memory_norms`: the norm of every memory slot, and how alike the slots are, from the
  initial memory ``M_0`` to the memory after the last segment.

:func:`analyse` runs all three on a model and returns a :class:`MemoryAnalysis` that can be
saved as JSON under ``results/memory_analysis/`` and read back (so that the book can show the
analysis of a ``cpu`` run without its checkpoint, which is not committed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from .experiments import RunConfig, make_task, resolve
from .model import MemoryTransformer
from .records import CHECKPOINT, RECORD, WEIGHTS, RunRecord, atomic_write_json
from .runner import run_segments, segment_bounds

BLOCKS = ("read", "tokens", "write")
ANALYSIS_DIR = "memory_analysis"


# ------------------------------------------------------------------------------------------------
# the model to analyse
def train_or_load(
    experiment: str,
    model: str = "rmt",
    profile: str = "smoke",
    seed: int = 0,
    *,
    results_dir: str | Path = "../results",
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> tuple[MemoryTransformer, RunConfig, RunRecord, Path]:
    """The trained model of one run of ``experiment``: trained here only when no finished run of
    the same configuration (with its checkpoint) can be loaded. Returns ``(model, config, record,
    run_dir)``.

    Where the run lives (:func:`rmt_lite.train_experiment` loads a finished run of the same
    config from its folder instead of retraining):

    * ``smoke``: ``runs/smoke/`` of the checkout (never ``results/``);
    * a real profile: ``results_dir`` (the committed results; the run of chapter 02 with the same
      configuration is reused, from its checkpoint or its shipped half-precision weights); when
      ``results_dir`` holds the run's record but neither (checkpoints are not committed), the model
      is trained again under
      ``runs/<profile>/`` of the checkout, which is not committed either, so the committed
      record is never overwritten.
    """
    from .records import repo_root
    from .trainer import default_out_dir, default_run_id, load_model, train_experiment

    cfg = resolve(experiment, model, profile, seed)
    rid = default_run_id(cfg)
    if profile == "smoke":
        out = default_out_dir(profile)
    else:
        committed = Path(results_dir) / experiment / rid
        if (committed / RECORD).exists() and not any((committed / f).exists() for f in (CHECKPOINT, WEIGHTS)):
            out = (repo_root() or Path.cwd()) / "runs" / profile
        else:
            out = Path(results_dir)
    record = train_experiment(experiment, model, profile, seed, out_dir=out, run_name=rid, device=device, log=log)
    run_dir = Path(out) / experiment / rid
    net, run_cfg = load_model(run_dir, device=device)
    return net, run_cfg, record, run_dir


def final_segment_len(cfg: RunConfig) -> int:
    """The segment length of the run's final curriculum stage (the one the model is tested at)."""
    from .experiments import stages

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


@torch.no_grad()
def memory_states(model: MemoryTransformer, tokens: Tensor, segment_len: int, batch_size: int = 512) -> Tensor:
    """The memory before the first segment and after every segment: ``[n_segments + 1, N, M, d]``
    (index 0 is the learned ``M_0``; index t the memory written by segment t - 1)."""
    if not model.cfg.has_memory:
        raise ValueError(f"model variant {model.cfg.variant!r} has no memory tokens; allowed: rmt, mt, rmt_xl")
    model.eval()
    dev = next(model.parameters()).device
    chunks = []
    for i in range(0, tokens.shape[0], batch_size):
        t = tokens[i : i + batch_size].to(dev)
        out = run_segments(model, t, segment_len)
        first = model.init_state(t.shape[0]).memory
        chunks.append(torch.stack([first] + [o.state.memory for o in out.outputs]).float().cpu())
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
    if x_train.dim() != 3 or x_test.dim() != 3:
        raise ValueError(f"x_train {tuple(x_train.shape)} and x_test {tuple(x_test.shape)}: expected [G, N, F]")
    if y_train.shape[0] != x_train.shape[1] or y_test.shape[0] != x_test.shape[1]:
        raise ValueError(
            f"y_train {tuple(y_train.shape)} / y_test {tuple(y_test.shape)} must have one row per "
            f"sample of x_train ({x_train.shape[1]}) / x_test ({x_test.shape[1]})"
        )
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
    pred = (xb @ weights).view(G, xb.shape[1], P, num_classes).argmax(-1)
    return (pred == y_test.long()).double().mean(1).float()


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
    from .utils import git_sha

    meta["analysis_git_sha"] = git_sha()
    return MemoryAnalysis(
        meta=meta, attention=attention, probes=probes, norms=norms, blocks=block_mass(attention, M, seg_lens)
    )


# ------------------------------------------------------------------------------------------------
# numbers for the prose
def probe_summary(analysis: MemoryAnalysis) -> pd.DataFrame:
    """Mean held-out probe accuracy over input positions, per memory state, slot group
    (``"all"`` slots together / ``"best slot"`` = for each position its best single slot) and model."""
    df = analysis.probes
    rows = []
    for (model, t), g in df.groupby(["model", "memory"]):
        joint = g[g["slot"] == "all"]["accuracy"].mean()
        best = g[g["slot"] != "all"].groupby("position")["accuracy"].max().mean()
        rows.append(dict(model=model, memory=int(t), all_slots=float(joint), best_single_slot=float(best)))
    return pd.DataFrame(rows)


def attention_share(analysis: MemoryAnalysis, query: str, key: str, segments: list[int] | None = None) -> float:
    """Mean (over layers and the given segments) share of the ``query`` block's attention that
    goes to the ``key`` block."""
    b = analysis.blocks
    sel = (b["query"] == query) & (b["key"] == key)
    if segments is not None:
        sel &= b["segment"].isin(segments)
    return float(b[sel]["share"].mean()) if sel.any() else math.nan


# ------------------------------------------------------------------------------------------------
# committed analyses and the paper
def committed_analysis(
    results_dir: str | Path, experiment: str, profile: str = "cpu", seed: int = 0
) -> MemoryAnalysis | None:
    """The saved analysis of ``experiment`` at ``profile`` under ``results_dir`` (the run of
    ``seed`` when there is one, else the first found), or None."""
    paths = find_analyses(results_dir, experiment, profile)
    if not paths:
        return None
    mine = [p for p in paths if p.stem.endswith(f"-s{seed}") or f"-s{seed}-" in p.stem]
    return MemoryAnalysis.load((mine or paths)[0])


def provenance_of(analysis: MemoryAnalysis, source: str) -> str:
    """One line: which profile, seed, run and commit an analysis comes from."""
    m = analysis.meta
    made = m.get("analysis_git_sha")
    line = (
        f"{source}: {m['experiment']} run {m.get('run_id', '?')}, profile={m['profile']}, seed={m['seed']}, "
        f"commit {m.get('git_sha', '?')}"
    )
    return line + (f" (analysed at {made})" if made and made != m.get("git_sha") else "")


def accuracy_beside_paper(analysis: MemoryAnalysis, results_dir: str | Path, this_run: str) -> pd.DataFrame:
    """Per-token test accuracy of ``rmt`` on the analysed task: the paper's runs with the same
    number of segments (its raw CSVs; the paper's samples are longer: 24 symbols), our committed
    ``cpu`` records of that task and number of segments, and the analysed model."""
    from . import paper
    from .records import load_records

    m = analysis.meta
    n_seg = len(m["segment_lens"])
    rows = []
    ref = paper.synthetic()
    ref = ref[(ref["task"] == m["task"]) & (ref["model"] == "rmt") & (ref["n_segments"] == n_seg)]
    for mem, g in ref.groupby("mem_size"):
        rows.append(
            dict(
                source="paper",
                input_tokens=int(g["seq_len"].iloc[0]),
                segments=n_seg,
                memory_tokens=int(mem),
                accuracy=float(g["accuracy"].mean()),
                runs=len(g),
                seeds=",".join(str(int(s)) for s in sorted(g["seed"].dropna().unique())),
            )
        )
    rec = load_records(results_dir, m["experiment"], profile="cpu")
    if len(rec):
        rec = rec[(rec["model"] == "rmt") & (rec["num_segments"] == n_seg)]
        for mem, g in rec.groupby("mem_size"):
            rows.append(
                dict(
                    source="ours: committed cpu records",
                    input_tokens=int(m["seq_len"])
                    if m["profile"] == "cpu"
                    else int(3 * g["length"].iloc[0] if m["task"] == "copy" else 2 * g["length"].iloc[0]),
                    segments=n_seg,
                    memory_tokens=int(mem),
                    accuracy=float(g["test_acc"].mean()),
                    runs=len(g),
                    seeds=",".join(str(int(s)) for s in sorted(g["seed"].unique())),
                )
            )
    rows.append(
        dict(
            source=this_run,
            input_tokens=int(m["seq_len"]),
            segments=n_seg,
            memory_tokens=int(m["num_mem_tokens"]),
            accuracy=m.get("test_acc"),
            runs=1,
            seeds=str(m["seed"]),
        )
    )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# sentences for the prose, chosen from the numbers
def status_sentence(analysis: MemoryAnalysis) -> str:
    """How well the analysed model solves its task, and what that allows the reader to conclude."""
    m = analysis.meta
    acc, chance = m.get("test_acc"), m["chance"]
    what = (
        f"The {m['profile']} {m['task']} model ({m.get('steps', '?')} training steps, {m['n_layers']} layers, "
        f"d_model {m['d_model']}, {m['num_mem_tokens']} memory slots, {len(m['segment_lens'])} segments of "
        f"{m['segment_len']} tokens)"
    )
    if acc is None:
        text = f"{what} has no recorded test accuracy."
    elif acc >= 0.9:
        text = f"{what} solves the task: {acc:.2f} per-token test accuracy (chance {chance:.2f})."
    elif acc >= chance + 0.1:
        text = (
            f"{what} has learned part of the task: {acc:.2f} per-token test accuracy (chance {chance:.2f}); "
            "the maps below are those of a model that has not finished learning."
        )
    else:
        text = (
            f"{what} has not learned the task: {acc:.2f} per-token test accuracy, at or near chance "
            f"({chance:.2f}). Everything below describes an untrained or undertrained memory."
        )
    if m["profile"] == "smoke":
        text += (
            " This is a smoke run: it proves that the analysis code runs; its numbers say nothing about "
            "what a trained RMT learns, and no conclusion is drawn from them beyond the numbers themselves."
        )
    return text


def probe_sentence(analysis: MemoryAnalysis, memory: int = 1) -> str:
    """What the probes on ``M_memory`` show, against the untrained model and chance."""
    s = probe_summary(analysis)
    tr = s[(s["model"] == "trained") & (s["memory"] == memory)].iloc[0]
    un = s[(s["model"] == "untrained") & (s["memory"] == memory)].iloc[0]
    chance = analysis.meta["chance"]
    a, u = tr["all_slots"], un["all_slots"]
    head = (
        f"From M{memory}, the memory written by segment {memory - 1}, a linear probe on all slots decodes the "
        f"input symbols with {a:.2f} held-out accuracy on average over positions (untrained model of the same "
        f"shape: {u:.2f}; chance {chance:.2f})"
    )
    if a >= 0.9 and a >= u + 0.1:
        tail = ": the memory holds the input, far beyond what random features of an untrained network give."
    elif a >= u + 0.05:
        tail = ": more than random features give, but not the whole input."
    elif tr["best_single_slot"] >= un["best_single_slot"] + 0.1:
        tail = (
            ": no more than random features of an untrained network give on all slots together, yet the best "
            f"single slot per position decodes {tr['best_single_slot']:.2f} against {un['best_single_slot']:.2f} "
            "untrained, so single slots do hold learned content."
        )
    else:
        tail = ": no more than random features of an untrained network give, so the probe finds no learned content."
    best = tr["best_single_slot"]
    g = analysis.probes
    g = g[(g["model"] == "trained") & (g["memory"] == memory) & (g["slot"] != "all")]
    winners = g.loc[g.groupby("position")["accuracy"].idxmax(), "slot"]
    distinct = f"the {len(winners)} positions have {winners.nunique()} different slots as their best"
    if best >= a - 0.05:
        spread = f" The best single slot per position does about as well ({best:.2f}); {distinct}."
    else:
        spread = (
            f" The best single slot per position reaches only {best:.2f} ({distinct}): the symbols are "
            "spread over several slots rather than stored one per slot."
        )
    return head + tail + spread


def attention_sentence(analysis: MemoryAnalysis) -> str:
    """How much the tokens lean on the read memory in the first segment and in the later ones,
    and where the write block looks."""
    n = len(analysis.seg_lens)
    first = attention_share(analysis, "tokens", "read", [0])
    later = attention_share(analysis, "tokens", "read", list(range(1, n)))
    write_tokens = attention_share(analysis, "write", "tokens", list(range(n - 1)))
    text = (
        f"Averaged over layers, the tokens of segment 0 put {first:.2f} of their attention on the read "
        f"memory (there it holds only the learned M0), the tokens of the later segments {later:.2f}"
    )
    if later >= first + 0.1:
        text += ": the segments that must reproduce the input lean on the memory more."
    elif later <= first - 0.1:
        text += ": the later segments lean on the memory less than the first."
    else:
        text += ": about the same."
    return text + (
        f" The write slots put {write_tokens:.2f} of their attention on the tokens of the segment they "
        "summarise (the rest on the read and write blocks)."
    )


def norm_sentence(analysis: MemoryAnalysis) -> str:
    """Memory norms and slot similarity after the first segment."""
    df = analysis.norms
    later = df[df["memory"] >= 1]
    lo, hi = later["norm"].min(), later["norm"].max()
    raw = later.groupby("memory")["cosine_to_other_slots"].mean()
    cen = later.groupby("memory")["centred_cosine"].mean()
    text = (
        f"After the first segment the slot norms stay between {lo:.2f} and {hi:.2f} (M0: "
        f"{df[df['memory'] == 0]['norm'].mean():.2f} on average); the memory is the output of the final "
        "layer norm, so its scale is set by that norm's learned gain and bias, not by the number of segments. "
        f"The raw slot vectors have a mean cosine of up to {raw.max():.2f} with each other, their "
        f"sample-specific parts up to {cen.max():.2f}"
    )
    if cen.max() >= 0.8:
        text += ": the slots vary together, so they largely store the same thing."
    elif cen.max() >= 0.4:
        text += ": the slots vary partly together, storing overlapping but not identical information."
    else:
        text += ": what the slots store about the sample differs from slot to slot."
    return text
