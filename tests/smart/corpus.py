"""The labelled retrieval set: bill documents as Congress.gov describes them, and queries.

Documents are the podcast app's sample bills (``hakivo/sample_bills.json``) and the summaries
in ``documents.json``, each written out as a bill page: number, title, sponsor, dates, latest
action, committee and summary. Queries (``queries.json``) come in two kinds: ``exact`` (names,
numbers and terms that appear in the answer) and ``paraphrase`` (the same need in other words:
no word of the query, past the stopwords, appears in the answer, which a test checks).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from runtime.smart.retrieval import STOPWORDS

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SPONSORS = [
    "Rep. Alvarez, Maria [D-CA-12]",
    "Sen. Okafor, James [D-IL]",
    "Rep. Lindqvist, Erik [R-MN-7]",
    "Sen. Whitfield, Grace [R-KS]",
    "Rep. Tanaka, Kenji [D-HI-1]",
    "Sen. Brennan, Patrick [D-MA]",
    "Rep. Delgado, Rosa [R-FL-26]",
    "Sen. Haskell, Thomas [R-WY]",
]
COMMITTEES = [
    "Committee on Energy and Commerce",
    "Committee on Ways and Means",
    "Committee on the Judiciary",
    "Committee on Agriculture",
    "Committee on Armed Services",
    "Committee on Health, Education, Labor, and Pensions",
]


def _number(key: str) -> str:
    kind, number = re.match(r"([a-z]+)(\d+)", key).groups()  # type: ignore[union-attr]
    return f"{'H.R.' if kind == 'hr' else 'S.'} {number}"


def documents() -> dict[str, str]:
    rng = random.Random(2025)
    pages: dict[str, str] = {}
    for bill in json.loads((ROOT / "hakivo" / "sample_bills.json").read_text()):
        key = f"{bill['billType']}{bill['billNumber']}.txt"
        pages[key] = (
            f"{_number(key)} - {bill['title']}\nSponsor: {bill['sponsorName']}. Introduced {bill['introducedDate']}.\n"
            f"Latest action ({bill['latestActionDate']}): {bill['latestActionText']}\n\nSummary: {bill['summary']}\n"
        )
    for key, text in json.loads((HERE / "documents.json").read_text()).items():
        title, _, summary = text.partition(". ")
        pages[key] = (
            f"{_number(key)} - {title}\nSponsor: {rng.choice(SPONSORS)}. Introduced 2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}.\n"
            f"Latest action: Referred to the {rng.choice(COMMITTEES)}.\n\nSummary: {summary}\n"
        )
    return pages


def queries() -> dict[str, list[tuple[str, str]]]:
    raw = json.loads((HERE / "queries.json").read_text())
    return {kind: [(text, key) for text, key in pairs] for kind, pairs in raw.items()}


def content_stems(text: str) -> set[str]:
    """Words past the stopwords, cut to five letters: a crude stem, strict on purpose."""
    return {word[:5] for word in re.findall(r"\w+", text.lower()) if word not in STOPWORDS}
