"""Hostile inputs for the smart components: small things that become large work."""

from __future__ import annotations

import zlib


def pdf_bomb(text_bytes: int = 5 * 1024 * 1024) -> bytes:
    """A PDF of a few kilobytes whose one page's content stream inflates to ``text_bytes`` of
    shown text (one short string per ``Tj``, each on its own line)."""
    line = b"(lorem ipsum dolor sit amet consectetur adipiscing elit) Tj T*\n"
    content = b"BT /F1 9 Tf 12 TL 10 800 Td\n" + line * (text_bytes // 44) + b"ET\n"
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pii_bomb(size: int = 120_000) -> str:
    """An e-mail-ish value that an unbounded address pattern backtracks over for minutes: a
    long dotted run (a local part that may start at every dot) and one ``@`` before a dotted
    domain that never ends in a top-level label."""
    half = "1." * (size // 4)
    return half + "a@" + half
