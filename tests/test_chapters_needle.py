"""Chapter 9's table of claim 10 from generalisation records."""

import numpy as np
import pandas as pd

from rmt_lite.book.chapters import needle


def test_the_lengths_table_has_one_row_per_training_length_and_a_column_per_test_length():
    rows = [
        dict(experiment="needle_lengths", run_id=f"r{n}-s{s}", seed=s, factor=f, segments=int(n * f), acc=a)
        for n in (2, 4)
        for s, a in ((0, 1.0), (1, 0.9))
        for f in (1, 1.5, 2)
    ] + [dict(experiment="needle", run_id="other", seed=0, factor=1, segments=4, acc=0.1)]
    out = needle.lengths_table(pd.DataFrame(rows))
    assert list(out["trained on"]) == [2, 4] and list(out["seeds"]) == ["0, 1", "0, 1"]
    assert list(out["tested on"]) == ["2, 3, 4", "4, 6, 8"]
    assert out.loc[0, "x2"] == "0.95 ± 0.07" and out.loc[1, "x1.5"] == "0.95 ± 0.07"
    assert needle.lengths_table(pd.DataFrame(rows[-1:])).empty and needle.lengths_table(pd.DataFrame()).empty


def test_the_norm_table_gives_each_seeds_largest_change_from_the_first_segment():
    norms = pd.DataFrame(
        [
            dict(seed=s, answered=a, segment=i, norm=n)
            for s, a, ns in ((0, 0.9, (5, 10, 11, 9)), (1, 0.3, (5, 10, 10, 10)))
            for i, n in enumerate(ns)
        ]
    )
    out = needle.norm_table(norms, at=(1, 3))
    assert list(out.columns) == ["seed", "answered", "after 1", "after 3", "largest change (%)"]
    assert list(out["largest change (%)"]) == [10.0, 0.0] and list(out["after 3"]) == [9.0, 10.0]


def settings_data():
    """Three ways of training (the profile's, a curriculum to 8, fixed steps) in records and their
    evaluations; an xl run and a run without evaluation that the tables must leave out."""
    runs = [  # experiment, run_id, seed, curriculum, stop_reason, steps, steps_done, accs from trained length on
        ("needle", "rmt-s0", 0, "1,2,4", "target", 2000, 300, (1.0, 0.9, 0.5)),
        ("needle", "rmt-s1", 1, "1,2,4", "target", 2000, 300, (1.0, 1.0, 0.97)),
        ("needle_memory", "to8-s0", 0, "1,2,4,8", "target", 2000, 400, (1.0, 1.0)),
        ("needle_memory", "long-s0", 0, "1,2,4", "steps", 6000, 6000, (1.0, 1.0, 1.0)),
        ("needle_memory", "unevaluated-s1", 1, "1,2,4,8,16", "target", 2000, 500, ()),
        ("needle_distractors", "distract-s0", 0, "1,2,4,8", "steps", 4800, 4800, (0.9, 0.6)),  # target missed
        ("needle_distractors", "waits-s0", 0, "1,2,4,8", "target", 4800, 2500, (0.95, 0.7)),
    ]
    records = pd.DataFrame(
        [
            dict(experiment=e, run_id=r, model="rmt", seed=s, curriculum=c, stop_reason=why, steps=n, steps_done=d)
            | ({"num_distractors": 2} if e == "needle_distractors" else {})  # older records lack the column
            | ({"curriculum_waits": True} if r.startswith("waits") else {})  # and the others this one
            | ({"target": None if r.startswith("long") else 0.99})  # the fixed steps: no target
            for e, r, s, c, why, n, d, _ in runs
        ]
        + [dict(experiment="needle", run_id="xl-s0", model="xl", seed=0, curriculum="1,2,4", stop_reason="steps")]
    )
    gen = []
    for e, r, s, c, *_, accs in runs:
        trained = int(c.split(",")[-1])
        gen += [
            dict(experiment=e, run_id=r, seed=s, factor=2**i, segments=trained * 2**i, acc=a)
            for i, a in enumerate(accs)
        ]
    gen.append(dict(experiment="needle", run_id="xl-s0", seed=0, factor=1, segments=4, acc=0.7))
    return records, pd.DataFrame(gen)


