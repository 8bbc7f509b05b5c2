"""Chapter 9's table of claim 10 from generalisation records."""

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
