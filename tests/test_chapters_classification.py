"""Chapter 8 helpers (rmt_lite.book.chapters.classification): data, baselines, runs, tables."""

import pandas as pd
import pytest
import torch

from data_gen.classification import ClassificationData
from rmt_lite import RunRecord, resolve
from rmt_lite.book.chapters import classification as cc
from rmt_lite.book.chapters.provenance import records_provenance


def tiny_data() -> ClassificationData:
    """Class 0 documents say 'a' first, class 1 documents say 'b' first; both end with 'c' ... 'd'."""
    itos = ["<pad>", "<unk>", "<cls>", "a", "b", "c", "d"]

    def doc(first, last, n=10):
        return torch.tensor([first] + [5] * (n - 2) + [last]), 0 if first == 3 else 1

    train = [doc(3, 5), doc(3, 5), doc(3, 6), doc(4, 6), doc(4, 6)]
    test = [doc(3, 5), doc(4, 6), doc(4, 5)]
    return ClassificationData("tiny", train, [], test, len(itos), ["x", "y"], itos)


def record(model, seed, acc, segment_len=128, max_segments=4, dataset="sotu", profile="cpu"):
    cfg = resolve("classification", model, "cpu", seed).to_dict()
    cfg["segment_len"] = segment_len
    cfg["max_segments"] = max_segments
    cfg["task"]["dataset"] = dataset
    return RunRecord(
        run_id=f"{model}-s{seed}",
        experiment="classification",
        model=model,
        profile=profile,
        seed=seed,
        config=cfg,
        metrics={
            "test": {"acc": acc, "docs": 50},
            "valid": {"acc": acc},
            "max_segments": max_segments if model == "rmt" else 1,
        },
        steps=600,
        wall_time_s=100.0,
        git_sha="abc1234",
    )


def test_paper_table_holds_the_papers_numbers_as_fractions():
    t = cc.paper_table().set_index("model")
    assert t.loc["rmt", "accuracy"] == pytest.approx(0.981) and t.loc["transformer", "accuracy"] == pytest.approx(0.949)
    assert (t["dataset"] == "Hyperpartisan").all() and t["source"].str.contains("RoBERTa").all()


def test_baselines_on_a_known_data_set():
    data = tiny_data()
    assert cc.majority_accuracy(data) == pytest.approx(1 / 3)  # "x" is the training majority
    bow = cc.bow_curve(data, [1, None])
    at = cc.bow_at(bow)
    assert at[1] == pytest.approx(1.0)  # the first word gives the class
    assert set(at) == {1, None} and list(bow["label"]) == ["first 1 tokens", "whole document"]
    lengths = cc.document_lengths(data)
    assert list(lengths["split"].value_counts().sort_index()) == [3, 5]
    assert (lengths["tokens"] == 10).all()
    refs = cc.bow_references(bow, {"transformer": 1}, 0.5)
    assert refs == {
        "bag of words, first 1 tokens": 1.0,
        "bag of words, whole document": at[None],
        "majority class": 0.5,
    }


def test_length_summary_lists_the_splits_with_documents():
    summary = cc.length_summary(cc.document_lengths(tiny_data()))
    assert list(summary["split"]) == ["train", "test"]  # no valid documents
    assert list(summary.columns) == ["split", "documents", "fewest tokens", "median tokens", "most tokens"]
    assert list(summary["documents"]) == [5, 3] and (summary["median tokens"] == 10).all()


def test_reads_counts_the_tokens_each_model_reads():
    cfg = resolve("classification", "rmt", "cpu", 0)
    assert cc.reads(cfg) == {"transformer": cfg.segment_len, "rmt": cfg.segment_len * cfg.max_segments}


def test_runs_table_counts_what_each_model_reads():
    runs = cc.runs_table([record("rmt", 1, 0.7), record("transformer", 0, 0.6), record("rmt", 0, 0.8)])
    assert list(runs["model"]) == ["transformer", "rmt", "rmt"]  # transformer first, then by seed
    assert list(runs["seed"]) == [0, 0, 1]
    assert list(runs["tokens_read"]) == [128, 512, 512]
    assert records_provenance(runs, "committed records").startswith("committed records: 3 runs, profile=cpu, seeds 0,1")
    shown = cc.plain(runs)
    assert list(shown.columns) == [
        "model",
        "data set",
        "seed",
        "tokens read",
        "test accuracy",
        "valid accuracy",
        "test documents",
        "steps",
        "train time (s)",
    ]
    assert list(shown["test accuracy"]) == list(runs["test_acc"])
    assert cc.runs_table([]).empty


