"""Running a model over segments: exact-length splits, BPTT (full, truncated, checkpointed),
streaming and greedy generation across segment boundaries (paper section 3; design notes, book/design.md,
section 2)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from .model import MemoryTransformer, SegmentOutput, SegmentState


def segment_bounds(seq_len: int, segment_len: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each segment: every segment has exactly ``segment_len`` tokens except
    possibly the last, which holds the remainder (the reference's ``torch.chunk`` did not)."""
    if not isinstance(segment_len, int) or segment_len < 1:
        raise ValueError(f"segment_len={segment_len!r} is not allowed: a positive integer")
    if seq_len < 1:
        raise ValueError(f"seq_len={seq_len!r} is not allowed: a positive integer")
    return [(s, min(s + segment_len, seq_len)) for s in range(0, seq_len, segment_len)]


@dataclass
class RunOutput:
    logits: Tensor | None  # [B, S, V] (decoder)
    loss: Tensor | None  # mean cross-entropy over the scored positions
    segment_losses: list[Tensor]  # per segment: summed loss of its scored positions (detached)
    state: SegmentState  # state after the last segment
    outputs: list[SegmentOutput]  # per segment (attentions, hidden states)


def replay_memory(
    segments: Sequence[Callable[[SegmentState], SegmentOutput]],
    start: SegmentState,
    stored: Sequence[SegmentState],
) -> SegmentState:
    """Truncated BPTT's replay, for both regimes (samples here, streams in the trainer): the state
    entering the next segment, rebuilt with a graph through the memory written by the last k
    ``segments`` (each runs one segment on a state), from the detached ``start`` stored k
    boundaries back. ``stored[i]`` is the detached state after segment i: its cache is kept (a
    cache carries no gradient), only its memory is replaced by the recomputed one."""
    st = start
    for run_segment, after in zip(segments, stored, strict=True):
        st = after.with_memory(run_segment(st).state.memory)
    return st


def _check_bptt(bptt_depth: int | None) -> None:
    if bptt_depth is not None and (not isinstance(bptt_depth, int) or bptt_depth < 0):
        raise ValueError(f"bptt_depth={bptt_depth!r} is not allowed: None (full BPTT) or an integer >= 0")


