"""The curriculum arithmetic of task experiments: the data_gen task of a run, its sample length and
the stages (numbers of segments, segment lengths, sample lengths) a curriculum goes through."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .config import not_allowed as _err

if TYPE_CHECKING:
    from .run_config import RunConfig


def _adapt_curriculum(cfg: RunConfig) -> RunConfig:
    """A profile's curriculum ends at the profile's number of segments; when an override changes
    that number, keep the stages below the new one that still split the sample, then end at it."""
    S = sample_len(cfg)
    if cfg.segment_len > S:
        return cfg  # reported by _check_segments
    final = num_segments(S, cfg.segment_len)
    if cfg.curriculum[-1] == final:
        return cfg
    keep = []
    for n in cfg.curriculum:
        if n >= final:
            break
        if cfg.curriculum_mode == "segments" and num_segments(S, -(-S // n)) == n:
            keep.append(n)
        elif cfg.curriculum_mode == "length" and (n * cfg.segment_len) % cfg.spec.length_factor == 0:
            keep.append(n)
    stages_ = tuple(keep) + (final,)
    return dataclasses.replace(cfg, curriculum=stages_ if len(stages_) > 1 else ())


def make_task(cfg: RunConfig, length: int | None = None):
    """The data_gen task of a task experiment (``length`` replaces the task's length: curriculum)."""
    import data_gen

    own = cfg.spec.data
    if own is not None:  # data of your own has one sample length
        if length is not None and length != own.seq_len:
            raise _err("length", length, f"{own.seq_len}, the length of the samples of experiment {cfg.experiment!r}")
        return own
    params = dict(cfg.task)
    if length is not None:
        params["length"] = length
    return data_gen.make_task(cfg.spec.task_name, **params)


def sample_len(cfg: RunConfig) -> int:
    """Model input length of one sample of a task experiment."""
    return int(make_task(cfg).seq_len)


def num_segments(seq_len: int, segment_len: int) -> int:
    return -(-seq_len // segment_len)


def stages(cfg: RunConfig, seq_len: int) -> list[dict]:
    """The curriculum as a list of ``{"segments", "segment_len", "length"}`` (one entry without a
    curriculum). ``length`` is None unless the task grows (``curriculum_mode="length"``)."""
    final = num_segments(seq_len, cfg.segment_len)
    if not cfg.curriculum:
        return [dict(segments=final, segment_len=cfg.segment_len, length=None)]
    out = []
    for n in cfg.curriculum:
        if cfg.curriculum_mode == "segments":
            seg = -(-seq_len // n)
            out.append(dict(segments=n, segment_len=seg, length=None))
        else:
            out.append(
                dict(segments=n, segment_len=cfg.segment_len, length=n * cfg.segment_len // cfg.spec.length_factor)
            )
    return out


def _check_segments(cfg: RunConfig) -> None:
    S = sample_len(cfg)
    if cfg.segment_len > S:
        raise _err(
            "segment_len",
            cfg.segment_len,
            f"at most the sample length {S} (experiment "
            f"{cfg.experiment!r} with {', '.join(f'{k}={v}' for k, v in cfg.task.items()) or 'defaults'})",
        )
    final = num_segments(S, cfg.segment_len)
    c = cfg.curriculum
    if not c:
        return
    if c[-1] != final:
        raise _err(
            "curriculum",
            c,
            f"numbers of segments ending at {final}, the number of "
            f"{cfg.segment_len}-token segments in the {S}-token sample",
        )
    for n in c:
        if cfg.curriculum_mode == "segments":
            seg = -(-S // n)
            if n > S or num_segments(S, seg) != n:
                raise _err(
                    "curriculum", c, f"numbers of segments that split the {S}-token sample exactly ({n} does not)"
                )
        else:
            f = cfg.spec.length_factor
            if (n * cfg.segment_len) % f:
                raise _err(
                    "curriculum",
                    c,
                    f"numbers of segments n with n*segment_len divisible by {f} "
                    f"(the task length grows with n; {n} does not)",
                )
            if int(make_task(cfg, n * cfg.segment_len // f).seq_len) != n * cfg.segment_len:
                raise _err(
                    "curriculum_mode",
                    "length",
                    f"segments: task {cfg.spec.task_name!r} does not have seq_len = factor * length",
                )
