"""A pattern rewritten to run in linear time matches exactly what it matched before (issue 25, row 4).

``BOILERPLATE``'s basket branch ("Your shopping cart is empty") used to let its first ``.*`` backtrack over every
"cart" of a line, each time scanning the rest for "empty": quadratic ("cart cart cart …", 40 KB, took 7 s). It
now commits to the line's first basket word. The old form is rebuilt here from the new one, and both must agree
on every line of the readability development pages and on a generated corpus built to tell them apart."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from newsletter.sources.readers.pagedump import BOILERPLATE
from tests.conftest import PROJECT, benchmark_module

evaluation = benchmark_module("evaluation")

COMMITTED = r"(?>.*?\b(?:shopping\s+)?(?:basket|cart|bag)\b)"
BACKTRACKING = r".*\b(?:shopping\s+)?(?:basket|cart|bag)\b"


def _old_boilerplate() -> re.Pattern[str]:
    assert COMMITTED in BOILERPLATE.regex.pattern, "the basket branch changed: update this test's reference"
    return re.compile(BOILERPLATE.regex.pattern.replace(COMMITTED, BACKTRACKING), BOILERPLATE.regex.flags)


def _generated_lines() -> list[str]:
    """Every short sequence of the words the basket branch turns on, with the separators that matter to it."""
    words = ["cart", "Basket", "bag", "shopping", "empty", "no items", "no", "items", "carts", "emptyish", "x", "©"]
    separators = [" ", "", "\n", " - "]
    lines = []
    for size in (1, 2, 3, 4):
        for chosen in itertools.product(words, repeat=size):
            for separator in separators:
                lines.append(separator.join(chosen))
    return lines


def test_the_committed_basket_branch_matches_what_the_backtracking_one_did(shared_dir: Path) -> None:
    old = _old_boilerplate()
    data = shared_dir / "eval" / "readability"
    pages = evaluation.load_pages(data, evaluation.split_pages(data, "development"))
    lines = [line for page in pages for line in evaluation.page_text(page.html).splitlines() if line.strip()]
    generated = _generated_lines()
    assert len(lines) > 5000 and len(generated) > 20000
    disagreements = [line for line in lines + generated if bool(old.match(line)) != bool(BOILERPLATE.regex.match(line))]
    assert not disagreements, disagreements[:5]
    # The corpus reaches the branch both ways, so agreement is not two patterns that never fire.
    assert any(old.match(line) for line in generated) and not all(old.match(line) for line in generated)
    assert BOILERPLATE.match("Your shopping cart is empty") and BOILERPLATE.match("cart cart x empty")
    assert not BOILERPLATE.match("empty cart")  # "empty" before the basket word only


def test_a_5_mb_line_of_basket_words_is_checked_in_well_under_a_second() -> None:
    run = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import time
        from newsletter.sources.readers.pagedump import BOILERPLATE
        for line in ("cart " * 1_000_000, "cart " * 1_000_000 + "empty", "shopping bag " * 400_000):
            start = time.process_time()
            BOILERPLATE.regex.match(line)  # the regex itself, past the reader's bound on line length
            print(round(time.process_time() - start, 3))
    """)], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    seconds = [float(row) for row in run.stdout.split()]
    assert len(seconds) == 3 and max(seconds) < 1.0, seconds


def test_the_case_free_guard_knows_every_other_form_of_an_ascii_letter() -> None:
    """``holds_any`` looks for a word in the line's ``str.lower()``: that finds every match of a case-insensitive
    pattern only if each character that ``re`` takes for an ASCII letter lowers to it, or is one that the guard
    lets through whatever the line says."""
    from newsletter.sources.shortlines import OTHER_FORMS_OF_ASCII_LETTERS

    every_character = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        taken = set(re.findall(letter, every_character, re.IGNORECASE))
        assert {char for char in taken if char.lower() != letter} <= set(OTHER_FORMS_OF_ASCII_LETTERS), letter


def test_the_guarded_patterns_find_what_their_patterns_find(shared_dir: Path) -> None:
    """A guard only passes over lines that cannot match: on every line of the readability development pages (and
    lines made to test each guard) the guarded patterns give what their regexes alone give."""
    from newsletter.sources.dates import DATE_PATTERN
    from newsletter.sources.readers.pagedump import (
        BOILERPLATE_WORDS,
        CODE_SYMBOL,
        LEGAL,
        LINE_COMMENT,
        NAVIGATION_SEPARATOR,
        code_symbols,
    )

    data = shared_dir / "eval" / "readability"
    pages = evaluation.load_pages(data, evaluation.split_pages(data, "development"))
    lines = [line for page in pages for line in evaluation.page_text(page.html).splitlines() if line.strip()]
    lines += ["News  Sport", "» World", "Home |", "a / b", "3 May 2024", "ſubscribe now", "KOOKIES", "SİGN İN",
              "  -- totals", "// set up", "(x) -- y", "Cookie policy", "Log in",
              "We use COOKİES to", "Wir verwenden Coo\u212aies", "accept all cookies"]
    both_symbols = re.compile(f"{CODE_SYMBOL.pattern}|^{LINE_COMMENT.pattern}")
    for line in lines:
        assert NAVIGATION_SEPARATOR.findall(line) == NAVIGATION_SEPARATOR.regex.findall(line), line
        assert BOILERPLATE_WORDS.findall(line) == BOILERPLATE_WORDS.regex.findall(line), line
        assert bool(LEGAL.search(line)) == bool(LEGAL.regex.search(line)), line
        if len(line) <= DATE_PATTERN.max_chars:
            assert [m.span() for m in DATE_PATTERN.finditer(line)] == [m.span() for m in DATE_PATTERN.regex.finditer(line)]
        assert code_symbols(line) == len(both_symbols.findall(line)), line
    for piece in ("\n".join(lines[row:row + 5]) for row in range(0, len(lines), 5)):  # a page's text pieces
        held = any(DATE_PATTERN.regex.search(line) for line in piece.splitlines() if len(line) <= DATE_PATTERN.max_chars)
        assert not held or list(DATE_PATTERN.may_hold([piece])) == [piece], piece
    assert BOILERPLATE_WORDS.findall("ſubscribe now") and BOILERPLATE_WORDS.findall("SİGN İN")
    assert LEGAL.search("We use COOKİES to") and LEGAL.search("Wir verwenden Coo\u212aies")
