"""Figure text never printed over figure text: the detector, and what stamp() tidies or refuses."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rmt_lite.book.plots import overlapping_texts, run_together_texts, small_texts, stamp  # noqa: E402


def test_the_detector_sees_text_on_text_and_nothing_in_a_clean_figure():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_title("a title")
    assert overlapping_texts(fig) == []
    fig.suptitle("a suptitle", y=0.93)  # pushed down onto the panel title
    assert overlapping_texts(fig) == [("a title", "a suptitle")]
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks(range(8), [f"label {i}" for i in range(8)])  # too many long ticks for 2 inches
    assert len(overlapping_texts(fig)) >= 7
    plt.close("all")


def test_texts_on_one_line_closer_than_a_space_read_as_one_string():
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.set_axis_off()
    left = ax.text(0.1, 0.5, "1.00", fontsize=10)
    fig.canvas.draw()
    box = left.get_window_extent(fig.canvas.get_renderer())

    def beside(gap_px, dy_px=0.0):  # a second number gap_px to the right of the first
        x, y = fig.transFigure.inverted().transform((box.x1 + gap_px, box.y0 + dy_px))
        return fig.text(x, y, "0.98", fontsize=10)

    close = beside(2)
    assert run_together_texts(fig) == [("1.00", "0.98")] and overlapping_texts(fig) == []
    close.set_visible(False)
    spaced = beside(10 * fig.dpi / 72)  # a full em of 10 pt
    apart_lines = beside(2, dy_px=3 * box.height)  # 2 px to the right, but on another line
    assert run_together_texts(fig) == []
    spaced.remove(), apart_lines.remove()
    plt.close(fig)


def test_stamp_moves_labels_of_one_point_apart_and_keeps_them_in_their_panel():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1, 2], [0, 1, 1])
    ax.set_ylim(0, 1.05)
    ax.set_title("panel")
    for name in ("m24", "m12", "m8"):  # three labels at the same point, at the top of the panel
        ax.annotate(name, (2, 1), xytext=(4, 0), textcoords="offset points")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stamp(fig, "where it comes from")
    assert overlapping_texts(fig) == []
    plt.close(fig)


def test_stamp_wraps_a_panel_title_wider_than_its_panel():
    fig, axes = plt.subplots(1, 3, figsize=(6, 2.5))
    long = "a panel title far too long to fit above a third of a six-inch figure"
    axes[1].set_title(long)
    stamp(fig, "where it comes from")
    assert "\n" in axes[1].get_title() and axes[1].get_title().replace("\n", " ") == long
    assert overlapping_texts(fig) == []
    plt.close(fig)


def test_stamp_warns_about_text_it_cannot_move():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.text(0.5, 0.5, "one note")
    ax.text(0.5, 0.5, "another note")  # placed in data coordinates: not an annotation to spread
    with pytest.warns(UserWarning, match="texts printed over or against each other in the figure 'untitled'"):
        stamp(fig, "where it comes from")
    plt.close(fig)


def test_stamp_raises_small_text_and_a_figure_that_shrinks_it_again_is_reported():
    fig, ax = plt.subplots(figsize=(9, 3))  # wider than the column: shown scaled down
    ax.plot([0, 1], [0, 1])
    ax.set_title("a title", fontsize=5)
    ax.text(0.5, 0.5, "a note", fontsize=4)
    assert {"a title", "a note"} <= set(small_texts(fig))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stamp(fig, "where it comes from")
    assert small_texts(fig) == []
    ax.texts[0].set_fontsize(4)  # shrunk after stamp(): what the build must catch
    assert small_texts(fig) == ["a note"]
    plt.close("all")
