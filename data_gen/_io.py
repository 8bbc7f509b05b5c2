"""Careful file handling shared by the corpus and classification loaders (design notes, book/design.md, section 6):
files from users are untrusted, so XML is parsed without a DTD (no external entities, no entity
expansion), archives are size-checked before anything is unpacked into memory, and every failure
names the path, what was expected and how to obtain the data.

Derived arrays are cached under a user cache directory (never inside the repository):
``$RMT_BOOK_CACHE_DIR``, else ``$XDG_CACHE_HOME/rmt-book``, else ``~/.cache/rmt-book``. Set
``RMT_BOOK_CACHE_DIR=off`` to disable the cache.
"""

from __future__ import annotations

import bz2
import hashlib
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from xml.parsers import expat

import torch

CACHE_ENV = "RMT_BOOK_CACHE_DIR"


class DataError(Exception):
    """A data file is missing, corrupt or not in the expected format."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file or folder does not exist."""


class DataFormatError(DataError, ValueError):
    """A data file exists but is corrupt, truncated, too large or in the wrong format."""


def missing(path, expected: str, how: str) -> DataFileNotFoundError:
    return DataFileNotFoundError(f"{path}: not found; expected {expected}. {how}")


def bad(path, problem: str, expected: str, how: str) -> DataFormatError:
    return DataFormatError(f"{path}: {problem}; expected {expected}. {how}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_file_limited(path: Path, limit: int, expected: str, how: str) -> bytes:
    """The bytes of ``path``, refusing files larger than ``limit`` bytes."""
    size = path.stat().st_size
    if size > limit:
        raise bad(path, f"{size} bytes is more than the {limit} this loader accepts", expected, how)
    with open(path, "rb") as f:
        return f.read(limit + 1)


def bz2_decompress_limited(data: bytes, limit: int, path, expected: str, how: str) -> bytes:
    """Decompress a .bz2 stream into memory, refusing more than ``limit`` bytes of output."""
    dec = bz2.BZ2Decompressor()
    try:
        out = dec.decompress(data, max_length=limit + 1)
    except (OSError, EOFError, ValueError) as e:
        raise bad(path, f"corrupt bz2 data ({e})", expected, how) from e
    if len(out) > limit:
        raise bad(path, f"decompresses to more than {limit} bytes", expected, how)
    if not dec.eof:
        raise bad(path, "truncated bz2 archive (the stream ends early)", expected, how)
    return out


def zip_member_limited(path: Path, member: str, limit: int, expected: str, how: str) -> bytes:
    """Read one member of a zip archive into memory after checking its declared and actual size."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if member not in names:
                raise bad(path, f"the archive has no member {member!r} (it has {names[:5]})", expected, how)
            info = zf.getinfo(member)
            if info.file_size > limit:
                raise bad(
                    path,
                    f"member {member!r} declares {info.file_size} bytes, more than the {limit} this loader accepts",
                    expected,
                    how,
                )
            with zf.open(info) as f:
                out = f.read(limit + 1)
    except zipfile.BadZipFile as e:
        raise bad(path, f"not a readable zip archive, truncated or corrupt ({e})", expected, how) from e
    except (EOFError, OSError, zlib.error) as e:  # truncated member data
        raise bad(path, f"truncated or corrupt zip archive ({e})", expected, how) from e
    if len(out) > limit:
        raise bad(path, f"member {member!r} holds more than {limit} bytes", expected, how)
    return out


def parse_xml(
    chunks: Iterable[bytes],
    path,
    expected: str,
    how: str,
    start: Callable[[str, dict], None],
    end: Callable[[str], None],
    text: Callable[[str], None],
) -> None:
    """Stream XML through expat with a DTD refused outright: no DOCTYPE, no entity declarations, no
    external entities; only the five predefined entities and character references are understood."""

    def refuse(*_args):
        raise bad(path, "the XML declares a DTD or entities, which this loader refuses to process", expected, how)

    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    p.UnparsedEntityDeclHandler = refuse
    p.ExternalEntityRefHandler = refuse
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = text
    try:
        for chunk in chunks:
            p.Parse(chunk, False)
        p.Parse(b"", True)
    except expat.ExpatError as e:
        raise bad(path, f"not well-formed XML ({e})", expected, how) from e


def file_chunks(path: Path, size: int = 1 << 20) -> Iterable[bytes]:
    with open(path, "rb") as f:
        yield from iter(lambda: f.read(size), b"")


# -- cache ----------------------------------------------------------------------------------------


def cache_dir() -> Path | None:
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rmt-book"


def file_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def cache_load(key: str):
    d = cache_dir()
    if d is None:
        return None
    f = d / f"{key}.pt"
    if not f.is_file():
        return None
    try:
        return torch.load(f, weights_only=True)
    except Exception:  # a corrupt cache entry is recomputed, never trusted
        return None


def cache_save(key: str, obj) -> None:
    """Write atomically (temp file, then rename); a cache that cannot be written is skipped."""
    d = cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, d / f"{key}.pt")
    except OSError:
        try:
            os.unlink(tmp)  # type: ignore[possibly-undefined]
        except Exception:
            pass


def cache_key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32]
