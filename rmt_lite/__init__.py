"""rmt_lite: the Recurrent Memory Transformer family (Bulatov, Kuratov, Burtsev, NeurIPS 2022).

What this module exports is the core, the public API (book/api.md): the model (``config``,
``model``), the segment runner (``runner``), what a run is (``run_config``, ``curriculum``), the
trainer (``trainer``, ``regimes``, ``distributed``), run folders and the one train-or-reuse policy
(``runs``), evaluation and records. Above it, and never imported by it, are the reproduction
(``rmt_lite.repro``: the book's experiments, the queue, the claims, the studies) and the book
(``rmt_lite.book``: chapters, figures, the build); ``rmt_lite.tools`` (benchmarks, the peer
adapter) stands beside. The one exception is below: importing the package registers the book's
experiments (data only). Nothing heavy happens at import time.
"""

from .config import VARIANTS, ModelConfig
from .data import Batch, TaskData
from .evaluate import evaluate_classification, evaluate_stream, evaluate_task
from .model import MemoryTransformer, SegmentOutput, SegmentState, attention_mask
from .records import RunRecord, load_history, load_records

# the book's experiments join the registry: data only, the reproduction's machinery stays unimported
from .repro import experiments as _book_experiments  # noqa: E402,F401
from .run_config import EXPERIMENTS, MODELS, PROFILES, Experiment, RunConfig, register, resolve
from .run_config import describe as describe_experiments
from .runner import RunOutput, generate, run_segments, segment_bounds
from .runs import finished, load_model, save_model, train_experiment, train_or_reuse
from .trainer import Trainer, TrainingDiverged
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
    # training and evaluation (rmt_lite.run_config, .trainer, .runs, .evaluate, .records); the command
    # line is ``python -m rmt_lite.train``
    "EXPERIMENTS",
    "MODELS",
    "PROFILES",
    "RunConfig",
    "describe_experiments",
    "Experiment",
    "register",
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
    "train_or_reuse",
    "finished",
    "save_model",
    # data of your own
    "Batch",
    "TaskData",
]
