"""Chapter 8 figures (rmt_lite.book.plots.classification): they draw what
rmt_lite.book.chapters.classification prepares."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import seaborn as sns  # noqa: E402
from test_chapters_classification import record, tiny_data  # noqa: E402

from rmt_lite.book.chapters import classification as cc  # noqa: E402
from rmt_lite.book.plots import MODEL_COLORS, min_font_pt  # noqa: E402
from rmt_lite.book.plots import classification as pc  # noqa: E402


def _texts(fig):
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def _readable(fig):
    return min(t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()) >= min_font_pt(fig) - 1e-9


def test_data_overview_marks_what_each_model_reads():
    data = tiny_data()
    bow = cc.bow_curve(data, [1, 5, None])
    fig = pc.plot_data_overview(cc.document_lengths(data), bow, {"transformer": 1, "rmt": 5}, "PROV", "title")
    texts = _texts(fig)
    assert "PROV" in texts and "title" in texts and "transformer reads 1 " in texts and "rmt reads 5 " in texts
    left, right = fig.axes[:2]
    marks = {line.get_xdata()[0]: line.get_color() for line in right.lines if line.get_linestyle() == "--"}
    assert marks == {1: MODEL_COLORS["transformer"], 5: MODEL_COLORS["rmt"]}
    whole = cc.bow_at(bow)[None]
    assert f"bag of words, whole document ({whole:.2f})" in [t.get_text() for t in right.get_legend().get_texts()]
    assert _readable(fig)
    plt.close(fig)


def test_accuracy_figure_draws_seeds_references_and_the_paper():
    data = tiny_data()
    bow = cc.bow_curve(data, [1, 5, None])
    runs = cc.runs_table([record("rmt", 0, 0.8), record("rmt", 1, 0.6), record("transformer", 0, 0.5)])
    refs = cc.bow_references(bow, {"transformer": 1}, 0.4)
    fig = pc.plot_accuracy(runs, refs, "PROV", "t", paper=cc.paper_table())
    assert len(fig.axes) == 2 and "PROV" in _texts(fig)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [pc.MODEL_LABELS["transformer"], pc.MODEL_LABELS["rmt"]]
    bars = sorted((p.get_x(), p.get_height()) for p in ax.patches)
    assert [h for _, h in bars] == pytest.approx([0.5, 0.7])  # the mean over seeds
    first, second = sorted(ax.patches, key=lambda p: p.get_x())
    assert tuple(first.get_facecolor()[:3]) == pytest.approx(sns.desaturate(MODEL_COLORS["transformer"], 0.75))
    assert tuple(second.get_facecolor()[:3]) == pytest.approx(sns.desaturate(MODEL_COLORS["rmt"], 0.75))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"{k}: {v:.2f}" for k, v in refs.items()]  # only the reference lines
    assert sorted(t.get_text() for t in fig.axes[1].texts) == ["94.9", "98.1"]
    assert _readable(fig)
    plt.close(fig)
    alone = pc.plot_accuracy(runs, {}, "PROV", "t")
    assert len(alone.axes) == 1 and alone.axes[0].get_legend() is None
    plt.close(alone)
