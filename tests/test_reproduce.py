"""The reproduction queue: what it holds and how it is filtered (nothing is trained here)."""

import pytest

from rmt_lite.repro import reproduce
from rmt_lite.run_config import resolve


def test_every_queued_run_resolves_and_names_are_unique():
    runs = reproduce.queue()
    assert len({r.name for r in runs}) == len(runs)
    for r in runs:
        resolve(r.experiment, r.model, "cpu", r.seed, r.overrides)  # raises on a bad override


def test_every_claim_that_compares_models_has_three_seeds_of_each():
    runs = reproduce.queue()

    def seeds(experiment, model, n):
        return {
            r.seed for r in runs if (r.experiment, r.model, r.overrides.get("num_segments")) == (experiment, model, n)
        }

    for experiment, n in (
        ("copy", 3),
        ("copy", 6),
        ("copy", 9),
        ("reverse", 2),
        ("reverse", 4),
        ("reverse", 6),
        ("retrieval", 2),
        ("retrieval", 3),
        ("retrieval_long", 2),
        ("retrieval_long", 3),
    ):
        for model in ("xl", "rmt"):  # claims 2 and 4
            assert seeds(experiment, model, n) == {0, 1, 2}, (experiment, n, model)
    for experiment, n in (("copy", 3), ("reverse", 2)):
        for model in ("transformer", "mt"):  # claims 1 and 3
            assert seeds(experiment, model, n) == {0, 1, 2}, (experiment, n, model)
    for experiment in ("copy_long", "reverse_long"):  # Fig. 5: every length, 3 seeds
        for n in reproduce.LONG_LENGTHS:
            for model in ("xl", "rmt"):
                assert {
                    r.seed for r in runs if (r.experiment, r.model, r.overrides) == (experiment, model, {"length": n})
                } == {0, 1, 2}, (experiment, n, model)
    for model, n in (("transformer", 1), ("xl", None), ("rmt", None)):  # claim 5
        assert seeds("quadratic", model, n) == {0, 1, 2}, ("quadratic", model)


def test_the_paper_settings_and_rmt_xl_have_three_seeds_of_each_model():
    runs = reproduce.queue()

    def seeds(experiment, model, **overrides):
        return {
            r.seed
            for r in runs
            if (r.experiment, r.model) == (experiment, model)
            and all(r.overrides.get(k) == v for k, v in overrides.items())
        }

    for experiment, n, memory in (
        ("copy", 6, 6),
        ("reverse", 4, 6),
        ("retrieval_long", 3, 3),
        ("retrieval_long", 5, 2),
    ):
        for model in ("xl", "rmt"):  # claims 2 and 4 at the paper's smaller memory
            assert seeds(experiment, model, num_segments=n, mem_size=memory) == {0, 1, 2}, (experiment, n, model)
    for experiment, n, memory in (("copy", 6, 12), ("reverse", 4, 12), ("retrieval_long", 3, 3)):
        assert seeds(experiment, "rmt_xl", num_segments=n, mem_size=memory) == {0, 1, 2}, (experiment, n)
    for model in ("xl", "rmt"):  # claim 5 with memory as long as the segment, on the transformer's budget
        assert seeds("quadratic_small", model, mem_size=30, steps=9000) == {0, 1, 2}, model
    assert seeds("quadratic_small", "transformer", num_segments=1, steps=9000) == {0, 1, 2}


def test_list_filters_by_experiment_and_seed(capsys):
    assert reproduce.main(["--list", "--only", "retrieval", "--seed", "0"]) == 0
    names = capsys.readouterr().out.split()
    assert names and all(n.startswith("retrieval/") and "-s0" in n for n in names)


def test_unknown_experiment_is_refused_with_the_allowed_ones(capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["--list", "--only", "retrievl"])
    err = capsys.readouterr().err
    assert "retrievl" in err and "retrieval" in err and "classification" in err


@pytest.mark.slow
def test_two_jobs_train_the_same_runs_as_one(tmp_path):
    import json

    args = ["--profile", "smoke", "--only", "retrieval", "--seed", "0"]
    assert reproduce.main([*args, "--out", str(tmp_path / "one")]) == 0
    assert reproduce.main([*args, "--jobs", "2", "--out", str(tmp_path / "two")]) == 0

    def tests(folder):
        return {
            p.parent.name: json.loads(p.read_text())["metrics"]["test"]
            for p in (tmp_path / folder / "retrieval").glob("*/record.json")
        }

    one = tests("one")
    assert len(one) == 6 and tests("two") == one  # bit-identical on the CPU, one thread per run


def test_costs_count_the_finished_runs_of_the_queue_and_their_time(tmp_path, capsys):
    assert reproduce.main(["--costs", "--only", "quadratic", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["quadratic", "9", "0", "0"]  # nothing trained in an empty folder
    assert reproduce.main(["--costs", "--only", "quadratic"]) == 0  # the committed records
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:3] == ["quadratic", "9", "9"] and int(row[3]) > 0


def test_the_longer_language_modelling_and_the_needle_memory_runs_are_queued_after_the_paper_settings():
    runs = reproduce.queue()
    names = [r.name for r in runs]
    assert names.index("lm_bytes_long/rmt-s2") > names.index(
        "retrieval_long/rmt-s2-curriculum=1,2,3,5,mem_size=2,num_segments=5"
    )
    assert {r.seed for r in runs if r.experiment == "lm_bytes_long" and r.model == "rmt" and not r.overrides} == {
        0,
        1,
        2,
    }
    assert {(r.model, r.seed) for r in runs if r.overrides.get("mem_size") == 50} == {
        (m, s) for m in ("xl", "rmt") for s in (0, 1)
    }
    memory = [r for r in runs if r.experiment == "needle_memory"]
    assert {r.overrides.get("length") for r in memory} >= {256, 512} and {r.seed for r in memory} == {0, 1, 2}
    assert names.index(memory[0].name) < names.index("retrieval_long/xl-s0-mem_size=3,num_segments=3")
    distractors = [n for n in names if n.startswith("needle_distractors/")]  # issue 31's harder needle
    every_seed = [f"needle_distractors/rmt-s{s}" for s in (0, 1, 2)]
    assert [n for n in distractors if "=" not in n] == every_seed
    assert set(distractors) - set(every_seed) == {"needle_distractors/rmt-s1-curriculum_waits=true"}
    assert names.index("retrieval_long/rmt_xl-s2-mem_size=3,num_segments=3") < names.index(distractors[0])
    # the run that waits comes right after every seed: the last run issue 31 needs, before claim 5's
    assert names.index(every_seed[-1]) + 1 == names.index(distractors[-1])
    assert names.index(distractors[-1]) < names.index("quadratic_small/xl-s0-mem_size=30")


def test_runs_a_profile_cannot_hold_are_named_and_skipped(capsys):
    runs = [r for r in reproduce.queue() if r.experiment == "retrieval_study" or r.name.startswith("copy/xl-s0")]
    kept = reproduce._fitting(runs, "smoke")
    out = capsys.readouterr().out
    assert "skipped retrieval_study/rmt-s0-warmup_steps=300: not at profile smoke (warmup_steps=300" in out
    assert len(kept) < len(runs) and all("warmup_steps" not in r.overrides for r in kept)
    assert reproduce._fitting(runs, "cpu") == runs
