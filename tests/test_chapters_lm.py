"""Chapter 6 helpers (rmt_lite.book.chapters.lm): what runs, tidy tables, the paper's rows, the numbers
of the prose."""

import math

import numpy as np
import pandas as pd
import pytest

from rmt_lite import RunRecord, resolve
from rmt_lite.book.chapters import lm
from rmt_lite.repro import paper


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


def _paired():
    """Three seeds of transformer, xl and rmt at depths 0 and 2 (memory 10), as tidy rows."""
    rows = []
    for seed, (t, x, r0, r2) in enumerate([(2.7, 2.6, 2.69, 2.66), (2.7, 2.6, 2.68, 2.61), (2.7, 2.65, 2.66, 2.62)]):
        rows += [
            dict(model="transformer", mem_size=0, bptt_depth=np.nan, seed=seed, value=t),
            dict(model="xl", mem_size=10, bptt_depth=np.nan, seed=seed, value=x),
            dict(model="rmt", mem_size=10, bptt_depth=0.0, seed=seed, value=r0),
            dict(model="rmt", mem_size=10, bptt_depth=2.0, seed=seed, value=r2),
            dict(model="xl", mem_size=4, bptt_depth=np.nan, seed=seed, value=9.0),  # another size: ignored
        ]
    return pd.DataFrame(rows).assign(corpus="wiki_bytes")


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


def test_figure_panels_split_the_memory_curve_from_the_rmt_depths():
    curve, rmt = lm.figure_panels(lm.ours_table(_records(), "lm_bytes"))
    assert len(curve) == 5 and set(rmt["model"]) == {"rmt"} and len(rmt) == 4
    empty_curve, empty_rmt = lm.figure_panels(lm.ours_table(pd.DataFrame(), "lm_bytes"))
    assert empty_curve.empty and empty_rmt.empty


def test_summary_groups_seeds_in_plain_columns():
    s = lm.summary(lm.ours_table(_records(), "lm_bytes"))
    assert list(s.columns) == ["model", "memory", "depth", "mean", "std", "min", "max", "runs"]
    assert list(s["model"]) == ["transformer", "xl", "rmt", "rmt", "rmt", "rmt"]
    rmt = s[s.model == "rmt"]
    assert list(zip(rmt["memory"], rmt["depth"])) == [(4, "2"), (4, "3"), (10, "0"), (10, "2")]
    xl = s[s.model == "xl"].iloc[0]
    assert xl["runs"] == 2 and xl["mean"] == pytest.approx(1.35) and xl["depth"] == "-"
    assert s[(s.model == "rmt") & (s.memory == 10) & (s.depth == "0")]["mean"].item() == pytest.approx(1.45)
    assert lm.summary(lm.ours_table(pd.DataFrame(), "lm_bytes")).empty


def test_per_seed_pairs_the_runs_of_one_seed():
    wide = lm.per_seed(_paired(), 10)
    assert list(wide.columns) == ["seed", "transformer", "xl", "rmt depth 0", "rmt depth 2"]
    assert wide.set_index("seed").loc[1, "rmt depth 2"] == pytest.approx(2.61)
    assert (wide["xl"] < 3).all()  # the xl run of another memory size is not mixed in


def test_seed_counts_follow_the_claims_rule():
    counts = lm.seed_counts(_paired(), 10)
    # rmt (depth 2) below the transformer in every seed; below xl in none; within 1 % of xl in seeds 1, 2
    assert counts == dict(
        seeds=3,
        rmt_below_transformer=3,
        rmt_below_xl=1,
        rmt_matches_xl=2,
        xl_below_rmt=2,
        depth_seeds=3,
        deeper_below_depth0=3,
    )
    none = lm.seed_counts(_paired()[lambda d: d.model != "xl"], 10)
    assert none["seeds"] == 0 and none["depth_seeds"] == 3
    assert lm.seed_counts(pd.DataFrame(), 10)["seeds"] == 0


def test_means_name_every_model_asked_for():
    m = lm.means(_paired(), 10, [0, 2, 5])
    assert m["transformer"] == pytest.approx(2.7) and m["rmt depth 2"] == pytest.approx((2.66 + 2.61 + 2.62) / 3)
    assert math.isnan(m["rmt depth 5"])
    assert all(math.isnan(v) for v in lm.means(pd.DataFrame(), 10).values())


def test_training_tokens_beside_the_paper_profile():
    records = pd.DataFrame([dict(experiment="lm_bytes", steps=100, batch_size=4, segment_len=16)])
    t = lm.training_tokens(records, "lm_bytes")
    ref = resolve("lm_bytes", "rmt", "paper")
    assert t["tokens"] == 6400 and t["paper_tokens"] == ref.steps * ref.batch_size * ref.segment_len
    assert t["times"] == pytest.approx(t["paper_tokens"] / 6400)
    assert math.isnan(lm.training_tokens(pd.DataFrame(), "lm_words")["tokens"])


def test_shown_runs_prefer_the_committed_records():
    committed = _records()[lambda d: d.experiment == "lm_bytes"].assign(profile="cpu", git_sha="abc1234")
    fresh = committed.assign(profile="smoke", test_bpc=9.0)
    s = lm.shown_runs(committed, fresh, "lm_bytes", "smoke")
    assert s.committed and s.tidy["value"].max() < 9
    assert s.provenance.startswith("committed records: 7 runs, profile=cpu")
    s = lm.shown_runs(committed.iloc[:0], fresh, "lm_bytes", "smoke")
    assert not s.committed and (s.tidy["value"] == 9.0).all() and "smoke" in s.label


