"""The chapters' helpers: the code a notebook calls to pick, tabulate and prepare what it shows.

The book's floor: it imports the core (``rmt_lite.runs``, ``records``, ``evaluate``, ...), the
reproduction (``rmt_lite.repro``: experiments, claims, studies) and the figures (``..plots``);
nothing below imports it. One module per chapter (``longer`` 4, ``retrieval`` 3, ``equations`` 5,
``lm`` 6, ``memory`` 7, ``classification`` 8, ``needle`` 9, ``verdicts`` 10), ``synthetic`` for
what chapters 2-4 and 9 share (records of the algorithmic tasks, the paper's rows beside them),
``provenance`` for the line under every figure, ``parameters`` and ``tables`` for every notebook.
Training or reusing a run is the core's one policy, :func:`rmt_lite.runs.train_or_reuse`; the
figures only draw what these functions hand them; the sentences are written in the notebooks.
"""
