"""Files on disk as record streams: PubMed XML (plain or gzip) and MEDLINE text.

The format is read from the content, not the name: gzip by its magic bytes, XML by its
opening ``<``, MEDLINE text by its ``TAG - value`` lines. A folder stands for the files in it
(and below it) whose names end in one of :data:`EXTENSIONS`.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from .errors import EvidenceError
from .parse_medline import first_tag, iter_medline, looks_like_medline
from .parse_xml import Seen, XMLParseError, iter_xml
from .record import Article, Deletion, RecordError, Unchanged

EXTENSIONS = (".xml", ".xml.gz", ".gz", ".txt", ".nbib", ".medline")
_GZIP_MAGIC = b"\x1f\x8b"


class SourceError(EvidenceError):
    """A file (or folder) that cannot be read as a whole; the message names it."""


def expand_paths(paths: list[str | Path]) -> tuple[list[Path], list[SourceError]]:
    """Files to read for the given paths, and an error for each path that gives none."""
    files: list[Path] = []
    errors: list[SourceError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and not p.name.startswith(".")
                and p.name.lower().endswith(EXTENSIONS)
            )
            if not found:
                errors.append(SourceError(
                    f"{path}: folder holds no PubMed files (names ending in {', '.join(EXTENSIONS)})"
                ))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            errors.append(SourceError(f"{path}: not a regular file"))
        else:
            errors.append(SourceError(f"{path}: no such file or folder"))
    return files, errors


def _open_binary(path: Path):
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise SourceError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    magic = handle.read(2)
    handle.seek(0)
    if magic == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=handle, mode="rb"), handle
    if path.name.lower().endswith(".gz"):
        handle.close()
        raise SourceError(f"{path}: named .gz but is not gzip-compressed")
    return handle, handle


def read_file(path: str | Path, *, on_open: Callable[[IO[bytes]], None] | None = None,
              seen: Seen | None = None) -> Iterator[Article | Deletion | Unchanged | RecordError]:
    """Yield the records of one file; raise SourceError when the file cannot be read.

    ``on_open`` receives the raw (compressed) file handle, whose ``tell()`` says how far
    reading has got: the progress bar uses it. ``seen`` lets PubMed XML records stored with
    the same bytes pass unparsed (see :func:`ingest.parse_xml.iter_xml`).
    """
    path = Path(path)
    stream, raw = _open_binary(path)
    if on_open:
        on_open(raw)
    try:
        try:
            head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else stream.read(4096)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(f"{path}: damaged gzip data ({exc})") from exc
        if not hasattr(stream, "peek"):
            stream.seek(0)
        text_head = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        if not text_head:
            raise SourceError(f"{path}: file is empty")
        try:
            if text_head.startswith("<"):
                yield from iter_xml(stream, str(path), seen=seen)
            elif looks_like_medline(text_head):
                text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace")
                found = False
                for item in iter_medline(text):
                    found = True
                    yield item
                if not found:
                    raise SourceError(f"{path}: no records in it")
            elif first_tag(text_head) == "TY":
                raise SourceError(
                    f"{path}: this is RIS, not PubMed data; export from PubMed as XML or "
                    "'PubMed format' (MEDLINE text) instead"
                )
            else:
                snippet = " ".join(text_head[:40].split())
                raise SourceError(
                    f"{path}: not PubMed XML or MEDLINE text (it begins {snippet!r})"
                )
        except XMLParseError as exc:
            raise SourceError(str(exc)) from exc
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise SourceError(f"{path}: truncated or damaged gzip data ({exc})") from exc
        except OSError as exc:
            raise SourceError(f"{path}: read failed ({exc})") from exc
    finally:
        stream.close()
        raw.close()
