"""Small helpers: device choice, seeding, provenance."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import torch

DEVICES = ("auto", "cpu", "cuda", "mps")


def get_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; an explicit name must be available."""
    if name not in DEVICES:
        raise ValueError(f"device={name!r} is not allowed: one of {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' is not available on this machine; use 'auto' or 'cpu'")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' is not available on this machine; use 'auto' or 'cpu'")
    return torch.device(name)


def set_seed(seed: int) -> torch.Generator:
    """Seed python and torch; return a fresh generator for data that must not share that stream."""
    random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def git_sha(short: bool = True) -> str:
    """The commit of the checkout this package was imported from ("unknown" outside git);
    a trailing "+dirty" marks uncommitted changes to tracked files outside ``results/`` (runs
    rewrite the summaries there as they finish; that is output, not code)."""
    root = Path(__file__).resolve().parent.parent
    try:
        args = ["git", "rev-parse", "--short", "HEAD"] if short else ["git", "rev-parse", "HEAD"]
        sha = subprocess.run(args, cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!results"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    """Versions of the packages a result depends on."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("torch", "numpy", "pandas", "rmt-book"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(profile: str, seed: int | str, device: str = "cpu", source: str = "this run") -> str:
    """One line for a figure or table: which profile, seed, commit and device produced it."""
    return f"{source}: profile={profile}, seed={seed}, commit {git_sha()}, torch {torch.__version__}, {device}"
