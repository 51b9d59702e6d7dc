"""The README is the front door and the docs site its reference; they must not drift apart."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_is_a_front_door_with_the_two_commands_first() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.encode()) < 8 * 1024
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(first_block) == 2
    assert first_block[0].endswith("python -m runtime serve raindrop.manifest")
    assert first_block[1].endswith("python -m pytest -q")


def test_docs_home_is_the_readme_with_site_links() -> None:
    readme = (ROOT / "README.md").read_text()
    assert (ROOT / "docs" / "index.md").read_text() == readme.replace("](docs/", "](")


def test_every_docs_page_is_in_the_navigation_and_every_link_resolves() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert [p for p in pages if p not in nav] == []
    for target in re.findall(r"\]\((docs/[^)#]+)", (ROOT / "README.md").read_text()):
        assert (ROOT / target).exists(), target
