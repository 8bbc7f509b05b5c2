"""Run records: one JSON file per run and one aggregate CSV per experiment (design notes, book/design.md, section 5).

Layout under a results folder::

    <results>/<experiment>/<run_id>/record.json    the record of one finished run
    <results>/<experiment>/<run_id>/config.json    its configuration (written when the run starts)
    <results>/<experiment>/<run_id>/checkpoint.pt  resumable state (not committed)
    <results>/<experiment>/<run_id>/model.safetensors  the trained model in half precision (with
                                                   model_config.json), committed for the few runs an
                                                   analysis reloads (runs.ship_weights)
    <results>/<experiment>/summary.csv             one row per record, rebuilt after every run

Every file is written to a temporary file in the same folder and renamed over the target, so a
killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

RECORD = "record.json"
CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
WEIGHTS = "weights.pt"  # shipped weights before model.safetensors; still read
SAVED = "model.safetensors"
MODEL_CONFIG = "model_config.json"
SUMMARY = "summary.csv"
SUMMARY_LOCK = ".summary.csv.lock"  # held while summary.csv is rebuilt (not committed)
RUN_LOCK, RUN_OWNER = ".run.lock", ".run.owner"  # held while a process trains in a run folder
TMP_SUFFIX = ".tmp"  # atomic writes go through hidden ".<name>.<random>.tmp" files


# ------------------------------------------------------------------------------------------------
def repo_root() -> Path | None:
    """The checkout this package lives in (None for a non-editable install)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").exists() else None


def default_results_dir() -> Path:
    """The committed results folder: ``results/`` of the checkout (of the working directory for a
    non-editable install), wherever the caller runs from (notebooks run in ``notebooks/``)."""
    return (repo_root() or Path.cwd()) / "results"


# ------------------------------------------------------------------------------------------------
def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as e:  # a read-only or forbidden folder: name the file meant, not the temporary one
        raise OSError(e.errno, e.strerror, str(path)) from e
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result file is ordinary
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.filename in (None, tmp):  # a full disk names no file
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise


class RunInUse(RuntimeError):
    """Another living process is training in this run folder."""


