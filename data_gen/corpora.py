"""Language-modelling corpora (paper section 4.2): enwik8 (bytes, bits per character) and
WikiText-103 (words, perplexity) from user-given files, and an offline default that ships with the
repository and stands in for both.

The offline default is the Wikipedia XML excerpt from the ``gensim==4.4.0`` wheel
(``data_gen/assets/``, CC BY-SA 3.0, see the LICENSE file there), verified by SHA-256 on load:

* ``wiki_bytes`` - the raw XML bytes, exactly like enwik8 (which is the first 10^8 bytes of an
  English Wikipedia XML dump), split contiguously 90/5/5 as enwik8's 90M/5M/5M; vocabulary = the
  256 byte values (id = byte).
* ``wiki_words`` - the 106 main-namespace, non-redirect articles, wiki markup stripped (templates,
  tables, references, files and categories dropped; links, bold and italics reduced to their text;
  "See also", "References", "External links", "Further reading", "Notes" and "Bibliography" sections
  dropped), tokenised in the WikiText style (``=`` headings, ``@-@``, ``@,@``, ``@.@`` separators,
  punctuation split off), one ``<eos>`` per line; split *by article*; every token seen fewer than
  ``WIKI_MIN_COUNT`` = 3 times in the training split becomes ``<unk>`` (the WikiText rule).

Real data: ``load_corpus("enwik8", path)`` takes the ``enwik8`` file, ``enwik8.zip`` or a folder
holding either; ``load_corpus("wt103", path)`` takes the folder with ``wiki.{train,valid,test}.tokens``
(as the reference, Transformer-XL, reads them: whitespace tokens plus ``<eos>`` at the end of every
line, vocabulary from the training file; a valid/test token absent from it maps to ``<unk>``).
"""

from __future__ import annotations

import warnings
import zlib
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import torch

from . import _io
from ._io import DataError, DataFileNotFoundError, DataFormatError  # noqa: F401  (re-exported)
from .wikitext import wiki_articles, wikitext_lines, wikitext_tokenize

__all__ = [
    "Corpus",
    "load_corpus",
    "stream_batches",
    "CORPORA",
    "WIKI_ASSET",
    "WIKI_SHA256",
    "WIKI_MIN_COUNT",
    "ENWIK8_SIZE",
    "DataError",
    "DataFileNotFoundError",
    "DataFormatError",
]

ASSETS = Path(__file__).resolve().parent / "assets"
WIKI_ASSET = ASSETS / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
WIKI_SHA256 = "a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d"
WIKI_RAW_SIZE = 6_089_746
WIKI_MIN_COUNT = 3
ENWIK8_SIZE = 100_000_000
ENWIK8_MAX = 200_000_000  # refuse anything larger: enwik8 is 10^8 bytes
WT103_MAX = 2_000_000_000  # per file; wiki.train.tokens is about 540 MB
CORPORA = ("wiki_bytes", "wiki_words", "enwik8", "wt103")
_VERSION = "corpora-v2"  # bump when derived arrays change, to invalidate caches

HOW_WIKI = (
    "The file ships with the repository (git checkout data_gen/assets); it can be re-obtained with "
    "`pip download --no-deps gensim==4.4.0` and unzipping gensim/test/test_data/"
    f"{WIKI_ASSET.name} from the wheel."
)
HOW_ENWIK8 = (
    "Download enwik8.zip (the Hutter Prize file, http://mattmahoney.net/dc/enwik8.zip; Transformer-XL's "
    "getdata.sh fetches the same) and pass the zip, the unzipped `enwik8` file, or their folder."
)
HOW_WT103 = (
    "Download wikitext-103-v1.zip (Merity et al. 2016; also published as the Salesforce/wikitext dataset, "
    "config wikitext-103-v1, and fetched by Transformer-XL's getdata.sh), unzip it and pass the folder "
    "that holds wiki.train.tokens, wiki.valid.tokens and wiki.test.tokens."
)


