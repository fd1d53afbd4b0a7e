"""The page-dump readers run in time linear in their input (issue 25, row 4): no regex whose repeats nest or
overlap on unbounded text. ``ABBREVIATION_END`` took 93 s on a 200 KB line "A.A.A.…x." and ``MATH_MARK``
28 s on 210 KB of "[MATH: " marks; 5 MB of each now takes well under a second.

Each check runs in a subprocess with a time cap, so a regression fails instead of hanging the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import PROJECT

# Lines that make a backtracking pattern try every start and every split of a long run.
FAMILIES = ["A.", "[MATH: ", "1.", " ", "\t", "a ", "(1)", "[a] ", 'x-tex">', "1 ", "a.", "By Ab ", "[", "*a",
            "> ", "# ", " | ", "a@", "1:11 ", "_a "]
SIZE = 5_000_000
# The families that made the old patterns quadratic: abbreviation chains, math marks, runs of numbers and blanks.
LINEAR_FAMILIES = ["A.", "[MATH: ", "1 ", "1.", " ", "\t"]


def _run(script: str, timeout: float) -> str:
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=PROJECT, capture_output=True,
                         text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_the_two_quadratic_cases_now_take_well_under_a_second() -> None:
    out = _run(f"""
        import time
        from newsletter.sources.readers.pagedump import ends_sentence, _math_as_tex, TERMINAL_MARKS
        for name, call, line in (("abbreviation", ends_sentence, "A." * {SIZE // 2} + "x."),
                                 ("math", lambda t: TERMINAL_MARKS.sub("", _math_as_tex(t)), "[MATH: " * {SIZE // 7})):
            start = time.process_time()
            call(line)
            print(name, round(time.process_time() - start, 3))
    """, timeout=60)
    for row in out.split("\n"):
        if row:
            name, seconds = row.split()
            assert float(seconds) < 1.0, row


@pytest.mark.slow
def test_every_pattern_of_the_dump_readers_is_linear_on_a_5_mb_adversarial_line() -> None:
    """Each pattern on a 5 MB line of each family: within a second, or (the long alternations, such as the date
    and title patterns, take a few CPU seconds on 5 MB of a busy 2-core machine) no more than linear: at most
    15 times its time on a tenth of the line. A quadratic pattern takes 100 times as long."""
    out = _run(f"""
        import re, time
        import newsletter.sources.readers.pagedump as pagedump
        import newsletter.sources.readers.markdown as markdown
        import newsletter.sources.readers.mail as mail
        patterns = [(module.__name__ + "." + name, value) for module in (pagedump, markdown, mail)
                    for name, value in vars(module).items() if isinstance(value, re.Pattern)]
        def timed(pattern, line):
            start = time.process_time()
            pattern.search(line)
            return time.process_time() - start
        for family in {LINEAR_FAMILIES!r}:
            line = (family * ({SIZE} // len(family) + 1))[:{SIZE}] + "x."
            tenth = line[-{SIZE // 10}:]
            for name, pattern in patterns:
                seconds = timed(pattern, line)
                if seconds >= 1.0 and seconds > 15 * max(timed(pattern, tenth), 0.01):
                    print(f"{{name}} {{family!r}} {{seconds:.1f}} s")
    """, timeout=1800)
    assert not out.strip(), out


@pytest.mark.slow
def test_a_huge_dump_line_is_read_in_linear_time() -> None:
    """The whole reader on 1 MB lines of each kind finishes in seconds, not minutes."""
    out = _run(f"""
        import time
        from newsletter.sources.readers.pagedump import split_dump
        for family in {FAMILIES[:8]!r}:
            line = (family * (1_000_000 // len(family) + 1))[:1_000_000] + "x."
            start = time.process_time()
            split_dump("A headline for the page\\n" + line + "\\n")
            print(round(time.process_time() - start, 2), repr(family))
    """, timeout=300)
    for row in out.split("\n"):
        if row:
            assert float(row.split()[0]) < 10.0, row
