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

import dataclasses
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .config import ModelConfig
from .evaluate import autocast
from .model import MemoryTransformer
from .records import CHECKPOINT, atomic_torch_save
from .regimes import REGIMES
from .run_config import RunConfig

CHECKPOINT_FORMAT = 1


class TrainingDiverged(FloatingPointError):
    """The loss or the gradient became NaN or infinite; the last good checkpoint is kept."""


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
        # build_model: another implementation with MemoryTransformer's segment interface (rmt_lite.tools.peer)
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
                f"{config_diff(saved, self.cfg.to_dict())}); allowed: the same config"
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
        spec = self.cfg.spec
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
            if passed or (self.step >= deadline and not self.cfg.curriculum_waits):
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
        cache too short for 2 segments, would otherwise leave it tested on a layout it never saw).
        With ``curriculum_waits`` a stage has no deadline: it lasts until it passes."""
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
            "not a checkpoint of rmt_lite"
        ) from None
    if not isinstance(ck, dict) or not {"format", "config", "model"} <= set(ck):
        raise ValueError(
            f"checkpoint {path} is unreadable: it is not a checkpoint of rmt_lite (a model saved with "
            "rmt_lite.save_model is read from its folder by rmt_lite.load_model)"
        )
    return ck


def same_config(saved: dict, current: dict) -> bool:
    """Whether a saved run config is this one. A field of ``RunConfig`` missing from one side
    counts as its default, and a task parameter missing from one side as None: a field is only
    ever added with a default that reproduces the runs before it (``mem_pos_gap=0``, the SOTU
    ``fold=None``), so those runs still match."""
    return not config_diff(saved, current)


_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunConfig) if f.default is not dataclasses.MISSING}


def config_diff(a: dict, b: dict) -> list[str]:
    """The keys in which two saved run configs differ (``task.<key>`` for a task parameter), each
    missing field counting as its default (see :func:`same_config`)."""
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        if k == "task" and isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
            out += [f"task.{t}" for t in sorted(set(a[k]) | set(b[k])) if a[k].get(t) != b[k].get(t)]
        elif a.get(k, _FIELD_DEFAULTS.get(k)) != b.get(k, _FIELD_DEFAULTS.get(k)):
            out.append(k)
    return out
