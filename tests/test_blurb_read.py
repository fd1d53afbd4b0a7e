"""The blind read's sheet and tally (benchmarks/blurb_read.py): a fair draw, an exact count."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import benchmark_module

blurb_read = benchmark_module("blurb_read")


@pytest.fixture()
def sheet_path(shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(blurb_read, "SHARED", shared_dir / "eval")
    path = tmp_path / "sheet.md"
    assert blurb_read.main(["sheet", str(path), "--side", "development", "--count", "3", "--seed", "7"]) == 0
    return path


def test_the_sheet_gives_each_drawn_page_its_address_blurb_and_an_unmarked_box(sheet_path: Path) -> None:
    text = sheet_path.read_text(encoding="utf-8")
    assert text.count("\n## ") == 3
    assert text.count("- [ ] keep as written") == 3
    assert text.count("\n<http") == 3
    blurbs = [line for line in text.splitlines() if line.startswith("> ")]
    assert blurbs and all(len(line.split()) <= 60 + 1 for line in blurbs)  # the default budget: 60 words


def test_the_same_seed_draws_the_same_pages_and_another_seed_others(shared_dir: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blurb_read, "SHARED", shared_dir / "eval")
    first = blurb_read.blurb_entries("trafilatura", "development", 3, 7)
    again = blurb_read.blurb_entries("trafilatura", "development", 3, 7)
    other = blurb_read.blurb_entries("trafilatura", "development", 3, 8)
    assert [entry["address"] for entry in first] == [entry["address"] for entry in again]
    assert {entry["address"] for entry in first} != {entry["address"] for entry in other}


def test_the_score_counts_the_marked_boxes_and_fails_below_the_floor(sheet_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    text = sheet_path.read_text(encoding="utf-8")
    sheet_path.write_text(text.replace("- [ ] keep", "- [x] keep", 2), encoding="utf-8")
    assert blurb_read.main(["score", str(sheet_path)]) == 1  # 2 of 3 is under 15 of 20
    assert "kept 2 of 3" in capsys.readouterr().out
    sheet_path.write_text(text.replace("- [ ] keep", "- [x] keep"), encoding="utf-8")
    assert blurb_read.main(["score", str(sheet_path), "--json"]) == 0
    assert '"kept": 3, "read": 3' in capsys.readouterr().out


def test_an_article_holding_a_code_fence_cannot_close_the_fold() -> None:
    entry = {"address": "https://example.org/a", "title": "A", "blurb": "One.", "refused": "",
             "text": "Before\n```\nnot the end\n```\nAfter"}
    lines = blurb_read.sheet([entry]).splitlines()
    opening = next(line for line in lines if line.endswith("text") and line.startswith("`"))
    fence = opening.removesuffix("text")
    assert len(fence) == 4 and lines.count(fence) == 1