def test_accuracy_summary_and_seed_pairs():
    runs = cc.runs_table(
        [record("rmt", 0, 0.8), record("rmt", 1, 0.7), record("transformer", 0, 0.6), record("transformer", 2, 0.9)]
    )
    summary = cc.accuracy_summary(runs).set_index("model")
    assert summary.loc["rmt", "mean"] == pytest.approx(0.75) and summary.loc["rmt", "seeds"] == "0,1"
    assert summary.loc["rmt", "lowest"] == 0.7 and summary.loc["transformer", "highest"] == 0.9
    assert summary.loc["transformer", "tokens read"] == 128
    pairs = cc.seed_pairs(runs)
    assert list(pairs.index) == [0] and list(pairs.columns) == ["transformer", "rmt"]  # seed 0 alone has both
    assert pairs.loc[0, "rmt"] == 0.8
    assert cc.accuracy_summary(cc.runs_table([])).empty and cc.seed_pairs(cc.runs_table([])).empty


def test_committed_records_are_the_profiles_on_the_data_set(tmp_path):
    for r in (record("rmt", 0, 0.8), record("rmt", 1, 0.7, profile="smoke"), record("rmt", 2, 0.7, dataset="other")):
        r.save(tmp_path / "classification" / r.run_id / "record.json")
    found = cc.committed_records(tmp_path, "cpu", "sotu")
    assert [r.run_id for r in found] == ["rmt-s0"]


def test_hyperpartisan_overrides():
    assert cc.hyperpartisan_overrides("", "") is None
    o = cc.hyperpartisan_overrides("a.xml", "g.xml")
    assert o == {"dataset": "hyperpartisan", "articles_xml": "a.xml", "ground_truth_xml": "g.xml"}
    assert cc.hyperpartisan_overrides("a.xml", "g.xml", "ta.xml", "tg.xml")["test_ground_truth_xml"] == "tg.xml"
    with pytest.raises(ValueError, match="both articles_xml and ground_truth_xml"):
        cc.hyperpartisan_overrides("a.xml", "")
    with pytest.raises(ValueError, match="test_articles_xml and test_ground_truth_xml"):
        cc.hyperpartisan_overrides("a.xml", "g.xml", "ta.xml", "")
    assert cc.overrides_refused("cpu", {"lr": "1e-3"}) is None
    assert "lr" in cc.overrides_refused("cpu", {"lr": "-1"})


def test_queue_overrides_match_the_reproduction_queue():
    assert cc.queue_overrides("transformer") == {"max_segments": 1}
    assert cc.queue_overrides("rmt") == {}
    assert cc.MODELS == ("transformer", "rmt")


def _fold_record(model, seed, acc, fold=None, dataset="sotu"):
    task = {"dataset": dataset, **({} if fold is None else {"fold": fold})}
    return RunRecord(
        run_id=f"{model}-s{seed}-f{fold}",
        experiment="classification",
        model=model,
        profile="cpu",
        seed=seed,
        config={"task": task, "segment_len": 128},
        metrics={"test": {"acc": acc}},
    )


def test_folds_table_puts_each_fold_in_a_column_and_averages_only_complete_seeds():
    recs = [_fold_record("rmt", 0, 0.5 + 0.1 * f, f) for f in range(4)] + [_fold_record("rmt", 0, 0.9)]
    recs += [_fold_record("transformer", 0, 0.6, 0), _fold_record("transformer", 0, 0.7)]
    t = cc.folds_table(recs)
    rmt = t[t["model"] == "rmt"].iloc[0]
    assert list(t["model"]) == ["transformer", "rmt"]
    assert rmt["fold 4"] == 0.9 and rmt["mean over folds"] == pytest.approx((0.5 + 0.6 + 0.7 + 0.8 + 0.9) / 5)
    tr = t[t["model"] == "transformer"].iloc[0]
    assert tr["fold 0"] == 0.6 and pd.isna(tr["fold 1"]) and pd.isna(tr["mean over folds"])
    assert list(cc.folds_table([]).columns)[-1] == "mean over folds"


def test_committed_records_of_one_fold(tmp_path):
    for r in [_fold_record("rmt", 0, 0.8), _fold_record("rmt", 0, 0.5, 1), _fold_record("rmt", 0, 0.7, 4)]:
        folder = tmp_path / "classification" / r.run_id
        folder.mkdir(parents=True)
        r.save(folder / "record.json")
    assert sorted(cc.fold_of(r) for r in cc.committed_records(tmp_path)) == [4, 4]  # no fold = the default, 4
    assert [cc.fold_of(r) for r in cc.committed_records(tmp_path, fold=1)] == [1]
    assert len(cc.committed_records(tmp_path, fold=None)) == 3
