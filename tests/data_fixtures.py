"""Small data files that the data_gen tests write themselves: enwik8-like, WikiText-like, MediaWiki
XML and Hyperpartisan-like XML (never downloaded, never the real data)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from data_gen.quadratic import CHAR_TO_ID, NUM_CHUNKS

MEDIAWIKI_XML = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">
  <siteinfo><sitename>Wikipedia</sitename></siteinfo>
  <page>
    <title>Alpha</title>
    <ns>0</ns>
    <id>12</id>
    <revision>
      <id>999</id>
      <text xml:space="preserve">{{Infobox thing|name=Alpha {{nested|x}}}}
'''Alpha''' is a [[Greek alphabet|letter]] of the [[Greek alphabet]].&lt;ref&gt;A source&lt;/ref&gt; It costs 1,000.5 well-known [[drachma]]s.
[[File:Alpha.svg|thumb|An [[uppercase]] alpha]]

== History ==
* The letter's shape came from [http://example.org Phoenician] aleph.

== See also ==
* [[Beta]]

[[Category:Letters]]
[[de:Alpha]]</text>
    </revision>
  </page>
  <page>
    <title>Alfa</title>
    <ns>0</ns>
    <id>13</id>
    <redirect title="Alpha" />
    <revision><id>1000</id><text>#REDIRECT [[Alpha]]</text></revision>
  </page>
  <page>
    <title>Wikipedia:About</title>
    <ns>4</ns>
    <id>14</id>
    <revision><id>1001</id><text>Project page.</text></revision>
  </page>
</mediawiki>
"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<{root}><article id="1" title="t" hyperpartisan="true">&lol3;</article></{root}>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<{root}><article id="1" title="&ext;" hyperpartisan="true"/></{root}>
"""


def enwik8_like_bytes(n: int) -> bytes:
    """``n`` bytes that look like enwik8: MediaWiki XML with some UTF-8."""
    body = MEDIAWIKI_XML.encode("utf-8") + "Ελληνικά – ünïcödé\n".encode()
    reps = n // len(body) + 1
    return (body * reps)[:n]


def write_enwik8_like(folder: Path, n: int = 20_000, *, as_zip: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = enwik8_like_bytes(n)
    if as_zip:
        path = folder / "enwik8.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("enwik8", data)
    else:
        path = folder / "enwik8"
        path.write_bytes(data)
    return path


WT_TRAIN = """ 
 = Valkyria Chronicles = 
 
 The game is a tactical role @-@ playing game . The game began in 2010 . 
 The game 's music was composed by <unk> . 
 
 = = Gameplay = = 
 
 The game is played in 1 @,@ 000 turns . 
"""
WT_VALID = """ 
 = Tower Building = 
 The game tower was built in 1897 . 
"""
WT_TEST = """ 
 The unseen_word game . 
"""


def write_wikitext_like(folder: Path, train: str = WT_TRAIN, valid: str = WT_VALID, test: str = WT_TEST) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"wiki.{name}.tokens").write_text(text, encoding="utf-8")
    return folder


def hyperpartisan_like(n: int = 30, *, start_id: int = 0) -> tuple[str, str]:
    """(articles XML, ground-truth XML) of ``n`` articles; article i is hyperpartisan when i is odd,
    and only its last paragraph says so ("outrageous" vs "measured")."""
    arts, truth = ['<?xml version="1.0" encoding="UTF-8"?>\n<articles>'], ['<?xml version="1.0"?>\n<articles>']
    for i in range(start_id, start_id + n):
        aid = f"{i:07d}"
        hyper = i % 2 == 1
        filler = " ".join(f"word{j % 7}" for j in range(40))
        arts.append(
            f'<article id="{aid}" published-at="2017-01-0{1 + i % 9}" title="Story number {i} &amp; more">'
            f'<p>{filler}</p><p>A <a href="http://example.org/{i}" type="external">linked</a> sentence.</p>'
            f"<p>{filler}</p><p>The tone is {'outrageous' if hyper else 'measured'}.</p></article>"
        )
        truth.append(
            f'<article id="{aid}" hyperpartisan="{"true" if hyper else "false"}" '
            f'labeled-by="article-contents" url="http://example.org/{i}"/>'
        )
    arts.append("</articles>\n")
    truth.append("</articles>\n")
    return "\n".join(arts), "\n".join(truth)


def write_hyperpartisan_like(folder: Path, n: int = 30, *, prefix: str = "", start_id: int = 0) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    a, g = hyperpartisan_like(n, start_id=start_id)
    pa, pg = folder / f"{prefix}articles.xml", folder / f"{prefix}ground-truth.xml"
    pa.write_text(a, encoding="utf-8")
    pg.write_text(g, encoding="utf-8")
    return pa, pg


def quadratic_row(chunks: list[str], chunk_len: int = 30) -> list[int]:
    """Token ids of six text chunks, each left-aligned and zero-padded (a row of ``batch.targets``)."""
    assert len(chunks) == NUM_CHUNKS
    row: list[int] = []
    for c in chunks:
        ids = [CHAR_TO_ID[ch] for ch in c]
        row += ids + [0] * (chunk_len - len(ids))
    return row
