"""Chapter 08 helpers (rmt_lite.plots.classification)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from data_gen.classification import ClassificationData  # noqa: E402
from rmt_lite import RunRecord, resolve  # noqa: E402
from rmt_lite.plots import classification as pc  # noqa: E402


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
        metrics={"test": {"acc": acc}, "valid": {"acc": acc}, "max_segments": max_segments if model == "rmt" else 1},
        steps=600,
        wall_time_s=100.0,
        git_sha="abc1234",
    )


def test_paper_numbers_are_the_papers_and_named():
    assert pc.PAPER_HYPERPARTISAN == {"transformer": 94.9, "rmt": 98.1}
    assert "NeurIPS 2022" in pc.PAPER_HYPERPARTISAN_SOURCE and "RoBERTa" in pc.PAPER_HYPERPARTISAN_SOURCE
    t = pc.paper_table().set_index("model")
    assert t.loc["rmt", "accuracy"] == pytest.approx(0.981)


def test_baselines_on_a_known_data_set():
    data = tiny_data()
    assert pc.majority_accuracy(data) == pytest.approx(1 / 3)  # "x" is the training majority
    bow = pc.bow_curve(data, [1, None]).set_index("label")
    assert bow.loc["first 1 tokens", "accuracy"] == pytest.approx(1.0)  # the first word gives the class
    lengths = pc.document_lengths(data)
    assert list(lengths["split"].value_counts().sort_index()) == [3, 5]
    assert (lengths["tokens"] == 10).all()
    refs = pc.bow_references(bow.reset_index(), {"transformer": 1}, 0.5)
    assert refs == {
        "bag of words, first 1 tokens": 1.0,
        "bag of words, whole document": bow.loc["whole document", "accuracy"],
        "majority class": 0.5,
    }


def test_runs_table_counts_what_each_model_reads():
    runs = pc.runs_table([record("rmt", 1, 0.7), record("transformer", 0, 0.6), record("rmt", 0, 0.8)])
    assert list(runs["model"]) == ["transformer", "rmt", "rmt"]  # transformer first, then by seed
    assert list(runs["seed"]) == [0, 0, 1]
    assert list(runs["tokens_read"]) == [128, 512, 512]
    assert pc.provenance_of(runs, "committed records") == "committed records: profile=cpu, seeds=0,1, commit abc1234"
    summary = pc.accuracy_summary(runs).set_index("model")
    assert summary.loc["rmt", "mean"] == pytest.approx(0.75) and summary.loc["rmt", "seeds"] == "0,1"
    assert pc.runs_table([]).empty


@pytest.mark.parametrize(
    "rmt, transformer, expected",
    [
        ([0.8, 0.82, 0.85], [0.6, 0.62, 0.7], "every rmt seed is above every transformer seed"),
        ([0.8, 0.6, 0.75], [0.7, 0.62, 0.65], "the seeds overlap"),
        ([0.8], [0.6], "one seed per model cannot tell"),
        ([0.5, 0.55, 0.6], [0.7, 0.62, 0.65], "memory does not beat truncation"),
    ],
)
def test_compare_sentence_follows_the_numbers(rmt, transformer, expected):
    runs = pc.runs_table(
        [record("rmt", i, a) for i, a in enumerate(rmt)]
        + [record("transformer", i, a) for i, a in enumerate(transformer)]
    )
    assert expected in pc.compare_sentence(runs, "X")
    assert "not yet runs of both" in pc.compare_sentence(runs[runs["model"] == "rmt"], "X")


def test_span_sentence_follows_the_numbers():
    assert "holds more of the label" in pc.span_sentence(0.6, 0.7, 0.98, 128, 512)
    assert "beyond both spans" in pc.span_sentence(0.6, 0.62, 0.98, 128, 512)
    assert "about as much" in pc.span_sentence(0.6, 0.61, 0.63, 128, 512)


def test_hyperpartisan_overrides():
    assert pc.hyperpartisan_overrides("", "") is None
    o = pc.hyperpartisan_overrides("a.xml", "g.xml")
    assert o == {"dataset": "hyperpartisan", "articles_xml": "a.xml", "ground_truth_xml": "g.xml"}
    assert pc.hyperpartisan_overrides("a.xml", "g.xml", "ta.xml", "tg.xml")["test_ground_truth_xml"] == "tg.xml"
    with pytest.raises(ValueError, match="both articles_xml and ground_truth_xml"):
        pc.hyperpartisan_overrides("a.xml", "")
    with pytest.raises(ValueError, match="test_articles_xml and test_ground_truth_xml"):
        pc.hyperpartisan_overrides("a.xml", "g.xml", "ta.xml", "")
    assert pc.overrides_refused("cpu", {"lr": "1e-3"}) is None
    assert "lr" in pc.overrides_refused("cpu", {"lr": "-1"})


def test_queue_overrides_match_the_reproduction_queue():
    assert pc.queue_overrides("transformer") == {"max_segments": 1}
    assert pc.queue_overrides("rmt") == {}


def test_figures_are_drawn_and_stamped():
    data = tiny_data()
    bow = pc.bow_curve(data, [1, 5, None])
    fig = pc.plot_data_overview(pc.document_lengths(data), bow, {"transformer": 1, "rmt": 5}, "PROV", "title")
    assert any(t.get_text() == "PROV" for t in fig.texts)
    plt.close(fig)
    runs = pc.runs_table([record("rmt", 0, 0.8), record("transformer", 0, 0.6)])
    fig = pc.plot_accuracy(runs, pc.bow_references(bow, {"transformer": 1}, 0.4), "PROV", "t", paper=pc.paper_table())
    assert len(fig.axes) == 2 and any(t.get_text() == "PROV" for t in fig.texts)
    plt.close(fig)
    html = pc.styled_table(pd.DataFrame({"a": [0.12345]}), "CAPTION").to_html()
    assert "CAPTION" in html and "0.123" in html
