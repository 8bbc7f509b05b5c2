"""data_gen.corpora and data_gen.wikitext: the shipped Wikipedia excerpt, enwik8 / WikiText-103
loaders on fixture files the tests write themselves, every error case, safe XML, and the reference
LM batching."""

import bz2
import re
import shutil
import zipfile

import pytest
import torch
from data_fixtures import BILLION_LAUGHS, MEDIAWIKI_XML, enwik8_like_bytes, write_enwik8_like, write_wikitext_like

from data_gen import _io, corpora
from data_gen.corpora import (
    DataFileNotFoundError,
    DataFormatError,
    load_corpus,
    stream_batches,
)
from data_gen.wikitext import wiki_articles, wikitext_lines, wikitext_tokenize


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """Each test gets its own cache folder: nothing is written outside tmp_path."""
    monkeypatch.setenv(_io.CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def wiki_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("wiki-cache")


@pytest.fixture(scope="module")
def wiki_words(wiki_cache):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(_io.CACHE_ENV, str(wiki_cache))
        return load_corpus("wiki_words")  # computed once for the module; writes the cache


# -- the shipped excerpt ----------------------------------------------------------------------------


def test_asset_checksum_and_licence():
    assert _io.sha256_file(corpora.WIKI_ASSET) == corpora.WIKI_SHA256
    licence = (corpora.WIKI_ASSET.parent / "LICENSE-enwiki-excerpt.txt").read_text()
    assert "CC BY-SA 3.0" in licence and "gensim 4.4.0" in licence and corpora.WIKI_SHA256 in licence


def test_wiki_bytes_is_an_enwik8_stand_in():
    c = load_corpus("wiki_bytes")
    assert (c.name, c.level, c.vocab_size, c.itos) == ("wiki_bytes", "byte", 256, None)
    n = len(c.train) + len(c.valid) + len(c.test)
    assert n == corpora.WIKI_RAW_SIZE
    assert len(c.valid) == len(c.test) == round(0.05 * n)
    assert c.decode(c.train[:60]) == '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/"'
    assert c.decode(c.test[-30:]).endswith("</page>\n</mediawiki>\n")
    assert c.decode(c.train[:10]) == "<mediawiki"
    assert c.train.dtype == torch.long and int(c.train.max()) < 256


def test_wiki_words_is_a_wikitext_stand_in(wiki_words):
    c = wiki_words
    assert (c.level, c.itos[:2]) == ("word", ["<eos>", "<unk>"])
    assert c.vocab_size == len(c.itos) > 5000
    sizes = [len(c.train), len(c.valid), len(c.test)]
    total = sum(sizes)
    assert total > 400_000 and 0.04 < sizes[1] / total < 0.07 and 0.04 < sizes[2] / total < 0.07
    # <unk> as WikiText defines it: every word of the vocabulary occurs >= 3 times in train
    counts = torch.bincount(c.train, minlength=c.vocab_size)
    assert int(counts[2:].min()) >= corpora.WIKI_MIN_COUNT
    assert 0 < float((c.train == 1).float().mean()) < 0.1
    # split by article: article titles (lines "= Title =") never shared between splits
    titles = {}
    for split in ("train", "valid", "test"):
        text = c.decode(getattr(c, split))
        titles[split] = {t for t in re.findall(r"^= ([^=\n]+) =$", text, flags=re.M) if "<unk>" not in t}
        assert titles[split]
    assert not titles["train"] & titles["valid"] and not titles["train"] & titles["test"]
    assert not titles["valid"] & titles["test"]
    assert "Abraham Lincoln" in titles["train"] | titles["valid"] | titles["test"]
    text = c.decode(c.train[:3000])
    assert "[[" not in text and "{{" not in text and "<ref" not in text and "'''" not in text
    assert " @-@ " in c.decode(c.train)


def test_wiki_words_cache_roundtrip(wiki_cache, wiki_words, monkeypatch):
    cached = list(wiki_cache.glob("*.pt"))
    assert len(cached) == 1
    monkeypatch.setenv(_io.CACHE_ENV, str(wiki_cache))
    again = load_corpus("wiki_words")  # read from the cache
    for split in ("train", "valid", "test"):
        assert torch.equal(getattr(again, split), getattr(wiki_words, split))
    assert again.itos == wiki_words.itos and again.vocab_size == wiki_words.vocab_size


def test_cache_is_atomic_and_never_trusted_when_corrupt(tmp_path, monkeypatch):
    monkeypatch.setenv(_io.CACHE_ENV, str(tmp_path / "c"))
    key = _io.cache_key("test", "entry")
    assert _io.cache_load(key) is None
    _io.cache_save(key, {"x": torch.arange(3), "itos": "a\nb"})
    assert [p.name for p in (tmp_path / "c").iterdir()] == [f"{key}.pt"]  # no temp file left behind
    assert torch.equal(_io.cache_load(key)["x"], torch.arange(3))
    (tmp_path / "c" / f"{key}.pt").write_bytes(b"not a torch file")
    assert _io.cache_load(key) is None  # recomputed by the caller, not trusted
    monkeypatch.setenv(_io.CACHE_ENV, "off")
    _io.cache_save(key, {"x": 1})
    assert _io.cache_load(key) is None


def test_wiki_excerpt_errors(tmp_path):
    with pytest.raises(DataFileNotFoundError, match=r"nowhere\.bz2.*not found.*SHA-256.*gensim==4\.4\.0"):
        load_corpus("wiki_bytes", str(tmp_path / "nowhere.bz2"))
    data = corpora.WIKI_ASSET.read_bytes()
    flipped = tmp_path / "flipped.bz2"
    flipped.write_bytes(data[:1000] + bytes([data[1000] ^ 1]) + data[1001:])
    with pytest.raises(DataFormatError, match=r"flipped\.bz2: SHA-256 [0-9a-f]{64} does not match.*gensim"):
        load_corpus("wiki_words", str(flipped))
    truncated = tmp_path / "truncated.bz2"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"truncated\.bz2: SHA-256"):
        load_corpus("wiki_bytes", str(truncated))
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(corpora.WIKI_ASSET, folder)
    assert len(load_corpus("wiki_bytes", str(folder)).test) == round(0.05 * corpora.WIKI_RAW_SIZE)
    with pytest.raises(ValueError, match=r"unknown corpus name 'ptb'.*wiki_bytes.*wt103"):
        load_corpus("ptb")


