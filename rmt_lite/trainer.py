"""One trainer for both recurrence regimes of the paper (section 3; design notes, book/design.md, section 2).

- per-sample recurrence (algorithmic tasks, classification): memory is re-initialised for every
  sample; the loss of the scored positions back-propagates through all segments (full BPTT) or
  through at most ``bptt_depth`` of them (exact truncation, :func:`rmt_lite.run_segments`);
- stream recurrence (language modelling): one optimiser step = one segment of ``batch_size``
  parallel streams; memory and XL cache flow along the streams from step to step. Depth-k BPTT
  keeps the last k segments' inputs and the detached state from k steps back and replays them,
  so the memory entering the current segment carries a graph through exactly k write
  operations (depth 0 = the memory arrives detached; the write operation is never trained).

Also: AdamW, gradient clipping, cosine/plateau/constant schedules with warm-up, a curriculum over
the number of segments, early stopping at a target, checkpoints that resume bit-identically on
CPU, a NaN guard, DistributedDataParallel (gloo on CPU, nccl on GPU) and bf16 autocast on CUDA.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ModelConfig
from .evaluate import (
    autocast,
    classify_logits,
    collate_documents,
    evaluate_classification,
    evaluate_stream,
    evaluate_task,
)
from .experiments import EXPERIMENTS, RunConfig, make_task, resolve, stages
from .model import MemoryTransformer, SegmentState
from .records import (
    CHECKPOINT,
    CONFIG,
    RECORD,
    RUN_LOCK,
    RUN_OWNER,
    WEIGHTS,
    RunRecord,
    atomic_torch_save,
    atomic_write_json,
    default_results_dir,
    in_summary,
    remove_stale_temporaries,
    run_lock,
    write_summary,
)
from .runner import replay_memory, run_segments
from .utils import get_device, git_sha, versions

CHECKPOINT_FORMAT = 1


class TrainingDiverged(FloatingPointError):
    """The loss or the gradient became NaN or infinite; the last good checkpoint is kept."""


# ------------------------------------------------------------------------------------------------
# where results go
def default_out_dir(profile: str) -> Path:
    """``results/`` of the checkout for real runs; ``runs/smoke/`` (git-ignored) for smoke runs."""
    root = default_results_dir()
    return root.parent / "runs" / "smoke" if profile == "smoke" else root


def _committed_results_dir() -> Path:
    return default_results_dir().resolve()


def default_run_id(cfg: RunConfig) -> str:
    """``<model>-<profile>-s<seed>`` plus the settings that differ from the profile, e.g.
    ``rmt-cpu-s0-segment_len12-mem_size4`` (a hash when that would be long)."""
    base = resolve(cfg.experiment, cfg.model, cfg.profile, cfg.seed).to_dict()
    mine = cfg.to_dict()
    diff = {}
    for k, v in mine.items():
        if k == "task":
            diff.update({tk: tv for tk, tv in v.items() if base["task"].get(tk) != tv})
        elif base[k] != v:
            diff[k] = v
    rid = f"{cfg.model}-{cfg.profile}-s{cfg.seed}"
    if diff:
        parts = "-".join(
            f"{k}{'none' if v is None else ','.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in sorted(diff.items())
        )
        parts = re.sub(r"[^A-Za-z0-9_.,=+-]", "_", parts)
        rid += "-" + (parts if len(parts) <= 48 else "x" + cfg.fingerprint())
    return rid


# ------------------------------------------------------------------------------------------------
# data regimes: each one yields the loss of one optimiser step and evaluates a split
def _state_to_dict(state: SegmentState | None) -> dict | None:
    if state is None:
        return None
    return {
        "memory": state.memory,
        "cache": None if state.cache is None else list(state.cache),
        "cache_mask": state.cache_mask,
    }


def _state_from_dict(d: dict | None, device) -> SegmentState | None:
    if d is None:
        return None
    mem = None if d["memory"] is None else d["memory"].to(device)
    cache = None if d["cache"] is None else tuple(c.to(device) for c in d["cache"])
    mask = d.get("cache_mask")  # absent in checkpoints written before the cache had a mask
    return SegmentState(mem, cache, None if mask is None else mask.to(device))


class _Regime:
    """Base: ``rows`` is this process's slice of the global batch (DistributedDataParallel)."""

    kind = ""

    def __init__(self, cfg: RunConfig, device: torch.device, rank: int, world: int):
        self.cfg, self.device, self.rank, self.world = cfg, device, rank, world
        self.gen = torch.Generator().manual_seed(cfg.seed)  # data stream, separate from model init
        local = cfg.batch_size // world
        self.rows = slice(rank * local, (rank + 1) * local)
        self.num_classes = 0

    # stage (curriculum) -------------------------------------------------------------------------
    num_stages = 1
    stage_info: dict = {}

    def set_stage(self, i: int) -> None:
        pass

    def after_step(self) -> None:
        pass

    def state_dict(self) -> dict:
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, d: dict) -> None:
        self.gen.set_state(d["gen"])


