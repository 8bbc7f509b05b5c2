"""MediaWiki XML to WikiText-style text: the pages of an export (:func:`wiki_articles`, parsed
without DTD or entities), an article's markup stripped into lines (:func:`wikitext_lines`) and a
line cut into WikiText-103's tokens (:func:`wikitext_tokenize`). ``data_gen.corpora`` builds the
offline ``wiki_words`` corpus with them; the rules are listed in its docstring."""

from __future__ import annotations

import html
import re

from . import _io

__all__ = ["wiki_articles", "wikitext_lines", "wikitext_tokenize"]


def wiki_articles(xml_chunks, path="<xml>", how: str = "") -> list[dict]:
    """Pages of a MediaWiki XML export: dicts with ``title``, ``ns``, ``id``, ``redirect`` (bool) and
    ``text`` (the wikitext), parsed safely (no DTD, no entities). ``how`` says, in an error, how to
    get the right file."""
    if isinstance(xml_chunks, (bytes, bytearray)):
        xml_chunks = [bytes(xml_chunks)]
    pages: list[dict] = []
    stack: list[str] = []
    buf: list[str] = []
    cur: dict = {}
    root: list[str] = []

    def start(name, attrs):
        if not root:
            root.append(name)
        stack.append(name)
        buf.clear()
        if name == "page":
            cur.clear()
            cur.update(title="", ns="", id="", redirect=False, text="")
        elif name == "redirect" and "page" in stack:
            cur["redirect"] = True

    def end(name):
        stack.pop()
        parent = stack[-1] if stack else ""
        if (name in ("title", "ns", "id") and parent == "page") or (name == "text" and parent == "revision"):
            cur[name] = "".join(buf)
        elif name == "page":
            pages.append(dict(cur))
        buf.clear()

    def text(s):
        buf.append(s)

    expected = "a MediaWiki XML export (<mediawiki><page><title>…<text>…</text></page>…)"
    _io.parse_xml(xml_chunks, path, expected, how, start, end, text)
    if not root or root[0] != "mediawiki":
        raise _io.bad(path, f"root element is {root[0] if root else 'missing'!r}, not 'mediawiki'", expected, how)
    return pages


_DROP_SECTIONS = {
    "see also",
    "references",
    "external links",
    "further reading",
    "notes",
    "bibliography",
    "footnotes",
    "sources",
    "citations",
}
_DROP_LINK_PREFIX = re.compile(
    r"^\s*:?\s*(file|image|category|media|wikipedia|wp|template|help|portal|"
    r"special|wikt|wiktionary|commons|s|q|n|b|v|[a-z]{2,3}(-[a-z]+)?)\s*:",
    re.I,
)
_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_TABLE = re.compile(r"\{\|(?:(?!\{\|)[\s\S])*?\|\}")
_EXT_LINK = re.compile(r"\[(?:https?|ftp)://[^\s\]]*\s*([^\]]*)\]")
_HEADING = re.compile(r"^(={1,6})\s*(.*?)\s*\1\s*$")


def _link_text(m: re.Match) -> str:
    inner = m.group(1)
    target, _, label = inner.partition("|")
    if _DROP_LINK_PREFIX.match(target):
        return ""
    return (label or target).strip()


def _strip_markup(text: str) -> str:
    t = re.sub(r"<!--[\s\S]*?(-->|$)", "", text)
    t = re.sub(r"<ref[^>]*/\s*>", "", t, flags=re.I)
    t = re.sub(r"<ref[^>]*>[\s\S]*?</ref\s*>", "", t, flags=re.I)
    t = re.sub(
        r"<(math|gallery|timeline|imagemap|score|syntaxhighlight|source|pre|code|nowiki|chem)\b[^>]*>"
        r"[\s\S]*?</\1\s*>",
        "",
        t,
        flags=re.I,
    )
    for pattern in (_TEMPLATE, _TABLE):
        prev = None
        while prev != t:
            prev, t = t, pattern.sub("", t)
    prev = None
    while prev != t:  # innermost links first, so captions inside [[File:…]] are handled
        prev, t = t, _LINK.sub(_link_text, t)
    t = _EXT_LINK.sub(r"\1", t)
    t = re.sub(r"\[(?:https?|ftp)://\S*\]?", "", t)
    t = re.sub(r"'{2,}", "", t)
    t = re.sub(r"<[^<>]*>", "", t)
    t = re.sub(r"__[A-Z]+__", "", t)
    return t


def wikitext_lines(title: str, wikitext: str) -> list[str]:
    """Plain-text lines of one article, WikiText style: `` = Title = ``, ``= = Section = =`` headings,
    one paragraph or list item per line, markup stripped (see the module docstring)."""
    out = [f"= {title.strip()} ="]
    drop_level = 0
    for line in _strip_markup(wikitext).split("\n"):
        line = html.unescape(line).replace("\xa0", " ").strip()
        m = _HEADING.match(line)
        if m:
            level, name = len(m.group(1)), m.group(2).strip()
            if drop_level and level > drop_level:
                continue
            drop_level = level if name.lower() in _DROP_SECTIONS else 0
            if not drop_level and name:
                out.append(" ".join(["="] * level) + f" {name} " + " ".join(["="] * level))
            continue
        if drop_level:
            continue
        line = re.sub(r"^[*#:;]+\s*", "", line)
        if not line or line[0] in "|!{}" or line.startswith(("[[", "]]")):
            continue
        line = re.sub(r"\s+", " ", line).strip()
        if line:
            out.append(line)
    return out


_TOKEN = re.compile(r"@[,.-]@|(?<![\w.])(?:[A-Za-z]\.){2,}|(?<=\w)'(?:s|t|re|ve|ll|d|m)\b|\w+|[^\w\s]")


def wikitext_tokenize(line: str) -> list[str]:
    """WikiText-style tokens: punctuation split off, ``1,000`` -> ``1 @,@ 000``, ``3.5`` -> ``3 @.@ 5``,
    ``well-known`` -> ``well @-@ known``, ``don't`` -> ``don 't``; abbreviations such as ``U.S.`` stay whole."""
    line = re.sub(r"(?<=\d),(?=\d)", " @,@ ", line)
    line = re.sub(r"(?<=\d)\.(?=\d)", " @.@ ", line)
    line = re.sub(r"(?<=\w)-(?=\w)", " @-@ ", line)
    return _TOKEN.findall(line)
