"""The seed articles (two saved versions of one real page) become one clean section."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from newsletter.compose.summarize import split_sentences
from tests.conftest import write_issue

FURNITURE = [
    "You have no items in your shopping basket",
    "About the Mandatory Training Group",
    "Contact us",
    "Complete the form below",
    "Click here",
    "Related blog articles",
    "via Envato Elements",
    "Image by",
    # the newer version's closing pitch
    "Discover our CPD Certification Service",
    "Champion your team",
    "Sustaining success through continuous learning",
]


@pytest.fixture
def seed_build(workspace: Path, shared_dir: Path, cli) -> Path:
    seeds = sorted((shared_dir / "seeds").glob("*.txt"))
    assert len(seeds) == 2
    listing = "\n".join(f"      - source: {seed}" for seed in seeds)
    settings = workspace / "newsletter.toml"  # the seeds live outside the workspace: allowed by name
    settings.write_text(settings.read_text().replace("[newsletter]\n", f"[newsletter]\nallow_paths = [\"{shared_dir}\"]\n", 1))
    write_issue(workspace / "issues" / "seeds", f"subject: Seeds\nsections:\n  - title: Leadership\n    articles:\n{listing}")
    result = cli("build", "seeds")
    assert result.code == 0, result.err
    return workspace / "build" / "seeds"


@pytest.fixture
def seed_article(seed_build: Path) -> dict:
    issue = json.loads((seed_build / "issue.json").read_text())
    assert len(issue["sections"]) == 1
    articles = issue["sections"][0]["articles"]
    assert len(articles) == 1, "the two versions must merge into one article"
    return articles[0]


def test_versions_merge_into_the_newer_one(seed_article: dict, shared_dir: Path) -> None:
    assert seed_article["title"] == "The power of mutual advocacy in professional relationships"
    assert seed_article["byline"] == "Dr Richard Dune"
    assert seed_article["published"] == "2023-08-17"
    assert seed_article["updated"] == "2025-03-03"
    assert seed_article["source"].endswith("001_a5e19020b6f374f5.txt")
    assert seed_article["also_from"][0].endswith("000_d1eb723f654606e1.txt")


def test_summary_is_two_or_three_sentences_about_mutual_advocacy(seed_article: dict, shared_dir: Path) -> None:
    summary = seed_article["summary"]
    sentences = split_sentences(summary)
    assert 2 <= len(sentences) <= 3
    assert len(summary.split()) <= 80
    assert "mutual advocacy" in summary.lower()
    newer = (shared_dir / "seeds" / "001_a5e19020b6f374f5.txt").read_text()
    for sentence in sentences:
        assert sentence in newer, f"not a whole sentence of the article: {sentence!r}"
        assert sentence[-1] in ".?!"
        assert not re.match(r"^[^.!?]{3,80}? - [A-Z]", sentence), f"a list label glued in: {sentence!r}"


@pytest.mark.parametrize("name", ["index.html", "index.txt", "issue.json"])
def test_no_page_furniture_anywhere(seed_build: Path, name: str) -> None:
    content = (seed_build / name).read_text()
    assert "mutual advocacy" in content
    for phrase in FURNITURE:
        assert phrase.lower() not in content.lower(), f"{phrase!r} leaked into {name}"


def test_no_page_furniture_in_extracted_text(shared_dir: Path, cli) -> None:
    for seed in sorted((shared_dir / "seeds").glob("*.txt")):
        result = cli("extract", seed, "--json")
        assert result.code == 0, result.err
        article = json.loads(result.out)
        assert "Building trust" in article["text"] or "silent advocacy" in article["text"]
        for phrase in FURNITURE + ["With over 25 years of experience"]:
            assert phrase.lower() not in article["text"].lower(), f"{phrase!r} in {seed.name}"
        assert re.search(r"^Conclusion$", article["text"], re.MULTILINE)
