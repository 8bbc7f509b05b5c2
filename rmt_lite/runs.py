"""Run folders, their one owner: where a run lives and what it is called, whether it is finished, the
one policy that trains a run or reuses it, and the trained model read back from its folder."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from torch import nn

from .config import ModelConfig
from .distributed import barrier, device_name, setup_distributed
from .model import MemoryTransformer
from .records import (
    CHECKPOINT,
    CONFIG,
    MODEL_CONFIG,
    RECORD,
    RUN_LOCK,
    RUN_OWNER,
    SAVED,
    WEIGHTS,
    RunRecord,
    atomic_write_json,
    default_results_dir,
    in_summary,
    remove_stale_temporaries,
    repo_root,
    run_lock,
    write_summary,
)
from .run_config import RunConfig, resolve
from .trainer import Trainer, TrainingDiverged, config_diff, read_checkpoint, same_config
from .utils import get_device, git_sha, versions


# ------------------------------------------------------------------------------------------------
# where results go
def default_out_dir(profile: str) -> Path:
    """``results/`` of the checkout for real runs; ``runs/smoke/`` (git-ignored) for smoke runs."""
    root = default_results_dir()
    return root.parent / "runs" / "smoke" if profile == "smoke" else root


def _committed_results_dir() -> Path:
    return default_results_dir().resolve()


def default_run_id(cfg: RunConfig) -> str:
    """``<model>-<profile>-s<seed>`` plus the settings that differ from the profile, e.g.
    ``rmt-cpu-s0-segment_len12-mem_size4`` (a hash when that would be long)."""
    base = resolve(cfg.experiment, cfg.model, cfg.profile, cfg.seed).to_dict()
    mine = cfg.to_dict()
    diff = {}
    for k, v in mine.items():
        if k == "task":
            diff.update({tk: tv for tk, tv in v.items() if base["task"].get(tk) != tv})
        elif base[k] != v:
            diff[k] = v
    rid = f"{cfg.model}-{cfg.profile}-s{cfg.seed}"
    if diff:
        parts = "-".join(
            f"{k}{'none' if v is None else ','.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in sorted(diff.items())
        )
        parts = re.sub(r"[^A-Za-z0-9_.,=+-]", "_", parts)
        rid += "-" + (parts if len(parts) <= 48 else "x" + cfg.fingerprint())
    return rid


def _check_run_name(name: str) -> None:
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.,=+-]*", name) or name in (".", ".."):
        raise ValueError(f"run_name={name!r} is not allowed: letters, digits and _.,=+- (no path separators)")


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def train_experiment(
    experiment: str,
    model: str = "rmt",
    profile: str = "cpu",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    *,
    out_dir: str | Path | None = None,
    run_name: str | None = None,
    device: str = "auto",
    progress: bool = False,
    rerun: bool = False,
    log: Callable[[str], None] | None = None,
    build_model: Callable[[ModelConfig, RunConfig], nn.Module] | None = None,
    implementation: str = "rmt_lite",
) -> RunRecord:
    """Train (or resume, or load) one run and return its :class:`RunRecord`.

    - the run lives in ``<out_dir>/<experiment>/<run_name>/`` (``out_dir``: ``results/`` of the
      checkout, ``runs/smoke/`` for the smoke profile, which may never write into ``results/``;
      ``run_name``: :func:`default_run_id`);
    - a finished run with the same config is loaded, not retrained (``rerun=True`` retrains);
    - a run with a checkpoint resumes from it (bit-identical to an uninterrupted run on CPU);
    - a folder holding a run with another config is refused (ValueError); so is any bad input,
      before anything is written;
    - under ``torchrun`` every process calls this; rank 0 writes;
    - ``build_model`` replaces MemoryTransformer by another implementation of its segment
      interface (:mod:`rmt_lite.tools.peer`), named by ``implementation`` in the record.
    """
    cfg = resolve(experiment, model, profile, seed, overrides)
    out = Path(out_dir) if out_dir is not None else default_out_dir(profile)
    if profile == "smoke" and _inside(out, _committed_results_dir()):
        raise ValueError(
            f"out_dir={str(out)!r} is not allowed for profile='smoke': smoke runs never write into "
            f"the committed results ({_committed_results_dir()}); use runs/ or a temporary folder"
        )
    rid = run_name if run_name is not None else default_run_id(cfg)
    _check_run_name(rid)
    run_dir = out / experiment / rid
    for folder in (out, out / experiment, run_dir):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"out_dir={str(out)!r} is not allowed: {folder} exists and is not a folder")
    cfg_path, rec_path, ck_path = run_dir / CONFIG, run_dir / RECORD, run_dir / CHECKPOINT
    if cfg_path.exists() and not rerun:
        try:
            saved = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(
                f"{cfg_path} is damaged ({e}); delete {run_dir} to train the run again, or pass --rerun"
            ) from None
        if not isinstance(saved, dict):
            raise ValueError(f"{cfg_path} is damaged (not a configuration); delete {run_dir} or pass --rerun")
        if not same_config(saved, cfg.to_dict()):
            raise ValueError(
                f"out_dir={str(out)!r} is not allowed for this run: {run_dir} holds a run with another "
                f"config (differs in {config_diff(saved, cfg.to_dict())}); allowed: a folder without a "
                "run, or one holding this config (use another out_dir or run_name, or rerun=True / "
                "--rerun to replace it)"
            )
    if rec_path.exists() and not rerun:
        record = RunRecord.load(rec_path)
        if not in_summary(out, experiment, rid):  # killed between its record and the summary: repair
            with contextlib.suppress(OSError):  # a folder that may not be written still loads its runs
                write_summary(out, experiment)
        (log or print)(
            f"{experiment}/{rid}: finished run found at {rec_path}; loaded, not retrained (rerun=True / "
            "--rerun retrains)"
        )
        return record

    rank, world, dev, created = setup_distributed(device)
    held = contextlib.ExitStack()
    try:
        if rank == 0:  # one training process per run folder
            held.enter_context(run_lock(run_dir))
        trainer = Trainer(
            cfg,
            device=dev,
            run_dir=run_dir,
            progress=progress,
            log=log,
            rank=rank,
            world=world,
            build_model=build_model,
        )
        if rerun and rank == 0:
            for p in (rec_path, ck_path):
                p.unlink(missing_ok=True)
        elif ck_path.exists():
            try:
                trainer.load_checkpoint(ck_path)
            except ValueError as e:
                raise ValueError(f"{e}; rerun=True (--rerun on the command line) trains the run again") from None
            trainer.log(f"resumed {experiment}/{rid} from step {trainer.step} ({ck_path})")
        if rank == 0:  # what a killed writer left half-written in this folder
            remove_stale_temporaries(run_dir)
        barrier(world)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        sha = git_sha()  # the code this process loaded, not later edits
        if rank == 0:
            atomic_write_json(cfg_path, cfg.to_dict())
        try:
            metrics = trainer.fit()
        except TrainingDiverged:
            if rank == 0 and not ck_path.exists():  # nothing worth keeping: leave no half-made run
                for p in (cfg_path, run_dir / RUN_OWNER, run_dir / RUN_LOCK):
                    p.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    run_dir.rmdir()
            raise
        trainer.save_checkpoint()
        record = RunRecord(
            run_id=rid,
            experiment=experiment,
            model=model,
            profile=profile,
            seed=seed,
            config=cfg.to_dict(),
            metrics=metrics,
            history=trainer.history,
            steps=trainer.step,
            stop_reason=trainer.stop_reason,
            wall_time_s=round(trainer.elapsed, 2),
            resumed=trainer.resumed,
            num_parameters=trainer.model.num_parameters(),
            git_sha=sha,
            versions=versions(),
            device=device_name(dev),
            world_size=world,
            started=started,
            implementation=implementation,
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            run_dir=str(run_dir),
        )
        if rank == 0:
            record.save(rec_path)
            write_summary(out, experiment)
            shown = {k: v for k, v in metrics["test"].items() if isinstance(v, float)}
            trainer.log(
                f"{experiment} {model} {profile} s{seed} | done ({trainer.stop_reason}) after {trainer.step} "
                f"steps, {record.wall_time_s:.0f}s | test "
                + " ".join(f"{k} {v:.4f}" for k, v in shown.items())
                + f" | record {rec_path}"
            )
        barrier(world)
        return record
    finally:
        held.close()
        if created:
            import torch.distributed as dist

            dist.destroy_process_group()


def finished(run_dir: str | Path, config: dict | None = None) -> bool:
    """Whether ``run_dir`` holds a finished run with its trained model (the record, and the checkpoint
    or the half-precision weights shipped with the committed results); given ``config``, a run of
    that very config (its saved config.json the same)."""
    run_dir = Path(run_dir)
    if not (run_dir / RECORD).exists() or not any((run_dir / f).exists() for f in (CHECKPOINT, SAVED, WEIGHTS)):
        return False
    if config is None:
        return True
    return (run_dir / CONFIG).exists() and same_config(json.loads((run_dir / CONFIG).read_text()), config)


def train_or_reuse(
    experiment: str,
    model: str = "rmt",
    profile: str = "smoke",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    *,
    results_dir: str | Path | None = None,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> tuple[RunRecord, Path]:
    """The finished run of one configuration and its folder, trained here only when it cannot be
    reused. Returns ``(record, run_dir)``; ``rmt_lite.load_model(run_dir)`` gives its model.

    The one policy of the chapters and the studies:

    * a ``smoke`` run is trained again each time, under ``runs/smoke/`` (it takes seconds, and it
      always shows the code of the checkout);
    * a run of another profile is reused when its folder holds the record, the same config and
      the trained model (its checkpoint, or the half-precision weights shipped with the committed
      results), looked for first in ``results_dir`` (the committed results), then in
      ``runs/<profile>/``;
    * otherwise it is trained, or resumed from its checkpoint, under ``runs/<profile>/`` of the
      checkout. A chapter never writes into the committed results: records there come from
      ``make reproduce`` on a clean checkout, so that they name clean code.
    """
    cfg = resolve(experiment, model, profile, seed, overrides)  # refuses bad input before anything is written
    rid = default_run_id(cfg)
    local = (repo_root() or Path.cwd()) / "runs" / profile
    if profile != "smoke":
        for root in ([Path(results_dir)] if results_dir is not None else []) + [local]:
            if finished(root / experiment / rid, cfg.to_dict()):
                record = RunRecord.load(root / experiment / rid / RECORD)
                (log or print)(f"{experiment}/{rid}: reused the finished run in {root}")
                return record, root / experiment / rid
    record = train_experiment(
        experiment,
        model,
        profile,
        seed,
        overrides,
        out_dir=local,
        device=device,
        progress=False,
        rerun=profile == "smoke" or (local / experiment / rid / RECORD).exists(),
        log=log,
    )
    return record, local / experiment / rid


def save_model(model: MemoryTransformer, folder: str | Path, *, half: bool = False) -> Path:
    """Write ``model`` into ``folder``: its :class:`ModelConfig` as ``model_config.json`` and its
    weights as ``model.safetensors``, a format whose reading runs no code; ``half``: in float16 (a
    quarter of a checkpoint, small enough to commit). :func:`load_model` reads it back. Returns the
    weights' path."""
    import copy

    from safetensors.torch import save_model as write

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / MODEL_CONFIG, model.cfg.to_dict())
    keep = copy.deepcopy(model).cpu().half() if half else model
    tmp = folder / f".{SAVED}.partial"
    write(keep, str(tmp))  # written whole, then renamed: never half a file under the real name
    tmp.replace(folder / SAVED)
    return folder / SAVED


