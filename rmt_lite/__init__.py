"""rmt_lite: the Recurrent Memory Transformer family (Bulatov, Kuratov, Burtsev, NeurIPS 2022).

Nothing heavy happens at import time; the public pieces are re-exported here.
"""

from .config import VARIANTS, ModelConfig
from .evaluate import evaluate_classification, evaluate_stream, evaluate_task
from .experiments import EXPERIMENTS, MODELS, PROFILES, RunConfig, resolve
from .experiments import describe as describe_experiments
from .model import MemoryTransformer, SegmentOutput, SegmentState, attention_mask
from .records import RunRecord, load_history, load_records
from .runner import RunOutput, generate, run_segments, segment_bounds
from .trainer import Trainer, TrainingDiverged, load_model, train_experiment
from .utils import get_device, git_sha, provenance, set_seed, versions

__all__ = [
    "VARIANTS",
    "ModelConfig",
    "MemoryTransformer",
    "SegmentOutput",
    "SegmentState",
    "attention_mask",
    "RunOutput",
    "generate",
    "run_segments",
    "segment_bounds",
    "get_device",
    "git_sha",
    "provenance",
    "set_seed",
    "versions",
    # training and evaluation (rmt_lite.experiments, .trainer, .evaluate, .records); the command
    # line is ``python -m rmt_lite.train``
    "EXPERIMENTS",
    "MODELS",
    "PROFILES",
    "RunConfig",
    "describe_experiments",
    "resolve",
    "evaluate_classification",
    "evaluate_stream",
    "evaluate_task",
    "RunRecord",
    "load_history",
    "load_records",
    "Trainer",
    "TrainingDiverged",
    "load_model",
    "train_experiment",
]