def test_archive_guards(tmp_path):
    good = bz2.compress(b"x" * 5000)
    assert _io.bz2_decompress_limited(good, 5000, "p", "e", "h") == b"x" * 5000
    with pytest.raises(DataFormatError, match="more than 4999 bytes"):
        _io.bz2_decompress_limited(good, 4999, "bomb.bz2", "e", "h")
    with pytest.raises(DataFormatError, match="truncated"):
        _io.bz2_decompress_limited(good[:-10], 10_000, "cut.bz2", "e", "h")
    with pytest.raises(DataFormatError, match="corrupt bz2"):
        _io.bz2_decompress_limited(b"BZh9" + b"\x00" * 50, 10_000, "junk.bz2", "e", "h")


# -- MediaWiki parsing and markup stripping ---------------------------------------------------------


def test_wiki_articles_and_markup_stripping():
    pages = wiki_articles(MEDIAWIKI_XML.encode())
    assert [(p["title"], p["ns"], p["id"], p["redirect"]) for p in pages] == [
        ("Alpha", "0", "12", False),
        ("Alfa", "0", "13", True),
        ("Wikipedia:About", "4", "14", False),
    ]
    lines = wikitext_lines(pages[0]["title"], pages[0]["text"])
    assert lines == [
        "= Alpha =",
        "Alpha is a letter of the Greek alphabet. It costs 1,000.5 well-known drachmas.",
        "= = History = =",
        "The letter's shape came from Phoenician aleph.",
    ]
    assert wikitext_tokenize(lines[1]) == [
        "Alpha",
        "is",
        "a",
        "letter",
        "of",
        "the",
        "Greek",
        "alphabet",
        ".",
        "It",
        "costs",
        "1",
        "@,@",
        "000",
        "@.@",
        "5",
        "well",
        "@-@",
        "known",
        "drachmas",
        ".",
    ]
    assert wikitext_tokenize("The U.S. didn't.") == ["The", "U.S.", "didn", "'t", "."]


def test_xml_with_a_dtd_or_entities_is_refused():
    with pytest.raises(DataFormatError, match="DTD or entities"):
        wiki_articles(BILLION_LAUGHS.format(root="mediawiki").encode(), "lol.xml")
    with pytest.raises(DataFormatError, match="not well-formed XML"):
        wiki_articles(b"<mediawiki><page><title>x</page></mediawiki>", "bad.xml")
    with pytest.raises(DataFormatError, match="not 'mediawiki'"):
        wiki_articles(b"<html><body/></html>", "page.html")


# -- enwik8 --------------------------------------------------------------------------------------------


