"""A task of one's own, through the public API only (what ``rmt_lite`` exports): tensors made here,
trained with the package's curriculum, early stopping and checkpoints, evaluated, saved and loaded."""

import json

import pytest
import torch

import rmt_lite as rl

LENGTH, SEGMENT, VOCAB = 24, 8, 10


def key_task(n: int, seed: int):
    """A key of 3 tokens at the start, noise, a start token, then the key again (the scored part)."""
    g = torch.Generator().manual_seed(seed)
    key = torch.randint(2, VOCAB, (n, 3), generator=g)
    noise = torch.randint(2, VOCAB, (n, LENGTH - 7), generator=g)
    full = torch.cat([key, noise, torch.ones(n, 1, dtype=torch.long), key, torch.zeros(n, 1, dtype=torch.long)], 1)
    mask = torch.zeros(n, LENGTH, dtype=torch.bool)
    mask[:, -4:-1] = True  # predict the key's three tokens after the start token
    return full[:, :-1], full[:, 1:], mask


TINY = dict(
    segment_len=SEGMENT,
    mem_size=2,
    d_model=16,
    n_layers=1,
    n_heads=2,
    d_ff=32,
    curriculum=(1, 3),
    curriculum_threshold=0.0,  # move on at the first evaluation: the test is about the mechanics
    steps=24,
    batch_size=8,
    eval_interval=6,
    warmup_steps=2,
    eval_batch_size=64,
)


@pytest.fixture
def mine():
    data = rl.TaskData(train=key_task(256, 0), valid=key_task(32, 1), test=key_task(48, 2))
    experiment = rl.register(
        rl.Experiment("mine", "task", "a key across 3 segments", "acc", True, {"tiny": TINY}, data=data)
    )
    yield experiment
    del rl.EXPERIMENTS["mine"]


class _Stop(Exception):
    pass


def test_a_task_of_ones_own_trains_through_the_curriculum_and_resumes_bit_identically(mine, tmp_path):
    quiet = dict(log=lambda line: None)
    whole = rl.train_experiment("mine", "rmt", "tiny", out_dir=tmp_path / "whole", **quiet)
    stages = [h["segments"] for h in whole.history]
    assert stages[0] == 1 and stages[-1] == 3 and sorted(stages) == stages  # the curriculum, 1 then 3 segments

    seen = []

    def stop_at_the_third_evaluation(line: str):
        seen.append(line)
        if sum(" | step " in s for s in seen) == 3:  # checkpoints exist from the earlier evaluations
            raise _Stop

    with pytest.raises(_Stop):
        rl.train_experiment("mine", "rmt", "tiny", out_dir=tmp_path / "cut", log=stop_at_the_third_evaluation)
    resumed = rl.train_experiment("mine", "rmt", "tiny", out_dir=tmp_path / "cut", **quiet)
    assert resumed.resumed == 1 and resumed.history == whole.history and resumed.metrics == whole.metrics

    model, cfg = rl.load_model(resumed.run_dir)
    ours = rl.evaluate_task(model, key_task(48, 2), cfg.segment_len, batch_size=64)
    assert ours == pytest.approx(whole.metrics["test"])  # plain tensors: the record's test split


def test_early_stopping_at_a_target_ends_the_run(mine, tmp_path):
    quiet = dict(log=lambda line: None)
    record = rl.train_experiment("mine", "rmt", "tiny", overrides={"target": 0.0}, out_dir=tmp_path, **quiet)
    assert record.stop_reason.startswith("target") and record.steps < TINY["steps"]


def test_a_saved_model_loads_without_pickle_and_answers_the_same(tmp_path):
    torch.manual_seed(0)
    model = rl.MemoryTransformer(
        rl.ModelConfig(variant="rmt", vocab_size=VOCAB, d_model=16, n_layers=1, n_heads=2, d_ff=32, num_mem_tokens=2)
    ).eval()
    weights = rl.save_model(model, tmp_path / "saved")
    header = int.from_bytes(weights.read_bytes()[:8], "little")  # safetensors: a length, then JSON
    assert json.loads(weights.read_bytes()[8 : 8 + header])  # no pickle anywhere in the file
    again, run_config = rl.load_model(tmp_path / "saved")
    tokens = key_task(4, 3)[0]
    assert run_config is None
    assert torch.equal(rl.run_segments(again, tokens, SEGMENT).logits, rl.run_segments(model, tokens, SEGMENT).logits)
    half = rl.save_model(model, tmp_path / "half", half=True)
    assert half.stat().st_size < 0.6 * weights.stat().st_size
    back, _ = rl.load_model(tmp_path / "half")
    assert next(back.parameters()).dtype == torch.float32


def test_bad_data_and_unknown_experiments_are_refused_by_name():
    tokens, targets, mask = key_task(8, 0)
    with pytest.raises(ValueError, match=r"sample lengths .* every split of one task has one length"):
        rl.TaskData(train=(tokens, targets, mask), valid=(tokens[:, :-1], targets[:, :-1], mask[:, :-1]))
    with pytest.raises(ValueError, match="vocab_size=5 is not allowed: an integer above the largest token"):
        rl.TaskData(train=(tokens, targets, mask), valid=(tokens, targets, mask), vocab_size=5)
    with pytest.raises(ValueError, match="valid=list is not allowed"):
        rl.TaskData(train=(tokens, targets, mask), valid=[tokens, targets, mask])
    unknown = r"experiment='nobody' is not allowed: one of .*\(rmt_lite.register adds your own\)"
    with pytest.raises(ValueError, match=unknown):
        rl.train_experiment("nobody", "rmt", "tiny")
    data = rl.TaskData(train=(tokens, targets, mask), valid=(tokens, targets, mask))
    with pytest.raises(ValueError, match="data='TaskData' is not allowed: none for kind='lm'"):
        rl.register(rl.Experiment("words", "lm", "", "loss", False, {"tiny": {}}, data=data))
    with pytest.raises(ValueError, match=r"profiles\['tiny'\]=\['segment_length'\] is not allowed"):
        rl.register(rl.Experiment("typo", "task", "", "acc", True, {"tiny": {"segment_length": 8}}, data=data))
    assert "words" not in rl.EXPERIMENTS and "typo" not in rl.EXPERIMENTS