@contextlib.contextmanager
def run_lock(run_dir: str | Path):
    """Hold ``run_dir`` for one training process: a second one refuses with a message that names the
    holder. The lock is the operating system's, so a killed holder's lock is free at once."""
    from filelock import FileLock, Timeout

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    owner = run_dir / RUN_OWNER
    lock = FileLock(run_dir / RUN_LOCK, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        holder = owner.read_text().strip() if owner.exists() else "another process"
        raise RunInUse(
            f"{run_dir} is being trained by {holder}; wait for it to finish (a finished run is then loaded, "
            "not retrained) or stop it, then run the same command again"
        ) from None
    try:
        owner.write_text(f"process {os.getpid()} on {platform.node()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        yield
    finally:
        with contextlib.suppress(OSError):
            owner.unlink()
        lock.release()


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files a killed process left in ``folder`` (one writer per run folder:
    call it before a run starts writing there); returns what was deleted."""
    stale = sorted(Path(folder).glob(f".*{TMP_SUFFIX}"))
    for p in stale:
        with contextlib.suppress(OSError):
            p.unlink()
    return stale


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n")


def atomic_torch_save(path: str | Path, obj: Any) -> None:
    """``torch.save`` through a temporary file and an atomic rename."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _jsonable(obj: Any) -> Any:
    """JSON cannot hold NaN/inf: they become strings, so that a record always parses."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


# ------------------------------------------------------------------------------------------------
_REQUIRED = {
    "run_id": str,
    "experiment": str,
    "model": str,
    "profile": str,
    "seed": int,
    "config": dict,
    "metrics": dict,
}


@dataclass
class RunRecord:
    """What one finished run leaves behind (with provenance)."""

    run_id: str
    experiment: str
    model: str
    profile: str
    seed: int
    config: dict  # RunConfig.to_dict()
    metrics: dict  # {"test": {...}, "valid": {...}} at the end of training
    history: list = field(default_factory=list)  # one dict per evaluation: step, stage, metrics
    steps: int = 0
    stop_reason: str = ""
    wall_time_s: float = 0.0  # training + evaluation time, summed over resumed pieces
    resumed: int = 0  # how many times the run was resumed from a checkpoint
    num_parameters: int = 0
    git_sha: str = ""
    versions: dict = field(default_factory=dict)
    device: str = ""
    world_size: int = 1
    started: str = ""
    finished: str = ""
    run_dir: str = ""
    implementation: str = "rmt_lite"  # or the peer's name (rmt_lite.tools.peer)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> RunRecord:
        """The record in ``path``; a damaged file raises a ValueError that names it and what to do."""
        path = Path(path)
        advice = f"delete {path.parent} to train that run again"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path} is damaged ({e.__class__.__name__}: {e}); {advice}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path} is damaged (a JSON {type(data).__name__}, not a record); {advice}")
        wrong = [
            f"{k} ({'missing' if k not in data else type(data[k]).__name__})"
            for k, kind in _REQUIRED.items()
            if not isinstance(data.get(k), kind) or isinstance(data.get(k), bool)
        ]
        if wrong:
            raise ValueError(f"{path} is damaged (not a run record: {', '.join(wrong)}); {advice}")
        return cls.from_dict(data)

    def flat(self) -> dict:
        """One row: identity, headline config, ``test_*`` and ``valid_*`` metrics, provenance."""
        cfg = self.config
        row = dict(
            run_id=self.run_id, experiment=self.experiment, model=self.model, profile=self.profile, seed=self.seed
        )
        for key in (
            "segment_len",
            "mem_size",
            "bptt_depth",
            "n_layers",
            "d_model",
            "batch_size",
            "steps",
            "lr",
            "warmup_steps",
            "mem_init",
            "mem_init_std",
            "mem_pos_gap",
            "target",
        ):
            row[key] = cfg.get(key)
        row["num_segments"] = self.metrics.get("segments")
        row["seq_len"] = self.metrics.get("seq_len")
        row["curriculum"] = ",".join(map(str, cfg.get("curriculum") or []))
        if cfg.get("curriculum_waits"):  # a column only where a run used it: the summaries before stay as they were
            row["curriculum_waits"] = True
        row.update(cfg.get("task", {}))
        for split in ("test", "valid"):
            for k, v in (self.metrics.get(split) or {}).items():
                row[f"{split}_{k}"] = v
        row.update(
            steps_done=self.steps,
            stop_reason=self.stop_reason,
            wall_time_s=self.wall_time_s,
            num_parameters=self.num_parameters,
            git_sha=self.git_sha,
            device=self.device,
            world_size=self.world_size,
            torch=self.versions.get("torch"),
            finished=self.finished,
            implementation=self.implementation,
        )
        return row


# ------------------------------------------------------------------------------------------------
def record_paths(results: str | Path, experiment: str | None = None) -> list[Path]:
    root = Path(results)
    pattern = f"{experiment}/*/{RECORD}" if experiment else f"*/*/{RECORD}"
    return sorted(root.glob(pattern))


def read_records(results: str | Path, experiment: str | None = None) -> list[RunRecord]:
    return [RunRecord.load(p) for p in record_paths(results, experiment)]


def write_summary(results: str | Path, experiment: str) -> Path:
    """Rebuild ``<results>/<experiment>/summary.csv`` from every record of the experiment, under a
    file lock: two runs finishing together each read every record after the other's is written."""
    import pandas as pd
    from filelock import FileLock

    path = Path(results) / experiment / SUMMARY
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.parent / SUMMARY_LOCK):
        rows = [r.flat() for r in read_records(results, experiment)]
        atomic_write_text(path, pd.DataFrame(rows).to_csv(index=False))
    return path


def in_summary(results: str | Path, experiment: str, run_id: str) -> bool:
    """Whether ``<results>/<experiment>/summary.csv`` has a row for ``run_id`` (no file: False)."""
    import csv

    try:
        with (Path(results) / experiment / SUMMARY).open(newline="", encoding="utf-8") as f:
            return any(row.get("run_id") == run_id for row in csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError):
        return False


def load_records(
    results_dir: str | Path | None = None, experiment: str | None = None, *, profile: str | None = None
) -> Any:
    """A pandas DataFrame with one row per finished run under ``results_dir`` (default: the
    committed :func:`default_results_dir`), see :meth:`RunRecord.flat`: identity (experiment, model, profile, seed),
    headline config, ``test_*``/``valid_*`` metrics and provenance. Empty (no rows) when nothing has
    been recorded yet."""
    import pandas as pd

    root = results_dir if results_dir is not None else default_results_dir()
    df = pd.DataFrame([r.flat() for r in read_records(root, experiment)])
    if profile is not None and len(df):
        df = df[df["profile"] == profile].reset_index(drop=True)
    return df


def load_history(
    results_dir: str | Path | None = None, experiment: str | None = None, *, profile: str | None = None
) -> Any:
    """Training curves: one row per evaluation of every run (columns run_id, model, profile,
    seed, step, stage, segments and the validation metrics), ready for
    :func:`rmt_lite.book.plots.plot_training_curves`."""
    import pandas as pd

    rows = []
    root = results_dir if results_dir is not None else default_results_dir()
    for r in read_records(root, experiment):
        if profile is not None and r.profile != profile:
            continue
        for h in r.history:
            rows.append(
                dict(run_id=r.run_id, experiment=r.experiment, model=r.model, profile=r.profile, seed=r.seed, **h)
            )
    return pd.DataFrame(rows)
