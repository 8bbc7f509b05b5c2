"""data_gen: the tasks and corpora of the RMT paper, generated or loaded offline.

Nothing is downloaded and no work is done at import time. See ``book/data.md`` for samples and for
how to point the loaders at the real enwik8, WikiText-103 and Hyperpartisan files.
"""
from .tasks import (  # noqa: F401
    TASKS, CopyTask, QuadraticCheckError, QuadraticTask, RetrievalTask, ReverseTask, Task, TaskBatch,
    answer_correct, check_quadratic_batch, check_quadratic_sample, make_task, render_quadratic,
)
