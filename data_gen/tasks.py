"""The algorithmic tasks of the RMT paper (Bulatov et al. 2022, section 4.1 and appendix): copy, reverse,
associative retrieval and quadratic equations, in the reference formats and token ids.

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
import re
import zlib
from dataclasses import dataclass, fields
from functools import cache
from typing import ClassVar

import numpy as np
import torch

__all__ = [
    "TaskBatch",
    "Task",
    "CopyTask",
    "ReverseTask",
    "RetrievalTask",
    "QuadraticTask",
    "make_task",
    "TASKS",
    "answer_correct",
    "check_quadratic_sample",
    "check_quadratic_batch",
    "render_quadratic",
    "QuadraticCheckError",
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
# quadratic equations
# ------------------------------------------------------------------------------------------------

QUADRATIC_CHARS = "0123456789+-*/^=()xD;,"
CHAR_TO_ID = {c: i + 2 for i, c in enumerate(QUADRATIC_CHARS)}  # '0'..'9' -> 2..11, '+' -> 12 ... ',' -> 23
ID_TO_CHAR = {i: c for c, i in CHAR_TO_ID.items()}
_CHAR_LUT = np.zeros(256, dtype=np.int64)
for _c, _i in CHAR_TO_ID.items():
    _CHAR_LUT[ord(_c)] = _i
NUM_CHUNKS = 6


class QuadraticCheckError(ValueError):
    """A quadratic-equation sample that is not a correct, canonically formatted solution."""


def _term(coef: int, var: str, leading: bool) -> str:
    """``coef*var`` in the canonical text: coefficient 1 omitted, 0 dropped, sign always written
    except for a positive leading term."""
    if coef == 0:
        return ""
    sign = "-" if coef < 0 else ("" if leading else "+")
    mag = abs(coef)
    if var:
        return f"{sign}{'' if mag == 1 else f'{mag}*'}{var}"
    return f"{sign}{mag}"


def _poly(a: int, b: int, c: int) -> str:
    """``a*x^2+b*x+c=0``, e.g. ``-5*x^2+990*x-49005=0``, ``x^2-9801=0``."""
    return _term(a, "x^2", True) + _term(b, "x", False) + _term(c, "", False) + "=0"


def render_quadratic(k: int, b: int, c: int) -> list[str]:
    """The six text chunks of the equation ``k*(x^2 + b*x + c) = 0``:

    problem | canonical | ``D=|b|^2-4*1*c=D=s^2`` (c with its sign: ``4*1*-99``) | ``x=(-b-s)/2=r1``
    | ``x=(-b+s)/2=r2`` | ``r1,r2``.
    With D < 0 the discriminant chunk ends at ``=D`` and the last three chunks are empty; with D = 0
    both root chunks are written and the answer holds the one root.
    """
    d = b * b - 4 * c
    chunks = [_poly(k, k * b, k * c), _poly(1, b, c), f"D={abs(b)}^2-4*1*{c}={d}"]
    if d < 0:
        return chunks + ["", "", ""]
    s = math.isqrt(d)
    if s * s != d or (b + s) % 2:
        raise ValueError(f"render_quadratic: x^2{b:+d}*x{c:+d} has no integer roots")
    r1, r2 = (-b - s) // 2, (-b + s) // 2
    chunks[2] += f"={s}^2"
    answer = f"{r1}" if r1 == r2 else f"{r1},{r2}"
    return chunks + [f"x=({-b}-{s})/2={r1}", f"x=({-b}+{s})/2={r2}", answer]


def _slen(x: np.ndarray) -> np.ndarray:
    """len(str(v)) for each integer v (sign included)."""
    return np.char.str_len(np.char.mod("%d", x))


def _term_len(coef: np.ndarray, var_len: int, leading: bool) -> np.ndarray:
    mag = np.abs(coef)
    sign = (coef < 0).astype(np.int64) if leading else np.ones_like(coef)
    digits = np.where((mag == 1) & (var_len > 0), 0, _slen(mag) + (1 if var_len else 0))
    return np.where(coef == 0, 0, sign + digits + var_len)


def _poly_len(a, b, c) -> np.ndarray:
    return _term_len(a, 3, True) + _term_len(b, 1, False) + _term_len(c, 0, False) + 2


@cache
def _max_chunk_len(root_range: int, k_max: int) -> int:
    """The longest chunk any sample with these parameters can have (exact, vectorised).

    Real roots: every pair ``lo <= hi``; each length grows with ``|k|`` and a negative k adds a sign,
    so ``k = -k_max`` is the longest. No real root: for each b every length is largest at ``c = R^2``.
    """
    r = root_range
    lo, hi = np.triu_indices(2 * r + 1)
    lo, hi = lo.astype(np.int64) - r, hi.astype(np.int64) - r
    b, c, s = -(lo + hi), lo * hi, hi - lo
    k = np.full_like(b, -k_max)
    lengths = [
        _poly_len(k, k * b, k * c),
        _poly_len(np.ones_like(b), b, c),
        2 + _slen(np.abs(b)) + 7 + _slen(c) + 1 + _slen(s * s) + 1 + _slen(s) + 2,
        3 + _slen(-b) + 1 + _slen(s) + 4 + np.maximum(_slen(lo), _slen(hi)),
        _slen(lo) + np.where(lo == hi, 0, 1 + _slen(hi)),
    ]
    b = np.arange(-2 * r + 1, 2 * r, dtype=np.int64)
    c = np.full_like(b, r * r)
    k = np.full_like(b, -k_max)
    lengths += [
        _poly_len(k, k * b, k * c),
        _poly_len(np.ones_like(b), b, c),
        2 + _slen(np.abs(b)) + 7 + _slen(c) + 1 + _slen(b * b - 4 * c),
    ]
    return int(max(x.max() for x in lengths))


@dataclass(frozen=True)
class QuadraticTask(Task):
    """Quadratic equations solved step by step (paper section 4.3).

    Each sample is six chunks of ``chunk_len`` (30) characters, left-aligned and zero-padded:
    ``problem | canonical | discriminant | root 1 | root 2 | answer``. The roots are two integers in
    ``[-root_range, root_range]`` (drawn independently, so a double root is possible); the problem is
    the canonical monic equation times k, k uniform in ``±{1..k_max}``; a fraction ``no_root_fraction``
    of equations (drawn per sample) have no real roots: ``b`` uniform in ``[-2R, 2R]`` and ``c`` uniform
    in ``[1, R^2]`` conditioned on ``b^2 < 4c``.

    The shift by one: the full sequence is ``[1] ‖ chunks`` (181 tokens), so the model input is the
    start token followed by the first 179 characters (the last character of the answer chunk, always
    padding, is never input) and ``targets`` are exactly the six chunks. Input segments of 30 tokens
    then predict exactly one chunk each, and the final chunk is ``targets[:, -30:]``. Scored: the last
    150 positions (chunks 2-6, padding included, as the reference's loss). Token ids: pad 0, start 1,
    '0'-'9' -> 2-11, ``+ - * / ^ = ( ) x D ; ,`` -> 12-23, the reference's vocabulary (';' is in it but
    never produced here). ``num_symbols`` = 23: a scored position holds one of 22 characters or pad.
    """

    name: ClassVar[str] = "quadratic"
    root_range: int = 99
    k_max: int = 10
    no_root_fraction: float = 0.2
    chunk_len: int = 30

    vocab_size: ClassVar[int] = 24
    num_symbols: ClassVar[int] = 23  # what a scored position can hold: 22 characters and pad

    def __post_init__(self):
        _check_int(self.name, "root_range", self.root_range, 1, 999)
        _check_int(self.name, "k_max", self.k_max, 1, 99)
        if (
            isinstance(self.no_root_fraction, bool)
            or not isinstance(self.no_root_fraction, (int, float))
            or not 0.0 <= self.no_root_fraction <= 1.0
        ):
            raise ValueError(
                f"{self.name}: no_root_fraction={self.no_root_fraction!r} is not allowed; it must be a number in [0, 1]"
            )
        _check_int(self.name, "chunk_len", self.chunk_len, 1)
        need = _max_chunk_len(self.root_range, self.k_max) + 1  # +1: the input drops the last character
        if self.chunk_len < need:
            raise ValueError(
                f"{self.name}: chunk_len={self.chunk_len} is too short for root_range="
                f"{self.root_range}, k_max={self.k_max}; chunk_len must be >= {need}"
            )
        self._check_params()

    @property
    def seq_len(self) -> int:
        return NUM_CHUNKS * self.chunk_len

    @property
    def answer_len(self) -> int:
        return (NUM_CHUNKS - 1) * self.chunk_len

    @property
    def space_size(self) -> int:
        r, ks = self.root_range, 2 * self.k_max
        n_real = (2 * r + 1) * (2 * r + 2) // 2
        n_complex = sum(max(0, r * r - (b * b) // 4) for b in range(-2 * r, 2 * r + 1))
        return ks * ((n_real if self.no_root_fraction < 1 else 0) + (n_complex if self.no_root_fraction > 0 else 0))

    def _sample_params(self, n, generator):
        """Rows ``[kind, p1, p2, k]``: kind 0 = real roots ``p1 <= p2``; kind 1 = no real root, ``b=p1, c=p2``."""
        r = self.root_range
        kind = (torch.rand(n, generator=generator) < self.no_root_fraction).long()
        roots = torch.randint(-r, r + 1, (n, 2), generator=generator).sort(dim=1).values
        k = torch.randint(1, self.k_max + 1, (n,), generator=generator)
        k = torch.where(torch.rand(n, generator=generator) < 0.5, -k, k)
        p = torch.stack([kind, roots[:, 0], roots[:, 1], k], dim=1)
        todo = kind.nonzero().flatten()
        while todo.numel():  # rejection sampling of (b, c) with b^2 < 4c
            b = torch.randint(-2 * r, 2 * r + 1, (todo.numel(),), generator=generator)
            c = torch.randint(1, r * r + 1, (todo.numel(),), generator=generator)
            ok = b * b < 4 * c
            p[todo[ok], 1], p[todo[ok], 2] = b[ok], c[ok]
            todo = todo[~ok]
        return p

    def held_out_real_roots(self, split: str = "test") -> int:
        """How many distinct equations with real roots the hash holds out for ``split``: what
        bounds a fixed set's real-root equations (every pair of roots times every k, counted exactly)."""
        if split not in SPLIT_BUCKET:
            raise ValueError(
                f"{self.name}: split={split!r} is not allowed; split must be one of {sorted(SPLIT_BUCKET)}"
            )
        r = self.root_range
        lo, hi = torch.triu_indices(2 * r + 1, 2 * r + 1) - r  # every pair of roots lo <= hi
        ks = torch.tensor([k for k in range(-self.k_max, self.k_max + 1) if k])
        n = len(lo) * len(ks)
        params = torch.stack(  # rows as _sample_params draws them: [kind 0, lo, hi, k]
            [torch.zeros(n, dtype=torch.long), lo.repeat(len(ks)), hi.repeat(len(ks)), ks.repeat_interleave(len(lo))],
            dim=1,
        )
        return int((_buckets(params) == SPLIT_BUCKET[split]).sum())

    @staticmethod
    def coefficients(row) -> tuple[int, int, int]:
        """``(k, b, c)`` of one parameter row."""
        kind, p1, p2, k = (int(v) for v in row)
        return (k, -(p1 + p2), p1 * p2) if kind == 0 else (k, p1, p2)

    def _render(self, params):
        n, cl = params.shape[0], self.chunk_len
        text = np.zeros((n, NUM_CHUNKS * cl), dtype=np.uint8)
        for i, row in enumerate(params.tolist()):
            for j, chunk in enumerate(render_quadratic(*self.coefficients(row))):
                if len(chunk) >= cl:
                    raise RuntimeError(f"quadratic: chunk {chunk!r} does not fit chunk_len={cl}")
                text[i, j * cl : j * cl + len(chunk)] = np.frombuffer(chunk.encode("ascii"), dtype=np.uint8)
        ids = torch.from_numpy(_CHAR_LUT[text])
        return torch.cat([torch.full((n, 1), START, dtype=torch.long), ids], dim=1)

    def answer_correct(self, pred_tokens, batch):
        """[B] bool: the whole final chunk (the answer ``r1,r2`` and its padding) exactly right."""
        _check_pred(pred_tokens, batch)
        cl = self.chunk_len
        return (pred_tokens[:, -cl:].to(batch.targets.device) == batch.targets[:, -cl:]).all(dim=1)

    def decode(self, tokens) -> str:
        """Characters; start as '>', each run of padding as ' | ' (so chunks read ``a | b | c``)."""
        parts, cur = [], []
        for t in _as_list(tokens):
            if t == PAD:
                if cur:
                    parts.append("".join(cur))
                    cur = []
            else:
                cur.append(">" if t == START else ID_TO_CHAR.get(t, f"[{t}]"))
        if cur:
            parts.append("".join(cur))
        return " | ".join(parts)

    def check_sample(self, targets_row) -> tuple[int, int, int]:
        return check_quadratic_sample(
            targets_row, chunk_len=self.chunk_len, root_range=self.root_range, k_max=self.k_max
        )


