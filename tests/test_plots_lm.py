"""Chapter 6 figure (rmt_lite.book.plots.lm): two panels per source, drawn from prepared rows."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from test_chapters_lm import _records  # noqa: E402  (the same records as the tables' tests)

from rmt_lite.book.chapters import lm  # noqa: E402
from rmt_lite.book.plots import lm as plm  # noqa: E402
from rmt_lite.book.plots import overlapping_texts, run_together_texts  # noqa: E402
from rmt_lite.repro import paper  # noqa: E402


def test_figure_has_two_panels_per_source_and_handles_missing_runs():
    ref, _ = lm.paper_table(paper.language_modelling(), "lm_bytes", 64)
    ours = lm.ours_table(_records(), "lm_bytes")
    panels = {"ours": lm.figure_panels(ours), "paper": lm.figure_panels(ref), "none": lm.figure_panels(ours.iloc[:0])}
    fig = plm.plot_lm(panels, "bits per byte (bpc)", "PROVENANCE", title="t")
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(axes) == 6
    assert axes[0].get_ylabel() == "bits per byte (bpc)"
    assert any(t.get_text() == "no runs" for t in axes[4].texts)
    assert any(t.get_text() == "no rmt runs" for t in axes[5].texts)
    assert any(t.get_text() == "PROVENANCE" for t in fig.texts)
    # the rmt line of the memory panel is marked with its depth: d2 at size 10, d3 at size 4
    marks = sorted(t.get_text() for t in axes[0].texts)
    assert marks == ["d2", "d3"]
    plt.close(fig)


def test_the_papers_memory_sizes_are_labelled_where_they_stand_apart():
    ref, _ = lm.paper_table(paper.language_modelling(), "lm_bytes", 64)
    fig = plm.plot_lm({"paper": lm.figure_panels(ref)}, "bpc", "p")
    memory_ax = next(ax for ax in fig.axes if ax.get_title() == "equal memory")
    labels = {float(t.get_position()[0]): t.get_text() for t in memory_ax.get_xticklabels()}
    assert labels[75] == "75" and labels[100] == "" and labels[200] == "200"  # no "75100"
    assert run_together_texts(fig) == [] and overlapping_texts(fig) == []
    plt.close(fig)


def test_figure_draws_the_transformer_as_a_dashed_line_at_its_mean():
    ours = lm.ours_table(_records(), "lm_bytes")
    fig = plm.plot_lm({"ours": lm.figure_panels(ours)}, "bpc", "p")
    memory_ax = next(ax for ax in fig.axes if ax.get_title() == "equal memory")
    dashed = [line for line in memory_ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == 1.5
    plt.close(fig)


def test_learning_curves_draw_one_line_per_run_and_a_legend_per_model_and_seed():
    curves = pd.DataFrame(
        [
            dict(label=label, seed=seed, tokens_seen=t * 1_000_000, value=2.0 - 0.1 * t)
            for label in ("transformer", "xl", "rmt depth 0", "rmt depth 2")
            for seed in (0, 1)
            for t in (1, 2, 3)
        ]
    )
    fig = plm.plot_learning_curves(curves, "bits per byte (bpc)", "PROVENANCE", "t")
    ax = fig.axes[0]
    assert len(ax.lines) == 8 and ax.get_xlabel() == "training tokens seen (millions)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["transformer", "xl", "rmt depth 0", "rmt depth 2", "seed 0", "seed 1"]
    plt.close(fig)
