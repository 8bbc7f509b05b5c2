"""How the benchmarks measure: the training step they time (the paper's copy configuration), exact
peak memory of CPU tensors, interleaved timing on a chosen clock, paired ratios, the machine's matmul
peak, model FLOPs and the machine's description."""

from __future__ import annotations

import contextlib
import csv
import os
import platform
import statistics
import time
import weakref
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ..config import REGISTRY, ModelConfig
from ..model import MemoryTransformer
from ..runner import run_segments

# ---------------------------------------------------------------------------------------------
# what is measured: a training step on the paper's copy configuration (section 4.1)
COPY = dict(vocab_size=12, d_model=128, n_layers=4, n_heads=4, d_ff=256)
COPY_MEM, SEG_LEN, N_SEG, BATCH = 8, 24, 3, 32


def copy_config(variant: str, **overrides) -> ModelConfig:
    kw = dict(COPY, variant=variant)
    if REGISTRY[variant].memory:
        kw["num_mem_tokens"] = COPY_MEM
    if REGISTRY[variant].cache:
        kw["mem_len"] = SEG_LEN
    kw.update(overrides)
    return ModelConfig(**kw)


def train_step_fn(
    model: MemoryTransformer, batch: int, segment_len: int, n_segments: int, *, seed: int = 0, **run_kw
) -> Callable[[], float]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, model.cfg.vocab_size, (batch, segment_len * n_segments), generator=g)
    y = x.roll(-1, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> float:
        loss = run_segments(model, x, segment_len, targets=y, **run_kw).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ---------------------------------------------------------------------------------------------
# measuring
class PeakMemory(TorchDispatchMode):
    """Exact peak of live tensor bytes created inside the ``with`` block (CPU tensors).

    Every op's outputs are seen by ``__torch_dispatch__``; each new storage adds its size and a
    finaliser subtracts it when the storage is freed. Views share a storage and count once.
    """

    def __init__(self):
        super().__init__()
        self.live = 0
        self.peak = 0
        self._seen: set[int] = set()

    def _free(self, key: int, nbytes: int) -> None:
        self.live -= nbytes
        self._seen.discard(key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type == "cpu":
                storage = t.untyped_storage()
                key, nbytes = storage.data_ptr(), storage.nbytes()
                if nbytes == 0 or key in self._seen:
                    continue
                self._seen.add(key)
                self.live += nbytes
                self.peak = max(self.peak, self.live)
                weakref.finalize(storage, self._free, key, nbytes)
        return out


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


_clock = time.process_time  # the clock of interleaved() and matmul_peak(): see clock()


@contextlib.contextmanager
def clock(name: str):
    """Time with ``CLOCKS[name]`` inside the block (process CPU time or wall time)."""
    global _clock
    if name not in CLOCKS:
        raise ValueError(f"clock={name!r} is not allowed: one of {', '.join(CLOCKS)}")
    kept, _clock = _clock, CLOCKS[name]
    try:
        yield
    finally:
        _clock = kept


def interleaved(candidates: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds (of the chosen clock) of each candidate per round; the order rotates every round."""
    names = list(candidates)
    for _ in range(warmup):
        for n in names:
            candidates[n]()
    times = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            t0 = _clock()
            candidates[n]()
            times[n].append(_clock() - t0)
    return times


def paired_ratio(num: list[float], den: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(num, den))


def matmul_peak(threads: int, quick: bool) -> dict:
    """Best fp32 GFLOP/s of ``a @ b`` over a few square sizes (best of several repeats)."""
    best, per_size = 0.0, {}
    for n in (512, 1024) if quick else (1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        flop = 2 * n**3
        reps = max(2, int(3e9 / flop))
        a @ b
        rates = []
        for _ in range(3 if quick else 5):
            t0 = _clock()
            for _ in range(reps):
                a @ b
            rates.append(flop * reps / max(_clock() - t0, 1e-9) / 1e9)
        per_size[n] = max(rates)
        best = max(best, per_size[n])
    return dict(peak_gflops=best, per_size={str(k): round(v, 1) for k, v in per_size.items()}, threads=threads)


def model_flops(cfg: ModelConfig, batch: int, segment_len: int, n_segments: int, training: bool = True) -> float:
    """Matmul FLOPs of one pass over ``n_segments`` segments (dense attention over the whole mask,
    as SDPA computes it; logits included; no recomputation). Training = 3 x forward."""
    d, f, V = cfg.d_model, cfg.d_ff, cfg.vocab_size
    M = cfg.num_mem_tokens if cfg.has_memory else 0
    rows = segment_len + (2 * M if cfg.writes_at_end else M)
    total, cache = 0.0, 0
    for _ in range(n_segments):
        keys = cache + rows
        per_layer = (
            2 * rows * d * d  # queries
            + 2 * keys * d * 2 * d  # keys and values (for the cache rows too)
            + 2 * rows * d * d  # output projection
            + 2 * rows * d * 2 * f  # feed-forward
            + 2 * 2 * rows * keys * d
        )  # scores and weighted values
        total += cfg.n_layers * per_layer + 2 * segment_len * d * V
        if cfg.has_cache:
            cache = min(cfg.mem_len, cache + segment_len)
    total *= batch
    return 3 * total if training else total


# ---------------------------------------------------------------------------------------------
def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        memory_gib=mem_gib,
        system=platform.system(),
        python=platform.python_version(),
        torch=torch.__version__,
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
    )


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def write_csv(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)
