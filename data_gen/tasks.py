"""The algorithmic tasks of the RMT paper (Bulatov et al. 2022, section 4.1 and appendix): copy, reverse,
associative retrieval and quadratic equations (the last in :mod:`data_gen.quadratic`), in the
reference formats and token ids.

Every task builds one *full sequence* per sample, of length ``S + 1``; the model sees
``tokens = full[:-1]`` and is trained to predict ``targets = full[1:]`` (``targets[:, i]`` is the token
after ``tokens[:, i]``), scored where ``loss_mask`` is True. Token 0 is padding, token 1 starts the target.

=========  ==========================================  ==========  ================  ======
task       full sequence (length S + 1)                input S     scored positions  vocab
=========  ==========================================  ==========  ================  ======
copy       ``x ‖ 1 ‖ x ‖ x``                           3L          last 2L           V + 2
reverse    ``x ‖ 1 ‖ reversed(x)``                     2L          last L            V + 2
retrieval  ``k1 v1 … kK vK q 10 v(q)``                 2K + 2      last 1            37
quadratic  ``1 ‖ six chunks of 30 characters``         180         last 150          24
=========  ==========================================  ==========  ================  ======

``x`` holds L symbols drawn uniformly from ``{2, …, V+1}`` (V = ``num_symbols``; the paper: L = 24,
V = 10, vocabulary 12). Retrieval keys are K distinct tokens of ``{11, …, 36}``, values K distinct
tokens of ``{0, …, 9}``, 10 is '?'. **Retrieval values 0..9 reuse the ids of pad (0) and start (1)**:
that is the reference format (its model never pads a retrieval sample), so never treat token 0 as
padding in a retrieval batch; use ``loss_mask``.

Determinism and held-out samples. Nothing here touches global random state: ``batch`` draws from
the ``torch.Generator`` it is given, and ``fixed_set(split, n)`` from a generator seeded by a hash of
the task's parameters and the split name (so the same task always has the same test set, whatever
the session did before, and ``fixed_set(s, n)`` is a prefix of ``fixed_set(s, m)`` for ``n < m``).
Where the sample space is small enough for collisions (fewer than ``HOLDOUT_SPACE_LIMIT`` distinct
samples: retrieval, quadratic equations, short copy/reverse), every sample is assigned to one of
``NUM_BUCKETS`` buckets by a fixed hash of its content; bucket 0 holds test samples, bucket 1
validation samples, and the training stream rejects both. So training never sees a validation or
test sample, and the two fixed sets are disjoint. Where the space is larger (copy/reverse at the
paper's sizes: 10^24 samples) the sets come from separate seeds and a collision is so unlikely
(expected count ``n_train * n_test / space``, about 1e-13 for 10^7 training samples) that no filter
is applied.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
import torch

__all__ = [
    "TaskBatch",
    "Task",
    "CopyTask",
    "ReverseTask",
    "RetrievalTask",
    "make_task",
    "TASKS",
    "answer_correct",
    "PAD",
    "START",
    "NUM_BUCKETS",
    "HOLDOUT_SPACE_LIMIT",
]

PAD = 0
START = 1
NUM_BUCKETS = 64  # bucket 0 = test, 1 = valid, 2..63 = train (only where held out)
SPLIT_BUCKET = {"test": 0, "valid": 1}
HOLDOUT_SPACE_LIMIT = 10**18
_BLOCK = 1024  # fixed sets are drawn in blocks of this many candidates
_MAX_BLOCKS = 4096  # give up (ValueError) after this many blocks without filling a set
_MAX_STALE = 16  # ... or after this many blocks in a row that add no new held-out sample


@dataclass(frozen=True)
class TaskBatch:
    """One batch of samples. All tensors are ``[B, S]``; see the module docstring for the layout."""

    tokens: torch.Tensor  # [B, S] long, model input
    targets: torch.Tensor  # [B, S] long, targets[:, i] is the token after tokens[:, i]
    loss_mask: torch.Tensor  # [B, S] bool, True at scored positions

    def __post_init__(self):
        if self.tokens.shape != self.targets.shape or self.tokens.shape != self.loss_mask.shape:
            raise ValueError(
                f"TaskBatch: tokens {tuple(self.tokens.shape)}, targets {tuple(self.targets.shape)} and "
                f"loss_mask {tuple(self.loss_mask.shape)} must have the same shape [B, S]"
            )

    def to(self, device) -> TaskBatch:
        return TaskBatch(self.tokens.to(device), self.targets.to(device), self.loss_mask.to(device))

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def __getitem__(self, index) -> TaskBatch:
        """Rows of the batch: ``batch[i:j]`` (a slice or an index tensor; an int keeps the batch dim)."""
        if isinstance(index, int):
            index = slice(index, index + 1) if index != -1 else slice(-1, None)
        return TaskBatch(self.tokens[index], self.targets[index], self.loss_mask[index])


def _as_list(tokens) -> list[int]:
    if isinstance(tokens, torch.Tensor):
        if tokens.dim() != 1:
            raise ValueError(f"decode: expected one sequence (1-D tokens), got shape {tuple(tokens.shape)}")
        return [int(t) for t in tokens.tolist()]
    if isinstance(tokens, np.ndarray):
        if tokens.ndim != 1:
            raise ValueError(f"decode: expected one sequence (1-D tokens), got shape {tokens.shape}")
        return [int(t) for t in tokens.tolist()]
    return [int(t) for t in tokens]


def _check_int(task: str, name: str, value, low: int, high: int | None = None) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < low
        or (high is not None and value > high)
    ):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(f"{task}: {name}={value!r} is not allowed; {name} must be {allowed}")


def _stable_seed(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), 0x9E3779B97F4A7C15


def _mix64(h: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrap-around arithmetic is intended)."""
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


