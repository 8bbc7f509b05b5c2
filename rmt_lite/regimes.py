"""The three data regimes of the trainer: each builds its data, yields the loss of one optimiser step
and evaluates a split (per-sample tasks, streams of text, documents to classify)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import REGISTRY
from .curriculum import make_task, stages
from .evaluate import classify_logits, collate_documents, evaluate_classification, evaluate_stream, evaluate_task
from .model import SegmentState
from .run_config import RunConfig
from .runner import replay_memory, run_segments


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
        self.max_segments = cfg.max_segments if REGISTRY[cfg.model].memory else 1
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
