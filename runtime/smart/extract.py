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


def extract(key: str, data: bytes, content_type: str, custom_metadata: dict[str, str]) -> Extracted:
    """The text to index for an object.

    :raises NotIndexable: for content that is stored but not indexed (an unsupported type, a
        PDF that cannot be read, a document over the size limit).
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
        return Extracted(data.decode("utf-8", errors="replace"), "text")
    if content_type == "application/pdf":
        return Extracted(_pdf_text(data), "pdf")
    if content_type.startswith("image/"):
        described = " ".join([key, *(f"{k} {v}" for k, v in sorted(custom_metadata.items()))])
        return Extracted(described, "image")
    raise NotIndexable(
        f"content type {content_type!r} is not indexed locally (indexed: text/*, JSON, XML, application/pdf; "
        "images by name and metadata)"
    )


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise NotIndexable(f"the PDF cannot be read: {exc}") from None


_BREAKS = re.compile(r"\n\s*\n|(?<=[.!?])\s+|\n")


def chunk(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Split ``text`` into chunks of about ``size`` characters that overlap by about
    ``overlap``, cutting at paragraph, sentence or line ends where there is one in reach, else
    at a space, else anywhere. Whitespace runs are folded; blank text gives no chunks."""
    text = re.sub(r"[ \t\r\f\v]+", " ", text).strip()
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
        if end >= len(text):
            break
        next_start = max(end - overlap, start + 1)
        space = text.find(" ", next_start, end)  # begin the overlap on a word
        start = space + 1 if 0 <= space < end else next_start
    return chunks
