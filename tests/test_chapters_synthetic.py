"""rmt_lite.book.chapters.synthetic and rmt_lite.book.plots.tasks: the tables, numbers and figures of chapters
02-04 (copy and reverse, associative retrieval, longer sequences)."""

import json
import math
import warnings

import matplotlib
import pandas as pd
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import data_gen  # noqa: E402
from rmt_lite import MemoryTransformer, RunRecord, resolve  # noqa: E402
from rmt_lite.book.chapters import (
    longer,  # noqa: E402
    needle,  # noqa: E402
    provenance,  # noqa: E402
    retrieval,  # noqa: E402
)
from rmt_lite.book.chapters import synthetic as cs  # noqa: E402
from rmt_lite.book.plots import tasks as tp  # noqa: E402
from rmt_lite.config import display_name  # noqa: E402


def record(
    experiment="copy",
    model="rmt",
    seed=0,
    segments=3,
    segment_len=12,
    mem_size=8,
    acc=0.5,
    exact=0.1,
    profile="cpu",
    task=None,
    history=(),
    curriculum=(),
    sha="abc1234",
):
    task = task or ({"num_pairs": 4} if experiment == "retrieval" else {"length": 12, "num_symbols": 10})
    cfg = dict(
        segment_len=segment_len,
        mem_size=mem_size,
        bptt_depth=None,
        n_layers=4,
        d_model=128,
        batch_size=64,
        steps=100,
        lr=1e-3,
        task=task,
        curriculum=list(curriculum),
    )
    metrics = {
        "test": {"acc": acc, "exact_match": exact},
        "valid": {"acc": acc, "exact_match": exact},
        "segments": segments,
    }
    rid = f"{model}-{profile}-s{seed}-n{segments}-m{mem_size}"
    return RunRecord(
        run_id=rid,
        experiment=experiment,
        model=model,
        profile=profile,
        seed=seed,
        config=cfg,
        metrics=metrics,
        history=list(history),
        steps=100,
        stop_reason="steps",
        wall_time_s=10.0,
        git_sha=sha,
    )


def frame(*records):
    return provenance.records_frame(records)


# ------------------------------------------------------------------------------------------------
def test_model_label_names_the_one_segment_transformer_whole():
    assert display_name("transformer", 1) == "transformer (whole)"
    assert display_name("transformer", 3) == "transformer"
    assert display_name("rmt", 1) == "rmt"
    assert display_name("transformer", None) == "transformer"


def test_chance_level_of_each_task():
    assert cs.chance_level("copy", 10) == pytest.approx(0.1)
    assert cs.chance_level("reverse_long", 8) == pytest.approx(0.125)
    assert cs.chance_level("copy120", 4) == pytest.approx(0.25)
    assert cs.chance_level("retrieval") == pytest.approx(0.1)
    with pytest.raises(ValueError, match="num_symbols"):
        cs.chance_level("copy")
    with pytest.raises(ValueError, match="task="):
        cs.chance_level("quadratic", 10)


def test_chance_levels_reads_the_records_or_the_profile():
    recs = frame(record(task={"length": 6, "num_symbols": 4}))
    assert cs.chance_levels(["copy"], recs) == {"copy": pytest.approx(0.25)}
    cpu = resolve("reverse", "rmt", "cpu").task["num_symbols"]
    assert cs.chance_levels(["reverse"], recs, "cpu")["reverse"] == pytest.approx(1 / cpu)


# ------------------------------------------------------------------------------------------------
def test_summarise_records_aggregates_seeds_and_names_the_whole_transformer():
    recs = frame(
        record(seed=0, acc=0.5),
        record(seed=1, acc=0.7),
        record(seed=2, acc=0.9, sha="def5678"),
        record(model="transformer", segments=1, segment_len=36, mem_size=8, acc=1.0, exact=1.0),
        record(model="xl", mem_size=4, acc=0.2),
    )
    s = cs.summarise_records(recs)
    rmt = s[s.label == "rmt"].iloc[0]
    assert (rmt.acc_mean, rmt.acc_min, rmt.acc_max) == pytest.approx((0.7, 0.5, 0.9))
    assert rmt.n_runs == 3 and rmt.seeds == "0-2" and rmt.commits == "abc1234,def5678"
    assert rmt.seq_len == 36 and rmt.num_segments == 3
    whole = s[s.label == "transformer (whole)"].iloc[0]
    assert whole.mem_size == 0 and whole.num_segments == 1  # a transformer has no memory
    # equal memory: only memory models of that size; the transformer stays
    kept = cs.summarise_records(recs, mem_size=8)
    assert set(kept.label) == {"rmt", "transformer (whole)"}
    kept = cs.summarise_records(recs, mem_size={"copy": 4})
    assert set(kept.label) == {"xl", "transformer (whole)"}


