"""The needle memory's norm along the segments (issue 31)."""

import torch

from rmt_lite import MemoryTransformer
from rmt_lite.curriculum import make_task
from rmt_lite.repro import memory_norm
from rmt_lite.run_config import resolve


def test_one_row_per_segment_boundary_from_the_initial_memory_on():
    torch.manual_seed(0)
    cfg = resolve("needle", "rmt", "smoke")
    model = MemoryTransformer(cfg.model_config(make_task(cfg).vocab_size)).eval()
    norms = memory_norm.memory_norms(model, cfg, segments=5, n_samples=4)
    assert list(norms["segment"]) == [0, 1, 2, 3, 4, 5]
    assert (norms["norm"] > 0).all() and (norms["spread"] >= 0).all()
    first = model.init_state(1).memory.detach().norm(dim=-1).mean()
    assert abs(norms.loc[0, "norm"] - float(first)) < 1e-5  # the initial memory is the model's own
