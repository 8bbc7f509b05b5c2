"""Chapter 5 helpers (rmt_lite.book.chapters.equations): samples, chunks, decoding, per-chunk accuracy, tables."""

import math

import pandas as pd
import pytest
import torch

from rmt_lite import MemoryTransformer, ModelConfig, RunRecord
from rmt_lite.book.chapters import equations as eq
from rmt_lite.book.plots.equations import CHUNK_NAMES
from rmt_lite.evaluate import greedy_predictions


@pytest.fixture(scope="module")
def batch():
    task, b = eq.fixed_set("smoke", n=40)
    return task, b


def test_fixed_set_is_the_set_a_run_of_the_profile_scores():
    from rmt_lite import resolve

    cfg = resolve("quadratic", "rmt", "smoke")
    task, b = eq.fixed_set("smoke")
    assert len(b.targets) == cfg.test_size and b.targets.shape[1] == 6 * task.chunk_len
    _, again = eq.fixed_set("smoke")
    assert torch.equal(b.targets, again.targets)
    _, valid = eq.fixed_set("smoke", "valid")
    assert len(valid.targets) == cfg.eval_size and not torch.equal(valid.targets[:4], b.targets[:4])
    with pytest.raises(ValueError, match="split='train' is not allowed"):
        eq.fixed_set("smoke", "train")
    small, _ = eq.fixed_set("smoke", n=4, experiment="quadratic_small")
    assert small.root_range < task.root_range
    with pytest.raises(ValueError, match="experiment"):
        eq.fixed_set("smoke", experiment="copy")


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


def test_characters_mark_padding_and_the_start_token(batch):
    _, b = batch
    chars = eq.characters(b.tokens[0])
    assert len(chars) == b.tokens.shape[1] and all(len(c) == 1 for c in chars)
    assert chars[0] == ">" and chars.count(">") == 1  # the start token opens segment 1
    target = eq.characters(b.targets[0])
    assert chars[1:] == target[:-1]  # the input is the target shifted right by one
    assert target[29] == "·" and eq.characters([99999]) == ["?"]


def test_chunk_texts_refuses_a_ragged_row():
    with pytest.raises(ValueError, match="multiple of chunk_len=30"):
        eq.chunk_texts(torch.zeros(31, dtype=torch.long))


def test_pick_samples_returns_each_kind_in_order(batch):
    _, b = batch
    idx = eq.pick_samples(b.targets, n_real=2, n_none=1)
    assert idx == sorted(idx) and len(idx) == 3
    assert sum(not eq.has_real_roots(b.targets[i]) for i in idx) == 1
    table = eq.samples_table(b.targets, idx)
    assert table.shape == (6, 4) and sum("no real root" in c for c in table.columns) == 1
    assert list(table["chunk = segment"]) == [f"{k + 1}. {n}" for k, n in enumerate(CHUNK_NAMES)]
    with pytest.raises(ValueError, match="n_none=99"):
        eq.pick_samples(b.targets, n_real=1, n_none=99)


def test_chunk_accuracy_counts_whole_chunks_and_ends_with_the_answer_accuracy(batch):
    task, b = batch
    perfect = eq.chunk_accuracy(b.targets.clone(), b.targets)
    assert list(perfect["chunk"]) == list(CHUNK_NAMES[1:]) and (perfect["accuracy"] == 1).all()
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
    table = eq.decoded_table(b.targets[i], {"right": b.targets[i], "wrong": wrong}).set_index("chunk")
    assert list(table.index) == list(CHUNK_NAMES)
    assert table.loc["problem", "right"] == "(given)" and table.loc["problem", "wrong"] == "(given)"
    assert all(v.startswith("✓") for v in table["right"].iloc[1:])
    assert table.loc["answer", "wrong"].startswith("✗") and table.loc["root 2", "wrong"].startswith("✓")
    none = eq.pick_samples(b.targets, 0, 1)[0]
    empty = eq.decoded_table(b.targets[none], {"m": b.targets[none]}).set_index("chunk")
    assert empty.loc["answer", "target"] == "—" and empty.loc["answer", "m"] == "✓ —"


def test_greedy_decode_in_batches_is_greedy_decoding_of_the_whole(batch):
    task, b = batch
    torch.manual_seed(0)
    cfg = ModelConfig(
        variant="rmt", vocab_size=task.vocab_size, d_model=16, n_layers=1, n_heads=2, d_ff=32, num_mem_tokens=2
    )
    model = MemoryTransformer(cfg).eval()
    few = b[:5]
    got = eq.greedy_decode(model, few, 30, batch_size=2)
    with torch.no_grad():
        whole = greedy_predictions(model, few.tokens, few.loss_mask, 30)
    assert got.shape == few.targets.shape and torch.equal(got, whole)


def _records(rows):
    return pd.DataFrame(
        [
            dict(model=m, num_segments=n, mem_size=10, segment_len=s, seed=seed, test_answer_acc=a)
            for m, n, s, seed, a in rows
        ]
    )


