"""The peer suite's table (README.md) names only tests that exist, and its counts add up."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).parent
README = (HERE / "README.md").read_text()


def test_every_ported_case_names_a_test_that_exists() -> None:
    named = set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", README))
    assert len(named) > 50
    for file, function in sorted(named):
        tree = ast.parse((HERE / file).read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        assert function in defined, f"README.md names {file}::{function}, which does not exist"


def test_each_table_has_the_rows_its_summary_counts() -> None:
    summary = re.findall(r"^\| [^|\n]*`([^`\n]+)`[^|\n]*\| (\d+) \| (\d+) \| (\d+) \|$", README, re.M)
    assert len(summary) >= 14
    sections = re.split(r"^## ", README, flags=re.M)
    for path, cases, ported, not_applicable in summary:
        (section,) = [s for s in sections if s.split("\n", 1)[0].endswith(f"`{path}`")]
        rows = re.findall(r"^(?:\| (?!Miniflare case|---)[^\n]*\| ([^\n|]*) \||- [^\n]*)$", section, re.M)
        assert len(rows) == int(cases), path
        assert int(ported) + int(not_applicable) == int(cases), path
        if rows and rows[0]:  # a table: each row is ported or says why not
            assert sum(r.startswith("`") for r in rows) == int(ported), path
            assert sum(r.startswith("n/a: ") for r in rows) == int(not_applicable), path
