"""The paper's metrics (design notes, book/design.md, section 4).

- algorithmic tasks: per-token accuracy over the scored positions, teacher-forced and greedy
  (greedy = the model's own tokens are fed back, across segment boundaries, as the paper reports
  for segmented models); whole-answer exact match; the quadratic-equation answer accuracy;
- language modelling: loss per token, bits per character and perplexity, memory (and XL cache)
  carried along the whole validation or test stream;
- classification: accuracy and loss over documents.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .data import as_batch
from .model import MemoryTransformer
from .runner import generate, run_segments, segment_bounds


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA; a no-op context elsewhere (everything runs in fp32 on CPU)."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module):
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _slice_batch(batch: Any, rows) -> Any:
    """Rows of a TaskBatch (dataclass or named tuple) with every tensor field sliced."""
    if dataclasses.is_dataclass(batch):
        vals = {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch)}
        return dataclasses.replace(
            batch,
            **{
                k: v[rows]
                for k, v in vals.items()
                if isinstance(v, Tensor) and v.dim() > 0 and v.shape[0] == batch.tokens.shape[0]
            },
        )
    if hasattr(batch, "_replace"):
        return batch._replace(**{k: v[rows] for k, v in batch._asdict().items() if isinstance(v, Tensor)})
    raise TypeError(f"cannot slice a {type(batch).__name__}")


@torch.no_grad()
def greedy_predictions(model: MemoryTransformer, tokens: Tensor, loss_mask: Tensor, segment_len: int) -> Tensor:
    """``[B, S]`` predictions aligned with the targets: from the first scored position on, the
    model continues greedily from its own outputs (:func:`rmt_lite.generate`, which crosses
    segment boundaries exactly as :func:`run_segments` splits the sample). Positions before the
    first scored one hold 0 (pad). Samples are grouped by where their answer starts and ends."""
    B, S = tokens.shape
    pred = torch.zeros_like(tokens)
    any_scored = loss_mask.any(dim=1)
    pos = torch.arange(S, device=tokens.device)
    first = torch.where(loss_mask, pos, S).amin(dim=1)
    last = torch.where(loss_mask, pos, -1).amax(dim=1)
    keys = sorted({(int(a), int(b)) for a, b, ok in zip(first.tolist(), last.tolist(), any_scored.tolist()) if ok})
    for a, b in keys:
        rows = ((first == a) & (last == b) & any_scored).nonzero().squeeze(1)
        seq = generate(model, tokens[rows, : a + 1], b - a + 1, segment_len)
        pred[rows, a : b + 1] = seq[:, a + 1 : b + 2]
    return pred


@torch.no_grad()
def evaluate_task(
    model: MemoryTransformer,
    batch: Any,
    segment_len: int,
    *,
    batch_size: int = 256,
    greedy: bool = True,
    task: Any = None,
    amp: bool = True,
) -> dict[str, float]:
    """Metrics of a task model on ``batch``: a :data:`rmt_lite.Batch`, or a tuple ``(tokens, targets,
    loss_mask)`` of ``[B, S]`` tensors.

    Returns ``loss`` (mean cross-entropy on the scored positions), ``acc_tf`` / ``exact_tf``
    (teacher-forced per-token accuracy / whole answer right), and with ``greedy``: ``acc_greedy``
    / ``exact_greedy``. ``acc`` and ``exact_match`` are the paper's metric: greedy when the sample
    spans more than one segment, teacher-forced otherwise. With a ``task`` that has
    ``answer_correct`` (quadratic equations), ``answer_acc`` = the final answer exactly right
    under greedy decoding.
    """
    batch = as_batch("batch", batch)
    device = _device(model)
    tokens, targets, mask = batch.tokens.to(device), batch.targets.to(device), batch.loss_mask.to(device)
    N, S = tokens.shape
    segmented = S > segment_len
    has_answer = task is not None and hasattr(task, "answer_correct")
    greedy = greedy or has_answer
    sums = dict(loss=0.0, count=0, tf=0, ex_tf=0, gr=0, ex_gr=0, ans=0)
    with eval_mode(model), autocast(device, amp):
        for i in range(0, N, batch_size):
            t, y, m = tokens[i : i + batch_size], targets[i : i + batch_size], mask[i : i + batch_size]
            logits = run_segments(model, t, segment_len).logits.float()
            nll = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view_as(y)
            sums["loss"] += float((nll * m).sum())
            sums["count"] += int(m.sum())
            pred = logits.argmax(-1)
            sums["tf"] += int(((pred == y) & m).sum())
            sums["ex_tf"] += int(((pred == y) | ~m).all(dim=1).sum())
            if greedy:
                pg = greedy_predictions(model, t, m, segment_len)
                sums["gr"] += int(((pg == y) & m).sum())
                sums["ex_gr"] += int(((pg == y) | ~m).all(dim=1).sum())
                if has_answer:
                    sub = _slice_batch(batch, slice(i, i + batch_size))
                    sums["ans"] += int(task.answer_correct(pg.cpu(), sub).sum())
    count = max(sums["count"], 1)
    out = dict(loss=sums["loss"] / count, acc_tf=sums["tf"] / count, exact_tf=sums["ex_tf"] / N)
    if greedy:
        out.update(acc_greedy=sums["gr"] / count, exact_greedy=sums["ex_gr"] / N)
    paper_greedy = greedy and segmented
    out["acc"] = out["acc_greedy"] if paper_greedy else out["acc_tf"]
    out["exact_match"] = out["exact_greedy"] if paper_greedy else out["exact_tf"]
    if has_answer:
        out["answer_acc"] = sums["ans"] / N
    return out


def evaluate_streamed(
    model: MemoryTransformer, batch: Any, segment_len: int, *, batch_size: int = 64, amp: bool = True
) -> dict[str, float]:
    """Teacher-forced metrics of a task model on ``batch``, each sample read one segment at a time
    with only the state carried on, so that memory does not grow with the sample's length (a
    needle among thousands of segments). Returns ``loss``, ``acc_tf`` and ``exact_tf`` as
    :func:`evaluate_task` does; for a one-token answer (the needle task) greedy decoding gives the
    same prediction."""
    loss, count, right, ok = _streamed(model, batch, segment_len, batch_size, amp)
    count = max(count, 1)
    return dict(loss=loss / count, acc_tf=right / count, exact_tf=int(ok.sum()) / max(len(ok), 1))


def streamed_exact(
    model: MemoryTransformer, batch: Any, segment_len: int, *, batch_size: int = 64, amp: bool = True
) -> Tensor:
    """[N] bool, read as :func:`evaluate_streamed` reads: every scored position of the sample right
    (teacher-forced), for results per sample (accuracy against where a needle sits)."""
    return _streamed(model, batch, segment_len, batch_size, amp)[3]


@torch.no_grad()
def _streamed(model, batch, segment_len: int, batch_size: int, amp: bool) -> tuple[float, int, int, Tensor]:
    """Summed loss, scored count, right count and the [N] whole-sample hits, one segment at a time."""
    device = _device(model)
    tokens, targets, mask = batch.tokens, batch.targets, batch.loss_mask
    N, S = tokens.shape
    loss, count, right, hits = 0.0, 0, 0, []
    with eval_mode(model), autocast(device, amp):
        for i in range(0, N, batch_size):
            t, y, m = (x[i : i + batch_size].to(device) for x in (tokens, targets, mask))
            state, ok = model.init_state(t.shape[0]), torch.ones(t.shape[0], dtype=torch.bool, device=device)
            for a, b in segment_bounds(S, segment_len):
                out = model(t[:, a:b], state)
                state = out.state
                seg_mask = m[:, a:b]
                if not seg_mask.any():
                    continue
                logits = out.logits.float()
                nll = F.cross_entropy(logits.flatten(0, 1), y[:, a:b].flatten(), reduction="none").view_as(seg_mask)
                hit = logits.argmax(-1) == y[:, a:b]
                loss += float((nll * seg_mask).sum())
                count += int(seg_mask.sum())
                right += int((hit & seg_mask).sum())
                ok &= (hit | ~seg_mask).all(dim=1)
            hits.append(ok.cpu())
    return loss, count, right, torch.cat(hits)


@torch.no_grad()
def evaluate_stream(
    model: MemoryTransformer, data: Tensor, segment_len: int, batch_size: int, *, max_tokens: int = 0, amp: bool = True
) -> dict[str, float]:
    """Loss per token over a 1-D token stream read as ``batch_size`` contiguous streams, the
    memory and XL cache carried from each segment to the next along the whole stream (paper
    section 4.3). ``max_tokens`` > 0 uses only the first that many tokens. Returns ``loss``,
    ``bpc`` (loss / ln 2: bits per character for byte-level data), ``ppl`` and ``tokens``."""
    from data_gen import stream_batches

    if max_tokens:
        data = data[:max_tokens]
    device = _device(model)
    total, n = 0.0, 0
    with eval_mode(model), autocast(device, amp):
        state = model.init_state(batch_size)
        for inputs, targets in stream_batches(data, batch_size, segment_len):
            out = model(inputs.to(device), state)
            state = out.state
            total += float(
                F.cross_entropy(out.logits.flatten(0, 1).float(), targets.to(device).flatten(), reduction="sum")
            )
            n += targets.numel()
    if n == 0:
        raise ValueError(
            f"the evaluation stream of {len(data)} tokens is too short for batch_size={batch_size} "
            f"streams of segment_len={segment_len}; allowed: at least "
            f"{batch_size * segment_len + 1} tokens"
        )
    loss = total / n
    return dict(loss=loss, bpc=loss / math.log(2), ppl=math.exp(min(loss, 700.0)), tokens=n)


def collate_documents(docs: list, segment_len: int, max_segments: int, pad_id: int = 0):
    """``[(ids, label), ...]`` -> tokens ``[B, L]`` (right-padded with ``pad_id``, cut to
    ``max_segments * segment_len``), token_mask ``[B, L]`` (True = real token), labels ``[B]``."""
    limit = segment_len * max_segments
    lengths = [max(1, min(len(ids), limit)) for ids, _ in docs]
    L = max(lengths)
    tokens = torch.full((len(docs), L), pad_id, dtype=torch.long)
    mask = torch.zeros((len(docs), L), dtype=torch.bool)
    for i, ((ids, _), n) in enumerate(zip(docs, lengths)):
        ids = torch.as_tensor(ids, dtype=torch.long)[:n]
        tokens[i, : len(ids)] = ids
        mask[i, : max(len(ids), 1)] = True
    labels = torch.tensor([int(label) for _, label in docs], dtype=torch.long)
    return tokens, mask, labels


def classify_logits(
    model: MemoryTransformer,
    tokens: Tensor,
    mask: Tensor,
    segment_len: int,
    *,
    bptt_depth: int | None = None,
    checkpoint_segments: bool = False,
) -> Tensor:
    """Class logits ``[B, C]`` of an encoder model reading documents segment by segment."""
    out = run_segments(
        model, tokens, segment_len, token_mask=mask, bptt_depth=bptt_depth, checkpoint_segments=checkpoint_segments
    )
    a = (tokens.shape[1] - 1) // segment_len * segment_len
    return model.classify(out.outputs[-1], mask[:, a:])


@torch.no_grad()
def evaluate_classification(
    model: MemoryTransformer, docs: list, segment_len: int, max_segments: int, *, batch_size: int = 32, amp: bool = True
) -> dict[str, float]:
    """Accuracy and mean cross-entropy over ``docs`` ``[(ids, label), ...]``; the model reads at
    most ``max_segments`` segments of each document (1 for a model without memory)."""
    device = _device(model)
    correct, total, n = 0, 0.0, 0
    with eval_mode(model), autocast(device, amp):
        for i in range(0, len(docs), batch_size):
            tokens, mask, labels = collate_documents(docs[i : i + batch_size], segment_len, max_segments)
            tokens, mask, labels = tokens.to(device), mask.to(device), labels.to(device)
            logits = classify_logits(model, tokens, mask, segment_len).float()
            total += float(F.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(-1) == labels).sum())
            n += len(labels)
    return dict(loss=total / max(n, 1), acc=correct / max(n, 1), docs=n)