def test_answer_table_and_summary_with_plain_columns():
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
    assert list(s.columns) == [
        "source",
        "setting",
        "memory",
        "segment length",
        "runs",
        "mean",
        "sd",
        "lowest",
        "highest",
    ]
    assert list(s["setting"]) == ["transformer (whole)", "xl", "rmt"]  # the chapter's order
    row = s.set_index("setting").loc["rmt"]
    assert row["mean"] == pytest.approx(0.75) and row["lowest"] == 0.7 and row["highest"] == 0.8 and row["runs"] == 2
    pairs = eq.paired_seeds(tidy, "ours (cpu)")
    assert list(pairs.index) == [0] and pairs.loc[0, "rmt"] == 0.8  # seed 1 has no transformer run
    assert eq.paired_seeds(tidy, "paper").empty
    assert list(eq.summarize(eq.answer_accuracy_table(None, None)).columns) == list(s.columns)


def test_paper_rows_sit_beside_ours():
    from rmt_lite.repro import paper

    tidy = eq.answer_accuracy_table(_records([("rmt", 6, 30, 0, 0.5)]), paper.quadratic(), label="ours (smoke)")
    assert eq.source_order(tidy["source"]) == ["ours (smoke)", "paper"]
    s = eq.summarize(tidy)
    assert list(s["source"]) == ["ours (smoke)"] + ["paper"] * 3  # ours first
    p = s[s["source"] == "paper"].set_index("setting")
    assert p.loc["rmt", "runs"] == 3 and p.loc["rmt", "mean"] > p.loc["xl", "mean"]


def test_setting_names():
    assert eq.setting_of("transformer", 1) == "transformer (whole)"
    assert eq.setting_of("transformer", 6) == "transformer (segmented)"
    assert eq.setting_of("transformer", None) == "transformer (segmented)"
    assert eq.setting_of("rmt", 6) == "rmt"


def test_runs_table_names_each_setting_and_its_metrics():
    def record(model, mem):
        return RunRecord(
            run_id=model,
            experiment="quadratic",
            model=model,
            profile="smoke",
            seed=0,
            config={"mem_size": mem},
            metrics={"segments": 6, "test": {"answer_acc": 0.1, "acc_greedy": 0.5, "acc_tf": 0.9}},
            steps=16,
            wall_time_s=2.5,
        )

    t = eq.runs_table({"transformer (whole)": record("transformer", 10), "rmt": record("rmt", 2)}).set_index("setting")
    assert t.loc["transformer (whole)", "memory"] == 0 and t.loc["rmt", "memory"] == 2
    assert t.loc["rmt", "token accuracy (teacher-forced)"] == 0.9 and t.loc["rmt", "answer accuracy"] == 0.1
    assert all("_" not in c for c in t.reset_index().columns)  # plain names


def test_settings_are_the_reproduction_queues():
    from rmt_lite.repro.reproduce import queue

    queued = {(r.model, tuple(sorted(dict(r.overrides).items()))) for r in queue() if r.experiment == "quadratic"}
    assert {(m, tuple(sorted(o.items()))) for m, o in eq.SETTINGS.values()} == queued


def test_rootless_shares_tabulates_the_held_out_equations_and_the_skew_of_a_small_range():
    from data_gen.quadratic import QuadraticTask

    df = eq.rootless_shares([5, 25], k_max=2, n=40)
    small = QuadraticTask(root_range=5, k_max=2)
    assert df.iloc[0]["held-out test equations with real roots"] == small.held_out_real_roots("test")
    assert df.iloc[0]["distinct equations"] == small.space_size
    assert math.isnan(df.iloc[0]["rootless share of 40 test equations"])  # too few to fill 40
    assert 0 < df.iloc[1]["rootless share of 40 test equations"] < 1


def test_runs_at_the_profiles_settings_are_told_from_claim_5s_paper_settings():
    rows = [  # (model, memory, steps): the profile gives 10 memory tokens and 3,000 steps
        ("xl", 10, 3000, True),
        ("rmt", 10, 3000, True),
        ("transformer", 10, 3000, True),  # a transformer's memory size is never used
        ("xl", 30, 3000, False),
        ("rmt", 30, 3000, False),
        ("transformer", 10, 9000, False),
    ]
    records = pd.DataFrame(
        [dict(experiment="quadratic_small", model=m, seed=1, mem_size=mem, steps=n) for m, mem, n, _ in rows]
    )
    assert eq.at_profile(records).tolist() == [want for *_, want in rows]
    assert eq.at_profile(records.iloc[:0]).empty
    shown = eq.answers_table(
        records.assign(
            num_segments=[6, 6, 1, 6, 6, 1], steps_done=records["steps"], test_answer_acc=0.5, test_exact_match=0.25
        )
    )
    assert list(shown["model"]) == ["rmt", "rmt", "transformer (whole)", "transformer (whole)", "xl", "xl"]
    assert list(shown["memory"]) == [10, 30, 0, 0, 10, 30] and list(shown["steps"]) == [
        3000,
        3000,
        3000,
        9000,
        3000,
        3000,
    ]
