"""The manual stays true: the generated references match the code, the README stays short and
names every command."""

from __future__ import annotations

import re

import pytest

from newsletter.cli.commands import PARSERS, _parser
from newsletter.cli.reference import stale
from tests.conftest import PROJECT

README = PROJECT / "README.md"


@pytest.mark.slow
def test_the_generated_references_are_current() -> None:
    assert stale() == [], "run: python -m newsletter.cli.reference (make docs)"


def test_the_readme_is_short_and_lists_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 12_288
    _parser()
    listed = set(re.findall(r"`newsletter (\w+)", text))
    assert {words.split()[0] for words in PARSERS} <= listed


def test_every_link_in_the_readme_and_docs_points_at_a_file() -> None:
    for page in [README, *(PROJECT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(((?!https?:|#)[^)#]+)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}"
