"""Long-document classification in encoder mode (paper section 4.4)."""

from __future__ import annotations

from ...run_config import Experiment, register
from .base import CPU, SMOKE, merge

# long-document classification (encoder mode, memory at the start); data_gen.load_classification
# arguments: None = the loader's default (not passed)
_SOTU = dict(dataset="sotu", label="era", split="president", min_count=2, max_vocab=None, fold=None)
_HYPERPARTISAN = dict(
    dataset="hyperpartisan",
    articles_xml=None,
    ground_truth_xml=None,
    test_articles_xml=None,
    test_ground_truth_xml=None,
    min_count=2,
    max_vocab=None,
)
# the task keys of each data set: an override of ``dataset`` switches to that data set's keys
CLASSIFICATION_TASKS = {"sotu": _SOTU, "hyperpartisan": _HYPERPARTISAN}
register(
    Experiment(
        "classification",
        "classification",
        "long-document classification (Hyperpartisan style; paper section 4.4)",
        "acc",
        True,
        profiles={
            "smoke": merge(SMOKE, dict(task=_SOTU, segment_len=32, max_segments=2, mem_size=2, target=None)),
            "cpu": merge(
                CPU,
                dict(
                    task=_SOTU,
                    segment_len=128,
                    max_segments=4,
                    mem_size=8,
                    batch_size=16,
                    steps=600,
                    eval_interval=100,
                    lr=5e-4,
                    eval_size=0,
                    test_size=0,
                    eval_batch_size=32,
                ),
            ),
            "paper": dict(
                task=_HYPERPARTISAN,
                segment_len=502,
                max_segments=4,
                mem_size=10,
                d_model=768,
                n_layers=12,
                n_heads=12,
                d_ff=3072,
                dropout=0.1,
                batch_size=32,
                lr=2e-5,
                weight_decay=0.01,
                clip=1.0,
                schedule="cosine",
                warmup_steps=100,
                min_lr=0.0,
                steps=3000,
                eval_interval=250,
                eval_size=0,
                test_size=0,
                eval_batch_size=16,
            ),
        },
        source="not in the CSVs: the paper fine-tuned RoBERTa-base (512-token window, 10 memory tokens); "
        "this is a from-scratch encoder of that size",
        datasets=CLASSIFICATION_TASKS,
    )
)
