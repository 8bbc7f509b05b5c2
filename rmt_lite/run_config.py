"""What one run is: :class:`RunConfig` (every setting of a training run), :class:`Experiment` (a task
with its metric and profiles), the registry of experiments, and :func:`resolve`, which turns an
experiment, a model variant, a profile and overrides into a validated RunConfig. The book's own
experiments are registered by :mod:`rmt_lite.repro.experiments`; one of your own by :func:`register`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

from .config import ENCODER_VARIANTS, REGISTRY, VARIANTS, ModelConfig
from .config import not_allowed as _err
from .curriculum import _adapt_curriculum, _check_segments, sample_len

PROFILES = ("smoke", "cpu", "paper")
MODELS = VARIANTS
KINDS = ("task", "lm", "classification")
SCHEDULES = ("constant", "cosine", "plateau")
CURRICULUM_MODES = ("segments", "length")
MAX_SEED = 2**63  # torch seeds its generators with 64-bit integers


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run (except the device and the output folder).

    ``task`` holds the data parameters: task-generator arguments (``length``, ``num_symbols``,
    ``num_pairs``) for algorithmic tasks, ``corpus``/``corpus_path`` for language modelling,
    ``dataset``/``dataset_path`` for classification.
    """

    experiment: str
    model: str
    profile: str
    seed: int = 0
    task: dict = field(default_factory=dict)
    # segments and memory
    segment_len: int = 24
    mem_size: int = 8
    read_mem_from_cache: bool = True  # rmt_xl only (the paper's runs had it on)
    mem_init: str = "distinct"
    mem_init_std: float = 1.0  # scale of the initial memory (ModelConfig.mem_init_std)
    mem_pos_gap: int = 0  # positions between memory and text (ModelConfig.mem_pos_gap)
    bptt_depth: int | None = None  # None = full BPTT (per-sample tasks); LM needs an int
    checkpoint_segments: bool = False
    max_segments: int = 4  # classification: documents are cut to this many segments
    # backbone
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 256
    dropout: float = 0.0
    # optimisation
    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip: float = 1.0  # max gradient norm; 0 = no clipping
    schedule: str = "cosine"
    warmup_steps: int = 0
    min_lr: float = 0.0
    decay_rate: float = 0.5  # plateau: factor on a plateau
    patience: int = 8  # plateau: evaluations without improvement of valid loss
    # evaluation, curriculum, early stopping
    eval_interval: int = 100
    eval_size: int = 256  # validation samples (LM: tokens of the valid stream, 0 = all)
    test_size: int = 1000  # test samples (LM: tokens of the test stream, 0 = all)
    eval_batch_size: int = 256
    curriculum: tuple = ()  # numbers of segments, e.g. (1, 2, 3); () = none
    curriculum_mode: str = "segments"  # "segments": fixed sample, shorter segments; "length": fixed
    # segment, longer sample (copy/reverse)
    curriculum_threshold: float = 0.99  # move on when the valid metric reaches it (or when the
    # stage's share of the first half of `steps` is used up, unless curriculum_waits)
    curriculum_waits: bool = False  # True: a stage ends only when it reaches the threshold, however
    # long that takes (the run may never reach the last stage; it is tested there all the same)
    target: float | None = None  # stop early once the final stage reaches it
    amp: bool = True  # bf16 autocast, on CUDA only

    # --------------------------------------------------------------------------------------------
    @property
    def spec(self) -> Experiment:
        """The registered :class:`Experiment` this run belongs to."""
        if self.experiment not in EXPERIMENTS:
            raise _err(
                "experiment",
                self.experiment,
                f"a registered experiment ({', '.join(EXPERIMENTS) or 'none registered'}); "
                "register(Experiment(...)) adds one",
            )
        return EXPERIMENTS[self.experiment]

    @property
    def kind(self) -> str:
        return self.spec.kind

    def model_config(self, vocab_size: int, num_classes: int = 0) -> ModelConfig:
        """The :class:`ModelConfig` of this run for a data set of ``vocab_size`` tokens."""
        v = self.model
        return ModelConfig(
            variant=v,
            vocab_size=vocab_size,
            d_model=self.d_model,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            d_ff=self.d_ff,
            dropout=self.dropout,
            num_mem_tokens=self.mem_size if REGISTRY[v].memory else 0,
            mem_len=self.mem_size if REGISTRY[v].cache else 0,
            read_mem_from_cache=self.read_mem_from_cache if REGISTRY[v].memory and REGISTRY[v].cache else False,
            mem_init=self.mem_init,
            mem_init_std=self.mem_init_std,
            mem_pos_gap=self.mem_pos_gap,
            encoder=self.kind == "classification",
            num_classes=num_classes if self.kind == "classification" else 0,
        )

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["curriculum"] = list(self.curriculum)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        d = dict(d)
        d["curriculum"] = tuple(d.get("curriculum", ()))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown RunConfig key(s) {unknown}; allowed: {sorted(known)}")
        return cls(**d)

    def fingerprint(self) -> str:
        """Short hash of the configuration (a run id's tail when its changes are too long to spell
        out). Fields at their defaults are left out, so a field added later with a default that
        reproduces the runs before it (see ``trainer.same_config``) leaves every hash as it was."""
        defaults = {f.name: f.default for f in fields(self) if f.default is not dataclasses.MISSING}
        changed = {k: v for k, v in self.to_dict().items() if k not in defaults or defaults[k] != v}
        blob = json.dumps(changed, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


# keys of RunConfig that overrides may set (experiment/model/profile are chosen, not overridden)
CONFIG_KEYS = tuple(
    f.name for f in fields(RunConfig) if f.name not in ("experiment", "model", "profile", "seed", "task")
)
POSITIVE_INT = (
    "segment_len",
    "max_segments",
    "d_model",
    "n_layers",
    "n_heads",
    "d_ff",
    "steps",
    "batch_size",
    "eval_interval",
    "eval_batch_size",
    "patience",
)
NONNEG_INT = ("mem_size", "warmup_steps", "eval_size", "test_size", "mem_pos_gap")


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Experiment:
    """One experiment: its kind, data, metric, and the three profiles (dicts of RunConfig fields)."""

    name: str
    kind: str  # task | lm | classification
    description: str
    metric: str  # the valid metric for curriculum, early stopping and the record
    maximize: bool
    profiles: dict  # profile -> {field: value}, "task" holds the data parameters
    source: str = ""  # where the paper profile comes from
    length_factor: int = 0  # copy 3, reverse 2: model input length = factor * length
    task_name: str = ""  # data_gen task of a "task" experiment (default: the name)
    datasets: dict = field(default_factory=dict)  # classification: data set -> its task keys (``dataset=``)
    data: Any = None  # a task of your own (rmt_lite.TaskData) instead of data_gen's; kind "task" only


EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add ``experiment`` to the registry (an experiment of the same name is replaced): then
    :func:`resolve`, :func:`rmt_lite.train_experiment` and the run folders know it by its name.
    Its ``profiles`` hold RunConfig fields (what is left out takes RunConfig's default)."""
    e = experiment
    if not isinstance(e, Experiment):
        raise _err("experiment", type(e).__name__, "an rmt_lite.Experiment")
    if not isinstance(e.name, str) or not e.name.isidentifier():
        raise _err("name", e.name, "a name of letters, digits and _ (it names the run folders)")
    if e.kind not in KINDS:
        raise _err("kind", e.kind, f"one of {', '.join(KINDS)}")
    if not isinstance(e.profiles, dict) or not e.profiles:
        raise _err("profiles", e.profiles, "a dict of at least one profile: {name: {RunConfig field: value}}")
    for name, values in e.profiles.items():
        unknown = sorted(set(values) - set(CONFIG_KEYS) - {"task"}) if isinstance(values, dict) else [values]
        if unknown:
            raise _err(f"profiles[{name!r}]", unknown, f"RunConfig fields: {', '.join(CONFIG_KEYS)}")
    if e.data is not None:
        if e.kind != "task":
            raise _err("data", type(e.data).__name__, f"none for kind={e.kind!r} (data of your own serves tasks)")
        if not all(hasattr(e.data, a) for a in ("vocab_size", "seq_len", "batch", "fixed_set")):
            raise _err("data", type(e.data).__name__, "an rmt_lite.TaskData (or anything with its attributes)")
    EXPERIMENTS[e.name] = e
    return e


# ------------------------------------------------------------------------------------------------
def _parse_value(key: str, raw: Any, default: Any, annotation: str) -> Any:
    """Turn a ``--set key=value`` string (or a Python value) into the type of the field."""
    text = raw.strip() if isinstance(raw, str) else None
    if annotation == "task" and default is None:  # a loader argument whose default is "unset"
        if text is None:
            return raw
        if text.lower() in ("none", "null", ""):
            return None
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                pass
        return text
    optional = "None" in annotation
    if text is not None and optional and text.lower() in ("none", "null", "full", ""):
        return None
    if raw is None:
        if optional:
            return None
        raise _err(key, raw, f"a value of type {annotation}")
    if "tuple" in annotation:
        if text is not None:
            text = text.strip("()[] ")
            items = [t for t in text.replace(" ", "").split(",") if t]
            try:
                return tuple(int(t) for t in items)
            except ValueError:
                raise _err(key, raw, "comma-separated integers, e.g. 1,2,4") from None
        if isinstance(raw, (list, tuple)) and all(isinstance(t, int) and not isinstance(t, bool) for t in raw):
            return tuple(raw)
        raise _err(key, raw, "a list of integers")
    if annotation == "bool" or isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        if text is not None and text.lower() in ("true", "1", "yes", "on"):
            return True
        if text is not None and text.lower() in ("false", "0", "no", "off"):
            return False
        raise _err(key, raw, "true or false")
    if "int" in annotation and "float" not in annotation or (isinstance(default, int) and annotation == "task"):
        if isinstance(raw, bool):
            raise _err(key, raw, "an integer")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        try:
            return int(text)
        except (TypeError, ValueError):
            raise _err(key, raw, "an integer") from None
    if "float" in annotation or (isinstance(default, float) and annotation == "task"):
        if isinstance(raw, bool):
            raise _err(key, raw, "a number")
        if isinstance(raw, (int, float)):
            return float(raw)
        try:
            return float(text)
        except (TypeError, ValueError):
            raise _err(key, raw, "a number") from None
    if text is not None:
        return text
    if isinstance(raw, str):
        return raw
    raise _err(key, raw, "a string")


_ANNOTATIONS = {f.name: str(f.type) for f in fields(RunConfig)}


def parse_overrides(items: list[str] | None) -> dict[str, str]:
    """``["lr=1e-3", "length=12"]`` -> ``{"lr": "1e-3", "length": "12"}`` (values parsed later)."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise _err("--set", item, "key=value, e.g. --set lr=3e-4")
        key, value = item.split("=", 1)
        key = key.strip()
        if not key:
            raise _err("--set", item, "key=value with a non-empty key")
        out[key] = value
    return out


def _check(cfg: RunConfig) -> None:
    """Range checks; every message names the parameter, the value and what is allowed."""
    for name in POSITIVE_INT:
        v = getattr(cfg, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise _err(name, v, "a positive integer")
    for name in NONNEG_INT:
        v = getattr(cfg, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise _err(name, v, "an integer >= 0")
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool) or not 0 <= cfg.seed < MAX_SEED:
        raise _err("seed", cfg.seed, "an integer in [0, 2**63)")
    if cfg.kind == "task":
        for name in ("eval_size", "test_size"):
            if getattr(cfg, name) < 1:
                raise _err(name, getattr(cfg, name), "a positive integer for a task (samples of the fixed set)")
    if not cfg.lr > 0 or not math.isfinite(cfg.lr):
        raise _err("lr", cfg.lr, "a finite number > 0")
    if not 0 <= cfg.min_lr <= cfg.lr:
        raise _err("min_lr", cfg.min_lr, f"a number in [0, lr={cfg.lr}]")
    if not 0 <= cfg.weight_decay < 1:
        raise _err("weight_decay", cfg.weight_decay, "a number in [0, 1)")
    if not 0 <= cfg.clip or not math.isfinite(cfg.clip):
        raise _err("clip", cfg.clip, "a number >= 0 (0 = no clipping)")
    if not 0 < cfg.decay_rate < 1:
        raise _err("decay_rate", cfg.decay_rate, "a number in (0, 1)")
    if cfg.schedule not in SCHEDULES:
        raise _err("schedule", cfg.schedule, f"one of {', '.join(SCHEDULES)}")
    if cfg.warmup_steps >= cfg.steps:
        raise _err("warmup_steps", cfg.warmup_steps, f"an integer in [0, steps={cfg.steps})")
    if cfg.bptt_depth is not None and (not isinstance(cfg.bptt_depth, int) or cfg.bptt_depth < 0):
        raise _err("bptt_depth", cfg.bptt_depth, "an integer >= 0, or none (full BPTT)")
    if cfg.curriculum_mode not in CURRICULUM_MODES:
        raise _err("curriculum_mode", cfg.curriculum_mode, f"one of {', '.join(CURRICULUM_MODES)}")
    if not 0 <= cfg.curriculum_threshold <= 1 and cfg.spec.maximize:
        raise _err("curriculum_threshold", cfg.curriculum_threshold, "a number in [0, 1]")
    if cfg.target is not None and cfg.spec.maximize and not 0 <= cfg.target <= 1:
        raise _err("target", cfg.target, f"none or a number in [0, 1] (the valid {cfg.spec.metric})")
    if REGISTRY[cfg.model].needs_memory and cfg.mem_size < 1:
        raise _err("mem_size", cfg.mem_size, f"an integer >= 1 for model={cfg.model!r}")
    # the model's own fields (dropout, mem_init, mem_init_std, mem_pos_gap, ...) are checked where
    # they are defined, by ModelConfig, with a stand-in vocabulary (the real one comes with the data)
    if not (cfg.kind == "classification" and not REGISTRY[cfg.model].encoder):
        cfg.model_config(vocab_size=16, num_classes=2)
    if cfg.kind == "lm":
        if cfg.bptt_depth is None:
            raise _err(
                "bptt_depth",
                None,
                "an integer >= 0 for language modelling (memory flows along "
                "an unbounded stream, so BPTT must be truncated)",
            )
        if cfg.curriculum:
            raise _err("curriculum", cfg.curriculum, "() for language modelling")
    if cfg.kind == "classification":
        if not REGISTRY[cfg.model].encoder:
            raise _err("model", cfg.model, f"{' or '.join(ENCODER_VARIANTS)} for classification (encoder mode)")
    if cfg.curriculum:
        c = cfg.curriculum
        if any(not isinstance(n, int) or n < 1 for n in c) or list(c) != sorted(set(c)):
            raise _err("curriculum", c, "strictly increasing positive numbers of segments, e.g. 1,2,4")
        if cfg.curriculum_mode == "length" and not cfg.spec.length_factor:
            raise _err(
                "curriculum_mode",
                "length",
                f"segments for experiment {cfg.experiment!r} (only copy/reverse tasks can grow their length)",
            )


def _dataset_task(task: dict, dataset: Any, datasets: dict) -> dict:
    """The profile's task switched to ``dataset``: that data set's keys, with the profile's values
    of the keys both share (``min_count``, ``max_vocab``)."""
    if dataset not in datasets:
        raise _err("dataset", dataset, f"one of {', '.join(datasets)}")
    if dataset == task.get("dataset"):
        return task
    default = datasets[dataset]
    return {**default, **{k: v for k, v in task.items() if k in default and k != "dataset"}}


def resolve(
    experiment: str, model: str = "rmt", profile: str = "cpu", seed: int = 0, overrides: dict[str, Any] | None = None
) -> RunConfig:
    """The validated :class:`RunConfig` of ``experiment`` at ``profile`` for one ``model`` variant,
    with ``overrides`` (``{key: value}``; values may be strings as from ``--set``) applied.

    Extra keys: ``num_segments`` (sets ``segment_len`` to split the sample into that many
    segments; tasks only) and any task parameter of the experiment (e.g. ``length``).
    """
    if experiment not in EXPERIMENTS:
        raise _err("experiment", experiment, f"one of {', '.join(EXPERIMENTS)} (rmt_lite.register adds your own)")
    if model not in MODELS:
        raise _err("model", model, f"one of {', '.join(MODELS)}")
    if profile not in EXPERIMENTS[experiment].profiles:
        raise _err("profile", profile, f"one of {', '.join(EXPERIMENTS[experiment].profiles)}")
    if isinstance(seed, str):
        seed = _parse_value("seed", seed, 0, "int")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < MAX_SEED:
        raise _err("seed", seed, "an integer in [0, 2**63)")
    if "mem_size" in (overrides or {}) and not REGISTRY[model].remembers:
        raise _err(
            "mem_size",
            (overrides or {})["mem_size"],
            f"not set for model={model!r}, which has no memory tokens and no cache "
            f"(use {', '.join(v for v in VARIANTS if REGISTRY[v].remembers)})",
        )
    spec = EXPERIMENTS[experiment]
    base = dict(spec.profiles[profile])
    task = dict(base.pop("task", {}))
    if spec.kind == "classification" and "dataset" in (overrides or {}):
        task = _dataset_task(task, (overrides or {})["dataset"], spec.datasets)
    values: dict[str, Any] = {}
    num_segments = None
    for key, raw in (overrides or {}).items():
        if key in ("experiment", "model", "profile", "seed"):
            raise _err(key, raw, f"set through the {key} argument (--{key}), not as an override")
        if key == "num_segments":
            num_segments = _parse_value(key, raw, 1, "int")
            if num_segments < 1:
                raise _err(key, num_segments, "a positive integer")
        elif key in task:
            task[key] = _parse_value(key, raw, task[key], "task")
        elif key in CONFIG_KEYS:
            default = base.get(key, getattr(RunConfig, key, None))
            values[key] = _parse_value(key, raw, default, _ANNOTATIONS[key])
        else:
            allowed = sorted(set(CONFIG_KEYS) | set(task) | ({"num_segments"} if spec.kind == "task" else set()))
            raise _err("override key", key, f"one of {', '.join(allowed)}")
    cfg = RunConfig(experiment=experiment, model=model, profile=profile, seed=seed, task=task, **{**base, **values})
    if num_segments is not None:
        if spec.kind != "task":
            raise _err("num_segments", num_segments, "only for algorithmic tasks; set segment_len")
        if "segment_len" in values:
            raise _err("num_segments", num_segments, "not together with segment_len; set one of them")
        S = sample_len(cfg)
        seg = -(-S // num_segments)
        if num_segments > S or len(range(0, S, seg)) != num_segments:
            raise _err(
                "num_segments",
                num_segments,
                f"a number of segments that splits the {S}-token sample "
                "into exactly that many segments of one length (at most "
                f"{S}; e.g. a divisor of {S})",
            )
        cfg = dataclasses.replace(cfg, segment_len=seg)
    _check(cfg)
    if spec.kind == "task":
        if cfg.curriculum and "curriculum" not in (overrides or {}):
            cfg = _adapt_curriculum(cfg)
        _check_segments(cfg)
    return cfg


def describe(profile: str | None = None) -> Any:
    """A pandas table of every registered experiment and profile (the book's profile table)."""
    import pandas as pd

    rows = []
    for e in EXPERIMENTS.values():
        for p in e.profiles if profile is None else [p for p in (profile,) if p in e.profiles]:
            c = resolve(e.name, "rmt", p)
            rows.append(
                dict(
                    experiment=e.name,
                    profile=p,
                    kind=e.kind,
                    metric=e.metric,
                    data=", ".join(f"{k}={v}" for k, v in c.task.items() if v is not None),
                    segment_len=c.segment_len,
                    mem_size=c.mem_size,
                    bptt_depth="full" if c.bptt_depth is None else c.bptt_depth,
                    layers=c.n_layers,
                    d_model=c.d_model,
                    heads=c.n_heads,
                    d_ff=c.d_ff,
                    dropout=c.dropout,
                    batch=c.batch_size,
                    steps=c.steps,
                    lr=c.lr,
                    schedule=c.schedule,
                    curriculum=",".join(map(str, c.curriculum)) or "-",
                )
            )
    return pd.DataFrame(rows)
