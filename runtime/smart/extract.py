"""From a stored object to the text that is indexed, and from text to overlapping chunks.

What is indexed, by content type (the object's ``http_metadata.contentType``, else a guess
from its key's extension):

- ``text/*`` (plain, markdown, CSV, HTML as text), ``application/json`` and other JSON or XML
  types: the text itself (UTF-8; bytes that are not are replaced);
- ``application/pdf``: the text of every page, through ``pypdf``;
- images: stored and listed, indexed by name and custom metadata only (no OCR or captioning
  runs locally);
- anything else: stored, and reported as not indexed, with the reason.
"""

from __future__ import annotations

import io
import mimetypes
import re
from dataclasses import dataclass

#: The platform's documented ceiling for one indexed document.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
#: The most text indexed from one document (4 MiB of characters): past it the document is
#: kept but not indexed, whatever its stored size (a small PDF can inflate to far more).
MAX_TEXT_CHARS = 4 * 1024 * 1024
#: The most chunks one document may become; past it the document is not indexed.
MAX_CHUNKS = 10_000
CHUNK_CHARS = 800
OVERLAP_CHARS = 120


class NotIndexable(Exception):
    """The object is kept but cannot be indexed; the message says why."""


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    kind: str  # "text", "pdf" or "image": how the text was obtained


def content_type_of(key: str, declared: str | None) -> str:
    """The declared content type, else a guess from the key's extension, else octet-stream."""
    if declared:
        return declared.split(";")[0].strip().lower()
    guessed, _ = mimetypes.guess_type(key)
    if key.lower().endswith((".md", ".markdown")):
        return "text/markdown"
    return (guessed or "application/octet-stream").lower()


def extract(
    key: str, data: bytes, content_type: str, custom_metadata: dict[str, str], max_chars: int = MAX_TEXT_CHARS
) -> Extracted:
    """The text to index for an object, at most ``max_chars`` characters of it.

    :raises NotIndexable: for content that is stored but not indexed (an unsupported type, a
        PDF that cannot be read, a document over the size limit or whose text is over
        ``max_chars``).
    """
    if len(data) > MAX_DOCUMENT_BYTES:
        raise NotIndexable(
            f"{len(data)} bytes is over the limit of {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB for an indexed document"
        )
    if (
        content_type.startswith("text/")
        or content_type in ("application/json", "application/xml")
        or (content_type.endswith(("+json", "+xml")))
    ):
        if len(data) > 4 * max_chars:  # even four bytes a character would be too much text
            raise _too_much_text(max_chars)
        text = data.decode("utf-8", errors="replace")
        if len(text) > max_chars:
            raise _too_much_text(max_chars)
        return Extracted(text, "text")
    if content_type == "application/pdf":
        return Extracted(_pdf_text(data, max_chars), "pdf")
    if content_type.startswith("image/"):
        described = " ".join([key, *(f"{k} {v}" for k, v in sorted(custom_metadata.items()))])
        return Extracted(described, "image")
    raise NotIndexable(
        f"content type {content_type!r} is not indexed locally (indexed: text/*, JSON, XML, application/pdf; "
        "images by name and metadata)"
    )


def _too_much_text(max_chars: int) -> NotIndexable:
    return NotIndexable(
        f"its text is over the limit of {max_chars:,} characters ({max_chars / (1024 * 1024):g} MiB) "
        "indexed per document"
    )


class _TooMuchText(Exception):
    pass


def _pdf_text(data: bytes, max_chars: int) -> str:
    """Every page's text; extraction stops as soon as the text passes ``max_chars`` (a stream
    that inflates to megabytes is not read to its end)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    seen = 0

    def count(text: str, *_: object) -> None:
        nonlocal seen
        seen += len(text)
        if seen > max_chars:
            raise _TooMuchText

    pages = []
    try:
        reader = PdfReader(io.BytesIO(data))
        for page in reader.pages:
            pages.append(page.extract_text(visitor_text=count) or "")
            seen = sum(map(len, pages)) + 2 * len(pages)
            if seen > max_chars:
                raise _TooMuchText
    except _TooMuchText:
        raise _too_much_text(max_chars) from None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise NotIndexable(f"the PDF cannot be read: {exc}") from None
    return "\n\n".join(pages)


_BREAKS = re.compile(r"\n\s*\n|(?<=[.!?])\s+|\n")
_BLANKS = re.compile(r"[ \t\r\f\v]+")
_SLICE = 64 * 1024  # characters folded per regex call: a call holds the GIL, the event loop waits


def _fold(text: str) -> str:
    """Whitespace runs folded to one space, a slice at a time (each cut where no run is)."""
    parts = []
    start = 0
    while start < len(text):
        end = min(len(text), start + _SLICE)
        run = _BLANKS.match(text, end) if end < len(text) else None
        end = run.end() if run else end
        parts.append(_BLANKS.sub(" ", text[start:end]))
        start = end
    return "".join(parts).strip()


def chunk(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS, limit: int | None = None) -> list[str]:
    """Split ``text`` into chunks of about ``size`` characters that overlap by about
    ``overlap``, cutting at paragraph, sentence or line ends where there is one in reach, else
    at a space, else anywhere. Whitespace runs are folded; blank text gives no chunks.

    :raises NotIndexable: when the text would be more than ``limit`` chunks (it stops there).
    """
    text = _fold(text)
    if not text:
        return []
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            window = text[start + size // 2 : end]
            cuts = [m.end() for m in _BREAKS.finditer(window)]
            if cuts:
                end = start + size // 2 + cuts[-1]
            else:
                space = text.rfind(" ", start + size // 2, end)
                end = space + 1 if space > start else end
        piece = text[start:end].strip()
        if piece:
            chunks.append(piece)
            if limit is not None and len(chunks) > limit:
                raise NotIndexable(f"it would be more than {limit:,} chunks, the most indexed per document")
        if end >= len(text):
            break
        next_start = max(end - overlap, start + 1)
        space = text.find(" ", next_start, end)  # begin the overlap on a word
        start = space + 1 if 0 <= space < end else next_start
    return chunks


def serve_one() -> None:
    """The body of an extraction process: one pickled ``(key, data, content_type, metadata,
    max_chars)`` on stdin, one pickled ``("ok", Extracted)`` or ``("not_indexable", reason)``
    on stdout (see :mod:`runtime.smart.indexer`)."""
    import os
    import pickle
    import sys

    os.nice(10)  # background work: the server's own process comes first
    key, data, content_type, metadata, max_chars = pickle.loads(sys.stdin.buffer.read())
    try:
        reply: tuple[str, object] = ("ok", extract(key, data, content_type, metadata, max_chars))
    except NotIndexable as reason:
        reply = ("not_indexable", str(reason))
    sys.stdout.buffer.write(pickle.dumps(reply))
