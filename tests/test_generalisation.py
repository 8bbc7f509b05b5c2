"""Which trained runs python -m rmt_lite.repro.generalisation evaluates, and how far."""

from rmt_lite.repro import generalisation, reproduce


def test_the_needle_memory_runs_are_each_evaluated_once_and_never_past_the_profiles_farthest_length():
    runs = generalisation._runs_of("needle_memory", 0)
    assert {json_key(o) for _, o in runs} == {json_key(r.overrides) for r in reproduce.needle_memory()}
    assert len(runs) == len({json_key(o) for _, o in runs}) and {m for m, _ in runs} == {"rmt"}
    assert max(generalisation.EXPERIMENTS["needle"]) * 4 == generalisation.NEEDLE_FARTHEST  # 4 trained segments
    assert [o["length"] for _, o in generalisation._runs_of("needle_lengths", 0)] == [64, 128, 192]
    # the profile's run, every seed, and the queue's run whose first stage waits until it passes: seed 1 only
    assert generalisation._runs_of("needle_distractors", 1) == [("rmt", None), ("rmt", {"curriculum_waits": "true"})]
    assert generalisation._runs_of("needle_distractors", 2) == [("rmt", None)]


def test_the_harder_needle_has_two_distractors_and_the_batch_that_broke_its_plateau():
    from rmt_lite.run_config import resolve

    cfg = resolve("needle_distractors", "rmt", "cpu")
    assert cfg.task["num_distractors"] == 2 and cfg.batch_size == 128
    assert cfg.curriculum[-1] == 8  # the nearest to the paper's 7 training segments


def json_key(overrides):
    return tuple(sorted(overrides.items()))