class TaskRegime(_Regime):
    kind = "task"

    def __init__(self, cfg, device, rank, world):
        super().__init__(cfg, device, rank, world)
        self.final_task = make_task(cfg)
        self.vocab_size = int(self.final_task.vocab_size)
        self.stages = stages(cfg, int(self.final_task.seq_len))
        self.num_stages = len(self.stages)
        self._test = None
        self.set_stage(0)

    def set_stage(self, i: int) -> None:
        st = self.stages[i]
        self.task = self.final_task if st["length"] is None else make_task(self.cfg, st["length"])
        self.segment_len = st["segment_len"]
        self.stage_info = dict(segments=st["segments"], segment_len=st["segment_len"], seq_len=int(self.task.seq_len))
        self.valid = self.task.fixed_set("valid", self.cfg.eval_size)

    def loss_fn(self) -> Callable[[nn.Module], Tensor]:
        b = self.task.batch(self.cfg.batch_size, self.gen)
        count = b.loss_mask.sum().clamp_min(1)  # scored positions of the GLOBAL batch
        tokens, targets, mask = (t[self.rows].to(self.device) for t in (b.tokens, b.targets, b.loss_mask))
        local = mask.sum().clamp_min(1)
        scale = float(local) / float(count) * self.world  # DDP averages: sum over ranks / count
        cfg, seg = self.cfg, self.segment_len
        # truncated BPTT back-propagates segment by segment inside the run (run_segments(backward=)):
        # only k+1 segments' graph is alive at a time; DDP needs one backward a step, so not there
        inside = cfg.bptt_depth is not None and self.world == 1

        def fn(model):
            out = run_segments(
                model,
                tokens,
                seg,
                targets=targets,
                loss_mask=mask,
                bptt_depth=cfg.bptt_depth,
                checkpoint_segments=cfg.checkpoint_segments,
                backward=scale if inside else None,
            )
            return out.loss * scale  # no graph when the backward pass already ran

        return fn

    def evaluate(self, model, split: str) -> dict:
        if split == "test":
            if self._test is None:
                self._test = self.final_task.fixed_set("test", self.cfg.test_size)
            data, task, seg = self._test, self.final_task, self.stages[-1]["segment_len"]
        else:
            data, task, seg = self.valid, self.task, self.segment_len
        return evaluate_task(
            model, data, seg, batch_size=self.cfg.eval_batch_size, greedy=True, task=task, amp=self.cfg.amp
        )