def test_enwik8_raw_zip_and_folder(tmp_path):
    raw_path = write_enwik8_like(tmp_path / "raw", 20_000)
    zip_path = write_enwik8_like(tmp_path / "zip", 20_000, as_zip=True)
    expected = enwik8_like_bytes(20_000)
    for p in (raw_path, zip_path, tmp_path / "zip"):
        with pytest.warns(UserWarning, match="not the 10\\^8 of enwik8"):
            c = load_corpus("enwik8", str(p))
        assert (c.level, c.vocab_size) == ("byte", 256)
        assert (len(c.train), len(c.valid), len(c.test)) == (18_000, 1_000, 1_000)
        assert bytes(torch.cat([c.train, c.valid, c.test]).tolist()) == expected
        assert c.decode(c.train[:10]) == "<mediawiki"


def test_enwik8_standard_split(tmp_path, monkeypatch):
    # the standard 90M/5M/5M split, on a file scaled down to a patched "standard" size
    monkeypatch.setattr(corpora, "ENWIK8_SIZE", 40_000)
    c = load_corpus("enwik8", str(write_enwik8_like(tmp_path, 40_000)))
    assert (len(c.train), len(c.valid), len(c.test)) == (36_000, 2_000, 2_000)


def test_enwik8_errors(tmp_path, monkeypatch):
    how = r"enwik8\.zip"
    with pytest.raises(DataFileNotFoundError, match=r"no path given.*" + how):
        load_corpus("enwik8")
    with pytest.raises(DataFileNotFoundError, match=r"missing_file: not found; expected enwik8.*" + how):
        load_corpus("enwik8", str(tmp_path / "missing_file"))
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(DataFileNotFoundError, match=r"emptydir/enwik8: not found"):
        load_corpus("enwik8", str(tmp_path / "emptydir"))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"empty: empty file; expected enwik8.*" + how):
        load_corpus("enwik8", str(empty))
    wrong = tmp_path / "wrong"
    wrong.write_bytes(b"hello world, this is not xml" * 100)
    with pytest.raises(DataFormatError, match=r"wrong: does not start with '<mediawiki'"):
        load_corpus("enwik8", str(wrong))
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("enwik9", enwik8_like_bytes(5000))
    with pytest.raises(DataFormatError, match=r"other\.zip: the archive has no member 'enwik8'"):
        load_corpus("enwik8", str(other))
    good = write_enwik8_like(tmp_path / "z", 50_000, as_zip=True).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataFormatError, match=r"cut\.zip: .*(truncated|corrupt|not a readable zip)"):
        load_corpus("enwik8", str(cut))
    # corrupt member data (the header is intact): CRC or inflate error
    info = zipfile.ZipFile(tmp_path / "z" / "enwik8.zip").getinfo("enwik8")
    start = info.header_offset + 30 + len(info.filename) + 40
    bad = bytearray(good)
    for i in range(start, start + 200):
        bad[i] ^= 0x5A
    (tmp_path / "crc.zip").write_bytes(bytes(bad))
    with pytest.raises(DataFormatError, match=r"crc\.zip: .*(truncated|corrupt)"):
        load_corpus("enwik8", str(tmp_path / "crc.zip"))
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"<mediawiki>" + b"x" * 100)
    with pytest.raises(DataFormatError, match=r"only 111 bytes"):
        load_corpus("enwik8", str(tiny))
    # size guards, before anything is read into memory
    monkeypatch.setattr(corpora, "ENWIK8_MAX", 10_000)
    with pytest.raises(DataFormatError, match=r"more than the 10000 this loader accepts"):
        load_corpus("enwik8", str(write_enwik8_like(tmp_path / "big", 20_000)))
    with pytest.raises(DataFormatError, match=r"declares 20000 bytes, more than the 10000"):
        load_corpus("enwik8", str(write_enwik8_like(tmp_path / "bigzip", 20_000, as_zip=True)))


# -- WikiText-103 --------------------------------------------------------------------------------------