@dataclass(frozen=True)
class Corpus:
    """A tokenised corpus: three 1-D id tensors and the vocabulary (``itos`` is None for bytes)."""

    name: str
    level: str  # "byte" or "word"
    train: torch.Tensor  # [N_train] long
    valid: torch.Tensor  # [N_valid] long
    test: torch.Tensor  # [N_test] long
    vocab_size: int
    itos: list[str] | None
    source: str = ""

    def __post_init__(self):
        if self.level not in ("byte", "word"):
            raise ValueError(f"Corpus: level={self.level!r} is not allowed; level must be 'byte' or 'word'")

    def decode(self, ids) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        if self.level == "byte":
            return bytes(int(i) for i in ids).decode("utf-8", errors="replace")
        lines, line = [], []
        for i in ids:  # every <eos> ends a line
            word = self.itos[int(i)]
            if word == "<eos>":
                lines.append(" ".join(line))
                line = []
            else:
                line.append(word)
        return "\n".join(lines + ([" ".join(line)] if line else []))


# ------------------------------------------------------------------------------------------------
# batching as the reference LM trainer (Transformer-XL's LMOrderedIterator)
# ------------------------------------------------------------------------------------------------


def stream_batches(
    data: torch.Tensor, batch_size: int, segment_len: int, *, drop_last: bool = False, start: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Cut ``data`` into ``batch_size`` contiguous streams (the tail that does not divide evenly is
    dropped) and yield ``(inputs, targets)``, both ``[batch_size, T]``, segment after segment along the
    streams: row b of segment t+1 continues row b of segment t, so memory and caches can be carried
    across steps. ``targets`` are the inputs shifted by one token. ``T = segment_len`` except for a
    shorter last segment (skipped with ``drop_last``). ``start`` skips the first segments (resuming).
    """
    if not isinstance(data, torch.Tensor) or data.dim() != 1:
        raise ValueError(
            f"stream_batches: data must be a 1-D tensor of token ids, got "
            f"{tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__}"
        )
    for name, value, low in (("batch_size", batch_size, 1), ("segment_len", segment_len, 1), ("start", start, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"stream_batches: {name}={value!r} is not allowed; it must be an integer >= {low}")
    n_step = data.numel() // batch_size
    if n_step < 2:
        raise ValueError(
            f"stream_batches: {data.numel()} tokens cannot make {batch_size} streams of at least "
            f"2 tokens; batch_size must be <= {data.numel() // 2}"
        )
    streams = data[: n_step * batch_size].view(batch_size, n_step)
    for i in range(start * segment_len, n_step - 1, segment_len):
        t = min(segment_len, n_step - 1 - i)
        if drop_last and t < segment_len:
            return
        yield streams[:, i : i + t], streams[:, i + 1 : i + 1 + t]


# ------------------------------------------------------------------------------------------------
# the shipped Wikipedia excerpt
# ------------------------------------------------------------------------------------------------


def _wiki_raw(path: Path | None) -> tuple[bytes, Path]:
    p = Path(path) if path is not None else WIKI_ASSET
    expected = f"the bz2 Wikipedia excerpt {WIKI_ASSET.name} with SHA-256 {WIKI_SHA256}"
    if p.is_dir():
        p = p / WIKI_ASSET.name
    if not p.is_file():
        raise _io.missing(p, expected, HOW_WIKI)
    digest = _io.sha256_file(p)
    if digest != WIKI_SHA256:
        raise _io.bad(
            p, f"SHA-256 {digest} does not match (modified, truncated or a different file)", expected, HOW_WIKI
        )
    data = _io.read_file_limited(p, 16 * 1024 * 1024, expected, HOW_WIKI)
    raw = _io.bz2_decompress_limited(data, WIKI_RAW_SIZE, p, expected, HOW_WIKI)
    return raw, p


def _wiki_split(articles: list[list[list[str]]], fractions=(0.05, 0.05)) -> tuple[list[int], list[int], list[int]]:
    """Deterministic split by article: articles in the order of the CRC-32 of their title; test, then
    valid, take each article that keeps them within 6% of all tokens until they hold 5%."""
    sizes = [sum(len(line) + 1 for line in a) for a in articles]
    total = sum(sizes)
    order = sorted(range(len(articles)), key=lambda i: zlib.crc32(articles[i][0][0].encode("utf-8")))
    chosen: list[list[int]] = [[], []]
    used = set()
    for s, frac in enumerate(fractions):
        have = 0
        for i in order:
            if i in used or have >= frac * total:
                continue
            if have + sizes[i] <= (frac + 0.01) * total:
                chosen[s].append(i)
                used.add(i)
                have += sizes[i]
    train = [i for i in range(len(articles)) if i not in used]
    return train, chosen[1], chosen[0]


def _build_vocab(counter: Counter, min_count: int) -> list[str]:
    words = [w for w, c in counter.most_common() if c >= min_count and w not in ("<eos>", "<unk>")]
    return ["<eos>", "<unk>"] + words


def _encode_lines(lines, stoi: dict[str, int]) -> torch.Tensor:
    unk, eos = stoi["<unk>"], stoi["<eos>"]
    ids = array("q")
    for toks in lines:
        ids.extend(map(stoi.get, toks, repeat(unk)))
        ids.append(eos)
    return _to_tensor(ids)


def _to_tensor(ids: array) -> torch.Tensor:
    return torch.frombuffer(ids, dtype=torch.int64).clone() if len(ids) else torch.zeros(0, dtype=torch.long)


def _word_corpus(name: str, d: dict, source: str) -> Corpus:
    itos = d["itos"].split("\n")  # cached as one string: fast to load with weights_only=True
    return Corpus(name, "word", d["train"], d["valid"], d["test"], len(itos), itos, source)


def _wiki_words(path: Path | None) -> Corpus:
    raw, p = _wiki_raw(path)
    key = _io.cache_key(_VERSION, "wiki_words", WIKI_SHA256)
    cached = _io.cache_load(key)
    if cached is not None:
        return _word_corpus("wiki_words", cached, str(p))
    pages = wiki_articles(raw, p, HOW_WIKI)
    articles = []
    for page in pages:
        if page["ns"] != "0" or page["redirect"] or not page["text"].strip():
            continue
        lines = [wikitext_tokenize(line) for line in wikitext_lines(page["title"], page["text"])]
        articles.append([line for line in lines if line])
    tr, va, te = _wiki_split(articles)
    counter: Counter = Counter()
    for i in tr:
        for line in articles[i]:
            counter.update(line)
    itos = _build_vocab(counter, WIKI_MIN_COUNT)
    stoi = {w: i for i, w in enumerate(itos)}
    splits = {
        name: _encode_lines([line for i in idx for line in articles[i]], stoi)
        for name, idx in (("train", tr), ("valid", va), ("test", te))
    }
    result = dict(splits, itos="\n".join(itos))
    _io.cache_save(key, result)
    return _word_corpus("wiki_words", result, str(p))


def _bytes_corpus(name: str, raw: bytes, source: str, valid: int, test: int) -> Corpus:
    data = torch.frombuffer(bytearray(raw), dtype=torch.uint8).long()
    n_train = len(raw) - valid - test
    return Corpus(
        name, "byte", data[:n_train], data[n_train : n_train + valid], data[n_train + valid :], 256, None, source
    )


def _wiki_bytes(path: Path | None) -> Corpus:
    raw, p = _wiki_raw(path)
    n5 = round(0.05 * len(raw))
    return _bytes_corpus("wiki_bytes", raw, str(p), n5, n5)


# ------------------------------------------------------------------------------------------------
# real data
# ------------------------------------------------------------------------------------------------


def _enwik8(path) -> Corpus:
    expected = "enwik8 (10^8 bytes of Wikipedia XML starting with '<mediawiki'), enwik8.zip, or a folder holding one"
    if path is None:
        raise _io.missing("enwik8 (no path given)", expected, HOW_ENWIK8)
    p = Path(path).expanduser()
    if p.is_dir():
        found = [p / n for n in ("enwik8", "enwik8.zip") if (p / n).is_file()]
        if not found:
            raise _io.missing(p / "enwik8", expected, HOW_ENWIK8)
        p = found[0]
    if not p.is_file():
        raise _io.missing(p, expected, HOW_ENWIK8)
    with open(p, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"PK":
        raw = _io.zip_member_limited(p, "enwik8", ENWIK8_MAX, expected, HOW_ENWIK8)
    else:
        raw = _io.read_file_limited(p, ENWIK8_MAX, expected, HOW_ENWIK8)
    if not raw:
        raise _io.bad(p, "empty file", expected, HOW_ENWIK8)
    if not raw.startswith(b"<mediawiki"):
        raise _io.bad(p, f"does not start with '<mediawiki' (starts with {raw[:20]!r})", expected, HOW_ENWIK8)
    if len(raw) == ENWIK8_SIZE:
        valid = test = ENWIK8_SIZE // 20  # the standard 90M / 5M / 5M
    else:
        if len(raw) < 1000:
            raise _io.bad(p, f"only {len(raw)} bytes", expected, HOW_ENWIK8)
        warnings.warn(f"{p}: {len(raw)} bytes, not the 10^8 of enwik8; splitting 90/5/5 proportionally", stacklevel=3)
        valid = test = round(0.05 * len(raw))
    return _bytes_corpus("enwik8", raw, str(p), valid, test)


def _read_tokens_file(f: Path, expected: str) -> list[str]:
    if not f.is_file():
        raise _io.missing(f, expected, HOW_WT103)
    data = _io.read_file_limited(f, WT103_MAX, expected, HOW_WT103)
    if not data.strip():
        raise _io.bad(f, "empty file", expected, HOW_WT103)
    if b"\x00" in data[: 1 << 20]:
        raise _io.bad(f, "binary data (NUL bytes), not a text file", expected, HOW_WT103)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _io.bad(f, f"not UTF-8 text ({e})", expected, HOW_WT103) from e
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _wt103(path) -> Corpus:
    expected = "a folder with the tokenised WikiText-103 files wiki.train.tokens, wiki.valid.tokens, wiki.test.tokens"
    if path is None:
        raise _io.missing("wt103 (no path given)", expected, HOW_WT103)
    p = Path(path).expanduser()
    if not p.exists():
        raise _io.missing(p, expected, HOW_WT103)
    if not p.is_dir():
        raise _io.bad(
            p,
            "is a file, not a folder" + (" (unzip the archive first)" if p.suffix == ".zip" else ""),
            expected,
            HOW_WT103,
        )
    files = {s: p / f"wiki.{s}.tokens" for s in ("train", "valid", "test")}
    if not any(f.exists() for f in files.values()):
        raw = sorted(x.name for x in p.iterdir())[:8]
        hint = (
            " (these are the raw files; the tokenised wikitext-103-v1 is needed)"
            if any(n.endswith(".raw") for n in raw)
            else ""
        )
        raise _io.missing(files["train"], f"{expected}; the folder holds {raw or 'nothing'}{hint}", HOW_WT103)
    key = _io.cache_key(_VERSION, "wt103", *(_io.file_identity(f) for f in files.values() if f.is_file()))
    cached = _io.cache_load(key)
    if cached is not None:
        return _word_corpus("wt103", cached, str(p))
    lines = {s: _read_tokens_file(f, expected) for s, f in files.items()}
    # one pass over the training text: ids in order of first appearance, then renumbered by frequency
    first: defaultdict = defaultdict()
    first.default_factory = first.__len__
    eos0 = first["<eos>"]
    ids = array("q")
    for line in lines["train"]:
        ids.extend(map(first.__getitem__, line.split()))
        ids.append(eos0)
    raw_ids = torch.frombuffer(ids, dtype=torch.int64)
    counts = torch.bincount(raw_ids, minlength=len(first))
    words = list(first)
    order = torch.sort(-counts, stable=True).indices.tolist()
    itos = ["<eos>", "<unk>"] + [words[i] for i in order if words[i] not in ("<eos>", "<unk>")]
    stoi = {w: i for i, w in enumerate(itos)}
    remap = torch.tensor([stoi[w] for w in words], dtype=torch.int64)
    splits = {"train": remap[raw_ids]}
    splits.update({s: _encode_lines((line.split() for line in lines[s]), stoi) for s in ("valid", "test")})
    result = dict(splits, itos="\n".join(itos))
    _io.cache_save(key, result)
    return _word_corpus("wt103", result, str(p))


def load_corpus(name: str, path: str | None = None) -> Corpus:
    """Load a corpus by name: "wiki_bytes", "wiki_words" (offline defaults; ``path`` may point at
    another copy of the shipped .bz2), "enwik8" (``path`` to enwik8, enwik8.zip or their folder) or
    "wt103" (``path`` to the folder with ``wiki.{train,valid,test}.tokens``)."""
    if name == "wiki_bytes":
        return _wiki_bytes(path)
    if name == "wiki_words":
        return _wiki_words(path)
    if name == "enwik8":
        return _enwik8(path)
    if name == "wt103":
        return _wt103(path)
    raise ValueError(f"load_corpus: unknown corpus name {name!r}; allowed: {list(CORPORA)}")