class StreamRegime(_Regime):
    """Language modelling: the state of the B streams is part of the training state."""

    kind = "lm"

    def __init__(self, cfg, device, rank, world):
        super().__init__(cfg, device, rank, world)
        import data_gen

        task = dict(cfg.task)
        self.corpus = data_gen.load_corpus(task["corpus"], path=task.get("corpus_path"))
        self.vocab_size = int(self.corpus.vocab_size)
        need = cfg.batch_size * cfg.segment_len + 1
        if len(self.corpus.train) < need:
            raise ValueError(
                f"batch_size={cfg.batch_size} streams of segment_len={cfg.segment_len} need at "
                f"least {need} training tokens; corpus {task['corpus']!r} has {len(self.corpus.train)}"
            )
        for split, size in (("valid", cfg.eval_size), ("test", cfg.test_size)):
            n = len(getattr(self.corpus, split)) if size == 0 else min(size, len(getattr(self.corpus, split)))
            if n < cfg.eval_batch_size * cfg.segment_len + 1:
                raise ValueError(
                    f"eval_batch_size={cfg.eval_batch_size} streams of segment_len={cfg.segment_len} "
                    f"need at least {cfg.eval_batch_size * cfg.segment_len + 1} {split} tokens; "
                    f"the {split} split gives {n} (eval_size/test_size={size}, 0 = all)"
                )
        self.segment_len = cfg.segment_len
        self.stage_info = dict(segment_len=cfg.segment_len)
        self.epoch, self.index = 0, 0
        self._iter = None
        self._reset_streams()

    def _reset_streams(self):
        self.inputs: list[Tensor] = []  # the last k segments (inputs), oldest first
        self.states: list[SegmentState | None] = [None]  # detached states before each; None = M_0

    def _next(self) -> tuple[Tensor, Tensor]:
        from data_gen import stream_batches

        def batches(start):
            return iter(
                stream_batches(
                    self.corpus.train, self.cfg.batch_size, self.cfg.segment_len, drop_last=True, start=start
                )
            )

        if self._iter is None:
            self._iter = batches(self.index)  # resuming: skip what was already trained on
        try:
            x, y = next(self._iter)
        except StopIteration:  # a new epoch: streams restart from M_0
            self.epoch, self.index = self.epoch + 1, 0
            self._reset_streams()
            self._iter = batches(0)
            x, y = next(self._iter)
        self.index += 1
        return x[self.rows].to(self.device), y[self.rows].to(self.device)

    def loss_fn(self):
        inputs, targets = self._next()
        hist, hist_states = list(self.inputs), list(self.states)
        self._pending = inputs

        def fn(model):
            if not model.cfg.has_memory:  # no memory, no gradient across segments: no replay
                st = hist_states[-1] if hist_states[-1] is not None else model.init_state(inputs.shape[0])
            else:
                start = hist_states[0] if hist_states[0] is not None else model.init_state(inputs.shape[0])
                replays = [lambda s, x=x: model(x, s) for x in hist]  # rebuild the memory, k writes deep
                st = replay_memory(replays, start, hist_states[1:])
            out = model(inputs, st)
            self._new_state = out.state.detach()
            return F.cross_entropy(out.logits.flatten(0, 1).float(), targets.flatten())

        return fn

    def after_step(self):
        k = self.cfg.bptt_depth
        self.inputs.append(self._pending)
        self.states.append(self._new_state)
        while len(self.inputs) > k:
            self.inputs.pop(0)
            self.states.pop(0)
        self._pending = self._new_state = None

    def evaluate(self, model, split):
        data = self.corpus.valid if split == "valid" else self.corpus.test
        size = self.cfg.eval_size if split == "valid" else self.cfg.test_size
        return evaluate_stream(
            model, data, self.cfg.segment_len, self.cfg.eval_batch_size, max_tokens=size, amp=self.cfg.amp
        )

    def state_dict(self):
        return {
            "gen": self.gen.get_state(),
            "epoch": self.epoch,
            "index": self.index,
            "inputs": [x.cpu() for x in self.inputs],
            "states": [_state_to_dict(None if s is None else s) for s in self.states],
        }

    def load_state_dict(self, d):
        self.gen.set_state(d["gen"])
        self.epoch, self.index, self._iter = int(d["epoch"]), int(d["index"]), None
        self.inputs = [x.to(self.device) for x in d["inputs"]]
        self.states = [_state_from_dict(s, self.device) for s in d["states"]]


class ClassificationRegime(_Regime):
    kind = "classification"

    def __init__(self, cfg, device, rank, world):
        super().__init__(cfg, device, rank, world)
        import data_gen

        task = dict(cfg.task)
        name = task.pop("dataset")
        kwargs = {k: v for k, v in task.items() if v is not None}
        self.data = data_gen.load_classification(name, **kwargs)
        self.vocab_size = int(self.data.vocab_size)
        self.num_classes = len(self.data.label_names)
        self.segment_len = cfg.segment_len
        # a model without memory reads the first segment only (the paper's baseline: one window)
        self.max_segments = cfg.max_segments if cfg.model == "rmt" else 1
        self.stage_info = dict(segment_len=cfg.segment_len, max_segments=self.max_segments)
        if not self.data.train:
            raise ValueError(f"dataset {name!r} has no training documents")

    def loss_fn(self):
        cfg = self.cfg
        idx = torch.randint(len(self.data.train), (cfg.batch_size,), generator=self.gen)[self.rows]
        tokens, mask, labels = collate_documents(
            [self.data.train[i] for i in idx.tolist()], self.segment_len, self.max_segments
        )
        tokens, mask, labels = tokens.to(self.device), mask.to(self.device), labels.to(self.device)

        def fn(model):
            logits = classify_logits(
                model,
                tokens,
                mask,
                self.segment_len,
                bptt_depth=cfg.bptt_depth,
                checkpoint_segments=cfg.checkpoint_segments,
            )
            return F.cross_entropy(logits.float(), labels)

        return fn

    def evaluate(self, model, split):
        docs = self.data.valid if split == "valid" else self.data.test
        size = self.cfg.eval_size if split == "valid" else self.cfg.test_size
        docs = docs[:size] if size else docs
        return evaluate_classification(
            model, docs, self.segment_len, self.max_segments, batch_size=self.cfg.eval_batch_size, amp=self.cfg.amp
        )


