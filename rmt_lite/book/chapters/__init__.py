"""The chapters' helpers: the code a notebook calls to pick, tabulate and prepare what it shows.

This is the upper floor. It imports the library (``config``, ``model``, ``runner``, ``trainer``,
``evaluate``, ``experiments``, ``records``, ``paper``, ``claims``, ...) and ``plots``; nothing in
the library imports it. One module per chapter family (``synthetic`` for chapters 2-4,
``equations``, ``lm``, ``memory``, ``classification``) and ``runs`` for what they share: the one
policy for training or reusing a run, and the provenance line under every figure. ``plots`` only
draws what these functions hand it; the sentences are written in the notebooks.
"""
