"""Chapter 5 figures (rmt_lite.book.plots.equations): they draw what rmt_lite.book.chapters.equations prepares."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import seaborn as sns  # noqa: E402

from rmt_lite.book.chapters import equations as ch  # noqa: E402
from rmt_lite.book.plots import MODEL_COLORS, min_font_pt  # noqa: E402
from rmt_lite.book.plots import equations as eq  # noqa: E402
from rmt_lite.repro import paper  # noqa: E402


def _texts(fig):
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def _readable(fig):
    return min(t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()) >= min_font_pt(fig) - 1e-9


@pytest.fixture(scope="module")
def sample():
    _, b = ch.fixed_set("smoke", n=16)
    return b


def test_sample_grid_shows_every_segment_and_chunk(sample):
    fig = eq.plot_sample_grid(ch.characters(sample.tokens[0]), ch.characters(sample.targets[0]), "PROV")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        f"seg {s} {io}" for s in range(1, 7) for io in ("in", "out")
    ]
    texts = _texts(fig)
    assert all(f" {name}" in texts for name in eq.CHUNK_NAMES) and "PROV" in texts and ">" in texts
    assert _readable(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="multiple of chunk_len=30"):
        eq.plot_sample_grid(["a"] * 31, ["a"] * 31, "PROV")


def test_chunk_accuracy_bars_per_setting_with_the_floor(sample):
    rows = pd.concat(
        [
            ch.chunk_accuracy(sample.targets, sample.targets).assign(setting="rmt"),
            ch.chunk_accuracy(sample.targets * 0, sample.targets).assign(setting="xl"),
        ]
    )
    fig = eq.plot_chunk_accuracy(rows, "PROV", floor=0.25)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "canonical\nform",
        "discriminant",
        "root 1",
        "root 2",
        "answer",
    ]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["xl", "rmt"]  # the chapter's order
    heights = [p.get_height() for p in ax.patches if p.get_height() > 0]
    assert max(heights) == 1
    assert any(list(line.get_ydata()) == [0.25, 0.25] for line in ax.lines)  # the writes-nothing floor
    assert tuple(ax.patches[0].get_facecolor()[:3]) == pytest.approx(sns.desaturate(MODEL_COLORS["xl"], 0.75))
    assert "writes nothing" in _texts(fig) and "PROV" in _texts(fig) and _readable(fig)
    plt.close(fig)


def test_answer_accuracy_sets_ours_beside_the_paper():
    recs = pd.DataFrame([dict(model="rmt", num_segments=6, mem_size=10, segment_len=30, seed=0, test_answer_acc=0.5)])
    tidy = ch.answer_accuracy_table(recs, paper.quadratic(), label="ours (smoke)")
    fig = eq.plot_answer_accuracy(tidy, "provenance", floor=0.2)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "answer accuracy (greedy)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["transformer (whole)", "xl", "rmt"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ours (smoke)", "paper"]
    assert any(list(line.get_ydata()) == [0.2, 0.2] for line in ax.lines)
    assert "provenance" in _texts(fig) and _readable(fig)
    plt.close(fig)


def test_answer_curves_draw_one_line_per_setting_and_the_floor():
    history = pd.DataFrame(
        [
            dict(model=m, seed=0, step=s, answer_acc=a)
            for m, k in (("rmt", 0.1), ("transformer (whole)", 0.2))
            for s, a in ((0, 0.0), (10, k))
        ]
    )
    fig = eq.plot_answer_curves(history, "PROV", floor=0.2, title="T")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "answer accuracy (greedy)" and ax.get_title() == "T"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"rmt", "transformer (whole)"}
    assert any(list(line.get_ydata()) == [0.2, 0.2] for line in ax.lines)
    assert " writes nothing" in _texts(fig) and _readable(fig)
    plt.close(fig)
