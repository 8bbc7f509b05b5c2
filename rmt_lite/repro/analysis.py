"""Measurements for the mechanics and memory-analysis chapters."""

from __future__ import annotations

import torch
from torch import Tensor

from ..model import MemoryTransformer
from ..runner import run_segments, segment_bounds


def gradient_reach(model: MemoryTransformer, tokens: Tensor, segment_len: int, bptt_depth: int | None = None) -> Tensor:
    """Norm of the gradient of the LAST segment's loss (next-token cross-entropy) with respect to
    the input embeddings of every segment: ``[num_segments]``.

    A per-segment offset is added to the embedding output, so replays of a segment under
    truncated BPTT (which embed it again) add up to the same segment.
    """
    bounds = segment_bounds(tokens.shape[1], segment_len)
    pieces = [tokens[:, a:b] for a, b in bounds]
    offsets = torch.zeros(
        len(bounds), 1, 1, model.cfg.d_model, dtype=model.embed.weight.dtype, device=tokens.device, requires_grad=True
    )

    def add_offset(module, args, out):
        seg = next(i for i, p in enumerate(pieces) if p.shape == args[0].shape and torch.equal(p, args[0]))
        return out + offsets[seg]

    handle = model.embed.register_forward_hook(add_offset)
    try:
        mask = torch.zeros_like(tokens, dtype=torch.bool)
        mask[:, bounds[-1][0] : -1] = True  # the last segment's next-token predictions
        out = run_segments(
            model, tokens, segment_len, targets=tokens.roll(-1, dims=1), loss_mask=mask, bptt_depth=bptt_depth
        )
        out.loss.backward()
    finally:
        handle.remove()
    model.zero_grad(set_to_none=True)
    return offsets.grad.flatten(1).norm(dim=1).detach()


@torch.no_grad()
def segment_influence(model: MemoryTransformer, tokens: Tensor, segment_len: int, replacement: Tensor) -> Tensor:
    """Mean absolute change of every segment's logits when the FIRST segment's tokens are
    replaced by ``replacement``: ``[num_segments]``. Zero after segment 0 means nothing of the
    first segment reaches that segment."""
    a, b = segment_bounds(tokens.shape[1], segment_len)[0]
    changed = tokens.clone()
    changed[:, a:b] = replacement
    delta = (run_segments(model, tokens, segment_len).logits - run_segments(model, changed, segment_len).logits).abs()
    return torch.stack([delta[:, s:e].mean() for s, e in segment_bounds(tokens.shape[1], segment_len)])
