"""Data of your own for the trainer: token sequences as tensors, or a function that draws them.

The trainer reads an algorithmic task through three things: its vocabulary size and sample length,
``batch(batch_size, generator)`` for training, and ``fixed_set(split, size)`` for validation and
test. The book's tasks (``data_gen``) have them; :class:`TaskData` gives them to tensors you made
yourself, so that an :class:`~rmt_lite.Experiment` with ``data=TaskData(...)`` trains with
everything the book's runs have: the curriculum over the number of segments, the schedule, early
stopping at a target, evaluation, checkpoints that resume bit-identically and a record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from data_gen.tasks import TaskBatch

#: One batch of samples: ``tokens``, ``targets`` (the token after each position) and ``loss_mask``
#: (True where scored), each ``[B, S]``; ``batch[i:j]`` slices rows.
Batch = TaskBatch

Samples = Batch | tuple


def as_batch(name: str, samples: Samples) -> Batch:
    """``samples`` as a :data:`Batch`: a Batch, or a tuple ``(tokens, targets, loss_mask)`` of
    ``[B, S]`` tensors (integer tokens and targets, a boolean mask)."""
    if isinstance(samples, TaskBatch):
        return samples
    if not isinstance(samples, tuple) or len(samples) != 3 or not all(isinstance(t, torch.Tensor) for t in samples):
        raise ValueError(
            f"{name}={type(samples).__name__} is not allowed: a Batch, or a tuple (tokens, targets, loss_mask) of "
            "[B, S] tensors"
        )
    tokens, targets, mask = samples
    if tokens.dim() != 2 or tokens.is_floating_point() or targets.is_floating_point():
        raise ValueError(
            f"{name}: tokens {tuple(tokens.shape)} {tokens.dtype} is not allowed: "
            "integer tokens and targets of shape [B, S]"
        )
    return TaskBatch(tokens.long(), targets.long(), mask.bool())


@dataclass
class TaskData:
    """Samples of a task of your own.

    Attributes:
        train: the training samples (a :data:`Batch` or a tuple ``(tokens, targets, loss_mask)``;
            every step draws ``batch_size`` rows of it) or a function ``(batch_size, generator) ->
            Batch`` that makes them (draw only from ``generator``: then a resumed run sees the same
            batches).
        valid: the validation samples: the curriculum and early stopping read their accuracy.
        test: the test samples of the record (default: ``valid``).
        vocab_size: the model's vocabulary (default: the largest token or target given, plus one).
    """

    train: Samples | Callable[[int, torch.Generator], Batch]
    valid: Samples
    test: Samples | None = None
    vocab_size: int | None = None

    def __post_init__(self):
        self.valid = as_batch("valid", self.valid)
        self.test = self.valid if self.test is None else as_batch("test", self.test)
        if not callable(self.train):
            self.train = as_batch("train", self.train)
        fixed = [("valid", self.valid), ("test", self.test)] + ([] if callable(self.train) else [("train", self.train)])
        lengths = {name: b.tokens.shape[1] for name, b in fixed}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"sample lengths {lengths} are not allowed: every split of one task has one length S")
        highest = max(int(max(b.tokens.max(), b.targets.max())) for _, b in fixed)
        if self.vocab_size is None:
            self.vocab_size = highest + 1
        elif not isinstance(self.vocab_size, int) or self.vocab_size <= highest:
            raise ValueError(
                f"vocab_size={self.vocab_size!r} is not allowed: an integer above the largest token {highest}"
            )
        self.seq_len = lengths["valid"]

    def batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        """``batch_size`` training samples, drawn with ``generator``."""
        if callable(self.train):
            return as_batch("train(batch_size, generator)", self.train(batch_size, generator))
        rows = torch.randint(len(self.train), (batch_size,), generator=generator)
        return self.train[rows]

    def fixed_set(self, split: str, size: int) -> Batch:
        """The first ``size`` samples (all of them for ``size`` 0) of ``split``, "valid" or "test"."""
        if split not in ("valid", "test"):
            raise ValueError(f"split={split!r} is not allowed: valid or test")
        data = self.valid if split == "valid" else self.test
        return data if not size else data[:size]
