"""Shipped half-precision weights (runs.ship_weights, model.safetensors): what a fresh clone reloads
for analyses."""

from pathlib import Path

import pytest
import torch

from rmt_lite import load_model, run_segments
from rmt_lite.curriculum import make_task
from rmt_lite.evaluate import evaluate_task
from rmt_lite.records import RunRecord, default_results_dir
from rmt_lite.runs import ship_weights, train_experiment

SHIPPED = sorted(default_results_dir().glob("*/*/model.safetensors"))
LIMIT_MB = 25


def test_shipped_weights_load_as_the_trained_model(tmp_path):
    record = train_experiment(
        "copy",
        "rmt",
        "smoke",
        0,
        {"steps": 4, "eval_interval": 4, "warmup_steps": 0},
        out_dir=tmp_path,
        log=lambda line: None,
    )
    run_dir = Path(record.run_dir)
    trained, _ = load_model(run_dir)
    path = ship_weights(run_dir)
    (run_dir / "checkpoint.pt").unlink()  # what a fresh clone has
    shipped, cfg = load_model(run_dir)
    assert next(shipped.parameters()).dtype == torch.float32
    assert path.stat().st_size < 0.5 * sum(p.numel() * 4 for p in trained.parameters()) + 65536
    tokens = make_task(cfg).fixed_set("test", 8).tokens
    torch.testing.assert_close(
        run_segments(shipped, tokens, cfg.segment_len).logits,
        run_segments(trained, tokens, cfg.segment_len).logits,
        rtol=0,
        atol=2e-2,
    )


def test_the_shipped_weights_stay_small():
    assert sum(p.stat().st_size for p in SHIPPED) <= LIMIT_MB * 2**20


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_shipped_weights_reproduce_their_recorded_test_accuracy(path):
    record = RunRecord.load(path.parent / "record.json")
    model, cfg = load_model(path.parent)
    segment_len = record.metrics["segment_len"]
    test = make_task(cfg).fixed_set("test", cfg.test_size)
    again = evaluate_task(model, test, segment_len, task=make_task(cfg))
    assert abs(again["acc"] - record.metrics["test"]["acc"]) <= 0.01