def run_segments(
    model: MemoryTransformer,
    tokens: Tensor,
    segment_len: int,
    *,
    targets: Tensor | None = None,
    loss_mask: Tensor | None = None,
    token_mask: Tensor | None = None,
    state: SegmentState | None = None,
    bptt_depth: int | None = None,
    checkpoint_segments: bool = False,
    return_attention: bool = False,
    backward: float | None = None,
) -> RunOutput:
    """Run ``tokens [B, S]`` segment by segment, carrying memory and cache.

    bptt_depth: ``None`` = full BPTT (the algorithmic tasks: memory is never detached); ``k`` =
        the loss of segment t back-propagates through at most the k previous segments, for every
        t: the memory entering segment t is recomputed from the detached memory stored k
        segments back (so the gradient reach is exactly k, not "k on average"). 0 = the write
        operation never gets a gradient.
    checkpoint_segments: recompute each segment in the backward pass (torch.utils.checkpoint):
        activation memory of one segment instead of all; gradients are unchanged.
    backward: accumulate the gradient of ``backward * loss`` into the parameters' ``.grad`` here
        (needs ``targets``); the returned loss and logits then carry no graph. With truncated BPTT
        each segment's loss back-propagates as soon as it is known, so that only the graph of its
        k+1 segments is alive: k+1 forward and backward passes a segment, and less activation
        memory than full BPTT, instead of the k+1 graphs of every segment held to the end. The
        gradient is the same sum, accumulated segment by segment (equal up to float rounding).
    """
    _check_bptt(bptt_depth)
    if backward is not None and targets is None:
        raise ValueError("backward is not allowed without targets: there is no loss to back-propagate")
    if tokens.dim() != 2:
        raise ValueError(f"tokens has shape {tuple(tokens.shape)}; expected [batch, seq_len]")
    for name, t in (("targets", targets), ("loss_mask", loss_mask), ("token_mask", token_mask)):
        if t is not None and t.shape != tokens.shape:
            raise ValueError(f"{name} has shape {tuple(t.shape)}; expected {tuple(tokens.shape)} like tokens")
    B, S = tokens.shape
    bounds = segment_bounds(S, segment_len)
    state = state if state is not None else model.init_state(B)

    def step(seg: int, st: SegmentState) -> SegmentOutput:
        a, b = bounds[seg]
        tm = None if token_mask is None else token_mask[:, a:b]
        if checkpoint_segments and torch.is_grad_enabled():
            return checkpoint(model, tokens[:, a:b], st, tm, return_attention, use_reentrant=False)
        return model(tokens[:, a:b], st, tm, return_attention)

    truncated = bptt_depth is not None and bptt_depth < len(bounds) - 1
    stored = [state.detach()] if truncated else None  # detached state at every boundary
    start_state = state
    outputs, losses, total = [], [], None
    # with truncation and `backward`, each segment's loss back-propagates at once (see above)
    per_segment = backward is not None and truncated
    count = None
    if targets is not None:
        count = (loss_mask.sum() if loss_mask is not None else torch.tensor(targets.numel())).clamp_min(1)
    for seg in range(len(bounds)):
        if truncated:
            first = max(0, seg - bptt_depth)
            replays = [lambda st, r=r: step(r, st) for r in range(first, seg)]
            st = replay_memory(replays, start_state if first == 0 else stored[first], stored[first + 1 : seg + 1])
            out = step(seg, st)
            stored.append(out.state.detach())
        else:
            out = step(seg, state)
        state = out.state
        outputs.append(out)
        if targets is not None and out.logits is not None:
            a, b = bounds[seg]
            nll = F.cross_entropy(out.logits.flatten(0, 1).float(), targets[:, a:b].flatten(), reduction="none")
            if loss_mask is not None:
                nll = nll * loss_mask[:, a:b].flatten().to(nll.dtype)
            seg_loss = nll.sum()
            losses.append(seg_loss.detach())
            if per_segment:
                (seg_loss * (backward / count.to(seg_loss.dtype))).backward()
                seg_loss = seg_loss.detach()
            total = seg_loss if total is None else total + seg_loss
    loss = None
    if total is not None:
        loss = total / count.to(total.dtype)
        if backward is not None and not per_segment:
            (loss * backward).backward()
        if backward is not None:
            loss = loss.detach()
    logits = None if outputs[0].logits is None else torch.cat([o.logits for o in outputs], dim=1)
    if backward is not None and logits is not None:
        logits = logits.detach()
    return RunOutput(logits=logits, loss=loss, segment_losses=losses, state=state, outputs=outputs)


@torch.no_grad()
def generate(model: MemoryTransformer, prompt: Tensor, max_new_tokens: int, segment_len: int) -> Tensor:
    """Greedy decoding of ``max_new_tokens`` after ``prompt [B, P]``, crossing segment boundaries
    exactly as :func:`run_segments` splits the whole sequence: full segments pass their state on,
    the segment being written grows one position per new token (:meth:`MemoryTransformer.extend`)."""
    if model.cfg.encoder:
        raise ValueError("generate needs a decoder model (encoder=False)")
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} is not allowed: an integer >= 0")
    if not isinstance(prompt, Tensor) or prompt.dim() != 2 or prompt.shape[1] == 0:
        shape = tuple(prompt.shape) if isinstance(prompt, Tensor) else type(prompt).__name__
        raise ValueError(f"prompt has shape {shape}; expected [batch, length >= 1]")
    segment_bounds(prompt.shape[1], segment_len)  # validates segment_len
    state = model.init_state(prompt.shape[0])
    seq, done = prompt, 0  # `done` tokens are folded into `state`
    while seq.shape[1] - done > segment_len:
        state = model(seq[:, done : done + segment_len], state).state
        done += segment_len
    logits, past = model.extend(seq[:, done:], state)  # the open segment, 1..segment_len tokens
    for k in range(max_new_tokens):
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        if seq.shape[1] - done == segment_len:  # it is complete: its state moves on
            state, done, past = model(seq[:, done:], state).state, done + segment_len, None
        seq = torch.cat((seq, nxt), dim=1)
        if k + 1 < max_new_tokens:
            logits, past = model.extend(nxt, state, past)
    return seq
