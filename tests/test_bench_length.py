"""Cost against length (rmt_lite.tools.bench_length): what the table and its targets say; timing is the
benchmark's, never a test's."""

import pytest

from rmt_lite.tools import bench_length


def test_targets_compare_rmt_at_a_million_tokens_with_four_thousand():
    rows = [
        dict(model="rmt", tokens=4_096, us_per_token=100.0, activation_mib=10.0),
        dict(model="rmt", tokens=1_048_576, us_per_token=110.0, activation_mib=12.0),
        dict(model="transformer", tokens=4_096, us_per_token=1.0, activation_mib=1.0),
    ]
    got = {r["target"]: (r["measured"], r["met"]) for r in bench_length.target_rows(rows)}
    assert got["rmt time per token, 1M / 4k tokens"] == (1.1, "yes")
    assert got["rmt peak memory, 1M / 4k tokens"] == (1.2, "no")
    assert all(r["met"] == "" for r in bench_length.target_rows(rows[:1]))  # not measured: no verdict


def test_where_the_transformer_stops_the_quadratic_fit_gives_its_memory():
    rows = [dict(model="transformer", tokens=16_384, activation_mib=2_000.0)]
    assert bench_length._estimate(rows, "transformer", 65_536) == {"estimated_mib": 32_000}
    assert bench_length._estimate(rows, "rmt", 65_536) == {}


@pytest.mark.slow
def test_a_sweep_measures_each_model_in_its_own_process_and_stops_a_model_at_its_limit():
    rows = bench_length.sweep(lengths=(64, 128), models=("rmt", "transformer"), limit=60)
    assert [(r["model"], r["tokens"]) for r in rows] == [
        ("rmt", 64),
        ("rmt", 128),
        ("transformer", 64),
        ("transformer", 128),
    ]
    assert all(r["stopped"] == "" and r["seconds"] > 0 and r["us_per_token"] > 0 for r in rows)
    stopped = bench_length.sweep(lengths=(64, 128), models=("rmt",), limit=0.01)
    assert len(stopped) == 1 and stopped[0]["stopped"] == "over 0.01 s"


@pytest.mark.slow
def test_the_command_writes_the_table_its_targets_and_where_it_ran(tmp_path):
    import json

    assert bench_length.main(["--lengths", "64", "--out", str(tmp_path), "--limit", "60"]) == 0
    assert (tmp_path / "length.csv").read_text().startswith("model,tokens,batch,threads,seconds")
    about = json.loads((tmp_path / "length.json").read_text())
    assert about["threads"] == 1 and about["git_sha"] and about["machine"]["cores"]


def test_a_batched_sweep_writes_files_of_its_own_beside_the_single_sample_ones(tmp_path):
    assert bench_length.main(["--lengths", "64", "--batch", "2", "--out", str(tmp_path), "--limit", "60"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "length-batch2.csv",
        "length-batch2.json",
        "length-batch2_targets.csv",
    ]
    assert ",2," in (tmp_path / "length-batch2.csv").read_text().splitlines()[1]
