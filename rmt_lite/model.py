"""The model family: one pre-LN decoder backbone with memory tokens and/or an XL cache.

The memory mechanics of the paper (Bulatov et al. 2022, section 3) fit on this screen:

* a segment's input is ``[M ; emb(x) ; M]`` -- the same memory vectors at the start (read block)
  and the end (write block); ``mt`` keeps only the start, the encoder has ``[M ; x]``;
* :func:`attention_mask` decides who sees whom (read memory sees only itself, tokens are causal
  and never see the write block, write memory sees everything of the segment);
* the next memory is the final-layer output at the write block (``rmt``), at the start block
  (``mt``, encoder);
* ``xl`` keeps a detached per-layer cache of the last ``mem_len`` token hidden states;
* positions are rotary over ``[cache ; R ; x ; W]``: memory slots are ordinary positions, so the
  read block sits just before the tokens and the write block just after them (``mem_pos_gap``
  moves them apart), and a cached state is as far from a query as it was in the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ModelConfig


@lru_cache(maxsize=256)
def _blocked_cpu(
    num_mem: int, seg_len: int, cache_len: int, write_mem: bool, read_mem_from_cache: bool, causal: bool
) -> Tensor:
    M, T, C = num_mem, seg_len, cache_len
    W = M if write_mem else 0
    rows, cols = M + T + W, C + M + T + W
    blocked = torch.ones(rows, cols, dtype=torch.bool)
    if not causal:  # encoder: [M ; x] sees all of itself
        blocked[:, C:] = False
        return blocked
    tok = slice(M, M + T)
    r_cols, t_cols, w_cols = slice(C, C + M), slice(C + M, C + M + T), slice(C + M + T, cols)
    blocked[:M, r_cols] = False  # read memory: read block only
    blocked[tok, : C + M] = False  # tokens: cache + read memory
    blocked[tok, t_cols] = torch.ones(T, T, dtype=torch.bool).triu(1)  # ... and causal tokens
    blocked[M + T :, r_cols] = False  # write memory: read memory,
    blocked[M + T :, t_cols] = False  # all tokens,
    blocked[M + T :, w_cols] = False  # all write slots
    if read_mem_from_cache:
        blocked[:M, :C] = False
        blocked[M + T :, :C] = False
    return blocked


def attention_mask(
    num_mem: int,
    seg_len: int,
    cache_len: int = 0,
    *,
    write_mem: bool = True,
    read_mem_from_cache: bool = False,
    causal: bool = True,
) -> Tensor:
    """Boolean mask, True = blocked, rows ``[R ; x ; W]`` and columns ``[cache ; R ; x ; W]``.

    This is the table of the design notes (book/design.md), section 2, the reference code's mask.
    ``write_mem=False`` drops the write block (``mt``, encoder, no memory); ``causal=False`` is the
    encoder.
    """
    return _blocked_cpu(num_mem, seg_len, cache_len, write_mem, read_mem_from_cache, causal).clone()


@dataclass
class SegmentState:
    """What crosses a segment boundary: memory ``[B, M, d]`` and/or one XL cache ``[B, C, d]`` per
    layer, with ``cache_mask [B, C]`` (True = a real token; None = all real) so that cached padding
    stays hidden from later segments."""

    memory: Tensor | None = None
    cache: tuple[Tensor, ...] | None = None
    cache_mask: Tensor | None = None

    def detach(self) -> SegmentState:
        return SegmentState(
            None if self.memory is None else self.memory.detach(),
            None if self.cache is None else tuple(c.detach() for c in self.cache),
            self.cache_mask,
        )

    def with_memory(self, memory: Tensor | None) -> SegmentState:
        """The same cache with another memory (truncated BPTT rebuilds the memory with a graph)."""
        return SegmentState(memory, self.cache, self.cache_mask)


@dataclass
class SegmentOutput:
    logits: Tensor | None  # [B, T, V] token logits (None in encoder mode)
    hidden: Tensor  # [B, T, d] final-layer outputs at the token positions
    state: SegmentState  # the state handed to the next segment
    attentions: list[Tensor] | None = None  # per layer [B, H, rows, cols] when asked for


def _pair_order(n_heads: int, d_head: int) -> Tensor:
    """Feature order that puts each rotary pair (i, i + d_head/2) of a head side by side."""
    half = d_head // 2
    within = torch.stack((torch.arange(half), torch.arange(half) + half), dim=-1).flatten()
    return (torch.arange(n_heads)[:, None] * d_head + within).flatten()


def _rotate_pairs(x: Tensor, rot: Tensor) -> Tensor:
    """Rotary positions on ``x [B, L, H, d_head]`` whose pairs sit side by side: each pair
    ``(x_i, x_{i+d/2})`` is the complex number ``x_i + j x_{i+d/2}``, turned by ``rot [L, H * d_head/2]``
    (``e^{j * position * frequency}``, the same frequencies repeated for every head). The result
    keeps the side-by-side order; queries and keys share it, so their dot products are those of the
    usual (i, i + d/2) layout."""
    B, L, H, Dh = x.shape
    # the heads of a position side by side: one contiguous run of H * Dh/2 products per position,
    # twice as fast as broadcasting a [L, 1, Dh/2] table over the heads, and the same products
    pairs = x.reshape(B, L, H * Dh // 2, 2)
    if rot.is_complex() and x.dtype == rot.real.dtype and x.device.type in ("cpu", "cuda"):
        return torch.view_as_real(torch.view_as_complex(pairs) * rot).view(B, L, H, Dh)
    # no complex type for x (bf16 under CUDA autocast, half precision, mps): the same product in reals
    c, s = (rot.real, rot.imag) if rot.is_complex() else rot.unbind(-1)
    x0, x1 = pairs.unbind(-1)
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).view(B, L, H, Dh)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads, self.d_head = cfg.n_heads, cfg.d_model // cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        # rows of the projection in rotary-pair order for q and k (v as it is); not state
        pair = _pair_order(self.n_heads, self.d_head)
        d = cfg.d_model
        self.register_buffer("_row_order", torch.cat((pair, pair + d, torch.arange(2 * d, 3 * d))), persistent=False)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)
        self.dropout = cfg.dropout

    def forward(
        self, a: Tensor, kv_input: Tensor, allowed: Tensor, rot: Tensor, return_attention: bool
    ) -> tuple[Tensor, Tensor | None]:
        B, Lq, d = a.shape
        Lk = kv_input.shape[1]
        H, Dh = self.n_heads, self.d_head
        # Queries and keys come out of the projection with each rotary pair side by side (rows
        # reordered: the same dot products, and the rotation is one complex product).
        w = self.qkv.weight.index_select(0, self._row_order)
        b = self.qkv.bias.index_select(0, self._row_order)
        if Lk == Lq:
            q_src, kv_src = F.linear(a, w, b).view(B, Lq, 3, H, Dh), None
        else:  # queries only for the current segment; keys/values for [cache ; segment]
            q_src = F.linear(a, w[:d], b[:d]).view(B, Lq, H, Dh)
            kv_src = F.linear(kv_input, w[d:], b[d:]).view(B, Lk, 2, H, Dh)
        q, k, v = q_src.unbind(2) if kv_src is None else (q_src, *kv_src.unbind(2))
        q = _rotate_pairs(q, rot[Lk - Lq :]).transpose(1, 2)  # [B, H, Lq, Dh]
        k = _rotate_pairs(k, rot).transpose(1, 2)  # [B, H, Lk, Dh]
        v = v.transpose(1, 2)
        p = self.dropout if self.training else 0.0
        weights = None
        if return_attention:
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d_head)
            weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
            y = F.dropout(weights, p, self.training) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        return self.out(y.transpose(1, 2).reshape(B, Lq, d)), weights


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), nn.Linear(cfg.d_ff, cfg.d_model), nn.Dropout(cfg.dropout)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self, h: Tensor, cache: Tensor | None, allowed: Tensor, rot: Tensor, return_attention: bool
    ) -> tuple[Tensor, Tensor | None]:
        a = self.ln1(h)
        kv_input = a if cache is None else torch.cat((self.ln1(cache), a), dim=1)
        y, weights = self.attn(a, kv_input, allowed, rot, return_attention)
        h = h + self.drop(y)
        return h + self.mlp(self.ln2(h)), weights


def _check_tokens(tokens: Tensor, vocab_size: int) -> None:
    if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.dtype != torch.long:
        shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
        raise ValueError(
            f"tokens has shape {shape} and dtype {getattr(tokens, 'dtype', None)}; "
            "expected a [batch, segment_len] tensor of dtype torch.long"
        )
    if tokens.numel():
        low, high = (int(v) for v in torch.aminmax(tokens))
        if low < 0 or high >= vocab_size:
            raise ValueError(
                f"tokens holds ids from {low} to {high}; allowed: 0 to {vocab_size - 1} (vocab_size={vocab_size})"
            )


class MemoryTransformer(nn.Module):
    """Every variant of the design notes (book/design.md), section 1, on one backbone; call it one
    segment at a time."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = nn.Embedding(cfg.vocab_size, d)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.num_classes) if cfg.encoder else None
        self.initial_memory = nn.Parameter(torch.empty(cfg.num_mem_tokens, d)) if cfg.has_memory else None
        self._rope_cache: dict = {}  # (length, device, dtype) -> rotary tables; not state
        self._init_weights()

    def _init_weights(self) -> None:
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2 and name.startswith("blocks"):
                # d^-1/2, not GPT-2's 0.02: with 0.02 each sublayer adds ~2% to the residual
                # stream, so at init the memory barely depends on the tokens (replacing segment 0
                # changed later logits by ~1e-5) and rmt sat at chance on the paper's copy task
                # (L=24, 3 segments, 8 slots) for 400 steps; with d^-1/2 it reached 0.93
                # teacher-forced accuracy in the same 400 steps (CPU, seed 0).
                nn.init.normal_(p, std=self.cfg.d_model**-0.5)
        # token inputs are emb * sqrt(d): unit scale, like the N(0,1) memory vectors
        nn.init.normal_(self.embed.weight, std=self.cfg.d_model**-0.5)
        if self.initial_memory is not None:
            std = self.cfg.mem_init_std
            if self.cfg.mem_init == "shared":  # the reference: one vector copied into every slot
                self.initial_memory.data.copy_(std * torch.randn(1, self.cfg.d_model).expand_as(self.initial_memory))
            else:
                nn.init.normal_(self.initial_memory, std=std)

    # ----------------------------------------------------------------------------------------
    def init_state(self, batch_size: int) -> SegmentState:
        """The state before the first segment: the learned memory M_0 and an empty cache."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} is not allowed: a positive integer")
        memory = None
        if self.initial_memory is not None:
            memory = self.initial_memory.unsqueeze(0).expand(batch_size, -1, -1)
        return SegmentState(memory=memory, cache=None)

    def _rope(self, length: int, device, dtype) -> Tensor:
        """Rotary table ``[length, n_heads * d_head / 2]``: ``e^{j * position * frequency}`` from
        float32 angles, the same for every head, complex of ``dtype`` (float32/float64; else
        ``[length, n_heads * d_head / 2, 2]`` real (cos, sin) in ``dtype``), computed once per
        (length, device, dtype) and kept: it depends on nothing trained."""
        key = (length, torch.device(device), dtype)
        rot = self._rope_cache.get(key)
        if rot is None:
            half = self.cfg.d_model // self.cfg.n_heads // 2
            exact = torch.float64 if dtype == torch.float64 else torch.float32  # at least float32 angles
            inv_freq = self.cfg.rope_base ** (-torch.arange(half, device=device, dtype=exact) / half)
            angles = (torch.arange(length, device=device, dtype=exact)[:, None] * inv_freq).repeat(1, self.cfg.n_heads)
            cos, sin = angles.cos().to(dtype), angles.sin().to(dtype)
            if dtype in (torch.float32, torch.float64) and torch.device(device).type in ("cpu", "cuda"):
                rot = torch.complex(cos, sin)
            else:
                rot = torch.stack((cos, sin), dim=-1)
            if len(self._rope_cache) >= 64:
                self._rope_cache.clear()
            self._rope_cache[key] = rot
        return rot

    def _rope_rows(self, cache_len: int, num_mem: int, num_tokens: int, write: int, device, dtype) -> Tensor:
        """Rotary table of the key rows ``[cache ; R ; x ; W]``: consecutive positions, except that
        ``mem_pos_gap`` positions are skipped after the read block and again after the text."""
        C, M, T, W, G = cache_len, num_mem, num_tokens, write, self.cfg.mem_pos_gap
        if not G:
            return self._rope(C + M + T + W, device, dtype)
        positions = torch.cat(
            (torch.arange(C + M), torch.arange(T) + C + M + G, torch.arange(W) + C + M + 2 * G + T)
        ).to(device)
        return self._rope(C + M + T + W + 2 * G, device, dtype)[positions]

    def forward(
        self,
        tokens: Tensor,
        state: SegmentState | None = None,
        token_mask: Tensor | None = None,
        return_attention: bool = False,
    ) -> SegmentOutput:
        """Process one segment ``tokens [B, T]`` given the incoming ``state``.

        ``token_mask [B, T]`` (True = real token) hides padding from every query; a sample whose
        segment is all padding keeps its memory unchanged.
        """
        cfg = self.cfg
        _check_tokens(tokens, cfg.vocab_size)
        if token_mask is not None and (token_mask.shape != tokens.shape or token_mask.dtype != torch.bool):
            raise ValueError(
                f"token_mask has shape {tuple(token_mask.shape)} and dtype {token_mask.dtype}; expected "
                f"{tuple(tokens.shape)} like tokens, dtype torch.bool (True = a real token)"
            )
        B, T = tokens.shape
        state = state if state is not None else self.init_state(B)
        M = cfg.num_mem_tokens if cfg.has_memory else 0
        x = self.embed(tokens) * math.sqrt(cfg.d_model)
        # [memory-in] the segment becomes [M ; x ; M]: read block, tokens, write block
        if M:
            memory = state.memory
            if memory is None or memory.shape != (B, M, cfg.d_model):
                raise ValueError(
                    f"state.memory has shape {None if memory is None else tuple(memory.shape)}; "
                    f"expected {(B, M, cfg.d_model)}"
                )
            blocks = (memory, x, memory) if cfg.writes_at_end else (memory, x)
            h = torch.cat(blocks, dim=1).to(x.dtype)
        else:
            h = x
        # [/memory-in]
        cache, cache_mask = self._checked_cache(state, B)
        C = 0 if cache is None else cache[0].shape[1]

        blocked = attention_mask(
            M, T, C, write_mem=cfg.writes_at_end, read_mem_from_cache=cfg.read_mem_from_cache, causal=not cfg.encoder
        ).to(tokens.device)
        if token_mask is not None or cache_mask is not None:
            pad = torch.zeros(B, blocked.shape[1], dtype=torch.bool, device=tokens.device)
            if token_mask is not None:
                pad[:, C + M : C + M + T] = ~token_mask
            if cache_mask is not None:
                pad[:, :C] = ~cache_mask
            eye = torch.zeros_like(blocked)
            eye[:, C:].fill_diagonal_(True)  # a position may always see itself: no empty rows
            allowed = ~((blocked | pad[:, None, :]) & ~eye)[:, None]  # [B, 1, rows, cols]
        else:
            allowed = ~blocked
        rot = self._rope_rows(C, M, T, M if cfg.writes_at_end else 0, h.device, h.dtype)

        attentions = [] if return_attention else None
        new_cache = []
        empty = None if token_mask is None else ~token_mask.any(dim=1)  # all-padding samples
        for i, block in enumerate(self.blocks):
            if cfg.has_cache:  # Transformer-XL: cache this layer's token inputs, detached
                new_cache.append(self._roll_cache(None if cache is None else cache[i], h[:, M : M + T], empty))
            h, weights = block(h, None if cache is None else cache[i], allowed, rot, return_attention)
            if return_attention:
                attentions.append(weights)
        out = self.ln_f(h)

        # [memory-out] the next memory: the last layer's outputs at the write block
        next_memory = None
        if M:
            next_memory = out[:, -M:] if cfg.writes_at_end else out[:, :M]
            if token_mask is not None:  # an all-padding segment leaves memory as it was
                empty = ~token_mask.any(dim=1)
                next_memory = torch.where(empty[:, None, None], state.memory, next_memory)
        # [/memory-out]
        hidden = out[:, M : M + T]
        logits = None if cfg.encoder else hidden @ self.embed.weight.t()
        next_mask = None
        if cfg.has_cache and (token_mask is not None or cache_mask is not None):

            def real(mask, n):
                return torch.ones(B, n, dtype=torch.bool, device=tokens.device) if mask is None else mask

            next_mask = self._roll_cache(real(cache_mask, C)[..., None], real(token_mask, T)[..., None], empty)[..., 0]
        return SegmentOutput(
            logits=logits,
            hidden=hidden,
            state=SegmentState(next_memory, tuple(new_cache) if cfg.has_cache else None, next_mask),
            attentions=attentions,
        )

    def _roll_cache(self, cached: Tensor | None, current: Tensor, empty: Tensor | None) -> Tensor:
        """The next XL cache of one layer: the last ``mem_len`` of ``[cached ; current]``, detached.
        A sample whose segment is all padding (``empty``) keeps its cache where it was, next to
        the following segment, its padded entries in front (and masked)."""
        seen = current if cached is None else torch.cat((cached, current), dim=1)
        rolled = seen[:, -self.cfg.mem_len :]
        if empty is not None and bool(empty.any()):
            kept = current if cached is None else torch.cat((current, cached), dim=1)
            rolled = torch.where(empty.view(-1, 1, 1), kept[:, -self.cfg.mem_len :], rolled)
        return rolled.detach()

    def _checked_cache(self, state: SegmentState, batch: int) -> tuple[tuple[Tensor, ...] | None, Tensor | None]:
        """The state's XL cache and its mask, after checking their shapes (None without a cache)."""
        cache = state.cache if self.cfg.has_cache else None
        if cache is None:
            return None, None
        d, layers = self.cfg.d_model, len(self.blocks)
        if not isinstance(cache, (tuple, list)) or len(cache) != layers:
            raise ValueError(
                f"state.cache has {len(cache) if isinstance(cache, (tuple, list)) else type(cache).__name__} "
                f"entries; expected a tuple of one [batch, length, {d}] tensor per layer ({layers})"
            )
        C = cache[0].shape[1] if cache[0].dim() == 3 else -1
        for c in cache:
            if c.dim() != 3 or c.shape != (batch, C, d):
                raise ValueError(
                    f"state.cache holds a tensor of shape {tuple(c.shape)}; expected [{batch}, length, "
                    f"{d}] in every layer, one length for all"
                )
        mask = state.cache_mask
        if mask is not None and (mask.dtype != torch.bool or mask.shape != (batch, C)):
            raise ValueError(
                f"state.cache_mask has shape {tuple(mask.shape)} and dtype {mask.dtype}; expected "
                f"[{batch}, {C}] of dtype torch.bool"
            )
        return tuple(cache), mask

    def extend(
        self, tokens: Tensor, state: SegmentState, past: list[Tensor] | None = None
    ) -> tuple[Tensor, list[Tensor]]:
        """Logits ``[B, n, V]`` of the next ``tokens [B, n]`` of the open segment, and the new
        ``past`` (per layer, the inputs at the read block and the segment's tokens so far;
        ``None`` opens the segment). Tokens never see the write block, so the logits equal
        :meth:`forward`'s on the whole open segment, up to rounding, without recomputing it:
        greedy decoding (:func:`rmt_lite.generate`) costs one position per new token."""
        cfg = self.cfg
        if cfg.encoder:
            raise ValueError("extend needs a decoder model (encoder=False)")
        _check_tokens(tokens, cfg.vocab_size)
        if past is not None and len(past) != len(self.blocks):
            raise ValueError(f"past has {len(past)} entries; expected one per layer ({len(self.blocks)})")
        M = cfg.num_mem_tokens if cfg.has_memory else 0
        h = self.embed(tokens) * math.sqrt(cfg.d_model)
        if past is None:
            h = torch.cat((state.memory, h), dim=1).to(h.dtype) if M else h
            past = [h[:, :0]] * len(self.blocks)
        cache, cache_mask = self._checked_cache(state, tokens.shape[0])
        C, P, n = (0 if cache is None else cache[0].shape[1]), past[0].shape[1], h.shape[1]
        blocked = attention_mask(M, P + n - M, C, write_mem=False, read_mem_from_cache=cfg.read_mem_from_cache)
        allowed = ~blocked[P:, : C + P + n].to(tokens.device)
        if cache_mask is not None:
            seen = torch.ones(tokens.shape[0], C + P + n, dtype=torch.bool, device=tokens.device)
            seen[:, :C] = cache_mask
            allowed = (allowed & seen[:, None, :])[:, None]  # [B, 1, rows, cols]
        rot = self._rope_rows(C, M, P + n - M, 0, h.device, h.dtype)
        new_past = []
        for i, block in enumerate(self.blocks):
            seen = past[i] if cache is None else torch.cat((cache[i], past[i]), dim=1)
            new_past.append(torch.cat((past[i], h), dim=1))
            h, _ = block(h, seen if seen.shape[1] else None, allowed, rot, False)
        hidden = self.ln_f(h)[:, -tokens.shape[1] :]
        return hidden @ self.embed.weight.t(), new_past

    def classify(self, output: SegmentOutput, token_mask: Tensor | None = None) -> Tensor:
        """Class logits ``[B, num_classes]`` (encoder mode): from the mean of the final memory
        slots when the model has memory, else from the mean of the last segment's real tokens."""
        if self.head is None:
            raise ValueError("classify needs encoder=True and num_classes >= 2 in the ModelConfig")
        if output.state.memory is not None:
            pooled = output.state.memory.mean(dim=1)
        elif token_mask is None:
            pooled = output.hidden.mean(dim=1)
        else:
            w = token_mask.to(output.hidden.dtype).unsqueeze(-1)
            pooled = (output.hidden * w).sum(1) / w.sum(1).clamp_min(1.0)
        return self.head(pooled)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