def test_wt103_loader(tmp_path):
    folder = write_wikitext_like(tmp_path / "wikitext-103")
    c = load_corpus("wt103", str(folder))
    assert (c.name, c.level) == ("wt103", "word")
    assert c.itos[:2] == ["<eos>", "<unk>"]
    train_lines = (folder / "wiki.train.tokens").read_text().split("\n")[:-1]
    assert int((c.train == 0).sum()) == len(train_lines) == 9  # one <eos> per line, blank lines too
    assert c.itos[2:6] == ["=", "game", "The", "."]  # by training frequency, ties in order of appearance
    assert c.decode(c.train).split("\n")[:3] == ["", "= Valkyria Chronicles =", ""]
    assert c.decode(c.valid) == "\n= <unk> <unk> =\nThe game <unk> was <unk> in <unk> ."
    # valid/test words absent from the training vocabulary map to <unk>
    assert c.decode(c.test).split() == ["The", "<unk>", "game", "."]
    assert "unseen_word" not in c.itos and "1897" not in c.itos
    assert int(c.valid.max()) < c.vocab_size
    # cached: a second load returns the same tensors; touching a file invalidates the cache
    again = load_corpus("wt103", str(folder))
    assert torch.equal(again.train, c.train) and again.itos == c.itos
    (folder / "wiki.test.tokens").write_text(" The game . \n", encoding="utf-8")
    assert load_corpus("wt103", str(folder)).decode(load_corpus("wt103", str(folder)).test).split() == [
        "The",
        "game",
        ".",
    ]


def test_wt103_errors(tmp_path):
    how = r"wikitext-103-v1\.zip"
    with pytest.raises(DataFileNotFoundError, match=r"no path given.*" + how):
        load_corpus("wt103")
    with pytest.raises(DataFileNotFoundError, match=r"nope: not found; expected a folder.*" + how):
        load_corpus("wt103", str(tmp_path / "nope"))
    z = tmp_path / "wikitext-103-v1.zip"
    z.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataFormatError, match=r"wikitext-103-v1\.zip: is a file, not a folder \(unzip"):
        load_corpus("wt103", str(z))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileNotFoundError, match=r"empty/wiki\.train\.tokens: not found.*holds nothing"):
        load_corpus("wt103", str(tmp_path / "empty"))
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "wiki.train.raw").write_text("x")
    with pytest.raises(DataFileNotFoundError, match=r"raw files"):
        load_corpus("wt103", str(raw))
    partial = write_wikitext_like(tmp_path / "partial")
    (partial / "wiki.valid.tokens").unlink()
    with pytest.raises(DataFileNotFoundError, match=r"partial/wiki\.valid\.tokens: not found"):
        load_corpus("wt103", str(partial))
    blank = write_wikitext_like(tmp_path / "blank", test=" \n \n")
    with pytest.raises(DataFormatError, match=r"blank/wiki\.test\.tokens: empty file"):
        load_corpus("wt103", str(blank))
    binary = write_wikitext_like(tmp_path / "binary")
    (binary / "wiki.train.tokens").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(DataFormatError, match=r"binary/wiki\.train\.tokens: binary data"):
        load_corpus("wt103", str(binary))
    latin = write_wikitext_like(tmp_path / "latin")
    (latin / "wiki.valid.tokens").write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin/wiki\.valid\.tokens: not UTF-8"):
        load_corpus("wt103", str(latin))


# -- batching ----------------------------------------------------------------------------------------


def test_stream_batches_follow_the_reference_iterator():
    data = torch.arange(103)
    batches = list(stream_batches(data, batch_size=4, segment_len=5))
    # 103 // 4 = 25 tokens per stream; 24 (input, target) positions; segments 5,5,5,5,4
    assert [x.shape for x, _ in batches] == [(4, 5)] * 4 + [(4, 4)]
    x0, y0 = batches[0]
    assert x0.tolist() == [[0, 1, 2, 3, 4], [25, 26, 27, 28, 29], [50, 51, 52, 53, 54], [75, 76, 77, 78, 79]]
    assert torch.equal(y0, x0 + 1)
    # each row continues along its stream from one segment to the next
    xs = torch.cat([x for x, _ in batches], dim=1)
    ys = torch.cat([y for _, y in batches], dim=1)
    assert torch.equal(xs, data[:100].view(4, 25)[:, :24]) and torch.equal(ys, data[:100].view(4, 25)[:, 1:])
    assert len(list(stream_batches(data, 4, 5, drop_last=True))) == 4
    resumed = list(stream_batches(data, 4, 5, start=2))
    assert len(resumed) == 3 and torch.equal(resumed[0][0], batches[2][0])


def test_stream_batches_errors():
    with pytest.raises(ValueError, match="1-D"):
        next(stream_batches(torch.zeros(2, 5, dtype=torch.long), 1, 2))
    with pytest.raises(ValueError, match="batch_size=0"):
        next(stream_batches(torch.arange(10), 0, 2))
    with pytest.raises(ValueError, match="segment_len=-1"):
        next(stream_batches(torch.arange(10), 1, -1))
    with pytest.raises(ValueError, match="batch_size must be <= 5"):
        next(stream_batches(torch.arange(10), 6, 2))