def _buckets(params: torch.Tensor) -> torch.Tensor:
    """Bucket in [0, NUM_BUCKETS) of each row of ``params`` [n, P]: a fixed 64-bit hash of the row
    (fixed forever: changing it changes every validation and test set)."""
    x = params.to(torch.int64).contiguous().numpy().view(np.uint64)
    h = np.full(x.shape[0], np.uint64(20220706), dtype=np.uint64)
    for j in range(x.shape[1]):
        h = _mix64(h ^ (x[:, j] + np.uint64((_GOLDEN * (j + 1)) % 2**64)))
    return torch.from_numpy((h % np.uint64(NUM_BUCKETS)).astype(np.int64))


class Task:
    """Common interface of the algorithmic tasks (see the module docstring).

    Subclasses define ``_sample_params(n, generator) -> LongTensor[n, P]`` (one row of integers that
    identifies a sample, injectively), ``_render(params) -> LongTensor[n, S + 1]`` (the full sequence)
    and ``space_size`` (the exact number of distinct samples).
    """

    name: ClassVar[str]
    vocab_size: int
    seq_len: int
    answer_len: int
    num_symbols: int

    # -- subclass hooks ---------------------------------------------------------------------------
    def _sample_params(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def _render(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def space_size(self) -> int:
        raise NotImplementedError

    # -- shared machinery -------------------------------------------------------------------------
    @property
    def holdout(self) -> bool:
        """True when validation/test samples are kept out of training by hash buckets."""
        return self.space_size < HOLDOUT_SPACE_LIMIT

    def loss_mask_row(self) -> torch.Tensor:
        """[S] bool: the scored positions (the last ``answer_len``)."""
        mask = torch.zeros(self.seq_len, dtype=torch.bool)
        mask[self.seq_len - self.answer_len :] = True
        return mask

    def _make_batch(self, params: torch.Tensor) -> TaskBatch:
        full = self._render(params)
        assert full.shape == (params.shape[0], self.seq_len + 1), full.shape
        mask = self.loss_mask_row().expand(params.shape[0], -1).clone()
        return TaskBatch(full[:, :-1].contiguous(), full[:, 1:].contiguous(), mask)

    def batch(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        """A training batch drawn from ``generator`` (never a validation/test sample where held out)."""
        _check_int(self.name, "batch_size", batch_size, 1)
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"{self.name}: generator must be a torch.Generator, got {type(generator).__name__}")
        if not self.holdout:
            return self._make_batch(self._sample_params(batch_size, generator))
        kept: list[torch.Tensor] = []
        have = 0
        for _ in range(_MAX_BLOCKS):
            p = self._sample_params(max(batch_size - have, 1), generator)
            p = p[_buckets(p) >= len(SPLIT_BUCKET)]
            kept.append(p)
            have += p.shape[0]
            if have >= batch_size:
                return self._make_batch(torch.cat(kept)[:batch_size])
        raise ValueError(
            f"{self.name}: could not draw training samples outside the held-out buckets; "
            f"the sample space ({self.space_size} samples) is too small"
        )

    def split_seed(self, split: str) -> int:
        return _stable_seed(f"{self!r}|{split}")

    def fixed_set(self, split: str, size: int) -> TaskBatch:
        """The first ``size`` samples of the fixed ``split`` ("valid" or "test") of this task.

        Deterministic and independent of global random state; ``fixed_set(s, n)`` is a prefix of
        ``fixed_set(s, m)`` for ``n <= m``. Where held out, samples are distinct within a set, and the
        two splits are disjoint and never drawn by ``batch``.
        """
        if split not in SPLIT_BUCKET:
            raise ValueError(
                f"{self.name}: split={split!r} is not allowed; split must be one of {sorted(SPLIT_BUCKET)}"
            )
        _check_int(self.name, "size", size, 1)
        g = torch.Generator().manual_seed(self.split_seed(split))
        kept: list[torch.Tensor] = []
        have = stale = 0
        seen: set[bytes] = set()
        for _ in range(_MAX_BLOCKS):
            if stale >= _MAX_STALE:
                break
            p = self._sample_params(_BLOCK, g)
            if self.holdout:
                p = p[_buckets(p) == SPLIT_BUCKET[split]]
                rows = []
                for i, row in enumerate(p.numpy()):
                    key = row.tobytes()
                    if key not in seen:
                        seen.add(key)
                        rows.append(i)
                p = p[rows]
                stale = stale + 1 if not rows else 0
            kept.append(p)
            have += p.shape[0]
            if have >= size:
                return self._make_batch(torch.cat(kept)[:size])
        raise ValueError(
            f"{self.name}: fixed_set({split!r}, size={size}) cannot be filled: only {have} distinct "
            f"held-out samples were found (sample space {self.space_size}); "
            f"ask for fewer samples or enlarge the task"
        )

    def answer_correct(self, pred_tokens: torch.Tensor, batch: TaskBatch) -> torch.Tensor:
        """[B] bool: every scored position of the sample predicted right (whole-answer exact match).

        ``pred_tokens`` [B, S] are predictions aligned with ``batch.targets`` (e.g. greedy argmax).
        """
        _check_pred(pred_tokens, batch)
        ok = (pred_tokens.to(batch.targets.device) == batch.targets) | ~batch.loss_mask
        return ok.all(dim=1)

    def decode(self, tokens) -> str:
        raise NotImplementedError

    def _check_params(self) -> None:
        if self.space_size < NUM_BUCKETS * 16:
            raise ValueError(
                f"{self.name}: {self!r} has only {self.space_size} distinct samples; "
                f"at least {NUM_BUCKETS * 16} are needed to hold out validation and test sets"
            )


def _check_pred(pred_tokens: torch.Tensor, batch: TaskBatch) -> None:
    if not isinstance(pred_tokens, torch.Tensor) or pred_tokens.shape != batch.targets.shape:
        shape = tuple(pred_tokens.shape) if isinstance(pred_tokens, torch.Tensor) else type(pred_tokens).__name__
        raise ValueError(
            f"answer_correct: pred_tokens must be a tensor shaped like batch.targets "
            f"{tuple(batch.targets.shape)}, got {shape}"
        )


def answer_correct(pred_tokens: torch.Tensor, batch: TaskBatch, task: Task | None = None) -> torch.Tensor:
    """[B] bool, whole answer right: ``task.answer_correct`` (quadratic: the final chunk exactly right)
    or, without a task, every scored position right."""
    if task is not None:
        return task.answer_correct(pred_tokens, batch)
    _check_pred(pred_tokens, batch)
    return ((pred_tokens.to(batch.targets.device) == batch.targets) | ~batch.loss_mask).all(dim=1)


# ------------------------------------------------------------------------------------------------
# copy and reverse
# ------------------------------------------------------------------------------------------------


def _symbol_char(t: int, num_symbols: int) -> str:
    if t == PAD:
        return "_"
    if t == START:
        return ">"
    if 2 <= t < 2 + num_symbols and num_symbols <= 26:
        return chr(ord("a") + t - 2)
    return f"[{t}]"


@dataclass(frozen=True)
class _SymbolTask(Task):
    length: int = 24
    num_symbols: int = 10

    def __post_init__(self):
        _check_int(self.name, "length", self.length, 1)
        _check_int(self.name, "num_symbols", self.num_symbols, 2)
        self._check_params()

    @property
    def vocab_size(self) -> int:
        return self.num_symbols + 2

    @property
    def space_size(self) -> int:
        return self.num_symbols**self.length

    def _sample_params(self, n, generator):
        return torch.randint(2, 2 + self.num_symbols, (n, self.length), generator=generator)

    def decode(self, tokens) -> str:
        """Symbols 2.. as letters a.. (numbers ``[t]`` above 26 symbols), start '>', pad '_'."""
        return "".join(_symbol_char(t, self.num_symbols) for t in _as_list(tokens))


@dataclass(frozen=True)
class CopyTask(_SymbolTask):
    """Copy (paper section 4.1): read x, then write it twice. Full sequence ``x ‖ 1 ‖ x ‖ x``."""

    name: ClassVar[str] = "copy"

    @property
    def seq_len(self) -> int:
        return 3 * self.length

    @property
    def answer_len(self) -> int:
        return 2 * self.length

    def _render(self, params):
        start = torch.full((params.shape[0], 1), START, dtype=torch.long)
        return torch.cat([params, start, params, params], dim=1)


@dataclass(frozen=True)
class ReverseTask(_SymbolTask):
    """Reverse (paper section 4.1): read x, then write it backwards. Full sequence ``x ‖ 1 ‖ reversed(x)``."""

    name: ClassVar[str] = "reverse"

    @property
    def seq_len(self) -> int:
        return 2 * self.length

    @property
    def answer_len(self) -> int:
        return self.length

    def _render(self, params):
        start = torch.full((params.shape[0], 1), START, dtype=torch.long)
        return torch.cat([params, start, params.flip(1)], dim=1)


# ------------------------------------------------------------------------------------------------
# associative retrieval
# ------------------------------------------------------------------------------------------------

RETRIEVAL_KEYS = range(11, 37)  # 26 keys, shown as letters a..z
RETRIEVAL_VALUES = range(0, 10)  # 10 values, shown as digits 0..9 (ids overlap pad and start!)
QUERY = 10  # '?'


@dataclass(frozen=True)
class RetrievalTask(Task):
    """Associative retrieval (paper section 4.1): ``k1 v1 … kK vK q ? v(q)``; scored: the one answer."""

    name: ClassVar[str] = "retrieval"
    num_pairs: int = 4

    def __post_init__(self):
        _check_int(self.name, "num_pairs", self.num_pairs, 1, len(RETRIEVAL_VALUES))
        self._check_params()

    vocab_size: ClassVar[int] = 37
    num_symbols: ClassVar[int] = len(RETRIEVAL_VALUES)
    answer_len: ClassVar[int] = 1

    @property
    def seq_len(self) -> int:
        return 2 * self.num_pairs + 2

    @property
    def space_size(self) -> int:
        k = self.num_pairs
        return math.perm(len(RETRIEVAL_KEYS), k) * math.perm(len(RETRIEVAL_VALUES), k) * k

    def _sample_params(self, n, generator):
        k = self.num_pairs
        keys = torch.rand(n, len(RETRIEVAL_KEYS), generator=generator).argsort(dim=1)[:, :k] + RETRIEVAL_KEYS.start
        values = torch.rand(n, len(RETRIEVAL_VALUES), generator=generator).argsort(dim=1)[:, :k]
        query = torch.randint(0, k, (n, 1), generator=generator)
        return torch.cat([keys, values, query], dim=1)

    def _render(self, params):
        k = self.num_pairs
        keys, values, q = params[:, :k], params[:, k : 2 * k], params[:, 2 * k :]
        pairs = torch.stack([keys, values], dim=2).reshape(params.shape[0], 2 * k)
        qmark = torch.full_like(q, QUERY)
        return torch.cat([pairs, keys.gather(1, q), qmark, values.gather(1, q)], dim=1)

    def decode(self, tokens) -> str:
        """Keys 11..36 as letters a..z, values 0..9 as digits, 10 as '?'."""
        out = []
        for t in _as_list(tokens):
            if t in RETRIEVAL_VALUES:
                out.append(str(t))
            elif t == QUERY:
                out.append("?")
            elif t in RETRIEVAL_KEYS:
                out.append(chr(ord("a") + t - RETRIEVAL_KEYS.start))
            else:
                out.append(f"[{t}]")
        return "".join(out)


# ------------------------------------------------------------------------------------------------
# registry
# ------------------------------------------------------------------------------------------------

# the quadratic equations and the needle live in modules of their own; data_gen's __init__ adds them
TASKS: dict[str, type[Task]] = {t.name: t for t in (CopyTask, ReverseTask, RetrievalTask)}


def make_task(name: str, **params) -> Task:
    """Build a task by name: "copy", "reverse" (``length``, ``num_symbols``), "retrieval"
    (``num_pairs``), "quadratic" (``root_range``, ``k_max``, ``no_root_fraction``, ``chunk_len``)."""
    if name not in TASKS:
        raise ValueError(f"make_task: unknown task name {name!r}; allowed: {sorted(TASKS)}")
    cls = TASKS[name]
    allowed = [f.name for f in fields(cls)]
    for key in params:
        if key not in allowed:
            raise ValueError(f"make_task({name!r}): unknown parameter {key!r}; allowed: {allowed}")
    return cls(**params)
