"""Records: atomic writes, JSON that always parses, the aggregate CSV, DataFrames for notebooks."""

from __future__ import annotations

import json
import os

import pytest
import torch

from rmt_lite import records
from rmt_lite.records import RunRecord, atomic_torch_save, atomic_write_json, load_history, load_records, write_summary


def _record(run_id="rmt-cpu-s0", profile="cpu", seed=0, acc=0.5):
    return RunRecord(
        run_id=run_id,
        experiment="copy",
        model="rmt",
        profile=profile,
        seed=seed,
        config={"segment_len": 24, "mem_size": 8, "task": {"length": 24}},
        metrics={"test": {"acc": acc, "loss": float("nan")}, "valid": {"acc": acc}, "segments": 3},
        history=[{"step": 100, "acc": acc / 2}, {"step": 200, "acc": acc}],
        steps=200,
        git_sha="abc",
        versions={"torch": "2.13.0"},
        device="cpu",
    )


def test_atomic_write_replaces_whole_files_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "sub" / "r.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    atomic_write_json(path, {"a": 1})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(records.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_checkpoints_round_trip_with_weights_only(tmp_path):
    obj = {"model": {"w": torch.randn(3)}, "rng": torch.get_rng_state(), "step": 5, "h": "[1, 2]"}
    atomic_torch_save(tmp_path / "c.pt", obj)
    back = torch.load(tmp_path / "c.pt", weights_only=True)
    assert torch.equal(back["model"]["w"], obj["model"]["w"]) and back["step"] == 5


def test_records_parse_with_nan_and_aggregate(tmp_path):
    for i, (profile, acc) in enumerate((("cpu", 0.5), ("cpu", 0.7), ("paper", 1.0))):
        rec = _record(f"rmt-{profile}-s{i}", profile, i, acc)
        rec.save(tmp_path / "copy" / rec.run_id / "record.json")
    back = RunRecord.load(tmp_path / "copy" / "rmt-cpu-s0" / "record.json")
    assert back.metrics["test"]["loss"] == "nan" and back.config["task"] == {"length": 24}
    df = load_records(tmp_path, "copy")
    assert len(df) == 3 and {"test_acc", "valid_acc", "num_segments", "length", "git_sha"} <= set(df.columns)
    assert list(load_records(tmp_path, "copy", profile="cpu")["test_acc"]) == [0.5, 0.7]
    path = write_summary(tmp_path, "copy")
    assert path == tmp_path / "copy" / "summary.csv" and len(path.read_text().strip().splitlines()) == 4
    hist = load_history(tmp_path, "copy", profile="paper")
    assert list(hist["step"]) == [100, 200] and list(hist["acc"]) == [0.5, 1.0]
    assert load_records(tmp_path, "reverse").empty
    assert os.listdir(tmp_path / "copy").count("summary.csv") == 1


def test_every_committed_record_sits_under_the_run_id_its_config_gives_today():
    """Run ids never change (a moved module, a new field, a new variant fact): every committed
    record's saved config still names the folder it was trained in. The peer's records are named
    ``peer-`` + ours (rmt_lite.tools.peer)."""
    from rmt_lite import RunConfig
    from rmt_lite.runs import default_run_id

    found = sorted((records.repo_root() / "results").glob(f"*/*/{records.RECORD}"))
    moved = []
    for path in found:
        r = records.RunRecord.load(path)
        rid = default_run_id(RunConfig.from_dict(r.config))
        named = rid if r.implementation == "rmt_lite" else f"peer-{rid}"
        if path.parent.name != named or r.run_id != named:
            moved.append((path.parent.parent.name, path.parent.name, named))
    assert len(found) > 300 and moved == []
