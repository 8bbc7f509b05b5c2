"""An independent RMT implementation behind our segment interface, for controlled comparisons.

The peer is ``recurrent-memory-transformer-pytorch==0.7.0`` (lucidrains). It is never a dependency
of the project: ``make bench`` installs it into ``.bench-peer/`` (git-ignored), and everything
here says why when it is missing. :class:`PeerSegmentModel` gives it the interface of
:class:`rmt_lite.MemoryTransformer` (one segment per call, a :class:`SegmentState` between calls,
``extend`` for greedy decoding), so that our trainer, data and evaluation drive it unchanged:
``python -m rmt_lite.tools.peer --seed 0`` trains it on one-segment retrieval (chapter 3).

How it differs from ``rmt_lite`` at the same sizes (its defaults, as the bench uses them): memory
slots start from N(0, 0.02) and a separate read-memory embedding is added to the incoming memory;
every memory slot sits at rotary position 0 and the text at 10000 and after (a position range of
its own); a null key lets a query attend to nothing; RMSNorm, a GEGLU feed-forward, an untied
output layer, value residuals from the first layer, and a tenth of the gradient reaching the token
embeddings.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from ..config import ModelConfig
from ..model import SegmentOutput, SegmentState

PEER_PACKAGE = "recurrent-memory-transformer-pytorch==0.7.0"
PEER_DEPS = "hyper-connections==0.1.15 einops==0.8.2"
PEER_DIR = ".bench-peer"  # where `make bench` installs the peer (ignored by git)
IMPLEMENTATION = "recurrent-memory-transformer-pytorch 0.7.0"
REPO = Path(__file__).resolve().parents[2]


def load_peer():
    """The peer's classes, or the reason why not. Looks in ``.bench-peer/`` first."""
    peer_dir = REPO / PEER_DIR
    if peer_dir.is_dir() and str(peer_dir) not in sys.path:
        sys.path.append(str(peer_dir))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from recurrent_memory_transformer_pytorch import (
                RecurrentMemoryTransformer,
                RecurrentMemoryTransformerWrapper,
            )
    except ImportError as e:
        return None, (
            f"peer not installed ({e}); `make bench` installs {PEER_PACKAGE} into {PEER_DIR}/ "
            f"(pip install --no-deps --target {PEER_DIR} {PEER_PACKAGE} {PEER_DEPS})"
        )
    return (RecurrentMemoryTransformer, RecurrentMemoryTransformerWrapper), ""


def peer_settings(cfg: ModelConfig, segment_len: int) -> dict:
    """The peer's arguments for our sizes: same width, depth and heads; ``ff_mult=2`` (a GEGLU of
    width 170, the parameter count of our 256-wide GELU feed-forward at d_model 128); no XL
    memories; rotary positions; SDPA attention; plain residuals."""
    if not cfg.has_memory or cfg.variant != "rmt" or cfg.encoder:
        raise ValueError(f"variant={cfg.variant!r} is not allowed for the peer: a decoder rmt with memory tokens")
    return dict(
        dim=cfg.d_model,
        num_tokens=cfg.vocab_size,
        depth=cfg.n_layers,
        num_memory_tokens=cfg.num_mem_tokens,
        seq_len=segment_len,
        heads=cfg.n_heads,
        dim_head=cfg.d_model // cfg.n_heads,
        ff_mult=cfg.d_ff // cfg.d_model,
        use_xl_memories=False,
        abs_pos_emb=False,
        rotary_pos_emb=True,
        use_flash_attn=True,
        num_residual_streams=1,
    )


class PeerSegmentModel(nn.Module):
    """The peer's ``RecurrentMemoryTransformer``, one segment per call, as our models are called."""

    def __init__(self, cfg: ModelConfig, segment_len: int):
        super().__init__()
        classes, why = load_peer()
        if classes is None:
            raise RuntimeError(why)
        self.cfg = cfg
        self.peer = classes[0](**peer_settings(cfg, segment_len))

    def init_state(self, batch_size: int) -> SegmentState:
        return SegmentState(memory=None)  # the peer's first segment reads its own learned slots

    def forward(
        self,
        tokens: Tensor,
        state: SegmentState | None = None,
        token_mask: Tensor | None = None,
        return_attention: bool = False,
    ) -> SegmentOutput:
        if token_mask is not None or return_attention:
            raise ValueError("token_mask and return_attention are not supported by the peer adapter")
        memory = None if state is None else state.memory
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logits, write_memories, _ = self.peer(tokens, memory)
        # the peer returns logits, not its final hidden states; nothing in a task run reads them
        return SegmentOutput(logits=logits, hidden=logits, state=SegmentState(memory=write_memories))

    def extend(
        self, tokens: Tensor, state: SegmentState, past: list[Tensor] | None = None
    ) -> tuple[Tensor, list[Tensor]]:
        """Greedy decoding's interface: the open segment is recomputed whole (slow, and exact)."""
        seen = tokens if past is None else torch.cat((past[0], tokens), dim=1)
        return self(seen, state).logits[:, -tokens.shape[1] :], [seen]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rmt_lite.tools.peer",
        description="Train the peer RMT on one-segment retrieval (experiment retrieval_study, chapter 3) with our "
        "data, optimiser, schedule and evaluation; the record lands beside ours as peer-rmt-<profile>-s<seed>.",
    )
    parser.add_argument("--seed", type=int, action="append", help="seed (repeatable; default 0, 1 and 2)")
    parser.add_argument("--profile", default="cpu", choices=("smoke", "cpu"))
    parser.add_argument("--out", default=None, help="results folder (default results/, smoke: runs/smoke/)")
    args = parser.parse_args(argv)
    classes, why = load_peer()
    if classes is None:
        parser.error(why)
    from ..runs import train_experiment

    for seed in args.seed or (0, 1, 2):
        if seed < 0:
            parser.error(f"--seed {seed} is not allowed: an integer >= 0")
        train_experiment(
            "retrieval_study",
            "rmt",
            args.profile,
            seed,
            out_dir=args.out,
            run_name=f"peer-rmt-{args.profile}-s{seed}",
            implementation=IMPLEMENTATION,
            build_model=lambda cfg, run: PeerSegmentModel(cfg, run.segment_len),
        )
    return 0


if __name__ == "__main__":
    from ..cli import run

    sys.exit(run(main))
