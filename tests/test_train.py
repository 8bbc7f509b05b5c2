"""The trainer: profiles and validation, both recurrence regimes, curriculum, early stopping,
checkpoints and resume, the NaN guard, records and the command line (fast tests; the subprocess
kill-and-resume and torchrun tests are in test_train_slow.py)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

import data_gen
from rmt_lite import run_segments
from rmt_lite.records import load_history, load_records
from rmt_lite.run_config import EXPERIMENTS, MODELS, PROFILES, describe, resolve
from rmt_lite.runs import default_run_id, load_model, train_experiment
from rmt_lite.train import main
from rmt_lite.trainer import Trainer, TrainingDiverged


# ------------------------------------------------------------------------------------------------
# small in-memory stand-ins for data_gen's corpus and classification loaders (fast, and
# learnable in a few steps); data_gen.stream_batches is the real one
@dataclass
class FakeCorpus:
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    vocab_size: int = 16
    level: str = "byte"
    itos: list = field(default_factory=lambda: [chr(97 + i) for i in range(16)])

    def decode(self, ids):
        return "".join(self.itos[int(i)] for i in ids)


def _pattern_stream(n: int, seed: int) -> torch.Tensor:
    """Learnable: a random walk over 16 symbols with mostly +1 steps."""
    g = torch.Generator().manual_seed(seed)
    steps = torch.where(torch.rand(n, generator=g) < 0.8, 1, torch.randint(0, 16, (n,), generator=g))
    return steps.cumsum(0) % 16


def fake_load_corpus(name, path=None):
    return FakeCorpus(_pattern_stream(6000, 1), _pattern_stream(1500, 2), _pattern_stream(1500, 3))


@dataclass
class FakeClassification:
    train: list
    valid: list
    test: list
    vocab_size: int = 20
    label_names: tuple = ("a", "b")
    itos: list = field(default_factory=list)


def fake_load_classification(name, **kwargs):
    g = torch.Generator().manual_seed(0)

    def docs(n):
        out = []
        for _ in range(n):
            label = int(torch.randint(0, 2, (1,), generator=g))
            length = int(torch.randint(20, 90, (1,), generator=g))
            ids = torch.randint(2, 18, (length,), generator=g)
            ids[-5:] = 18 + label  # the label shows only at the end of the document
            out.append((ids, label))
        return out

    return FakeClassification(docs(64), docs(16), docs(16))


@pytest.fixture
def fake_data(monkeypatch):
    monkeypatch.setattr(data_gen, "load_corpus", fake_load_corpus, raising=False)
    monkeypatch.setattr(data_gen, "load_classification", fake_load_classification, raising=False)


def _quiet(_line):
    pass


def _train(tmp_path, experiment="copy", model="rmt", overrides=None, **kw):
    return train_experiment(experiment, model, "smoke", 0, overrides, out_dir=tmp_path, log=_quiet, **kw)


# ------------------------------------------------------------------------------------------------
# profiles and validation
def test_every_experiment_profile_and_model_resolves():
    assert {
        "copy",
        "reverse",
        "retrieval",
        "quadratic",
        "lm_bytes",
        "lm_words",
        "classification",
        "copy_long",
        "reverse_long",
    } <= set(EXPERIMENTS)
    for name, spec in EXPERIMENTS.items():
        for profile in PROFILES:
            for model in MODELS:
                if spec.kind == "classification" and model not in ("transformer", "rmt"):
                    with pytest.raises(ValueError, match="model="):
                        resolve(name, model, profile)
                    continue
                cfg = resolve(name, model, profile)
                mc = cfg.model_config(vocab_size=50, num_classes=2)
                assert mc.variant == model
    table = describe()
    assert len(table) == len(EXPERIMENTS) * len(PROFILES)


def test_paper_profile_holds_the_reference_hyperparameters():
    c = resolve("copy", "rmt", "paper")
    assert (c.n_layers, c.d_model, c.d_ff, c.batch_size, c.lr, c.clip, c.schedule, c.decay_rate, c.patience) == (
        4,
        128,
        256,
        32,
        1e-4,
        0.25,
        "plateau",
        0.5,
        8,
    )
    assert c.task == {"length": 24, "num_symbols": 10} and c.segment_len == 24
    q = resolve("quadratic", "rmt", "paper")
    assert (q.n_layers, q.segment_len, q.mem_size, q.steps) == (6, 30, 30, 600_000)
    lm = resolve("lm_bytes", "rmt", "paper")
    assert (lm.n_layers, lm.d_model, lm.segment_len, lm.mem_size, lm.bptt_depth, lm.lr) == (12, 512, 128, 10, 2, 2.5e-4)
    assert resolve("lm_words", "rmt", "paper").bptt_depth == 3
    cpu = resolve("copy", "rmt", "cpu")  # the paper's model and task size: L=24 in 3 segments of 24
    assert cpu.task == {"length": 24, "num_symbols": 10} and cpu.segment_len == 24 and cpu.n_layers == 4


def test_overrides_are_parsed_and_typed():
    c = resolve(
        "copy",
        "rmt",
        "smoke",
        3,
        {
            "lr": "3e-4",
            "length": "8",
            "bptt_depth": "1",
            "amp": "false",
            "curriculum": "1,2,4",
            "target": "none",
            "num_symbols": 6,
            "segment_len": 6,
        },
    )
    assert c.seed == 3 and c.lr == 3e-4 and c.task["length"] == 8 and c.bptt_depth == 1 and c.amp is False
    assert c.curriculum == (1, 2, 4) and c.target is None and c.task["num_symbols"] == 6
    assert resolve("copy", "rmt", "smoke", 0, {"bptt_depth": "full"}).bptt_depth is None
    # num_segments: exact segments of one length
    assert resolve("copy", "transformer", "cpu", 0, {"num_segments": 1}).segment_len == 72
    nine = resolve("copy", "rmt", "cpu", 0, {"num_segments": 9, "length": 24})
    assert nine.segment_len == 8 and nine.curriculum == (1, 2, 3, 9)  # the profile's curriculum, extended
    assert resolve("copy", "rmt", "cpu", 0, {"num_segments": 2}).curriculum == (1, 2)


@pytest.mark.parametrize(
    "args, overrides, words",
    [
        (("nope", "rmt", "cpu"), None, ["experiment='nope'", "copy", "lm_bytes"]),
        (("copy", "gpt", "cpu"), None, ["model='gpt'", "rmt_xl"]),
        (("copy", "rmt", "fast"), None, ["profile='fast'", "smoke", "paper"]),
        (("copy", "rmt", "cpu"), {"learning_rate": 1}, ["override key='learning_rate'", "lr"]),
        (("copy", "rmt", "cpu"), {"lr": "-1"}, ["lr=-1.0", "> 0"]),
        (("copy", "rmt", "cpu"), {"lr": "abc"}, ["lr='abc'", "a number"]),
        (("copy", "rmt", "cpu"), {"dropout": 1.5}, ["dropout=1.5", "[0, 1)"]),
        (("copy", "rmt", "cpu"), {"steps": 0}, ["steps=0", "positive integer"]),
        (("copy", "rmt", "cpu"), {"segment_len": 100}, ["segment_len=100", "at most the sample length 72"]),
        (("copy", "rmt", "cpu"), {"num_segments": 100}, ["num_segments=100", "72-token"]),
        (("copy", "rmt", "cpu"), {"num_segments": 3, "segment_len": 24}, ["num_segments=3", "segment_len"]),
        (("copy", "rmt", "cpu"), {"length": 0}, ["length=0"]),
        (("copy", "rmt", "cpu"), {"schedule": "linear"}, ["schedule='linear'", "cosine"]),
        (("copy", "rmt", "cpu"), {"curriculum": "1,2"}, ["curriculum=(1, 2)", "ending at 3"]),
        (("copy", "xl", "cpu"), {"mem_size": 0}, ["mem_size=0", "xl"]),
        (("lm_bytes", "rmt", "cpu"), {"bptt_depth": "none"}, ["bptt_depth=None", "language modelling"]),
        (("classification", "xl", "cpu"), None, ["model='xl'", "transformer or rmt"]),
        (("copy", "rmt", "cpu"), {"seed": 1}, ["seed=1", "--seed"]),
    ],
)
def test_bad_input_names_parameter_value_and_allowed(args, overrides, words):
    with pytest.raises(ValueError) as e:
        resolve(*args, overrides=overrides)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


# ------------------------------------------------------------------------------------------------
# per-sample regime, records, folders
def test_smoke_run_writes_record_summary_and_is_deterministic(tmp_path):
    rec = _train(tmp_path / "a")
    run_dir = tmp_path / "a" / "copy" / "rmt-smoke-s0"
    assert Path(rec.run_dir) == run_dir and (run_dir / "record.json").exists() and (run_dir / "config.json").exists()
    assert not list(run_dir.glob(".*.tmp"))
    saved = json.loads((run_dir / "record.json").read_text())
    assert saved["profile"] == "smoke" and saved["seed"] == 0 and saved["config"]["experiment"] == "copy"
    for key in ("git_sha", "versions", "device", "wall_time_s", "metrics", "history"):
        assert saved[key] not in (None, "", {}), key
    test = rec.metrics["test"]
    for key in ("loss", "acc", "acc_tf", "acc_greedy", "exact_match", "exact_tf", "exact_greedy"):
        assert 0 <= test[key] <= (1 if key != "loss" else 100), key
    assert rec.metrics["segments"] == 3 and [h["step"] for h in rec.history] == [8, 16]
    df = load_records(tmp_path / "a", "copy")
    assert len(df) == 1 and df.loc[0, "test_acc"] == test["acc"] and df.loc[0, "num_segments"] == 3
    assert (tmp_path / "a" / "copy" / "summary.csv").read_text().startswith("run_id,")
    hist = load_history(tmp_path / "a", "copy")
    assert list(hist["step"]) == [8, 16] and set(hist["model"]) == {"rmt"}
    # same seed, another folder: bit-identical metrics
    again = _train(tmp_path / "b")
    assert again.metrics == rec.metrics and again.history == rec.history


def test_finished_run_is_loaded_not_retrained(tmp_path, monkeypatch):
    rec = _train(tmp_path)
    monkeypatch.setattr(Trainer, "fit", lambda self: pytest.fail("retrained a finished run"))
    assert _train(tmp_path).metrics == rec.metrics


def test_rerun_replaces_a_finished_run(tmp_path):
    first = _train(tmp_path, run_name="r")
    again = _train(tmp_path, overrides={"steps": 8, "eval_interval": 8}, run_name="r", rerun=True)
    assert again.steps == 8 and first.steps == 16 and again.resumed == 0
    assert json.loads((tmp_path / "copy" / "r" / "config.json").read_text())["steps"] == 8


def test_folder_with_another_config_is_refused_and_nothing_is_written(tmp_path):
    _train(tmp_path, run_name="mine")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    stamp = (tmp_path / "copy" / "mine" / "record.json").read_bytes()
    with pytest.raises(ValueError) as e:
        _train(tmp_path, overrides={"lr": 1e-3}, run_name="mine")
    assert "another config" in str(e.value) and "lr" in str(e.value) and "out_dir=" in str(e.value)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "copy" / "mine" / "record.json").read_bytes() == stamp


def test_bad_input_writes_nothing(tmp_path):
    with pytest.raises(ValueError):
        _train(tmp_path, overrides={"segment_len": 1000})
    with pytest.raises(ValueError, match="run_name="):
        _train(tmp_path, run_name="../escape")
    assert not any(tmp_path.iterdir())


def test_smoke_never_writes_into_committed_results():
    from rmt_lite.runs import _committed_results_dir

    with pytest.raises(ValueError, match="smoke"):
        train_experiment("copy", "rmt", "smoke", out_dir=_committed_results_dir(), log=_quiet)
    with pytest.raises(ValueError, match="smoke"):
        train_experiment("copy", "rmt", "smoke", out_dir=_committed_results_dir() / "sub", log=_quiet)


def test_run_id_names_the_changes():
    assert default_run_id(resolve("copy", "rmt", "cpu", 2)) == "rmt-cpu-s2"
    rid = default_run_id(resolve("copy", "xl", "cpu", 0, {"num_segments": 6}))
    assert rid == "xl-cpu-s0-curriculum1,2,3,6-segment_len12"  # the curriculum follows the segments


def test_a_long_run_id_is_a_hash_that_fields_added_with_defaults_leave_alone():
    # pinned: a RunConfig field added later (as curriculum_waits was) must not rename such a run,
    # or its checkpoint and record would no longer be found
    changes = {
        "lr": "3e-4",
        "warmup_steps": "7",
        "batch_size": "48",
        "d_ff": "320",
        "mem_init_std": "0.5",
        "clip": "0.5",
    }
    assert default_run_id(resolve("copy", "rmt", "cpu", 0, changes)) == "rmt-cpu-s0-x91e2665824"


def test_every_model_variant_trains_on_a_task(tmp_path):
    for model in MODELS:
        rec = _train(tmp_path, "reverse", model, {"steps": 4, "eval_interval": 4, "warmup_steps": 0})
        assert math.isfinite(rec.metrics["test"]["loss"])


def test_curriculum_moves_through_stages_and_tests_the_final_setting(tmp_path):
    rec = _train(tmp_path, "copy_long")  # smoke: stages of 2 then 6 segments, threshold 0
    stages = [(h["stage"], h["segments"], h["seq_len"]) for h in rec.history]
    assert stages == [(0, 2, 12), (1, 6, 36)]
    assert rec.metrics["segments"] == 6 and rec.metrics["stage_reached"] == 2
    rec2 = _train(tmp_path, "copy", overrides={"curriculum": "1,3", "curriculum_threshold": 1.0})
    assert rec2.metrics["segments"] == 3 and rec2.metrics["stage_reached"] == 2  # tested at the target


@pytest.mark.parametrize("curriculum, moves_at", [("1,3", [8]), ("1,2,3", [4, 8])])
def test_an_unreached_curriculum_stage_still_ends_within_the_first_half_of_the_budget(tmp_path, curriculum, moves_at):
    # threshold 1.0 is never reached; the earlier stages share the first 8 of 16 steps, so the
    # model trains on the tested 3-segment layout for the second half
    rec = _train(
        tmp_path, "copy", overrides={"curriculum": curriculum, "curriculum_threshold": 1.0, "eval_interval": 4}
    )
    segments = [h["segments"] for h in rec.history]
    assert segments[-1] == 3 and rec.metrics["stage_reached"] == len(curriculum.split(","))
    changes = [h["step"] for before, h in zip(rec.history, rec.history[1:]) if h["stage"] != before["stage"]]
    assert [s - 4 for s in changes] == moves_at  # the stage ends at the eval of its last step


def test_a_waiting_curriculum_stays_on_a_stage_until_it_passes(tmp_path):
    # the test above with curriculum_waits: the unreached first stage never ends, and the model is
    # still tested on the final layout
    waits = {"curriculum": "1,3", "curriculum_threshold": 1.0, "eval_interval": 4, "curriculum_waits": True}
    rec = _train(tmp_path, "copy", overrides=waits)
    assert {h["segments"] for h in rec.history} == {1} and rec.steps == 16
    assert rec.metrics["stage_reached"] == 1 and rec.metrics["segments"] == 3


def test_waiting_changes_nothing_for_a_curriculum_that_passes_in_time(tmp_path):
    passes = {"curriculum": "1,3", "curriculum_threshold": 0.0, "eval_interval": 4}
    rec = _train(tmp_path / "a", "copy", overrides=passes)
    waited = _train(tmp_path / "b", "copy", overrides={**passes, "curriculum_waits": True})
    assert waited.history == rec.history and waited.metrics["test"] == rec.metrics["test"]
    # the records' tables name the waiting run, and only that one (the summaries before stay as they were)
    assert waited.flat()["curriculum_waits"] is True and "curriculum_waits" not in rec.flat()


def test_early_stopping_at_target(tmp_path):
    rec = _train(tmp_path, overrides={"target": 0.0, "eval_interval": 4})
    assert rec.steps == 4 and rec.stop_reason.startswith("target")


def test_plateau_schedule_decays_on_a_stalled_validation_loss(tmp_path):
    cfg = resolve(
        "copy",
        "rmt",
        "smoke",
        0,
        {"schedule": "plateau", "patience": 1, "decay_rate": 0.5, "warmup_steps": 0, "min_lr": 1e-4},
    )
    tr = Trainer(cfg, log=_quiet)
    tr._t0 = 0.0
    losses = iter([1.0, 1.1, 1.2, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    tr.regime.evaluate = lambda model, split: dict(loss=next(losses), acc=0.0)
    lrs = []
    for _ in range(12):
        tr._evaluate()
        lrs.append(tr.lr_at(tr.step))
    assert lrs[:3] == [cfg.lr, cfg.lr, cfg.lr / 2]  # two evaluations without improvement > patience 1
    assert lrs[3] == cfg.lr / 2 and min(lrs) == pytest.approx(1e-4)  # floored at min_lr


def test_cosine_with_warmup():
    cfg = resolve("copy", "rmt", "smoke", 0, {"steps": 100, "warmup_steps": 10, "min_lr": 1e-4, "lr": 1e-3})
    tr = Trainer(cfg, log=_quiet)
    assert tr.lr_at(0) == pytest.approx(1e-4) and tr.lr_at(9) == pytest.approx(1e-3)
    assert tr.lr_at(55) == pytest.approx(1e-4 + 0.9e-3 * 0.5) and tr.lr_at(100) == pytest.approx(1e-4)


# ------------------------------------------------------------------------------------------------
# checkpoints, resume, NaN
class _Killed(Exception):
    pass


def test_resume_after_interruption_is_bit_identical(tmp_path, monkeypatch):
    over = {"steps": 20, "eval_interval": 6, "dropout": 0.1}  # dropout: the RNG state must be restored
    whole = _train(tmp_path / "whole", overrides=over)
    real_step = Trainer._train_step

    def dying(self):
        if self.step == 14:  # after the checkpoint at step 12
            raise _Killed()
        return real_step(self)

    monkeypatch.setattr(Trainer, "_train_step", dying)
    with pytest.raises(_Killed):
        _train(tmp_path / "cut", overrides=over)
    monkeypatch.setattr(Trainer, "_train_step", real_step)
    resumed = _train(tmp_path / "cut", overrides=over)
    assert resumed.resumed == 1
    assert resumed.metrics == whole.metrics and resumed.history == whole.history


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from rmt_lite.regimes import TaskRegime

    real = TaskRegime.loss_fn
    calls = {"n": 0}

    def poisoned(self):
        fn = real(self)
        calls["n"] += 1
        return (lambda m: fn(m) * float("nan")) if calls["n"] == 11 else fn

    monkeypatch.setattr(TaskRegime, "loss_fn", poisoned)
    with pytest.raises(TrainingDiverged) as e:
        _train(tmp_path)
    msg = str(e.value)
    assert "nan" in msg and "step 11" in msg and "step 8" in msg and "checkpoint" in msg
    run_dir = tmp_path / "copy" / "rmt-smoke-s0"
    assert not (run_dir / "record.json").exists()
    ck = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert ck["trainer"]["step"] == 8
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())


def test_load_model_returns_the_trained_weights(tmp_path):
    rec = _train(tmp_path)
    model, cfg = load_model(rec.run_dir)
    assert cfg.experiment == "copy" and not model.training
    from rmt_lite.evaluate import evaluate_task

    task = data_gen.make_task("copy", **cfg.task)
    again = evaluate_task(model, task.fixed_set("test", cfg.test_size), cfg.segment_len, task=task)
    assert again == rec.metrics["test"]


# ------------------------------------------------------------------------------------------------
# stream regime (language modelling)
@pytest.mark.parametrize("model, depth", [("rmt", 0), ("rmt", 1), ("rmt", 2), ("rmt_xl", 1), ("xl", 1)])
def test_stream_replay_gives_the_gradient_of_exact_truncated_bptt(fake_data, model, depth):
    """Step t's gradient = the gradient of segment t's loss when the whole stream is run at once
    with depth-k truncated BPTT (run_segments), memory carried along the streams from step 0."""
    cfg = resolve("lm_bytes", model, "smoke", 0, {"bptt_depth": depth, "batch_size": 2, "segment_len": 5})
    tr = Trainer(cfg, log=_quiet)
    m = tr.model.double()
    reg = tr.regime
    n_steps, T = 4, cfg.segment_len
    batches = list(data_gen.stream_batches(reg.corpus.train, cfg.batch_size, T, drop_last=True))[:n_steps]
    X = torch.cat([b[0] for b in batches], dim=1)
    Y = torch.cat([b[1] for b in batches], dim=1)
    for t in range(n_steps):
        m.zero_grad()
        reg.loss_fn()(m).backward()
        reg.after_step()
        got = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in m.parameters()]
        m.zero_grad()
        mask = torch.zeros_like(X, dtype=torch.bool)
        mask[:, t * T : (t + 1) * T] = True
        run_segments(m, X, T, targets=Y, loss_mask=mask, bptt_depth=depth).loss.backward()
        want = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in m.parameters()]
        for (name, _), g, w in zip(m.named_parameters(), got, want):
            torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-12, msg=f"{model} depth {depth} step {t}: {name}")
    assert len(reg.inputs) == min(depth, n_steps) and len(reg.states) == len(reg.inputs) + 1


@pytest.mark.parametrize("depth", [0, 2])
def test_stream_gradient_reaches_initial_memory_only_within_depth(fake_data, depth):
    """M_0 gets a gradient at step t iff the memory entering step t is at most ``depth`` writes
    away from it (t <= depth): the replay really is k segments deep, and depth 0 is detached."""
    cfg = resolve("lm_bytes", "rmt", "smoke", 0, {"bptt_depth": depth})
    tr = Trainer(cfg, log=_quiet)
    reached = []
    for _ in range(5):
        tr.model.zero_grad()
        tr.regime.loss_fn()(tr.model).backward()
        tr.regime.after_step()
        g = tr.model.initial_memory.grad
        reached.append(g is not None and bool(g.abs().sum() > 0))
    assert reached == [t <= depth for t in range(5)]


def test_lm_smoke_run_resumes_bit_identically_and_reports_bpc(fake_data, tmp_path, monkeypatch):
    over = {"steps": 12, "eval_interval": 4}
    whole = _train(tmp_path / "whole", "lm_bytes", overrides=over)
    t = whole.metrics["test"]
    assert t["bpc"] == pytest.approx(t["loss"] / math.log(2)) and t["ppl"] == pytest.approx(math.exp(t["loss"]))
    assert t["tokens"] > 0
    real_step = Trainer._train_step

    def dying(self):
        if self.step == 10:
            raise _Killed()
        return real_step(self)

    monkeypatch.setattr(Trainer, "_train_step", dying)
    with pytest.raises(_Killed):
        _train(tmp_path / "cut", "lm_bytes", overrides=over)
    monkeypatch.setattr(Trainer, "_train_step", real_step)
    resumed = _train(tmp_path / "cut", "lm_bytes", overrides=over)
    assert resumed.metrics == whole.metrics and resumed.history == whole.history


def test_lm_epoch_rollover_restarts_the_streams(fake_data):
    cfg = resolve("lm_bytes", "rmt", "smoke", 0, {"bptt_depth": 1})
    tr = Trainer(cfg, log=_quiet)
    per_epoch = len(
        list(data_gen.stream_batches(tr.regime.corpus.train, cfg.batch_size, cfg.segment_len, drop_last=True))
    )
    for _ in range(per_epoch + 1):
        tr._train_step()
    assert tr.regime.epoch == 1 and tr.regime.index == 1 and len(tr.regime.inputs) == 1


def test_classification_smoke_run(fake_data, tmp_path):
    for model in ("rmt", "transformer"):
        rec = _train(tmp_path, "classification", model)
        assert 0 <= rec.metrics["test"]["acc"] <= 1 and rec.metrics["test"]["docs"] == 16


@pytest.mark.parametrize("experiment", ["lm_bytes", "classification"])
def test_smoke_runs_on_the_real_offline_data(tmp_path, experiment):
    """The shipped Wikipedia excerpt (bytes) and the State of the Union addresses, end to end."""
    rec = _train(tmp_path, experiment, overrides={"steps": 4, "eval_interval": 4, "warmup_steps": 0})
    test = rec.metrics["test"]
    if experiment == "lm_bytes":
        assert test["tokens"] > 0 and test["bpc"] == pytest.approx(test["loss"] / math.log(2))
    else:
        assert test["docs"] > 0 and 0 <= test["acc"] <= 1


# ------------------------------------------------------------------------------------------------
# command line
def test_cli_help_lists_experiments_models_profiles(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in [*EXPERIMENTS, *MODELS, *PROFILES]:
        assert name in out


def test_cli_runs_and_reports_errors(tmp_path, capsys):
    assert (
        main(
            [
                "--experiment",
                "copy",
                "--profile",
                "smoke",
                "--out",
                str(tmp_path),
                "--no-progress",
                "--set",
                "steps=4",
                "--set",
                "eval_interval=4",
                "--set",
                "warmup_steps=0",
            ]
        )
        == 0
    )
    assert (tmp_path / "copy" / "rmt-smoke-s0-eval_interval4-steps4-warmup_steps0" / "record.json").exists()
    assert main(["--experiment", "copy", "--profile", "smoke", "--out", str(tmp_path), "--set", "lr"]) == 2
    assert "--set='lr'" in capsys.readouterr().err
    assert main(["--experiment", "copy", "--model", "lstm", "--out", str(tmp_path)]) == 2
    assert "model='lstm'" in capsys.readouterr().err
    assert main(["--experiment", "copy", "--profile", "paper", "--show"]) == 0
    assert json.loads(capsys.readouterr().out)["lr"] == 1e-4


def test_a_task_parameter_added_later_with_default_none_matches_the_runs_saved_before_it():
    import copy

    from rmt_lite.trainer import same_config

    cfg = resolve("classification", "rmt", "cpu", 0).to_dict()
    before = copy.deepcopy(cfg)
    del before["task"]["fold"]  # a record written before the SOTU folds existed
    assert same_config(before, cfg)
    assert not same_config(before, resolve("classification", "rmt", "cpu", 0, {"fold": 0}).to_dict())
    assert not same_config({**before, "steps": 1}, cfg)


def test_a_run_saved_before_a_config_field_existed_matches_that_fields_default():
    from rmt_lite.trainer import same_config

    cfg = resolve("classification", "transformer", "cpu", 0, {"max_segments": 1}).to_dict()
    before = {k: v for k, v in cfg.items() if k not in ("mem_init_std", "mem_pos_gap")}  # saved before them
    assert same_config(before, cfg)
    assert not same_config(before, {**cfg, "mem_pos_gap": 1000})  # a value other than the default differs