# -- the checker: proves a sample right, independently of the sampler ---------------------------

_INT = r"(0|-?[1-9]\d*)"
_POLY_RE = re.compile(r"(-?)((?:[1-9]\d*\*)?)x\^2(?:([+-])((?:[1-9]\d*\*)?)x)?(?:([+-])([1-9]\d*))?=0")
_D_RE = re.compile(r"D=(0|[1-9]\d*)\^2-4\*1\*" + _INT + "=" + _INT + r"(?:=(0|[1-9]\d*)\^2)?")
_X_RE = re.compile(r"x=\(" + _INT + r"-(0|[1-9]\d*)\)/2=" + _INT)
_X2_RE = re.compile(r"x=\(" + _INT + r"\+(0|[1-9]\d*)\)/2=" + _INT)
_ANS_RE = re.compile(_INT + r"(?:," + _INT + r")?")


def _fail(msg: str):
    raise QuadraticCheckError(msg)


def _parse_poly(text: str) -> tuple[int, int, int]:
    m = _POLY_RE.fullmatch(text)
    if not m:
        _fail(f"not a polynomial equation in canonical text: {text!r}")
    sa, ma, sb, mb, sc, mc = m.groups()
    a = (-1 if sa else 1) * (int(ma[:-1]) if ma else 1)
    b = 0 if sb is None else (-1 if sb == "-" else 1) * (int(mb[:-1]) if mb else 1)
    c = 0 if sc is None else (-1 if sc == "-" else 1) * int(mc)
    if (ma == "1*") or (mb == "1*"):
        _fail(f"coefficient 1 must be omitted: {text!r}")
    return a, b, c


