"""Long copy and reverse (paper Fig. 5): the sample grows while the segment stays fixed."""

from __future__ import annotations

from ...run_config import register
from .base import PAPER_SHORT, SEGMENT_CURRICULUM, merge, task_experiment

# Fig. 5 at CPU size: the segment and the memory (18 tokens each) stay fixed while the sample grows;
# the queue trains L = 18, 36 and 54 symbols (copy: 54, 108 and 162 tokens in 3, 6 and 9 segments;
# reverse: 36, 72 and 108 in 2, 4 and 6), so the memory holds up to 3 symbols a slot (the paper's
# 60 slots held 2 to 6: copy of 120 to 360 symbols). Measured (one thread, seed 0): with segments of
# 24 and 12 slots, rmt passed 0.99 on 2 segments (L=16) but stalled at 0.73 on 4 (L=32, 2.7 symbols
# a slot) and fell to chance on 6, at 0.85 s a step on 9 segments; 9 segments of 18 with 18 slots
# cost about as much, so L = 54 is the longest sample that trains within 30 minutes (1800 steps).
_LONG_CPU = merge(
    SEGMENT_CURRICULUM,
    dict(
        segment_len=18,
        mem_size=18,
        steps=1800,
        eval_interval=100,
        curriculum_mode="length",
        eval_size=128,
        test_size=500,
        batch_size=32,
    ),
)
register(
    task_experiment(
        "copy_long",
        "long copy, the sample grows at a fixed segment length (paper Fig. 5a: L=120-360, "
        "8 symbols, segments of 120; cpu: L=18-54, segments of 18)",
        "acc",
        smoke=dict(
            task=dict(length=12, num_symbols=8),
            segment_len=6,
            mem_size=2,
            curriculum=(2, 6),
            curriculum_mode="length",
            curriculum_threshold=0.0,
        ),
        cpu=merge(_LONG_CPU, dict(task=dict(length=36, num_symbols=8), curriculum=(1, 2, 4, 6))),
        paper=merge(
            PAPER_SHORT,
            dict(
                task=dict(length=240, num_symbols=8),
                segment_len=120,
                mem_size=60,
                batch_size=256,
                steps=300_000,
                eval_interval=40_000,
                patience=5,
                min_lr=1e-5,
            ),
        ),
        source="long_copy_reverse.csv (copy120/240/360, tgt_len 120, 60 memory tokens, batch 256)",
        length_factor=3,
        task_name="copy",
    )
)
register(
    task_experiment(
        "reverse_long",
        "long reverse, the sample grows at a fixed segment length (paper Fig. 5b: L=120, "
        "8 symbols, 2-6 segments; cpu: L=18-54, segments of 18)",
        "acc",
        smoke=dict(
            task=dict(length=8, num_symbols=8),
            segment_len=8,
            mem_size=2,
            curriculum=(1, 2),
            curriculum_mode="length",
            curriculum_threshold=0.0,
        ),
        cpu=merge(_LONG_CPU, dict(task=dict(length=36, num_symbols=8), curriculum=(1, 2, 4))),
        paper=merge(
            PAPER_SHORT,
            dict(
                task=dict(length=120, num_symbols=8),
                segment_len=60,
                mem_size=60,
                batch_size=128,
                steps=500_000,
                eval_interval=40_000,
            ),
        ),
        source="long_copy_reverse.csv (reverse120, tgt_len 60: 4 segments, 60 memory tokens)",
        length_factor=2,
        task_name="reverse",
    )
)
