"""data_gen: the tasks and corpora of the RMT paper, generated or loaded offline.

Nothing is downloaded and no work is done at import time. See ``book/data.md`` for samples and for
how to point the loaders at the real enwik8, WikiText-103 and Hyperpartisan files.
"""

from .classification import ClassificationData, bow_baseline, load_classification  # noqa: F401
from .corpora import (  # noqa: F401
    Corpus,
    DataError,
    DataFileNotFoundError,
    DataFormatError,
    load_corpus,
    stream_batches,
)
from .needle import NeedleTask  # noqa: F401
from .quadratic import (  # noqa: F401
    QuadraticCheckError,
    QuadraticTask,
    check_quadratic_batch,
    check_quadratic_sample,
    render_quadratic,
)
from .tasks import (  # noqa: F401
    TASKS,
    CopyTask,
    RetrievalTask,
    ReverseTask,
    Task,
    TaskBatch,
    answer_correct,
    make_task,
)

# the quadratic equations and the needle live in modules of their own; make_task knows them by name
TASKS[QuadraticTask.name] = QuadraticTask
TASKS[NeedleTask.name] = NeedleTask

__all__ = [
    "TaskBatch",
    "NeedleTask",
    "Task",
    "CopyTask",
    "ReverseTask",
    "RetrievalTask",
    "QuadraticTask",
    "TASKS",
    "make_task",
    "answer_correct",
    "check_quadratic_sample",
    "check_quadratic_batch",
    "render_quadratic",
    "QuadraticCheckError",
    "Corpus",
    "load_corpus",
    "stream_batches",
    "DataError",
    "DataFileNotFoundError",
    "DataFormatError",
    "ClassificationData",
    "load_classification",
    "bow_baseline",
]
