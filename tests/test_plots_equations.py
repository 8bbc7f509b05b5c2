"""Chapter 5 helpers (rmt_lite.plots.equations): chunks, per-chunk accuracy, tables, claim wording."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import data_gen  # noqa: E402
from rmt_lite.plots import equations as eq  # noqa: E402


@pytest.fixture(scope="module")
def batch():
    task = data_gen.make_task("quadratic")
    return task, task.fixed_set("test", 40)


def test_chunks_are_the_decoded_steps(batch):
    task, b = batch
    for row in b.targets:
        chunks = eq.chunk_texts(row)
        assert len(chunks) == 6
        assert " | ".join(c for c in chunks if c) == task.decode(row)
        if eq.has_real_roots(row):
            assert chunks[2].startswith("D=") and chunks[3].startswith("x=(") and chunks[5]
        else:
            assert chunks[3:] == ["", "", ""] and "=-" in chunks[2]


def test_chunk_texts_refuses_a_ragged_row():
    with pytest.raises(ValueError, match="multiple of chunk_len=30"):
        eq.chunk_texts(torch.zeros(31, dtype=torch.long))


def test_pick_samples_returns_each_kind_in_order(batch):
    _, b = batch
    idx = eq.pick_samples(b.targets, n_real=2, n_none=1)
    assert idx == sorted(idx) and len(idx) == 3
    assert sum(not eq.has_real_roots(b.targets[i]) for i in idx) == 1
    table = eq.samples_table(b.targets, idx)
    assert table.shape == (6, 3) and sum("no real root" in c for c in table.columns) == 1
    with pytest.raises(ValueError, match="n_none=99"):
        eq.pick_samples(b.targets, n_real=1, n_none=99)


def test_chunk_accuracy_counts_whole_chunks_and_ends_with_the_answer_accuracy(batch):
    task, b = batch
    perfect = eq.chunk_accuracy(b.targets.clone(), b.targets)
    assert list(perfect["chunk"]) == list(eq.CHUNK_NAMES[1:]) and (perfect["accuracy"] == 1).all()
    pred = b.targets.clone()
    i = eq.pick_samples(b.targets, 1, 0)[0]
    pred[i, 2 * 30 + 3] = (pred[i, 2 * 30 + 3] + 1) % task.vocab_size  # one wrong character in chunk 3
    real = [j for j in range(len(b.targets)) if eq.has_real_roots(b.targets[j])]
    pred[real[1], -30] = 0  # a lost answer
    acc = eq.chunk_accuracy(pred, b.targets).set_index("chunk")["accuracy"]
    n = len(b.targets)
    assert acc["discriminant"] == pytest.approx((n - 1) / n)
    assert acc["canonical form"] == 1 and acc["root 1"] == 1
    assert acc["answer"] == pytest.approx(float(task.answer_correct(pred, b).float().mean()))
    with pytest.raises(ValueError, match="one shape"):
        eq.chunk_accuracy(pred[:, :-1], b.targets)


def test_writing_nothing_scores_the_share_of_equations_without_roots(batch):
    task, b = batch
    silent = torch.zeros_like(b.targets)
    share = eq.empty_answer_share(b.targets)
    none = sum(not eq.has_real_roots(r) for r in b.targets) / len(b.targets)
    assert share == pytest.approx(none) and 0 < share < 1
    assert share == pytest.approx(float(task.answer_correct(silent, b).float().mean()))


def test_decoded_table_marks_right_and_wrong_chunks(batch):
    _, b = batch
    i = eq.pick_samples(b.targets, 1, 0)[0]
    wrong = b.targets[i].clone()
    wrong[5 * 30] = (wrong[5 * 30] % 20) + 2 if wrong[5 * 30] != 2 else 3
    table = eq.decoded_table(b.targets[i], {"right": b.targets[i], "wrong": wrong})
    assert table.loc["problem", "right"] == "(given)"
    assert all(v.startswith("✓") for v in table["right"].iloc[1:])
    assert table.loc["answer", "wrong"].startswith("✗") and table.loc["root 2", "wrong"].startswith("✓")


def _records(rows):
    return pd.DataFrame(
        [
            dict(model=m, num_segments=n, mem_size=10, segment_len=s, seed=seed, test_answer_acc=a)
            for m, n, s, seed, a in rows
        ]
    )


def test_table_summary_and_claim_wording():
    recs = _records(
        [
            ("transformer", 1, 180, 0, 0.9),
            ("xl", 6, 30, 0, 0.5),
            ("xl", 6, 30, 1, 0.6),
            ("rmt", 6, 30, 0, 0.8),
            ("rmt", 6, 30, 1, 0.7),
        ]
    )
    tidy = eq.answer_accuracy_table(recs, None, label="ours (cpu)")
    assert set(tidy["setting"]) == {"transformer (whole)", "xl", "rmt"}
    assert tidy.loc[tidy.setting == "transformer (whole)", "mem_size"].item() == 0
    s = eq.summarize(tidy)
    assert s.loc[("ours (cpu)", "rmt"), "mean"] == pytest.approx(0.75)
    assert s.loc[("ours (cpu)", "xl"), "seeds"] == 2
    text = eq.claim_sentence(s, "ours (cpu)")
    assert "rmt is above xl." in text and "0.150 above rmt" in text
    close = eq.summarize(
        eq.answer_accuracy_table(
            _records([("xl", 6, 30, 0, 0.5), ("xl", 6, 30, 1, 0.8), ("rmt", 6, 30, 0, 0.6), ("rmt", 6, 30, 1, 0.75)]),
            None,
        )
    )
    assert "within the spread of the seeds" in eq.claim_sentence(close, "ours")
    below = eq.summarize(eq.answer_accuracy_table(_records([("xl", 6, 30, 0, 0.9), ("rmt", 6, 30, 0, 0.2)]), None))
    assert "rmt is below xl" in eq.claim_sentence(below, "ours")
    assert "lack xl" in eq.claim_sentence(
        eq.summarize(eq.answer_accuracy_table(_records([("rmt", 6, 30, 0, 0.2)]), None)), "ours"
    )
    assert "no paper results" in eq.claim_sentence(s, "paper")


def test_paper_rows_sit_beside_ours_and_the_figure_draws():
    from rmt_lite import paper

    tidy = eq.answer_accuracy_table(_records([("rmt", 6, 30, 0, 0.5)]), paper.quadratic(), label="ours (smoke)")
    assert eq.source_order(tidy["source"]) == ["ours (smoke)", "paper"]
    s = eq.summarize(tidy)
    assert s.loc[("paper", "rmt"), "seeds"] == 3 and s.loc[("paper", "rmt"), "mean"] > s.loc[("paper", "xl"), "mean"]
    fig = eq.plot_answer_accuracy(tidy, "provenance", floor=0.2)
    assert fig.axes[0].get_ylabel() == "answer accuracy (greedy)"
    plt.close(fig)


def test_setting_names():
    assert eq.setting_of("transformer", 1) == "transformer (whole)"
    assert eq.setting_of("transformer", 6) == "transformer (segmented)"
    assert eq.setting_of("transformer", None) == "transformer (segmented)"
    assert eq.setting_of("rmt", 6) == "rmt"


def test_train_fresh_retrains_smoke_and_reuses_only_runs_with_a_checkpoint(tmp_path, monkeypatch):
    import rmt_lite.trainer as trainer

    calls = []
    monkeypatch.setattr(trainer, "default_out_dir", lambda profile: tmp_path / profile)
    monkeypatch.setattr(trainer, "train_experiment", lambda *a, **kw: calls.append(kw["rerun"]) or "record")
    record, run_dir = eq.train_fresh("quadratic", "rmt", "smoke", 0)
    assert record == "record" and calls == [True] and run_dir == tmp_path / "smoke" / "quadratic" / "rmt-smoke-s0"
    _, run_dir = eq.train_fresh("quadratic", "rmt", "cpu", 0)
    assert calls[-1] is True  # a committed record without its checkpoint: retrain
    run_dir.mkdir(parents=True)
    (run_dir / "record.json").write_text("{}")
    (run_dir / "checkpoint.pt").write_bytes(b"")
    eq.train_fresh("quadratic", "rmt", "cpu", 0)
    assert calls[-1] is False  # trained here: reuse it