def test_summarise_records_of_nothing_is_an_empty_table_with_the_columns():
    s = cs.summarise_records(pd.DataFrame())
    assert len(s) == 0 and list(s.columns) == cs.SUMMARY_COLUMNS
    with pytest.raises(ValueError, match="split='train'"):
        cs.summarise_records(frame(record()), split="train")


def test_records_provenance_names_profile_seeds_runs_and_commits():
    line = provenance.records_provenance(frame(record(seed=0), record(seed=2, sha="x9")), "results/")
    assert "profile=cpu" in line and "seeds 0,2" in line and "2 runs" in line and "abc1234" in line and "x9" in line
    assert "no runs" in provenance.records_provenance(pd.DataFrame(), "results/")


def test_runs_table_has_one_row_per_run():
    t = cs.runs_table(frame(record(), record(model="transformer", segments=1, segment_len=36)))
    assert list(t["model"]) == ["rmt", "transformer (whole)"]
    assert list(t["memory"]) == [8, 0]


# ------------------------------------------------------------------------------------------------
def test_paper_summary_gives_the_headline_copy_numbers_from_the_csvs():
    p = cs.paper_summary("copy")
    assert cs.lookup(p, "copy", "rmt", 9) == pytest.approx(1.0)
    assert cs.lookup(p, "copy", "xl", 9) == pytest.approx(0.28, abs=0.01)  # the paper: xl 0.28 in 9 segments
    assert cs.lookup(p, "copy", "xl", 6) == pytest.approx(0.97, abs=0.01)
    assert cs.lookup(p, "copy", "transformer (whole)", 1) == pytest.approx(1.0)
    mem = p[p.label != "transformer"].set_index(["label", "num_segments"])
    # memory = segment length: 24, 12 and 8 memory slots for 3, 6 and 9 segments of 72 tokens
    assert mem.loc[("rmt", 9), "mem_size"] == 8 and mem.loc[("xl", 3), "mem_size"] == 24
    assert p.exact_mean.isna().all()


def test_paper_summary_pools_retrieval_runs_by_the_segments_the_reference_really_made():
    p = cs.paper_summary("retrieval")
    assert not p.duplicated(["label", "num_segments"]).any()
    assert 4 not in set(p.num_segments)  # torch.chunk never made 4 segments of 10 tokens
    rmt2 = p[(p.label == "rmt") & (p.num_segments == 2)].iloc[0]
    assert rmt2.mem_sizes == "4,5" and rmt2.segment_len == 5


def test_paper_summary_filters_and_renames():
    p = cs.paper_summary(["copy120", "copy240", "copy360"], memory="all", query="segment_len == 120", task="copy_long")
    assert set(p.task) == {"copy_long"} and set(p.segment_len) == {120}
    assert sorted(p[p.label == "rmt"].seq_len) == [360, 720, 1080]
    with pytest.raises(ValueError, match="datasets="):
        cs.paper_summary("copy999")
    with pytest.raises(ValueError, match="memory="):
        cs.paper_summary("copy", memory="some")