def test_the_ways_of_training_the_needle_are_named_ordered_and_tabled_per_run_and_per_way():
    curves = needle.settings_curves(*settings_data())
    assert list(dict.fromkeys(curves["trained"])) == [
        "4 segments, stopped at the target",
        "curriculum to 8 segments",
        "curriculum to 8 segments, 2 distractors",
        "curriculum to 8 segments, 2 distractors, each stage until it passes",
        "4 segments, 6,000 steps",
    ]  # the unevaluated run and the xl run are left out; distractors after the plain needle
    assert set(curves.loc[curves["waits"], "trained"]) == {
        "curriculum to 8 segments, 2 distractors, each stage until it passes"
    }
    runs = needle.settings_table(curves, far=(16, 32))
    assert list(runs["seed"]) == [0, 1, 0, 0, 0, 0] and list(runs["steps"]) == [300, 300, 400, 4800, 2500, 6000]
    assert list(runs["at the trained length"]) == [1.0, 1.0, 1.0, 0.9, 0.95, 1.0]
    assert runs["at 16 segments"].tolist() == [0.5, 0.97, 1.0, 0.6, 0.7, 1.0] and runs["at 32 segments"].isna().all()
    summary = needle.settings_summary(curves, segments=16, bar=0.95)
    assert list(summary["trained"]) == list(dict.fromkeys(curves["trained"]))
    assert list(summary["seeds at 0.95 or more"]) == ["1 of 2", "1 of 1", "0 of 1", "0 of 1", "1 of 1"]
    assert summary["lowest at 16"].iloc[0] == 0.5 and summary["highest at 16"].iloc[0] == 0.97
    assert (
        needle.settings_curves(pd.DataFrame(), pd.DataFrame()).empty and needle.settings_summary(pd.DataFrame()).empty
    )
    # a table of waiting runs only holds numpy booleans, a mixed one NaN beside True
    assert needle.waits(pd.DataFrame({"curriculum_waits": [True]}).iloc[0])
    assert not needle.waits(pd.DataFrame({"curriculum_waits": [True, None]}).iloc[1])


def test_the_figure_of_the_ways_of_training_has_one_panel_each_and_a_line_per_seed():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rmt_lite.book.plots import needle as needle_plots
    from rmt_lite.book.plots import overlapping_texts

    fig = needle_plots.plot_settings(needle.settings_curves(*settings_data()), chance=0.25, provenance="where")
    assert [ax.get_title().replace("\n", " ") for ax in fig.axes] == [
        "4 segments, stopped at the target",
        "curriculum to 8 segments",
        "curriculum to 8 segments, 2 distractors",
        "curriculum to 8 segments, 2 distractors, each stage until it passes",
        "4 segments, 6,000 steps",
    ]
    assert [len([ln for ln in ax.get_lines() if ln.get_label().startswith("seed")]) for ax in fig.axes] == [
        2,
        1,
        1,
        1,
        1,
    ]
    assert overlapping_texts(fig) == []
    plt.close(fig)


