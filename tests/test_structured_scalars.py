"""Scalars encode and decode as JSON does, through the fast paths that skip the json module."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime import structured


@pytest.mark.parametrize(
    "value", [0, 7, 12345, -5, 10**40, "", "plain", 'quote " and \\', "é\n\u2028😀", True, None, 1.5]
)
def test_a_scalar_encodes_as_json_and_comes_back_as_itself(value: Any) -> None:
    assert structured.dumps(value) == json.dumps(value)
    back = structured.loads(structured.dumps(value))
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize("text", ["0", "9", "123", "-4", "00", "012", "²", "１２", "1e3", " 5"])
def test_a_text_of_digits_reads_as_json_reads_it(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            structured.loads(text)
        return
    assert structured.loads(text) == expected and type(structured.loads(text)) is type(expected)