REGIMES = {"task": TaskRegime, "lm": StreamRegime, "classification": ClassificationRegime}


class _Step(nn.Module):
    """Wraps the model so that one optimiser step is one forward call (what DDP expects), however
    many segments the step runs."""

    def __init__(self, model: MemoryTransformer):
        super().__init__()
        self.model = model

    def forward(self, fn):
        return fn(self.model)


# ------------------------------------------------------------------------------------------------
def _finite(x: float) -> bool:
    return math.isfinite(x)


class Trainer:
    """Trains one :class:`RunConfig`; ``fit()`` returns the final metrics.

    ``run_dir``: where ``checkpoint.pt`` goes (None: no checkpoints). Only rank 0 writes and logs.
    """

    def __init__(
        self,
        cfg: RunConfig,
        *,
        device: torch.device | str = "cpu",
        run_dir: str | Path | None = None,
        progress: bool = False,
        log: Callable[[str], None] | None = None,
        rank: int = 0,
        world: int = 1,
        build_model: Callable[[ModelConfig, RunConfig], nn.Module] | None = None,
    ):
        self.cfg, self.rank, self.world = cfg, rank, world
        self.device = torch.device(device) if isinstance(device, str) else device
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.progress = progress and rank == 0
        self._log = log
        if cfg.batch_size % world:
            raise ValueError(
                f"batch_size={cfg.batch_size} is not allowed with {world} processes: "
                f"a multiple of the world size {world}"
            )
        torch.manual_seed(cfg.seed)  # model init (and dropout) stream
        self.regime = REGIMES[cfg.kind](cfg, self.device, rank, world)
        self.model_config: ModelConfig = cfg.model_config(self.regime.vocab_size, self.regime.num_classes)
        # build_model: another implementation with MemoryTransformer's segment interface (rmt_lite.peer)
        built = MemoryTransformer(self.model_config) if build_model is None else build_model(self.model_config, cfg)
        self.model = built.to(self.device)
        decays = {n: p.dim() >= 2 and "memory" not in n for n, p in self.model.named_parameters()}  # memory: never
        decay = [p for n, p in self.model.named_parameters() if decays[n]]
        other = [p for n, p in self.model.named_parameters() if not decays[n]]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": other, "weight_decay": 0.0}], lr=cfg.lr
        )
        self.step_module: nn.Module = _Step(self.model)
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.step_module = DDP(self.step_module, device_ids=ids, find_unused_parameters=True)
        # training state (all of it goes into the checkpoint)
        self.step = 0
        self.stage = 0
        self.plateau = {"scale": 1.0, "best": math.inf, "bad": 0}
        self.history: list[dict] = []
        self.elapsed = 0.0
        self.stop_reason = ""
        self.resumed = 0
        self.saved_step: int | None = None
        self.train_loss = math.nan

    # --------------------------------------------------------------------------------------------
    def log(self, line: str) -> None:
        if self.rank != 0:
            return
        if self._log is not None:
            self._log(line)
        elif self.progress:
            from tqdm.auto import tqdm

            tqdm.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def lr_at(self, step: int) -> float:
        c = self.cfg
        if c.warmup_steps and step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        if c.schedule == "cosine":
            t = (step - c.warmup_steps) / max(1, c.steps - c.warmup_steps)
            return c.min_lr + (c.lr - c.min_lr) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))
        if c.schedule == "plateau":
            return max(c.lr * self.plateau["scale"], c.min_lr)
        return c.lr

    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / CHECKPOINT

    # --------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": json.dumps(self.cfg.to_dict(), sort_keys=True),
            "model_config": json.dumps(self.model_config.to_dict(), sort_keys=True),
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "trainer": {
                "step": self.step,
                "stage": self.stage,
                "plateau": dict(self.plateau),
                "history": json.dumps(self.history),
                "elapsed": self.elapsed,
                "stop_reason": self.stop_reason,
                "resumed": self.resumed,
                "train_loss": self.train_loss,
            },
            "regime": self.regime.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
        }

    def save_checkpoint(self) -> None:
        if self.rank != 0 or self.checkpoint_path is None:
            return
        atomic_torch_save(self.checkpoint_path, self.state_dict())
        self.saved_step = self.step

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore everything (weights, optimiser, schedule, curriculum stage, RNG states, data
        position); ``torch.load(weights_only=True)``: no arbitrary unpickling."""
        ck = read_checkpoint(path)
        if ck.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"checkpoint {path} has format {ck.get('format')!r}; allowed: {CHECKPOINT_FORMAT}")
        saved = json.loads(ck["config"])
        if not same_config(saved, self.cfg.to_dict()):
            raise ValueError(
                f"checkpoint {path} holds a run with another config (differs in "
                f"{_diff_keys(saved, self.cfg.to_dict())}); allowed: the same config"
            )
        self.model.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        t = ck["trainer"]
        self.step, self.stage = int(t["step"]), int(t["stage"])
        self.plateau = dict(t["plateau"])
        self.history = json.loads(t["history"])
        self.elapsed, self.stop_reason = float(t["elapsed"]), str(t["stop_reason"])
        self.resumed = int(t["resumed"]) + 1
        self.train_loss = float(t["train_loss"])
        self.regime.set_stage(self.stage)
        self.regime.load_state_dict(ck["regime"])
        torch.set_rng_state(ck["rng"]["torch"])  # last: nothing may draw after it
        if ck["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["rng"]["cuda"])
        self.saved_step = self.step

    # --------------------------------------------------------------------------------------------
    def _diverged(self, what: str, value: float, lr: float) -> TrainingDiverged:
        if self.saved_step is not None and self.checkpoint_path is not None:
            kept = f"the last good checkpoint (step {self.saved_step}) is kept at {self.checkpoint_path}"
        else:
            kept = "no checkpoint had been saved yet"
        return TrainingDiverged(
            f"training diverged: the {what} is {value} at step {self.step + 1} of {self.cfg.experiment}/"
            f"{self.cfg.model} (lr={lr:.3g}); {kept}. Lower lr or clip, or check the data, and start a "
            "run with those settings (another run folder)."
        )

    def _train_step(self) -> float:
        lr = self.lr_at(self.step)
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.model.train()
        self.opt.zero_grad(set_to_none=True)  # before the forward pass: it may back-propagate itself
        fn = self.regime.loss_fn()
        with autocast(self.device, self.cfg.amp):
            loss = self.step_module(fn)
        value = loss.detach().float()
        if self.world > 1:
            import torch.distributed as dist

            value = value.clone()
            dist.all_reduce(value)
            value /= self.world
        value = float(value)
        if not _finite(value):
            raise self._diverged("loss", value, lr)
        if loss.requires_grad:
            loss.backward()
        params = [p for p in self.model.parameters() if p.grad is not None]
        norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.clip if self.cfg.clip > 0 else math.inf)
        if not _finite(float(norm)):
            raise self._diverged("gradient norm", float(norm), lr)
        self.opt.step()
        self.regime.after_step()
        self.step += 1
        return value

    def _evaluate(self) -> dict:
        spec = EXPERIMENTS[self.cfg.experiment]
        metrics = self.regime.evaluate(self.model, "valid")
        entry = dict(
            step=self.step,
            stage=self.stage,
            **self.regime.stage_info,
            lr=self.lr_at(max(self.step - 1, 0)),
            train_loss=self.train_loss,
            **metrics,
        )
        self.history.append(entry)
        value = metrics[spec.metric]
        shown = [k for k in (spec.metric, "loss", "acc_tf", "exact_match", "bpc", "ppl") if k in metrics]
        shown = list(dict.fromkeys(shown))
        stage = f" | stage {self.stage + 1}/{self.regime.num_stages}" if self.regime.num_stages > 1 else ""
        self.log(
            f"{self.cfg.experiment} {self.cfg.model} {self.cfg.profile} s{self.cfg.seed} | step "
            f"{self.step}/{self.cfg.steps}{stage} | lr {entry['lr']:.2e} | train loss {self.train_loss:.4f} | "
            "valid "
            + " ".join(f"{k} {metrics[k]:.4f}" for k in shown)
            + f" | {self.elapsed + time.perf_counter() - self._t0:.0f}s"
        )
        # reduce on plateau of the validation loss (the reference's "dev_perf" scheduler)
        if self.cfg.schedule == "plateau":
            if metrics["loss"] < self.plateau["best"]:
                self.plateau["best"], self.plateau["bad"] = metrics["loss"], 0
            else:
                self.plateau["bad"] += 1
                if self.plateau["bad"] > self.cfg.patience:
                    self.plateau["scale"] *= self.cfg.decay_rate
                    self.plateau["bad"] = 0
        reached = (lambda thr: value >= thr) if spec.maximize else (lambda thr: value <= thr)
        if self.stage < self.regime.num_stages - 1:
            deadline, passed = self.stage_deadline(self.stage), reached(self.cfg.curriculum_threshold)
            if passed or self.step >= deadline:
                why = (
                    f"{spec.metric} {value:.4f} reached {self.cfg.curriculum_threshold}"
                    if passed
                    else f"{spec.metric} {value:.4f} below {self.cfg.curriculum_threshold} "
                    f"at the stage's last step {deadline}"
                )
                self.stage += 1
                self.regime.set_stage(self.stage)
                self.plateau.update(best=math.inf, bad=0)
                self.log(f"curriculum: {why}; moving to stage {self.stage + 1}: {self.regime.stage_info}")
        elif self.cfg.target is not None and reached(self.cfg.target):
            self.stop_reason = f"target: valid {spec.metric} {value:.4f} reached {self.cfg.target}"
        return metrics

    def stage_deadline(self, stage: int) -> int:
        """The step by which a non-final curriculum stage ends even below the threshold: the
        earlier stages share the first half of the budget, so every model trains on the layout
        it is tested on for at least half of its steps (a stage it cannot pass, such as an xl
        cache too short for 2 segments, would otherwise leave it tested on a layout it never saw)."""
        return self.cfg.steps * (stage + 1) // (2 * (self.regime.num_stages - 1))

    def fit(self) -> dict:
        """Train to ``steps`` (or the target), then evaluate valid and test at the final setting."""
        from tqdm.auto import tqdm

        cfg = self.cfg
        self._t0 = time.perf_counter()
        bar = tqdm(
            total=cfg.steps,
            initial=self.step,
            disable=not self.progress,
            dynamic_ncols=True,
            desc=f"{cfg.experiment}/{cfg.model}",
            leave=False,
        )
        try:
            while self.step < cfg.steps and not self.stop_reason:
                value = self._train_step()
                self.train_loss = value if not _finite(self.train_loss) else 0.9 * self.train_loss + 0.1 * value
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4f}", refresh=False)
                if self.step % cfg.eval_interval == 0 or self.step == cfg.steps:
                    self._evaluate()
                    self._save()
        finally:
            bar.close()
        if not self.stop_reason:
            self.stop_reason = "steps"
        final = self.regime.num_stages - 1
        if self.stage != final:
            self.regime.set_stage(final)
        last = self.history[-1] if self.history and self.stage == final else None
        skip = {"step", "stage", "lr", "train_loss", *self.regime.stage_info}
        valid = {k: v for k, v in last.items() if k not in skip} if last else self.regime.evaluate(self.model, "valid")
        test = self.regime.evaluate(self.model, "test")
        self.elapsed += time.perf_counter() - self._t0
        self._t0 = time.perf_counter()
        return {
            "valid": valid,
            "test": test,
            "stage_reached": self.stage + 1,
            "stages": self.regime.num_stages,
            **self.regime.stage_info,
        }

    def _save(self) -> None:
        now = time.perf_counter()
        self.elapsed += now - self._t0
        self._t0 = now
        self.save_checkpoint()


def read_checkpoint(path: str | Path) -> dict:
    """A checkpoint's contents, read with ``weights_only=True`` (no code in the file can run); a file
    that is damaged, empty or not a checkpoint of this trainer raises a ValueError naming it."""
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols of random bytes
            warnings.simplefilter("ignore")
            ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # bytes that are not a checkpoint fail in many ways
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(
            f"checkpoint {path} is unreadable ({type(e).__name__}): it is damaged, incomplete or "
            "not a checkpoint of rmt_lite. Start the run again with --rerun (rerun=True), which "
            "replaces it"
        ) from None
    if not isinstance(ck, dict) or not {"format", "config", "model"} <= set(ck):
        raise ValueError(
            f"checkpoint {path} is unreadable: it is not a checkpoint of rmt_lite. Start the run again "
            "with --rerun (rerun=True), which replaces it"
        )
    return ck


def same_config(saved: dict, current: dict) -> bool:
    """Whether a saved run config is this one. A field of ``RunConfig`` missing from one side
    counts as its default, and a task parameter missing from one side as None: a field is only
    ever added with a default that reproduces the runs before it (``mem_pos_gap=0``, the SOTU
    ``fold=None``), so those runs still match."""
    return not _diff_keys(saved, current)


_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunConfig) if f.default is not dataclasses.MISSING}


def _diff_keys(a: dict, b: dict) -> list[str]:
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        if k == "task" and isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
            out += [f"task.{t}" for t in sorted(set(a[k]) | set(b[k])) if a[k].get(t) != b[k].get(t)]
        elif a.get(k, _FIELD_DEFAULTS.get(k)) != b.get(k, _FIELD_DEFAULTS.get(k)):
            out.append(k)
    return out


# ------------------------------------------------------------------------------------------------
def _dist_env() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return rank, world, local


def _setup_distributed(device_name: str) -> tuple[int, int, torch.device, bool]:
    """Rank, world size and device; initialises the process group under torchrun (gloo on CPU,
    nccl on CUDA). Returns whether this call created the group (and must destroy it)."""
    import torch.distributed as dist

    rank, world, local = _dist_env()
    if world <= 1:
        return 0, 1, get_device(device_name), False
    device = get_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ValueError(f"device={device_name!r} is not allowed with {world} processes: cpu (gloo) or cuda (nccl)")
    created = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        created = True
    return dist.get_rank(), dist.get_world_size(), device, created


def _check_run_name(name: str) -> None:
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.,=+-]*", name) or name in (".", ".."):
        raise ValueError(f"run_name={name!r} is not allowed: letters, digits and _.,=+- (no path separators)")


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def train_experiment(
    experiment: str,
    model: str = "rmt",
    profile: str = "cpu",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    *,
    out_dir: str | Path | None = None,
    run_name: str | None = None,
    device: str = "auto",
    progress: bool = False,
    rerun: bool = False,
    log: Callable[[str], None] | None = None,
    build_model: Callable[[ModelConfig, RunConfig], nn.Module] | None = None,
    implementation: str = "rmt_lite",
) -> RunRecord:
    """Train (or resume, or load) one run and return its :class:`RunRecord`.

    - the run lives in ``<out_dir>/<experiment>/<run_name>/`` (``out_dir``: ``results/`` of the
      checkout, ``runs/smoke/`` for the smoke profile, which may never write into ``results/``;
      ``run_name``: :func:`default_run_id`);
    - a finished run with the same config is loaded, not retrained (``rerun=True`` retrains);
    - a run with a checkpoint resumes from it (bit-identical to an uninterrupted run on CPU);
    - a folder holding a run with another config is refused (ValueError); so is any bad input,
      before anything is written;
    - under ``torchrun`` every process calls this; rank 0 writes;
    - ``build_model`` replaces MemoryTransformer by another implementation of its segment
      interface (:mod:`rmt_lite.peer`), named by ``implementation`` in the record.
    """
    cfg = resolve(experiment, model, profile, seed, overrides)
    out = Path(out_dir) if out_dir is not None else default_out_dir(profile)
    if profile == "smoke" and _inside(out, _committed_results_dir()):
        raise ValueError(
            f"out_dir={str(out)!r} is not allowed for profile='smoke': smoke runs never write into "
            f"the committed results ({_committed_results_dir()}); use runs/ or a temporary folder"
        )
    rid = run_name if run_name is not None else default_run_id(cfg)
    _check_run_name(rid)
    run_dir = out / experiment / rid
    for folder in (out, out / experiment, run_dir):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"out_dir={str(out)!r} is not allowed: {folder} exists and is not a folder")
    cfg_path, rec_path, ck_path = run_dir / CONFIG, run_dir / RECORD, run_dir / CHECKPOINT
    if cfg_path.exists() and not rerun:
        try:
            saved = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(
                f"{cfg_path} is damaged ({e}); delete {run_dir} to train the run again, or pass --rerun"
            ) from None
        if not isinstance(saved, dict):
            raise ValueError(f"{cfg_path} is damaged (not a configuration); delete {run_dir} or pass --rerun")
        if not same_config(saved, cfg.to_dict()):
            raise ValueError(
                f"out_dir={str(out)!r} is not allowed for this run: {run_dir} holds a run with another "
                f"config (differs in {_diff_keys(saved, cfg.to_dict())}); allowed: a folder without a "
                "run, or one holding this config (use another out_dir or run_name, or rerun=True / "
                "--rerun to replace it)"
            )
    if rec_path.exists() and not rerun:
        record = RunRecord.load(rec_path)
        if not in_summary(out, experiment, rid):  # killed between its record and the summary: repair
            with contextlib.suppress(OSError):  # a folder that may not be written still loads its runs
                write_summary(out, experiment)
        (log or print)(
            f"{experiment}/{rid}: finished run found at {rec_path}; loaded, not retrained (rerun=True / "
            "--rerun retrains)"
        )
        return record

    rank, world, dev, created = _setup_distributed(device)
    held = contextlib.ExitStack()
    try:
        if rank == 0:  # one training process per run folder
            held.enter_context(run_lock(run_dir))
        trainer = Trainer(
            cfg,
            device=dev,
            run_dir=run_dir,
            progress=progress,
            log=log,
            rank=rank,
            world=world,
            build_model=build_model,
        )
        if rerun and rank == 0:
            for p in (rec_path, ck_path):
                p.unlink(missing_ok=True)
        elif ck_path.exists():
            trainer.load_checkpoint(ck_path)
            trainer.log(f"resumed {experiment}/{rid} from step {trainer.step} ({ck_path})")
        if rank == 0:  # what a killed writer left half-written in this folder
            remove_stale_temporaries(run_dir)
        _barrier(world)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        sha = git_sha()  # the code this process loaded, not later edits
        if rank == 0:
            atomic_write_json(cfg_path, cfg.to_dict())
        try:
            metrics = trainer.fit()
        except TrainingDiverged:
            if rank == 0 and not ck_path.exists():  # nothing worth keeping: leave no half-made run
                for p in (cfg_path, run_dir / RUN_OWNER, run_dir / RUN_LOCK):
                    p.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    run_dir.rmdir()
            raise
        trainer.save_checkpoint()
        record = RunRecord(
            run_id=rid,
            experiment=experiment,
            model=model,
            profile=profile,
            seed=seed,
            config=cfg.to_dict(),
            metrics=metrics,
            history=trainer.history,
            steps=trainer.step,
            stop_reason=trainer.stop_reason,
            wall_time_s=round(trainer.elapsed, 2),
            resumed=trainer.resumed,
            num_parameters=trainer.model.num_parameters(),
            git_sha=sha,
            versions=versions(),
            device=_device_name(dev),
            world_size=world,
            started=started,
            implementation=implementation,
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            run_dir=str(run_dir),
        )
        if rank == 0:
            record.save(rec_path)
            write_summary(out, experiment)
            shown = {k: v for k, v in metrics["test"].items() if isinstance(v, float)}
            trainer.log(
                f"{experiment} {model} {profile} s{seed} | done ({trainer.stop_reason}) after {trainer.step} "
                f"steps, {record.wall_time_s:.0f}s | test "
                + " ".join(f"{k} {v:.4f}" for k, v in shown.items())
                + f" | record {rec_path}"
            )
        _barrier(world)
        return record
    finally:
        held.close()
        if created:
            import torch.distributed as dist

            dist.destroy_process_group()


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    import platform

    return f"{dev.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


train = train_experiment


def load_model(run_dir: str | Path, device: str = "cpu") -> tuple[MemoryTransformer, RunConfig]:
    """The trained model of a run folder and its :class:`RunConfig`: from its checkpoint, or else
    from the half-precision weights shipped with the committed results (:func:`ship_weights`),
    both read with ``weights_only=True``; the model is float32 either way."""
    run_dir = Path(run_dir)
    path = run_dir / CHECKPOINT
    if not path.exists():
        path = run_dir / WEIGHTS
        if not path.exists():
            raise ValueError(f"run_dir={str(run_dir)!r} is not allowed: it holds neither {CHECKPOINT} nor {WEIGHTS}")
    ck = read_checkpoint(path)
    cfg = RunConfig.from_dict(json.loads(ck["config"]))
    model = MemoryTransformer(ModelConfig.from_dict(json.loads(ck["model_config"])))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["model"].items()})
    return model.to(get_device(device)).eval(), cfg


def ship_weights(run_dir: str | Path) -> Path:
    """Write ``weights.pt`` beside a finished run's checkpoint: its model in half precision (about a
    quarter of the checkpoint, no optimiser state), small enough to commit, so that an analysis of
    the run works on a fresh clone (:func:`load_model` falls back to it)."""
    run_dir = Path(run_dir)
    if not (run_dir / RECORD).exists() or not (run_dir / CHECKPOINT).exists():
        raise ValueError(f"run_dir={str(run_dir)!r} is not allowed: a finished run with its {RECORD} and {CHECKPOINT}")
    ck = read_checkpoint(run_dir / CHECKPOINT)
    half = {k: v.half() if v.is_floating_point() else v for k, v in ck["model"].items()}
    path = run_dir / WEIGHTS
    atomic_torch_save(
        path, {"format": ck["format"], "config": ck["config"], "model_config": ck["model_config"], "model": half}
    )
    return path