# ------------------------------------------------------------------------------------------------
def summary_of(rows):
    """rows: (label, segments, [accs])"""
    recs = [
        record(model="transformer" if lab == "transformer" else lab, seed=i, segments=n, segment_len=36 // n, acc=a)
        for lab, n, accs in rows
        for i, a in enumerate(accs)
    ]
    return cs.summarise_records(frame(*recs))


def test_comparison_table_puts_ours_beside_the_paper():
    ours = summary_of([("rmt", 9, [1.0]), ("rmt", 4, [0.5])])
    t = cs.comparison_table(ours, cs.paper_summary("copy"))
    row = t[(t.model == "rmt") & (t.segs == 9)].iloc[0]
    assert row["acc ours"] == 1.0 and row["acc paper"] == pytest.approx(1.0) and row["mem paper"] == "8"
    only_ours = t[(t.model == "rmt") & (t.segs == 4)].iloc[0]
    assert pd.isna(only_ours["acc paper"])


def test_memory_sweeps_tabulate_the_settings_run_at_several_memory_sizes():
    recs = frame(record(mem_size=2, acc=0.2), record(mem_size=8, acc=0.9), record(model="xl", mem_size=8, acc=0.3))
    sw = longer.memory_sweeps(cs.summarise_records(recs))
    assert list(sw.columns) == ["task", "model", "tokens", "segments", "memory 2", "memory 8"]
    assert len(sw) == 1 and sw.iloc[0]["memory 8"] == pytest.approx(0.9)
    assert len(longer.memory_sweeps(cs.summarise_records(frame(record(mem_size=8))))) == 0


# ------------------------------------------------------------------------------------------------
def hist(step, stage, segments, acc):
    return dict(step=step, stage=stage, segments=segments, segment_len=12, seq_len=12 * segments, acc=acc)


def test_history_with_config_and_curriculum_table(tmp_path):
    h = [hist(50, 0, 1, 0.5), hist(100, 0, 1, 0.95), hist(150, 1, 2, 0.4), hist(200, 1, 2, 0.7), hist(250, 2, 3, 0.6)]
    r = record(experiment="copy_long", history=h, curriculum=(1, 2, 3), task={"length": 12, "num_symbols": 8})
    df = longer.history_with_config(None, "copy_long", records=[r, record(experiment="copy")])
    assert len(df) == 5 and set(df["curriculum"]) == {"1,2,3"} and set(df["label"]) == {"rmt"}
    table = longer.curriculum_table(df)
    assert list(table["steps"]) == [100, 100, 50]
    assert (
        list(table["model"]) == ["rmt"] * 3
        and list(table["best acc"]) == [0.95, 0.7, 0.6]
        and list(table["evaluations"]) == [2, 2, 1]
    )
    # the same, read back from a results folder
    folder = tmp_path / "copy_long" / r.run_id
    folder.mkdir(parents=True)
    r.save(folder / "record.json")
    assert len(longer.history_with_config(tmp_path, "copy_long", profile="cpu")) == 5
    assert len(longer.history_with_config(tmp_path, "copy_long", profile="smoke")) == 0


def test_profile_settings_leaves_out_the_sweeps():
    cfg = resolve("copy_long", "rmt", "cpu")
    recs = frame(
        record(experiment="copy_long", mem_size=cfg.mem_size, task=dict(cfg.task)),
        record(experiment="copy_long", mem_size=cfg.mem_size + 1, task=dict(cfg.task)),
        record(experiment="copy_long", model="transformer", mem_size=cfg.mem_size + 1, task=dict(cfg.task)),
        record(experiment="copy_long", mem_size=cfg.mem_size, task={**cfg.task, "length": 3}),
    )
    kept = longer.profile_settings(recs, "copy_long", "cpu")
    assert len(kept) == 2 and set(kept["model"]) == {"rmt", "transformer"}


def test_find_checkpoint_only_where_the_run_left_one(tmp_path):
    for seed, with_ck in ((1, True), (0, False), (2, True)):
        r = record(experiment="copy_long", seed=seed)
        folder = tmp_path / "copy_long" / r.run_id
        folder.mkdir(parents=True)
        r.save(folder / "record.json")
        if with_ck:
            (folder / "checkpoint.pt").write_bytes(b"x")
    found = cs.find_checkpoint(tmp_path, "copy_long", "rmt", "cpu")
    assert found is not None and found.name.startswith("rmt-cpu-s1")
    assert cs.find_checkpoint(tmp_path, "copy_long", "xl", "cpu") is None


# ------------------------------------------------------------------------------------------------
def test_length_generalisation_tests_longer_samples_in_more_segments():
    cfg = resolve("copy_long", "rmt", "smoke")
    task = data_gen.make_task("copy", **cfg.task)
    torch.manual_seed(0)
    model = MemoryTransformer(cfg.model_config(task.vocab_size)).eval()
    lengths = cs.generalisation_lengths(cfg, [1, 1.5, 2])
    L = cfg.task["length"]
    assert lengths == [L, round(1.5 * L), 2 * L]
    df = cs.length_generalisation(model, cfg, lengths, n_samples=4)
    assert list(df["seq_len"]) == [3 * n for n in lengths]
    assert list(df["segments"]) == [math.ceil(3 * n / cfg.segment_len) for n in lengths]
    assert list(df["trained"]) == [True, False, False]
    assert df[["acc", "acc_tf", "exact_match"]].apply(lambda c: c.between(0, 1).all()).all()
    with pytest.raises(ValueError, match="lengths"):
        cs.length_generalisation(model, cfg, [0])
    with pytest.raises(ValueError, match="factors"):
        cs.generalisation_lengths(cfg, [-1])


def test_the_needle_is_tested_far_past_its_training_length_one_segment_at_a_time():
    cfg = resolve("needle", "rmt", "smoke")
    task = data_gen.make_task("needle", **cfg.task)
    torch.manual_seed(0)
    model = MemoryTransformer(cfg.model_config(task.vocab_size)).eval()
    lengths = cs.generalisation_lengths(cfg, [1, 4, 16])
    df = cs.length_generalisation(model, cfg, lengths, n_samples=4)
    assert list(df["segments"]) == [2, 8, 32] and list(df["trained"]) == [True, False, False]
    assert (df["acc"] == df["acc_tf"]).all()  # one answer token: greedy is teacher-forced


def test_decode_example_aligns_answer_prediction_and_errors():
    task = data_gen.make_task("reverse", length=6, num_symbols=4)
    b = task.fixed_set("test", 1)
    pred = b.targets[0].clone()
    scored = b.loss_mask[0].nonzero().flatten()
    pred[scored[1]] = 1 if int(pred[scored[1]]) != 1 else 2  # one wrong token
    text = cs.decode_example(task, b.tokens[0], b.targets[0], b.loss_mask[0], 6, pred)
    lines = {ln[:8].strip(): ln[10:] for ln in text.splitlines() if ":" in ln[:9]}
    assert lines["segment"] == "0" * 6 + "1" * 7
    assert lines["prompt"] == task.decode(b.tokens[0])[:7]  # 6 symbols and the start token
    answer = task.decode(b.targets[0][b.loss_mask[0]])
    assert lines["answer"] == " " * 7 + answer  # under the positions it fills
    assert lines["errors"] == " " * 8 + "^"
    assert "5/6 answer tokens right" in text
    r = data_gen.make_task("retrieval")
    rb = r.fixed_set("test", 1)
    last = cs.decode_example(r, rb.tokens[0], rb.targets[0], rb.loss_mask[0], 5).splitlines()[-1]
    assert last == "answer  : " + " " * 10 + r.decode(rb.targets[0][-1:])  # after the 10 input tokens


# ------------------------------------------------------------------------------------------------
def test_figures_draw_ours_paper_and_empty_panels():
    ours = summary_of([("rmt", 3, [1.0, 0.9]), ("xl", 3, [0.5])])
    fig = tp.plot_accuracy_by_segments(
        ours,
        cs.paper_summary(["copy", "reverse"]),
        tasks=["copy", "reverse"],
        chance={"copy": 0.1, "reverse": 0.1},
        provenance="test",
    )
    assert len(fig.axes) == 4
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"rmt", "xl", "transformer", "mt", "paper", "chance"} <= set(labels)
    assert any(t.get_text() == "no ours runs" for t in fig.axes[1].texts)  # reverse: no runs of ours
    plt.close(fig)
    fig = tp.plot_curriculum(pd.DataFrame(), provenance="test", title="empty")
    plt.close(fig)
    recs = frame(
        record(
            experiment="copy_long",
            history=[hist(50, 0, 1, 0.5), hist(100, 1, 2, 0.4)],
            task={"length": 12, "num_symbols": 8},
        )
    )
    fig = tp.plot_curriculum(
        longer.history_with_config(
            None,
            "copy_long",
            records=[record(experiment="copy_long", history=[hist(50, 0, 1, 0.5), hist(100, 1, 2, 0.4)])],
        ),
        provenance="test",
        title="c",
        chance=0.125,
    )
    assert any("2 seg" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    fig = tp.plot_memory_size(cs.summarise_records(recs), chance=0.125, provenance="t", title="m")
    plt.close(fig)
    fig = tp.plot_accuracy_by_length(
        cs.summarise_records(recs),
        None,
        tasks=["copy_long"],
        paper_tasks=["copy_long"],
        titles=["Copy"],
        chance={},
        provenance="t",
    )
    plt.close(fig)
    gen = pd.DataFrame(dict(segments=[3, 6], acc=[1.0, 0.5], exact_match=[1.0, 0.0], trained=[True, False]))
    fig = tp.plot_length_generalisation(gen, provenance="t", title="g", chance=0.1)
    assert any("longer than in training" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_records_frame_matches_load_records(tmp_path):
    from rmt_lite import load_records

    r = record()
    folder = tmp_path / "copy" / r.run_id
    folder.mkdir(parents=True)
    r.save(folder / "record.json")
    loaded = load_records(tmp_path, "copy")
    assert json.loads(loaded.to_json()) == json.loads(provenance.records_frame([r]).to_json())
    assert len(cs.load_task_records(tmp_path, ["copy", "reverse"], "cpu")) == 1
    assert len(cs.load_task_records(tmp_path, ["reverse"], "cpu")) == 0


def test_choose_records_prefers_committed_and_marks_a_smoke_run():
    fresh = frame(record(profile="smoke"))
    shown = cs.choose_records(
        pd.DataFrame(),
        fresh,
        committed_profile="cpu",
        profile="smoke",
        fresh_provenance="this run: profile=smoke",
    )
    assert not shown.committed and shown.records is fresh and "says nothing about the paper" in shown.provenance
    assert shown.title_suffix == " (smoke run, not a result)"
    committed = frame(record(seed=0), record(seed=1))
    shown = cs.choose_records(committed, fresh, committed_profile="cpu", profile="smoke", fresh_provenance="x")
    assert shown.committed and shown.records is committed and shown.title_suffix == ""
    assert "seeds 0,1" in shown.provenance and shown.name == "ours (cpu)"


def test_titles_name_both_lengths():
    titles = cs.titles_with_lengths(summary_of([("rmt", 3, [1.0])]), cs.paper_summary("copy"), ["copy", "reverse"])
    assert titles == ["Copy: ours 36 tokens, paper 72", "Reverse: ours - tokens, paper -"]


def test_format_sweeps_puts_accuracies_in_one_column():
    sw = pd.DataFrame(
        {
            "task": ["copy"],
            "model": ["xl"],
            "tokens": [72],
            "segments": [3],
            "memory 12": [0.832],
            "memory 24": [1.0],
            "memory 6": [float("nan")],
        }
    )
    out = longer.format_sweeps(sw)
    assert list(out.columns) == ["task", "model", "tokens", "segments", "memory: accuracy"]
    assert out.iloc[0]["memory: accuracy"] == "12: 0.83 | 24: 1.00"


def test_generalisation_runs_tests_the_fresh_run_without_a_committed_checkpoint(tmp_path):
    from rmt_lite import train_experiment

    run = train_experiment(
        "copy_long",
        "rmt",
        "smoke",
        0,
        {"steps": 3, "warmup_steps": 1, "eval_interval": 3},
        out_dir=tmp_path / "runs",
        log=lambda line: None,
    )
    gen = cs.generalisation_runs(
        tmp_path / "results",
        "copy_long",
        ["rmt"],
        committed_profile="cpu",
        fresh=[run],
        profile="smoke",
        factors=[1, 2],
        n_samples=4,
    )
    assert list(gen["trained"]) == [True, False] and set(gen["model"]) == {"rmt"}
    assert gen["source"].iloc[0].startswith("this notebook's smoke run")
    with pytest.raises(ValueError, match="models contains 'xl'"):
        cs.generalisation_runs(
            tmp_path / "results",
            "copy_long",
            ["xl"],
            committed_profile="cpu",
            fresh=[run],
            profile="smoke",
            factors=[1],
            n_samples=4,
        )


def test_training_curves_draw_one_line_per_model_or_per_seed():
    from rmt_lite.book import plots

    df = pd.DataFrame(
        [
            dict(model=m, seed=s, step=step, acc=0.25 + 0.1 * s)
            for m in ("xl", "rmt")
            for s in range(3)
            for step in (100, 200, 300)
        ]
    )

    def lines(fig):
        return [ln for ln in fig.axes[0].lines if len(ln.get_xdata()) == 3]  # the curves, not the legend or chance

    assert len(lines(plots.plot_training_curves(df, "acc", "t", "p"))) == 2
    per_seed = plots.plot_training_curves(df, "acc", "t", "p", chance=0.25, chance_label="guess", units="seed")
    assert len(lines(per_seed)) == 6
    assert "guess" in [t.get_text() for t in per_seed.axes[0].texts]
    plt.close("all")


def test_every_text_of_a_figure_renders_at_nine_points_or_more_in_the_book():
    import matplotlib.pyplot as plt

    from rmt_lite.book import plots

    plots.set_style()
    for width in (5.0, 8.5, 12.0):  # narrower than the column, and two that are shown scaled down
        fig, ax = plt.subplots(figsize=(width, 3))
        ax.plot([0, 1], [0, 1], label="a curve")
        ax.legend(fontsize=6)
        ax.text(0.5, 0.5, "a note", fontsize=5)
        plots.stamp(fig, "profile cpu, seed 0, commit abc " * 8 + "\npaper: its CSVs")
        ax.set_xlim(0, 1.5)  # tick labels the figure makes only when it is drawn count too
        fig.canvas.draw()
        scale = min(1.0, plots.COLUMN_PX / (fig.dpi * width))  # how much the page shrinks the image
        sizes = [t.get_fontsize() * fig.dpi / 96 * scale for t in fig.findobj(plt.Text) if t.get_text()]
        assert min(sizes) >= plots.MIN_PT - 1e-9, (width, min(sizes))
        provenance = fig.texts[-1].get_text()
        assert "\npaper: its CSVs" in provenance and provenance.count("\n") >= 2  # wrapped, own lines kept
        plt.close(fig)


def test_how_runs_learned_finds_the_jump_its_layout_and_the_last_gain():
    runs = pd.DataFrame(
        [
            dict(experiment="retrieval", run_id=f"{m}-s{s}", model=m, seed=s, num_segments=3, stop_reason=stop)
            for m, stop in (("xl", "target: valid acc 1.0 reached"), ("rmt", "steps"))
            for s in range(2)
        ]
    )
    learned = {"xl": 750, "rmt": 2750}  # evaluations every 250 steps; the last 1500 on 3 segments

    def acc(model, seed, step):
        if model == "rmt" and seed == 1:
            return 0.25  # never learned
        return 0.9 if step >= learned[model] else 0.25

    history = pd.DataFrame(
        [
            dict(
                experiment="retrieval",
                run_id=r.run_id,
                step=step,
                segments=3 if step > 1500 else 1,
                acc=acc(r.model, r.seed, step),
            )
            for r in runs.itertuples()
            for step in range(250, 3001, 250)
        ]
    )
    out = retrieval.how_runs_learned(history, runs).set_index(["model", "seed"])
    assert out.loc[("xl", 0), "learned_at"] == 750 and out.loc[("xl", 0), "learned_on"] == 1
    assert out.loc[("rmt", 0), "learned_at"] == 2750 and out.loc[("rmt", 0), "learned_on"] == 3
    assert math.isnan(out.loc[("rmt", 1), "learned_at"])
    assert out.loc[("rmt", 0), "gain"] == pytest.approx(0.65) and out.loc[("rmt", 0), "span"] == 750
    assert (out["at_layout"] == 1500).all()
    assert out.loc[("xl", 0), "at_target"] and not out.loc[("rmt", 0), "at_target"]


def test_longer_budget_reads_each_memory_size_apart_and_lists_the_seeds_in_order():
    runs = pd.DataFrame(
        [
            dict(experiment=e, model=m, seed=s, num_segments=3, mem_size=mem, test_acc=acc, steps_done=steps)
            for e, m, s, mem, acc, steps in (
                ("retrieval_long", "xl", 1, 3, 0.80, 9000),
                ("retrieval_long", "xl", 0, 3, 0.90, 7000),
                ("retrieval_long", "xl", 0, 5, 1.00, 2000),
                ("retrieval", "xl", 0, 3, 0.10, 3000),  # the first budget: not these runs
            )
        ]
    )
    five = dict(
        experiment="retrieval_long", model="rmt", seed=0, num_segments=5, mem_size=2, test_acc=0.7, steps_done=9000
    )
    out = retrieval.longer_budget(pd.concat([runs, pd.DataFrame([five])], ignore_index=True))
    assert out["xl_3_m3"] == "0.850" and out["xl_3_m3_seeds"] == "seed 0 0.900, seed 1 0.800"
    assert out["xl_3_m3_steps"] == "8,000" and out["xl_3_m5"] == "1.000"
    assert out["rmt_3_m3"] == "not run yet" and out["rmt_2_m5_seeds"] == "none"
    assert out["rmt_5_m2"] == "0.700" and out["xl_5_m2"] == "not run yet"  # the paper's 5-segment row


def test_length_generalisation_figure_can_leave_out_exact_match_and_space_lengths_by_doublings():
    df = pd.DataFrame(
        [
            dict(model=m, segments=n, acc=0.5, exact_match=0.5, trained=n <= 4)
            for m in ("rmt", "xl")
            for n in (4, 8, 16, 128)
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 4 and 8 beside each other on the linear axis must not read as 48
        both = tp.plot_length_generalisation(df, provenance="p", title="t", hue="model")
    labels = [t.get_text() for t in both.axes[0].get_xticklabels()]
    assert labels[:2] == ["4", ""] and labels[-1] == "128"  # 8 keeps its tick, not its label
    one = tp.plot_length_generalisation(df, provenance="p", title="t", hue="model", exact=False, log_x=True)
    assert len(both.axes[0].lines) == 4 and len(one.axes[0].lines) == 2
    assert one.axes[0].get_xscale() == "log" and [t.get_text() for t in one.axes[0].get_xticklabels()] == [
        "4",
        "8",
        "16",
        "128",
    ]
    plt.close("all")


def test_generalisation_cli_skips_a_run_still_training(tmp_path, capsys):
    from rmt_lite.repro import generalisation

    folder = tmp_path / "needle" / "rmt-cpu-s0"
    folder.mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes(b"")  # a run in progress: a checkpoint, no record yet
    assert generalisation.main(["--results", str(tmp_path), "--only", "needle"]) == 0
    out = capsys.readouterr().out
    assert "rmt-cpu-s0: no finished run" in out and not (tmp_path / "generalisation").exists()


def test_needle_generalisation_records_each_sample_with_the_depth_of_its_fact(tmp_path):
    from rmt_lite.records import atomic_write_json
    from rmt_lite.repro import generalisation
    from rmt_lite.runs import train_experiment

    over = {"steps": 2, "eval_interval": 2, "warmup_steps": 0}
    run = train_experiment("needle", "rmt", "smoke", 0, over, out_dir=tmp_path / "needle", log=lambda line: None)
    record = generalisation.measure(run.run_dir, (1, 4), n_samples=6)
    atomic_write_json(tmp_path / "generalisation" / "needle" / f"{record['run_id']}.json", record)
    samples = generalisation.load_samples(tmp_path)
    assert len(samples) == 12 and samples["depth"].between(0, 1, inclusive="left").all()
    per_length = samples.groupby("length")["correct"].mean()
    for row in record["rows"]:  # the samples are the ones the accuracy counts
        assert per_length[row["length"]] == pytest.approx(row["acc"])
        assert set(samples.loc[samples["length"] == row["length"], "segments"]) == {row["segments"]}
    longer = record["rows"][1]["length"]
    task = data_gen.make_task("needle", **{**resolve("needle", "rmt", "smoke").task, "length": longer})
    test = task.fixed_set("test", 6)
    want = [task.fact_position(t) / task.seq_len for t in test.tokens]
    assert samples.loc[samples["length"] == task.length, "depth"].tolist() == pytest.approx(want)


def test_depth_accuracy_pools_seeds_within_equal_shares_of_the_sample():
    samples = pd.DataFrame(
        dict(
            model=["rmt"] * 6,
            seed=[0, 0, 1, 1, 0, 1],
            segments=[8, 8, 8, 8, 16, 16],
            depth=[0.05, 0.15, 0.55, 0.999, 0.3, 0.31],
            correct=[True, False, True, True, False, True],
        )
    )
    df = needle.depth_accuracy(samples, bins=2).set_index(["segments", "depth"])
    assert df.loc[(8, "0-50%"), "acc"] == 0.5 and df.loc[(8, "0-50%"), "n"] == 2
    assert df.loc[(8, "50-100%"), "acc"] == 1.0 and df.loc[(8, "50-100%"), "seeds"] == 1
    assert df.loc[(16, "0-50%"), "seeds"] == 2 and (16, "50-100%") not in df.index
    fig = tp.plot_fact_depth(df.reset_index(), provenance="p", title="t")
    fig.canvas.draw()
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert cells == ["0.50", "0.50", "1.00"]  # rows: the start of the sample first
    per_seed = needle.depth_accuracy(samples, bins=2, by=["model", "seed"]).set_index(["seed", "segments", "depth"])
    assert per_seed.loc[(0, 8, "0-50%"), "acc"] == 0.5 and per_seed.loc[(1, 16, "0-50%"), "acc"] == 1.0
    with pytest.raises(ValueError, match="bins"):
        needle.depth_accuracy(samples, bins=0)
    plt.close("all")


def test_needle_memory_table_splits_the_sample_into_runs_of_segments_per_seed():
    samples = pd.DataFrame(
        dict(
            seed=[0, 0, 0, 1],
            segments=[8] * 4,
            fact_segment=[0, 3, 6, 6],
            written=[True, True, False, True],
            kept=[True, False, False, False],
            answered=[True, True, False, True],
        )
    )
    df = needle.needle_memory_table(samples, bins=2)
    assert df["where"].tolist() == ["segments 1-4", "segments 5-8", "segments 5-8"]
    first = df.iloc[0]
    assert (first["written"], first["kept"], first["answered"], first["n"]) == (1.0, 0.5, 1.0, 2)
    fig = tp.plot_needle_memory(df, provenance="p", title="t", chance=0.25)
    assert [ax.get_title() for ax in fig.axes] == ["seed 0", "seed 1"]
    assert list(fig.axes[0].lines[1].get_ydata()) == [0.5, 0.0]  # kept, by part of the sample
    with pytest.raises(ValueError, match="bins"):
        needle.needle_memory_table(samples, bins=0)
    plt.close("all")


def test_the_headline_rows_keep_memory_as_long_as_a_segment_and_the_transformer():
    import pandas as pd

    from rmt_lite.book.chapters import synthetic as cs

    recs = pd.DataFrame(
        dict(model=["xl", "rmt", "rmt", "transformer"], mem_size=[12, 12, 6, 24], segment_len=[12, 12, 12, 72])
    )
    assert list(cs.memory_as_long_as_segment(recs).index) == [0, 1, 3]


def test_runs_trained_twice_are_told_apart_by_how_they_start_and_how_far_they_end():
    pairs = pd.DataFrame(
        dict(
            loss_gap_first=[1.2e-7, 2.4e-7, 8.7e-3, 2.4e-7],
            parted_at=[750.0, 1000.0, 250.0, float("nan")],
            test_before=[0.987, 0.835, 0.507, 0.113],
            test_after=[0.515, 0.702, 0.507, 0.113],
        )
    )
    told = retrieval.trained_twice(pairs)
    assert (told["runs"], told["same"], told["other"]) == ("4", "3", "1")
    assert told["first_gap"] == "2e-07" and told["other_gap"] == "0.0087"
    assert told["parted"] == "750 to 1,000" and told["never"] == "1"  # the run that started apart is not among them
    assert (told["moved"], told["largest"]) == ("2", "0.47")
    one = retrieval.trained_twice(pairs.iloc[[0]])
    assert one["parted"] == "750" and one["other"] == "0"
    none = retrieval.trained_twice(pairs.iloc[[]])  # nothing trained twice yet: a page still builds
    assert (none["runs"], none["parted"], none["first_gap"], none["largest"]) == ("0", "never", "-", "-")
