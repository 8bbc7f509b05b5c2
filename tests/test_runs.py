"""rmt_lite.runs.train_or_reuse: the one train-or-reuse policy; and the provenance line of the chapters."""

import json

import pandas as pd
import pytest

from rmt_lite import RunRecord, resolve, runs
from rmt_lite.book.chapters import provenance
from rmt_lite.runs import default_run_id


def record_of(cfg, run_id):
    return RunRecord(
        run_id=run_id,
        experiment=cfg.experiment,
        model=cfg.model,
        profile=cfg.profile,
        seed=cfg.seed,
        config=cfg.to_dict(),
        metrics={},
    )


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Replace training by a stub that records how it was called; the checkout is ``tmp_path``."""
    made = []

    def fake_train(experiment, model, profile, seed, overrides, **kw):
        made.append(dict(experiment=experiment, model=model, profile=profile, **kw))
        return record_of(resolve(experiment, model, profile, seed, overrides), "x")

    monkeypatch.setattr(runs, "train_experiment", fake_train)
    monkeypatch.setattr(runs, "repo_root", lambda: tmp_path)
    return made


def finished_run(root, cfg, *, weights=True, config=None):
    folder = root / cfg.experiment / default_run_id(cfg)
    folder.mkdir(parents=True)
    record_of(cfg, folder.name).save(folder / "record.json")
    (folder / "config.json").write_text(json.dumps(config if config is not None else cfg.to_dict()))
    if weights:
        (folder / "weights.pt").write_bytes(b"")
    return folder


def test_a_committed_run_with_its_weights_is_reused_not_trained(calls, tmp_path):
    cfg = resolve("copy", "rmt", "cpu", 0)
    folder = finished_run(tmp_path / "results", cfg)
    record, run_dir = runs.train_or_reuse("copy", "rmt", "cpu", 0, results_dir=tmp_path / "results", log=lambda s: None)
    assert calls == [] and run_dir == folder and record.run_id == folder.name


def test_a_record_without_weights_or_of_another_config_is_trained_again_outside_the_results(calls, tmp_path):
    cfg = resolve("copy", "rmt", "cpu", 0)
    finished_run(tmp_path / "results", cfg, weights=False)
    _, run_dir = runs.train_or_reuse("copy", "rmt", "cpu", 0, results_dir=tmp_path / "results")
    assert calls[-1]["out_dir"] == tmp_path / "runs" / "cpu" and not calls[-1]["rerun"]
    assert run_dir == tmp_path / "runs" / "cpu" / "copy" / default_run_id(cfg)
    other = resolve("reverse", "rmt", "cpu", 0)
    finished_run(tmp_path / "results", other, config={**other.to_dict(), "steps": 1})
    runs.train_or_reuse("reverse", "rmt", "cpu", 0, results_dir=tmp_path / "results")
    assert len(calls) == 2 and calls[-1]["out_dir"] == tmp_path / "runs" / "cpu"


def test_a_smoke_run_is_always_trained_again_under_runs_smoke(calls, tmp_path):
    finished_run(tmp_path / "runs" / "smoke", resolve("copy", "rmt", "smoke", 0))
    runs.train_or_reuse("copy", "rmt", "smoke", 0, results_dir=tmp_path / "results")
    assert calls[-1]["out_dir"] == tmp_path / "runs" / "smoke" and calls[-1]["rerun"]


def test_bad_input_is_refused_before_anything_is_written(calls, tmp_path):
    with pytest.raises(ValueError, match="profile"):
        runs.train_or_reuse("copy", "rmt", "laptop", 0)
    assert calls == [] and not (tmp_path / "runs").exists()


def test_provenance_line_counts_runs_and_names_seeds_and_commits():
    one = pd.DataFrame([dict(profile="cpu", seed=0, git_sha="abc1234")])
    assert provenance.records_provenance(one, "results") == "results: 1 run, profile=cpu, seed 0, commit abc1234"
    many = pd.DataFrame([dict(profile="cpu", seed=s, git_sha=f"c{s}") for s in range(5)])
    assert provenance.records_provenance(many, "r") == "r: 5 runs, profile=cpu, seeds 0-4, commits c0,c1,c2 +2 more"
    assert provenance.records_provenance(pd.DataFrame(), "r") == "r: no runs"


def test_provenance_line_counts_runs_from_uncommitted_code_instead_of_naming_them():
    shas = ["a1", "b2+dirty", "c3+dirty"]
    mixed = pd.DataFrame([dict(profile="cpu", seed=s, git_sha=sha) for s, sha in enumerate(shas)])
    line = provenance.records_provenance(mixed, "r")
    assert line == "r: 3 runs, profile=cpu, seeds 0-2, commit a1, 2 from uncommitted code"
    edited = pd.DataFrame([dict(profile="cpu", seed=0, git_sha="b2+dirty")])
    assert "+dirty" not in provenance.records_provenance(edited, "r")
    assert provenance.records_provenance(edited, "r").endswith("all from uncommitted code")