def test_fresh_table_puts_each_metric_in_its_column():
    rec = RunRecord(
        run_id="rmt-smoke-s0",
        experiment="lm_words",
        model="rmt",
        profile="smoke",
        seed=0,
        config={"segment_len": 16},
        metrics={"test": {"ppl": 300.0, "bpc": 8.2}},
        steps=16,
        wall_time_s=1.5,
    )
    t = lm.fresh_table([("lm_words", "wiki_words", "rmt, 2 memory, depth 1", rec)])
    assert list(t.columns) == ["corpus", "setting", "steps", "segment", "train s", "bpc", "ppl"]
    assert t.iloc[0]["ppl"] == 300.0 and math.isnan(t.iloc[0]["bpc"]) and t.iloc[0]["segment"] == 16


def test_corpus_table_lists_the_splits():
    class Corpus:
        name, level, vocab_size = "wiki_bytes", "byte", 256
        train, valid, test = [0] * 90, [0] * 5, [0] * 5

    t = lm.corpus_table({"lm_bytes": Corpus()})
    assert t.iloc[0].to_dict() == dict(
        experiment="lm_bytes",
        corpus="wiki_bytes",
        level="byte",
        train=90,
        valid=5,
        test=5,
        vocabulary=256,
        metric="bpc",
    )


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


def test_paper_overview_is_flat():
    table = lm.paper_overview(paper.language_modelling())
    assert list(table.columns) == ["data set", "segment", "setting", "no memory tokens"] + [
        f"depth {d}" for d in range(5)
    ]
    row = table[(table["data set"] == "wt103") & (table["segment"] == "150") & (table["setting"] == "transformer")]
    assert row["no memory tokens"].item() == pytest.approx(29.954, abs=1e-3)
    assert ((table["data set"] == "enwik8") & (table["segment"] == "512 (eval 128)")).any()
    assert ((table["segment"] == "50") & (table["setting"] == "rmt 10")).any()


def test_paper_means_of_the_claims():
    m = lm.paper_means(paper.language_modelling(), "wt103", 50, 10)
    assert m["rmt deepest"] == 4 and m["rmt depth 4"] == pytest.approx(26.255, abs=1e-3)
    assert m["xl"] < m["transformer"]
    assert lm.paper_means(paper.language_modelling(), "wt103", 50, 999).keys() == {"transformer"}


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


def test_learning_curves_put_each_evaluation_at_the_tokens_seen():
    records = pd.DataFrame(
        [
            dict(experiment="lm_bytes_long", run_id=r, model=m, bptt_depth=2, seed=s, batch_size=16, segment_len=64)
            for r, m, s in (("a", "rmt", 0), ("b", "xl", 1))
        ]
    )
    history = pd.DataFrame(
        [
            dict(experiment="lm_bytes_long", run_id=r, step=s, bpc=3.0 - s / 1000)
            for r in ("a", "b", "other")
            for s in (1000, 2000)
        ]
        + [dict(experiment="lm_bytes", run_id="a", step=1500, bpc=9.0)]  # another experiment's run "a"
    )
    curves = lm.learning_curves(records, history)
    assert list(curves["label"].unique()) == ["rmt depth 2", "xl"]
    a = curves[curves["label"] == "rmt depth 2"]
    assert list(a["tokens_seen"]) == [1000 * 16 * 64, 2000 * 16 * 64] and list(a["value"]) == [2.0, 1.0]
    assert lm.learning_curves(records.iloc[:0], history).empty


def test_late_order_lists_the_last_quarter_of_validations_then_the_test():
    exp = "lm_bytes_long"
    records = pd.DataFrame(
        [
            dict(experiment=exp, run_id=f"{m}-{s}", model=m, mem_size=10, bptt_depth=2, seed=s, test_bpc=1.0 + i / 10)
            for i, m in enumerate(("transformer", "xl", "rmt"))
            for s in (0, 1)
        ]
    )
    history = pd.DataFrame(
        [
            dict(experiment=exp, run_id=r, step=step, bpc=2.0 + step / 1000)
            for r in records["run_id"]
            for step in (1000, 2000, 3000, 4000)
        ]
    )
    late = lm.late_order(records, history, exp, 10)
    assert list(late.columns) == ["seed", "step", "transformer", "xl", "rmt depth 2"]
    assert list(late["step"]) == ["3,000", "4,000", "test"] * 2 and list(late["seed"]) == [0] * 3 + [1] * 3
    assert list(late["xl"]) == [5.0, 6.0, 1.1] * 2  # validations from 3/4 of training on, then the test split
    assert lm.late_order(records, history.iloc[:0], exp, 10).empty


def test_gap_over_training_follows_the_lead_along_the_curves():
    curves = pd.DataFrame(
        [
            dict(label=label, seed=seed, tokens_seen=t, value=v)
            for seed, rmt in ((0, (2.2, 2.1, 2.05)), (1, (2.2, 1.9, 2.05)))
            for label, values in (("xl", (2.0, 2.0, 2.0)), ("rmt depth 2", rmt))
            for t, v in zip((1000, 2000, 3000), values)
        ]
    )
    gap = lm.gap_over_training(curves, "xl", "rmt depth 2").set_index("seed")
    assert list(gap["evaluations"]) == [3, 3] and list(gap["ahead_at_all"]) == [True, False]
    assert list(gap["ahead_at"]) == [3, 2]  # seed 1's rmt dips below xl at the second evaluation
    assert gap.loc[0, "first"] == pytest.approx(0.1) and gap.loc[1, "last"] == pytest.approx(0.025)
    assert lm.gap_over_training(curves, "xl", "transformer").empty