def _chunks_of(row, chunk_len: int) -> list[str]:
    ids = _as_list(row)
    if len(ids) != NUM_CHUNKS * chunk_len:
        _fail(f"expected {NUM_CHUNKS} chunks of {chunk_len} tokens ({NUM_CHUNKS * chunk_len}), got {len(ids)} tokens")
    out = []
    for j in range(NUM_CHUNKS):
        chunk = ids[j * chunk_len : (j + 1) * chunk_len]
        n = len(chunk)
        while n and chunk[n - 1] == PAD:
            n -= 1
        if n == chunk_len:
            _fail(f"chunk {j + 1} has no padding left (the model input drops its last token)")
        if any(t not in ID_TO_CHAR for t in chunk[:n]):
            _fail(f"chunk {j + 1} holds padding, start or unknown tokens inside the text: {chunk[:n]}")
        out.append("".join(ID_TO_CHAR[t] for t in chunk[:n]))
    return out


def check_quadratic_sample(
    targets_row, *, chunk_len: int = 30, root_range: int | None = 99, k_max: int | None = 10
) -> tuple[int, int, int]:
    """Prove one sample right, or raise ``QuadraticCheckError`` saying what is wrong.

    ``targets_row`` is one row of ``batch.targets`` (the six chunks, ``6 * chunk_len`` tokens). Checks,
    with exact integer arithmetic: every chunk is text followed only by padding; the problem is
    ``k`` times the canonical monic equation with ``1 <= |k| <= k_max``; the discriminant chunk quotes
    ``|b|`` and ``c`` of the canonical equation, ``D = b^2 - 4c`` and, when ``D >= 0``, ``s`` with
    ``s^2 = D``; each root chunk computes ``(-b ∓ s)/2`` exactly and the root satisfies both the
    canonical and the original equation; the answer lists the roots sorted, without repetition; with
    ``D < 0`` the three last chunks are empty; roots lie in ``[-root_range, root_range]``.
    Returns ``(k, b, c)``.
    """
    problem, canon, dline, x1, x2, ans = _chunks_of(targets_row, chunk_len)
    ka, kb, kc = _parse_poly(problem)
    a, b, c = _parse_poly(canon)
    if a != 1:
        _fail(f"canonical equation must be monic, got leading coefficient {a}: {canon!r}")
    k = ka
    if k == 0 or (k_max is not None and abs(k) > k_max):
        _fail(f"multiplier k={k} outside ±[1, {k_max}]")
    if (kb, kc) != (k * b, k * c):
        _fail(f"problem {problem!r} is not {k} times the canonical equation {canon!r}")
    m = _D_RE.fullmatch(dline)
    if not m:
        _fail(f"discriminant chunk malformed: {dline!r}")
    qb, qc, qd, qs = m.groups()
    qc = int(qc)
    if int(qb) != abs(b) or qc != c:
        _fail(f"discriminant chunk quotes |b|={qb}, c={qc}; the canonical equation has |b|={abs(b)}, c={c}")
    d = b * b - 4 * c
    if int(qd) != d:
        _fail(f"D={qd} but b^2-4c={d}")
    if d < 0:
        if qs is not None:
            _fail(f"D={d} < 0 must not have a square root: {dline!r}")
        if x1 or x2 or ans:
            _fail("no real roots: the root and answer chunks must be empty")
        return k, b, c
    if qs is None:
        _fail(f"D={d} >= 0 must be followed by =s^2: {dline!r}")
    s = int(qs)
    if s * s != d:
        _fail(f"{s}^2 = {s * s} is not D={d}")
    roots = []
    for text, regex, sign in ((x1, _X_RE, -1), (x2, _X2_RE, +1)):
        mx = regex.fullmatch(text)
        if not mx:
            _fail(f"root chunk malformed: {text!r}")
        mb, ms, mr = (int(v) for v in mx.groups())
        if mb != -b or ms != s:
            _fail(f"root chunk {text!r} must use -b={-b} and s={s}")
        num = -b + sign * s
        r = int(mr)
        if num != 2 * r:
            _fail(f"({-b}{'+' if sign > 0 else '-'}{s})/2 is {num / 2}, not {r}")
        if r * r + b * r + c != 0 or k * r * r + kb * r + kc != 0:
            _fail(f"x={r} does not satisfy the equation")
        if root_range is not None and abs(r) > root_range:
            _fail(f"root {r} outside [-{root_range}, {root_range}]")
        roots.append(r)
    ma = _ANS_RE.fullmatch(ans)
    if not ma:
        _fail(f"answer chunk malformed: {ans!r}")
    listed = [int(v) for v in ma.groups() if v is not None]
    if listed != sorted(set(roots)):
        _fail(f"answer {ans!r} must list the roots {sorted(set(roots))} sorted and unique")
    return k, b, c


def check_quadratic_batch(batch: TaskBatch, task: QuadraticTask | None = None) -> list[tuple[int, int, int]]:
    """Check every sample of a quadratic batch (``check_quadratic_sample``) and its layout: input =
    start token + targets shifted by one, loss on the last five chunks."""
    task = task or QuadraticTask()
    cl = task.chunk_len
    expect_mask = task.loss_mask_row()
    out = []
    for i in range(len(batch)):
        if batch.tokens[i, 0] != START or not torch.equal(batch.tokens[i, 1:], batch.targets[i, :-1]):
            _fail(f"sample {i}: input is not the start token followed by the targets shifted by one")
        if not torch.equal(batch.loss_mask[i].cpu(), expect_mask):
            _fail(f"sample {i}: loss mask must cover exactly the last {5 * cl} positions")
        out.append(check_quadratic_sample(batch.targets[i], chunk_len=cl, root_range=task.root_range, k_max=task.k_max))
    return out


# ------------------------------------------------------------------------------------------------
# registry
# ------------------------------------------------------------------------------------------------

TASKS: dict[str, type[Task]] = {t.name: t for t in (CopyTask, ReverseTask, RetrievalTask, QuadraticTask)}


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
