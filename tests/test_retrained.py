"""Trained twice: pairing an edited-tree record with its clean retrain, and where their training parts."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rmt_lite.records import RunRecord
from rmt_lite.repro import retrained


def save(results, run_id, sha, acc, losses, model="rmt", steps=None):
    history = [{"step": 250 * (i + 1), "loss": loss, "acc": acc} for i, loss in enumerate(losses)]
    RunRecord(
        run_id=run_id,
        experiment="retrieval",
        model=model,
        profile="cpu",
        seed=0,
        config={"segment_len": 5, "mem_size": 5, "task": {"num_pairs": 4}},
        metrics={"test": {"acc": acc}, "valid": {"acc": acc}, "segments": 2},
        history=history,
        steps=steps or 250 * len(losses),
        git_sha=sha,
    ).save(results / "retrieval" / run_id / "record.json")


@pytest.fixture
def two_trainings(tmp_path):
    before, after = tmp_path / "before" / "results", tmp_path / "after" / "results"
    # the retrained run: the same at the first evaluation up to rounding, apart from step 750
    save(before, "rmt-cpu-s0", "9dcb5c4+dirty", 0.987, [1.44204795, 0.9, 0.5, 0.1])
    save(after, "rmt-cpu-s0", "bcc4332", 0.515, [1.44204807, 0.900004, 0.52, 0.8])
    # clean before (nothing to compare), and still from an edited tree after (not retrained yet)
    save(before, "xl-cpu-s0", "abc1234", 1.0, [1.0, 0.5], model="xl")
    save(after, "xl-cpu-s0", "abc1234", 1.0, [1.0, 0.5], model="xl")
    save(before, "xl-cpu-s1", "9dcb5c4+dirty", 0.9, [1.0, 0.5], model="xl")
    save(after, "xl-cpu-s1", "9dcb5c4+dirty", 0.9, [1.0, 0.5], model="xl")
    return before, after


def test_only_runs_retrained_from_a_clean_commit_are_paired_and_their_parting_step_is_found(two_trainings):
    before, after = two_trainings
    assert retrained.main(["--experiment", "retrieval", "--before", str(before), "--results", str(after)]) == 0
    table = retrained.load(after, "retrieval")
    assert list(table["run_id"]) == ["rmt-cpu-s0"]
    row = table.iloc[0]
    assert (row["commit_before"], row["commit_after"]) == ("9dcb5c4+dirty", "bcc4332")
    assert (row["test_before"], row["test_after"]) == (0.987, 0.515)
    assert row["loss_gap_first"] == pytest.approx(1.2e-7, abs=1e-9)
    assert row["parted_at"] == 750  # 4e-6 at step 500 is rounding, 0.02 at 750 is not
    assert list(table.columns) == retrained.COLUMNS


def test_trainings_that_never_part_say_so():
    history = pd.DataFrame(dict(run_id="r", step=[250, 500], loss=[1.0, 0.5]))
    rec = pd.DataFrame([dict(run_id="r", model="rmt", num_segments=2, seed=0, test_acc=0.9, steps_done=500)])
    table = retrained.compare(rec.assign(git_sha="a+dirty"), history, rec.assign(git_sha="b"), history, metric="acc")
    assert math.isnan(table.loc[0, "parted_at"]) and table.loc[0, "loss_gap_first"] == 0


def test_a_missing_before_folder_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        retrained.main(["--experiment", "retrieval", "--before", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert "--before" in err and "nowhere" in err and "not a folder" in err
    with pytest.raises(SystemExit):
        retrained.main(["--experiment", "nope", "--before", str(tmp_path)])
    assert "experiment='nope' is not allowed" in capsys.readouterr().err
