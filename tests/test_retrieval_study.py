"""Chapter 3's retrieval study: naming the settings and timing the jump of each run."""

import math

import pandas as pd

from rmt_lite.repro import retrieval_study as rs


def record(run_id, model="rmt", seed=0, test_acc=0.3, **config):
    row = dict(
        run_id=run_id,
        model=model,
        seed=seed,
        steps_done=1500,
        test_acc=test_acc,
        implementation="rmt_lite",
        mem_size=5 if model == "rmt" else 8,
        mem_init="distinct",
        mem_init_std=1.0,
        mem_pos_gap=0,
    )
    row.update(config)
    return row


def curve(run_id, accs):
    return pd.DataFrame(dict(run_id=run_id, step=[100 * (i + 1) for i in range(len(accs))], acc=accs))


def test_a_setting_is_named_by_what_it_changes_from_the_profile():
    assert rs.condition(pd.Series(record("a", model="transformer", mem_size=0))) == "transformer"
    assert rs.condition(pd.Series(record("b"))) == "rmt"
    assert rs.condition(pd.Series(record("c", mem_size=1))) == "rmt, mem_size 1"
    assert (
        rs.condition(pd.Series(record("d", mem_init="shared", mem_pos_gap=1000)))
        == "rmt, mem_init shared, mem_pos_gap 1000"
    )
    assert rs.condition(pd.Series(record("e", mem_init_std=0.1))) == "rmt, mem_init_std 0.1"
    assert rs.condition(pd.Series(record("f", implementation="peer", mem_init_std=math.nan))) == "peer rmt"
    assert rs.condition(pd.Series(record("g", lr=0.003, warmup_steps=50))) == "rmt, lr 0.003"  # 50: the profile's
    assert rs.condition(pd.Series(record("h", warmup_steps=300))) == "rmt, warmup_steps 300"
    # the optimiser's settings name a transformer run too; memory settings do not apply to it
    assert rs.condition(pd.Series(record("i", model="transformer", mem_size=0, lr=0.0003))) == "transformer, lr 0.0003"


def test_a_run_has_learned_at_the_first_evaluation_past_the_threshold():
    records = pd.DataFrame([record("fast", seed=0), record("slow", seed=1), record("never", seed=2)])
    history = pd.concat(
        [
            curve("fast", [0.25, 0.6, 0.4, 0.9]),
            curve("slow", [0.25, 0.26, 0.5, 0.8]),
            curve("never", [0.25, 0.3, 0.5, 0.49]),
        ]
    )
    steps = rs.learning_steps(history, records).set_index("seed")["learned_at"]
    assert steps[0] == 200 and steps[1] == 400 and math.isnan(steps[2])  # 0.5 itself is not past it


def test_the_summary_counts_a_run_that_never_learned_as_the_latest():
    records = pd.DataFrame(
        [
            record("t0", model="transformer", seed=0, test_acc=1.0),
            record("t1", model="transformer", seed=1, test_acc=0.9),
            record("r0", seed=0, test_acc=0.9),
            record("r1", seed=1),
            record("r2", seed=2),
        ]
    )
    history = pd.concat(
        [
            curve("t0", [0.3, 0.9]),
            curve("t1", [0.6, 0.9]),
            curve("r0", [0.3, 0.7]),
            curve("r1", [0.3, 0.3]),
            curve("r2", [0.3, 0.3]),
        ]
    )
    table = rs.summary(rs.learning_steps(history, records)).set_index("setting")
    assert list(table.index) == ["transformer", "rmt"]
    assert table.loc["transformer", "learned"] == "2 of 2" and table.loc["transformer", "median step"] == 150
    assert table.loc["rmt", "learned"] == "1 of 3" and math.isinf(table.loc["rmt", "median step"])
    assert table.loc["rmt", "step learned, per seed"] == "200, -, -"
    assert table.loc["rmt", "later than the transformer"] == "1 of 2"  # a tie is not later; seed 2 has no pair


def test_the_finding_names_the_settings_that_learn_as_the_transformer_does():
    records = pd.DataFrame(
        [
            record("t0", model="transformer", seed=0),
            record("t1", model="transformer", seed=1),
            record("r0", seed=0),
            record("r1", seed=1),
            record("g0", seed=0, mem_pos_gap=1000),
            record("g1", seed=1, mem_pos_gap=1000),
            record("s0", seed=0, mem_size=1),
            record("s1", seed=1, mem_size=1),
        ]
    )
    records["experiment"] = "retrieval_study"
    history = pd.concat(
        [
            curve("t0", [0.3, 0.9]),
            curve("t1", [0.3, 0.9]),
            curve("r0", [0.3, 0.3]),
            curve("r1", [0.3, 0.6]),
            curve("g0", [0.6, 0.9]),
            curve("g1", [0.3, 0.9]),
            curve("s0", [0.3, 0.3]),
            curve("s1", [0.6, 0.9]),
        ]
    ).assign(experiment="retrieval_study")
    found = rs.finding(records, history)
    assert found["baseline"] == "2 of 2" and found["rmt"] == "1 of 2" and found["rmt_later"] == "1 of 2"
    assert found["matches"] == ["rmt, mem_pos_gap 1000"]  # mem_size 1 learned once, and later once
    assert rs.finding(records[records["model"] == "rmt"].iloc[:0], history) is None


def test_every_setting_the_study_varies_reaches_the_records_table():
    from rmt_lite.records import RunRecord
    from rmt_lite.run_config import resolve

    cfg = resolve("retrieval_study", "rmt", "cpu", 0, {"warmup_steps": 300, "lr": 3e-3, "mem_pos_gap": 1000})
    row = RunRecord(
        run_id="r", experiment="retrieval_study", model="rmt", profile="cpu", seed=0, config=cfg.to_dict(), metrics={}
    ).flat()
    assert rs.condition(pd.Series(row)) == "rmt, mem_pos_gap 1000, lr 0.003, warmup_steps 300"
