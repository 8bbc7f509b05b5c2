"""Chapter 6 helpers (rmt_lite.plots.lm): what runs, tidy tables, the paper's rows, the figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from rmt_lite import paper, resolve  # noqa: E402
from rmt_lite.plots import lm  # noqa: E402


def test_corpus_overrides_point_at_the_real_corpus_only_with_a_path():
    assert lm.corpus_overrides("lm_bytes", "") == {}
    assert lm.corpus_overrides("lm_words", None) == {}
    o = lm.corpus_overrides("lm_bytes", "/data/enwik8.zip")
    assert o == {"corpus": "enwik8", "corpus_path": "/data/enwik8.zip"}
    assert resolve("lm_bytes", "rmt", "smoke", 0, o).task["corpus"] == "enwik8"
    assert lm.corpus_overrides("lm_words", "/data/wt103")["corpus"] == "wt103"
    with pytest.raises(ValueError, match="experiment='copy'"):
        lm.corpus_overrides("copy", "x")


def test_sweep_has_equal_memory_pairs_and_a_depth_series():
    runs = lm.sweep([2, 8], [0, 1, 2], default_depth=1)
    names = [r["name"] for r in runs]
    assert names[0] == "transformer" and runs[0]["overrides"] == {}
    for m in (2, 8):
        assert {"model": "xl", "overrides": {"mem_size": m}}.items() <= next(
            r for r in runs if r["name"] == f"xl, cache {m}"
        ).items()
        assert any(r["model"] == "rmt" and r["overrides"] == {"mem_size": m, "bptt_depth": 1} for r in runs)
    depths = sorted(
        r["overrides"]["bptt_depth"] for r in runs if r["model"] == "rmt" and r["overrides"]["mem_size"] == 2
    )
    assert depths == [0, 1, 2] and len(names) == len(set(names))
    for r in runs:  # every run resolves
        resolve("lm_bytes", r["model"], "smoke", 0, r["overrides"])
    with pytest.raises(ValueError, match="mem_sizes"):
        lm.sweep([], [0], 1)


def _records():
    rows = [
        ("transformer", 10, 2, 0, 1.5),
        ("xl", 10, 2, 0, 1.4),
        ("xl", 10, 2, 1, 1.3),
        ("rmt", 10, 2, 0, 1.2),
        ("rmt", 10, 0, 0, 1.45),
        ("rmt", 4, 2, 0, 1.35),
        ("rmt", 4, 3, 0, 1.3),
    ]
    df = pd.DataFrame(
        [
            dict(experiment="lm_bytes", model=m, mem_size=s, bptt_depth=d, seed=seed, test_bpc=v, corpus="wiki_bytes")
            for m, s, d, seed, v in rows
        ]
    )
    return pd.concat([df, df.assign(experiment="lm_words", test_bpc=np.nan)], ignore_index=True)


def test_ours_table_names_memory_and_depth_per_model():
    t = lm.ours_table(_records(), "lm_bytes")
    assert len(t) == 7 and set(t["corpus"]) == {"wiki_bytes"}
    assert (t.loc[t.model == "transformer", "mem_size"] == 0).all()
    assert t.loc[t.model != "rmt", "bptt_depth"].isna().all()
    assert sorted(t.loc[t.model == "rmt", "bptt_depth"]) == [0, 2, 2, 3]
    assert lm.ours_table(_records(), "lm_words").empty  # no test_ppl column
    assert lm.ours_table(pd.DataFrame(), "lm_bytes").empty


def test_memory_curve_keeps_the_deepest_rmt_run_per_size():
    curve = lm.memory_curve(lm.ours_table(_records(), "lm_bytes"))
    rmt = curve[curve.model == "rmt"].set_index("mem_size")["bptt_depth"]
    assert rmt.to_dict() == {10: 2, 4: 3}
    assert (curve.model == "xl").sum() == 2 and (curve.model == "transformer").sum() == 1


def test_summary_groups_seeds():
    s = lm.summary(lm.ours_table(_records(), "lm_bytes"))
    xl = s.loc[("xl", 10, "-")]
    assert xl["runs"] == 2 and xl["mean"] == pytest.approx(1.35)
    assert s.loc[("rmt", 10, "0"), "mean"] == pytest.approx(1.45)


def test_paper_rows_match_the_corpus_and_the_nearest_segment_length():
    P = paper.language_modelling()
    words, seg = lm.paper_table(P, "lm_words", 50)
    assert seg == 50 and set(words["corpus"]) == {"wt103"}
    assert set(words["model"]) == {"transformer", "xl", "rmt"}
    ten = words[(words.model == "rmt") & (words.mem_size == 10) & (words.bptt_depth == 4)]["value"].mean()
    assert ten == pytest.approx(26.255, abs=1e-3)  # the paper's RMT-10 at depth 4
    assert lm.paper_table(P, "lm_words", 140)[1] == 150
    by, seg = lm.paper_table(P, "lm_bytes", 64)
    assert seg == 128 and set(by["corpus"]) == {"enwik8"}
    assert (by.loc[by.model == "transformer", "mem_size"] == 0).all()
    table = lm.paper_overview(P)
    assert ("wt103", "50", "rmt 10") in table.index and "depth 4" in table.columns
    assert table.loc[("wt103", "150", "transformer"), "no memory tokens"] == pytest.approx(29.954, abs=1e-3)
    assert ("enwik8", "512 (eval 128)", "xl 512") in table.index
    assert list(table.columns) == ["no memory tokens"] + [f"depth {d}" for d in range(5)]


def test_figure_has_two_panels_per_source_and_handles_missing_runs():
    P = paper.language_modelling()
    ref, _ = lm.paper_table(P, "lm_bytes", 64)
    ours = lm.ours_table(_records(), "lm_bytes")
    fig = lm.plot_lm({"ours": ours, "paper": ref, "none": ours.iloc[:0]}, "lm_bytes", "provenance", title="t")
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(axes) == 6
    assert axes[0].get_ylabel() == "bits per byte (bpc)"
    assert any(t.get_text() == "no runs" for t in axes[4].texts)
    plt.close(fig)


def test_printable_text():
    assert lm.printable("a\x00b\nc\ufffd\td") == "a·b\nc·\td"
    assert lm.printable("aaa bbb ccc\n\nddd", width=7) == "aaa bbb\nccc\n\nddd"


def test_first_step_gains_of_the_paper():
    g = lm.first_step_gains(paper.language_modelling()).set_index(["dataset", "segment_len", "mem_size"])
    ten = g.loc[("wt103", 50, 10)]
    assert ten["depths"] == 5 and ten["first_gain"] == pytest.approx(30.687 - 27.9485, abs=1e-3)
    assert ten["later_gain"] == pytest.approx(27.9485 - 26.255, abs=1e-3)
    assert ("wt103", 50, 50) not in g.index  # depths 0 and 1 only
    assert g["first_is_largest"].dtype == bool
    assert ten["first_is_largest"] and ten["first_beats_rest"]
    assert (g["first_beats_rest"] <= g["first_is_largest"]).all()
