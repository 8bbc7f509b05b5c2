"""The benchmarks page: the committed measurements it reads, the transformer's fit, its figures."""

import json
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from rmt_lite.book.chapters import bench  # noqa: E402
from rmt_lite.book.plots import bench as bench_plots  # noqa: E402
from rmt_lite.book.plots import overlapping_texts  # noqa: E402

RESULTS = Path(__file__).resolve().parent.parent / "results"


def sweep(a=2e-6, b=3e-10):
    """A length sweep whose transformer costs exactly a·n + b·n² seconds and n²/2^20 MiB."""
    rows = []
    for n in (1024, 4096, 16384):
        rows.append(dict(model="rmt", tokens=n, seconds=6e-5 * n, us_per_token=60.0, activation_mib=15.0, stopped=""))
        t = a * n + b * n * n
        rows.append(
            dict(model="transformer", tokens=n, seconds=t, us_per_token=1e6 * t / n, activation_mib=n * n / 2**20)
        )
    rows.append(dict(model="transformer", tokens=65536, stopped="out of memory", estimated_mib=4096.0))
    return pd.DataFrame(rows)


def test_the_fit_recovers_a_quadratic_cost_and_extrapolates_it():
    fit = bench.quadratic_fit(sweep(), [1024, 1 << 20]).set_index("tokens")
    assert fit.loc[1 << 20, "us_per_token"] == pytest.approx((2e-6 + 3e-10 * 2**20) * 1e6, rel=1e-6)
    assert fit.loc[1 << 20, "activation_mib"] == pytest.approx(2**20)  # (2^20)^2 / 2^20
    assert fit.loc[1024, "activation_mib"] == pytest.approx(1.0)


def test_at_reads_one_row_and_refuses_an_ambiguous_or_missing_one():
    frame = sweep()
    assert bench.at(frame, "us_per_token", model="rmt", tokens=4096) == 60.0
    with pytest.raises(KeyError, match="3 rows match"):
        bench.at(frame, "us_per_token", model="rmt")
    with pytest.raises(KeyError, match="0 rows match"):
        bench.at(frame, "us_per_token", model="xl", tokens=4096)


def test_the_committed_measurements_load_and_draw_without_text_on_text():
    b = bench.load(RESULTS)
    assert {"rmt", "xl", "transformer"} <= set(b.length["model"])
    assert set(bench.MODES) <= set(b.memory["mode"])
    assert "commit " in bench.provenance(b.length_about, "x") and "wall clock" in bench.provenance(b.length_about, "x")
    assert "CPU time" in bench.provenance(b.about, "x")
    table = bench.throughput_table(b.throughput)
    assert table["model"].iloc[-1].startswith("recurrent-memory-transformer-pytorch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stamp() warns about text on text
        tokens = sorted(b.length["tokens"].unique())
        figs = [
            bench_plots.plot_cost_against_length(b.length, bench.quadratic_fit(b.length, tokens), "provenance"),
            bench_plots.plot_training_memory(b.memory, bench.MODES, "provenance"),
        ]
    for fig in figs:
        assert overlapping_texts(fig) == []
        assert len(fig.axes) == 2 and all(ax.get_yscale() == "log" for ax in fig.axes)
    lines = {line.get_label() for line in figs[0].axes[0].get_lines()}
    assert {"rmt", "xl", "transformer", "transformer, fit"} <= lines
    assert np.isfinite([line.get_ydata() for line in figs[1].axes[0].get_lines()][0]).all()
    plt.close("all")


def test_the_batch_table_sets_a_batched_sweep_beside_one_sample_at_a_time(tmp_path):
    single = sweep()
    batched = single.assign(
        batch=8, us_per_token=single["us_per_token"] / 2, activation_mib=single["activation_mib"] * 8
    )
    batched = batched[batched["tokens"] < 16384]  # a length the batched run did not reach is left out
    t = bench.batch_table(single, batched)
    assert set(t["tokens"]) == {1024, 4096} and (t["speed-up"] == 2.0).all()
    assert list(t.columns) == [
        "model",
        "tokens",
        "µs per token, 1 sample",
        "µs per token, 8 samples",
        "speed-up",
        "peak memory, 8 samples (MiB)",
    ]
    # load() picks the largest batch measured, with its own provenance; none: no batched sweep
    folder = tmp_path / "bench"
    folder.mkdir()
    for name in ("length", "memory", "throughput"):
        (folder / f"{name}.csv").write_text((RESULTS / "bench" / f"{name}.csv").read_text())
    for name in ("length", "summary"):
        (folder / f"{name}.json").write_text((RESULTS / "bench" / f"{name}.json").read_text())
    assert bench.load(tmp_path).batched is None
    for b in (4, 16):
        batched.assign(batch=b).to_csv(folder / f"length-batch{b}.csv", index=False)
        (folder / f"length-batch{b}.json").write_text(json.dumps(dict(threads=2, batch=b)))
        (folder / f"length-batch{b}_targets.csv").write_text("target,at_most,measured,met\n")
    loaded = bench.load(tmp_path)
    assert set(loaded.batched["batch"]) == {16} and loaded.batched_about == dict(threads=2, batch=16)