def load_model(folder: str | Path, device: str = "cpu") -> tuple[MemoryTransformer, RunConfig | None]:
    """The trained model in ``folder`` (float32, in eval mode) and its :class:`RunConfig`: a run
    folder's checkpoint, else the ``model.safetensors`` of :func:`save_model` (the weights shipped
    with the committed results too), else the ``weights.pt`` shipped before it. Checkpoints are read
    with ``weights_only=True``; the RunConfig is None for a model saved on its own."""
    folder = Path(folder)
    found = next((name for name in (CHECKPOINT, SAVED, WEIGHTS) if (folder / name).exists()), None)
    if found is None:
        raise ValueError(
            f"folder={str(folder)!r} is not allowed: it holds none of {CHECKPOINT}, {SAVED} (save_model) or {WEIGHTS}"
        )
    if found == SAVED:
        from safetensors.torch import load_model as read

        model = MemoryTransformer(ModelConfig.from_dict(json.loads((folder / MODEL_CONFIG).read_text())))
        read(model, str(folder / SAVED))  # copies into float32 parameters: a float16 file comes back as float32
        saved = folder / CONFIG
        cfg = RunConfig.from_dict(json.loads(saved.read_text())) if saved.exists() else None
    else:
        ck = read_checkpoint(folder / found)
        cfg = RunConfig.from_dict(json.loads(ck["config"]))
        model = MemoryTransformer(ModelConfig.from_dict(json.loads(ck["model_config"])))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["model"].items()})
    return model.to(get_device(device)).eval(), cfg


def ship_weights(run_dir: str | Path) -> Path:
    """Write ``model.safetensors`` (:func:`save_model`, in half precision) beside a finished run's
    checkpoint, small enough to commit, so that an analysis of the run works on a fresh clone
    (:func:`load_model` falls back to it)."""
    run_dir = Path(run_dir)
    if not (run_dir / RECORD).exists() or not (run_dir / CHECKPOINT).exists():
        raise ValueError(f"run_dir={str(run_dir)!r} is not allowed: a finished run with its {RECORD} and {CHECKPOINT}")
    model, _ = load_model(run_dir)
    return save_model(model, run_dir, half=True)
