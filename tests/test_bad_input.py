"""Bad input, probed as a user would: every error names the parameter or file, the value and what
is allowed, no code from a file runs, and nothing half written is left behind."""

import os
import pickle
import random

import pytest
import torch
from conftest import make_model, random_tokens

from rmt_lite import generate, load_model, resolve
from rmt_lite.runs import train_experiment
from rmt_lite.train import main as train_main
from rmt_lite.trainer import TrainingDiverged, read_checkpoint

QUIET = dict(log=lambda line: None)
SHORT = {"steps": 4, "eval_interval": 2, "warmup_steps": 0}


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch ran_code_from_checkpoint",))


def _damage(path, how):
    if how == "random":
        path.write_bytes(random.Random(0).randbytes(2048))
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "code":
        path.write_bytes(pickle.dumps(_RunsCode()))


@pytest.fixture
def finished(tmp_path):
    record = train_experiment("copy", "rmt", "smoke", 0, SHORT, out_dir=tmp_path, **QUIET)
    return tmp_path, record


@pytest.mark.parametrize("how", ["random", "truncated", "empty", "code"])
def test_a_damaged_checkpoint_is_named_and_runs_no_code(finished, how, monkeypatch, tmp_path):
    out, record = finished
    ck = out / "copy" / record.run_id / "checkpoint.pt"
    (out / "copy" / record.run_id / "record.json").unlink()  # so that the run resumes
    _damage(ck, how)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as e:
        train_experiment("copy", "rmt", "smoke", 0, SHORT, out_dir=out, **QUIET)
    text = str(e.value)
    assert str(ck) in text and "unreadable" in text and "--rerun" in text and "weights_only=False" not in text
    with pytest.raises(ValueError, match="unreadable") as e:
        load_model(ck.parent)
    assert "rerun" not in str(e.value)  # reading a model is not a run to train again
    assert not (tmp_path / "ran_code_from_checkpoint").exists()
    assert (
        train_main(
            [
                "--experiment",
                "copy",
                "--profile",
                "smoke",
                "--out",
                str(out),
                "--no-progress",
                *sum((["--set", f"{k}={v}"] for k, v in SHORT.items()), []),
            ]
        )
        == 2
    )
    again = train_experiment("copy", "rmt", "smoke", 0, SHORT, out_dir=out, rerun=True, **QUIET)
    assert again.steps == 4  # --rerun starts it again


def test_random_bytes_are_always_an_unreadable_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    for seed in range(100):  # random bytes fail inside torch.load in many different ways
        path.write_bytes(random.Random(seed).randbytes(2048))
        with pytest.raises(ValueError, match="unreadable"):
            read_checkpoint(path)


def test_out_pointing_at_a_file_is_refused(tmp_path):
    target = tmp_path / "a_file"
    target.write_text("x")
    with pytest.raises(ValueError, match=r"out_dir=.*a_file.* exists and is not a folder"):
        train_experiment("copy", "rmt", "smoke", 0, SHORT, out_dir=target, **QUIET)


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"eval_size": 0}, ["eval_size=0", "positive integer for a task"]),
        ({"test_size": 0}, ["test_size=0", "positive integer for a task"]),
    ],
)
def test_empty_evaluation_sets_of_a_task_are_refused_up_front(overrides, words):
    with pytest.raises(ValueError) as e:
        resolve("copy", "rmt", "cpu", 0, overrides)
    assert all(w in str(e.value) for w in words)


def test_a_seed_beyond_64_bits_names_the_seed():
    with pytest.raises(ValueError, match=r"seed=\d+ is not allowed: an integer in \[0, 2\*\*63\)"):
        resolve("copy", "rmt", "cpu", 2**70)
    assert train_main(["--experiment", "copy", "--seed", str(2**70), "--show"]) == 2


def test_a_memory_size_for_the_transformer_is_refused():
    with pytest.raises(ValueError, match="mem_size=4 is not allowed: not set for model='transformer'"):
        resolve("copy", "transformer", "cpu", 0, {"mem_size": 4})


def test_a_diverging_run_leaves_no_folder_behind(tmp_path):
    with pytest.raises(TrainingDiverged):
        train_experiment(
            "copy", "rmt", "smoke", 0, {**SHORT, "lr": 1e12, "clip": 0, "eval_interval": 4}, out_dir=tmp_path, **QUIET
        )
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_model_inputs_outside_their_range_are_named():
    model = make_model("rmt")
    with pytest.raises(ValueError, match=r"tokens holds ids from 0 to 11; allowed: 0 to 10"):
        model(torch.tensor([[0, 11]]))
    with pytest.raises(ValueError, match=r"tokens holds ids from -1"):
        model(torch.tensor([[-1, 2]]))
    with pytest.raises(ValueError, match="token_mask has shape .* dtype torch.float32"):
        model(random_tokens(2, 4), token_mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="batch_size=-1 is not allowed"):
        model.init_state(-1)
    with pytest.raises(ValueError, match=r"prompt has shape \(4,\)"):
        generate(model, random_tokens(1, 4)[0], 2, segment_len=4)
    with pytest.raises(ValueError, match="max_new_tokens=2.5 is not allowed"):
        generate(model, random_tokens(1, 4), 2.5, segment_len=4)
