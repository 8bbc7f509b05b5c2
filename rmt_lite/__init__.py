"""rmt_lite: the Recurrent Memory Transformer family (Bulatov, Kuratov, Burtsev, NeurIPS 2022).

Nothing heavy happens at import time; the public pieces are re-exported here.
"""
from .config import VARIANTS, ModelConfig
from .model import MemoryTransformer, SegmentOutput, SegmentState, attention_mask
from .runner import RunOutput, generate, run_segments, segment_bounds
from .utils import get_device, git_sha, provenance, set_seed, versions

__all__ = [
    "VARIANTS", "ModelConfig", "MemoryTransformer", "SegmentOutput", "SegmentState", "attention_mask",
    "RunOutput", "generate", "run_segments", "segment_bounds", "get_device", "git_sha", "provenance", "set_seed", "versions",
]
