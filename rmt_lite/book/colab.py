"""Run a chapter outside the repository (Colab): the set-up cell of every notebook calls :func:`setup`.

The cell installs the package from the book's repository, then :func:`setup` makes a shallow clone
of that repository at the book's branch, for what the package does not carry (``results/``: the
committed records, analyses and shipped weights), and moves into its ``notebooks/`` folder, so
that a chapter's ``RESULTS_DIR = "../results"`` resolves as it does in a checkout.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

WHERE = "/content/rmt-book"


def setup(url: str, branch: str, where: str | Path = WHERE) -> Path:
    """Clone ``url`` at ``branch`` into ``where`` (once; depth 1) and make its ``notebooks/`` the
    working directory. Returns the clone's folder."""
    where = Path(where)
    if not (where / ".git").is_dir():
        if where.exists() and any(where.iterdir()):
            raise ValueError(
                f"where={str(where)!r} is not allowed: it exists and is not a clone (an empty or new folder)"
            )
        done = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", "--branch", branch, url, str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"git clone of {url} at branch {branch!r} failed: {done.stderr.strip()}")
    os.chdir(where / "notebooks")
    return where
