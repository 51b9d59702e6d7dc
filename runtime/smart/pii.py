"""Finding personal data in text: what SmartSQL's ``get_pii_data`` reports.

Entities found, each with a confidence that says how sure the check is:

- ``EMAIL`` (an address with a dotted domain), 0.95;
- ``PHONE_NUMBER`` (E.164 ``+`` and 8 to 15 digits, or a North American 10-digit number with
  separators), 0.85;
- ``CREDIT_CARD`` (13 to 19 digits that pass the Luhn check), 0.95;
- ``IBAN`` (a country code, two check digits and up to 30 characters that pass ISO 7064
  mod 97), 0.95;
- ``IP_ADDRESS`` (IPv4 or IPv6, parsed by :mod:`ipaddress`), 0.9;
- ``US_SSN`` (a US Social Security number, ``AAA-GG-SSSS`` with the ranges the SSA never
  issues left out: area 000, 666 or 900-999, group 00, serial 0000), 0.85.

Positions are character offsets into the scanned value (end exclusive); ``token_index`` is the
index of the whitespace-separated token where the entity starts.

The scan is linear in the value's length: every pattern is bounded (an address's local part is
at most 64 characters, its domain at most 8 labels of 63), so no input makes a pattern
backtrack over the whole value, and overlaps and token indexes are found by bisection.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from typing import Any

# The local part starts where no local-part character precedes it (so a long run is tried from
# its start only) and is at most 64 characters, as RFC 5321 allows; labels and dots alternate,
# so the domain's repetition cannot backtrack into itself.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,63}\b")
_TOKEN = re.compile(r"\S+")
_PHONE = re.compile(r"(?<![\w+])(?:\+[1-9]\d{7,14}|\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4})(?!\w)")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_SSN = re.compile(r"(?<!\d)(\d{3})-(\d{2})-(\d{4})(?!\d)")


def luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def detect(text: str) -> list[dict[str, Any]]:
    """Every entity found in ``text``, in order of position."""
    found: list[tuple[int, int, str, float]] = []
    starts: list[int] = []  # the entities found so far, which never overlap, by start
    ends: list[int] = []

    def add(start: int, end: int, kind: str, confidence: float) -> None:
        at = bisect.bisect_left(starts, end)  # entities starting before this one ends
        if at and ends[at - 1] > start:  # the last of them reaches into this text
            return
        starts.insert(at, start)
        ends.insert(at, end)
        found.append((start, end, kind, confidence))

    for match in _EMAIL.finditer(text):
        add(match.start(), match.end(), "EMAIL", 0.95)
    for match in _IBAN.finditer(text):
        if iban_valid(match.group()):
            add(match.start(), match.end(), "IBAN", 0.95)
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn(digits):
            add(match.start(), match.end(), "CREDIT_CARD", 0.95)
    for match in _SSN.finditer(text):
        if _ssn_valid(*match.groups()):
            add(match.start(), match.end(), "US_SSN", 0.85)
    for match in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(match.group())
        except ValueError:
            continue
        add(match.start(), match.end(), "IP_ADDRESS", 0.9)
    for match in _IPV6.finditer(text):
        try:
            ipaddress.IPv6Address(match.group())
        except ValueError:
            continue
        add(match.start(), match.end(), "IP_ADDRESS", 0.9)
    for match in _PHONE.finditer(text):
        add(match.start(), match.end(), "PHONE_NUMBER", 0.85)
    entities = []
    tokens = [match.start() for match in _TOKEN.finditer(text)] if found else []
    for start, end, kind, confidence in sorted(found):
        before = bisect.bisect_left(tokens, start)  # tokens that begin before the entity
        token = before - 1 if start and not text[start - 1].isspace() and before else before
        entities.append(
            {
                "entity_type": kind,
                "confidence_score": confidence,
                "detected_text": text[start:end],
                "start_position": start,
                "end_position": end,
                "token_index": token,
            }
        )
    return entities
