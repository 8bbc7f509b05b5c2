"""Quadratic equations solved step by step, the RMT paper's section 4.3 task: its samples
(:class:`QuadraticTask`, six chunks of text), their canonical text (:func:`render_quadratic`) and a
checker that reads a sample back and says whether it is a correct, canonically written solution
(:func:`check_quadratic_sample`, :func:`check_quadratic_batch`). The layout shared with the other
tasks (the shift by one, the held-out buckets) is :mod:`data_gen.tasks`'s."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np
import torch

from .tasks import PAD, SPLIT_BUCKET, START, Task, TaskBatch, _as_list, _buckets, _check_int, _check_pred

__all__ = [
    "QuadraticTask",
    "QuadraticCheckError",
    "check_quadratic_sample",
    "check_quadratic_batch",
    "render_quadratic",
    "CHAR_TO_ID",
    "ID_TO_CHAR",
    "NUM_CHUNKS",
]

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