def million_rows():
    """Two seeds read at 4k and 1M tokens with the fact at two depths (seed 1 lacks 1M at depth 1)."""
    rows = [
        dict(seed=s, length=n, segments=-(-n // 32), depth=d, n=20, correct=c)
        for s, n, d, c in [
            (0, 4096, 0.0, 20), (0, 4096, 1.0, 20), (0, 1_000_000, 0.0, 10), (0, 1_000_000, 1.0, 20),
            (1, 4096, 0.0, 20), (1, 4096, 1.0, 18), (1, 1_000_000, 0.0, 19),
        ]
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    return df.assign(acc=df["correct"] / df["n"])


def test_the_million_table_gives_each_seed_over_every_depth_and_the_worst_cell():
    out = needle.million_table(million_rows()).set_index("tokens")
    assert list(out.index) == ["4k", "1M"] and out.loc["1M", "segments"] == 31_250
    assert out.loc["1M", "seed 0"] == 0.75 and out.loc["4k", "seed 1"] == 0.95 and out.loc["1M", "seed 1"] == 0.95
    assert out.loc["1M", "worst depth, any seed"] == 0.5 and out.loc["4k", "worst depth, any seed"] == 0.9
    assert needle.million_table(pd.DataFrame()).empty
    from rmt_lite.book.plots import tokens_label

    assert [tokens_label(n) for n in (4096, 262_144, 1_000_000, 1 << 20, 1000)] == ["4k", "256k", "1M", "1M", "1,000"]


def test_the_million_figure_has_a_panel_per_seed_and_writes_every_cell():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rmt_lite.book.plots import needle as needle_plots
    from rmt_lite.book.plots import overlapping_texts

    fig = needle_plots.plot_million(million_rows(), provenance="where")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["seed 0", "seed 1"]
    assert sorted(t.get_text() for t in panels[0].texts) == ["0.50", "1.00", "1.00", "1.00"]
    assert len(panels[1].texts) == 3  # a cell not read stays blank
    assert overlapping_texts(fig) == []
    plt.close(fig)
    # three seeds, five lengths and five depths, as committed: neighbouring numbers keep a gap,
    # each taking at most 3/4 of its cell's width
    lengths, depths = (4_096, 16_384, 65_536, 262_144, 1_000_000), (0.0, 0.25, 0.5, 0.75, 1.0)
    dense = pd.DataFrame(
        [dict(seed=s, length=n, segments=n // 32, depth=d, acc=1.0) for s in range(3) for n in lengths for d in depths]
    )
    fig = needle_plots.plot_million(dense, provenance="where")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for panel in (ax for ax in fig.axes if ax.get_title()):
        cell = panel.get_window_extent(renderer).width / len(lengths)
        assert max(t.get_window_extent(renderer).width for t in panel.texts) <= 0.75 * cell
    plt.close(fig)


def test_learned_on_one_finds_the_first_step_past_the_bar_on_one_segment_and_the_plateau_before_it():
    records = pd.DataFrame(
        [
            dict(experiment="needle_distractors", run_id="d-s0", seed=0, batch_size=128),
            dict(experiment="needle_memory", run_id="p-s0", seed=0, batch_size=32),
            dict(experiment="needle_distractors", run_id="never-s1", seed=1, batch_size=128),
        ]
    )
    curve = {  # run_id: (step, segments, validation accuracy)
        "d-s0": [(100, 1, 0.5), (200, 1, 0.6), (300, 1, 0.95), (400, 2, 0.97)],
        "p-s0": [(100, 1, 1.0), (200, 2, 1.0)],
        "never-s1": [(100, 1, 0.5), (200, 1, 0.55)],
    }
    history = pd.DataFrame(
        [
            dict(experiment=e, run_id=r, step=st, segments=n, acc=a)
            for e, r in zip(records["experiment"], records["run_id"])
            for st, n, a in curve[r]
        ]
    )
    out = needle.learned_on_one(history, records, bar=0.9).set_index(["experiment", "seed"])
    assert out.loc[("needle_distractors", 0), "step"] == 300 and out.loc[("needle_distractors", 0), "samples"] == 38400
    assert out.loc[("needle_distractors", 0), "plateau"] == 0.6
    assert out.loc[("needle_memory", 0), "step"] == 100 and np.isnan(out.loc[("needle_memory", 0), "plateau"])
    assert (
        np.isnan(out.loc[("needle_distractors", 1), "step"]) and out.loc[("needle_distractors", 1), "plateau"] == 0.55
    )
