"""Bad input through the CLI: one `newsletter: path:line: message` line, exit 2, nothing written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsletter.cli.commands import main
from newsletter.errors import InputError
from tests.conftest import EXAMPLE_ISSUE

ISSUE_DIR = Path("issues") / EXAMPLE_ISSUE
ERROR_LINE = re.compile(r"newsletter: (?P<path>[^:\n]+):(?P<line>\d+): (?P<message>[^\n]+)\n")
OUTPUTS = (Path("build"), Path("outbox"))


@dataclass(frozen=True)
class Case:
    file: str  # the file to break, relative to the issue folder
    old: str | None  # text replaced by `new`; None: `new` becomes the whole file
    new: str | bytes
    needle: str  # text on the line the error must name (searched after the change)
    words: tuple[str, ...] = ()  # what the message must mention
    reported: str = "issue.md"  # the file the error must name
    slack: int = 0  # YAML parsers may point at the next or previous line
    command: tuple[str, ...] = ("build", EXAMPLE_ISSUE)

    def apply(self) -> None:
        path = ISSUE_DIR / self.file
        if self.old is None:
            path.write_bytes(self.new if isinstance(self.new, bytes) else self.new.encode())
            return
        text = path.read_text(encoding="utf-8")
        assert text.count(self.old) == 1, f"{self.old!r} is not in {path} exactly once"
        path.write_text(text.replace(self.old, self.new), encoding="utf-8")

    def expected_line(self) -> int:
        lines = (ISSUE_DIR / self.reported).read_text(encoding="utf-8").splitlines()
        return next(n for n, line in enumerate(lines, 1) if self.needle in line)


SUBJECT = 'subject: "Winter pruning, leaf mould & a seed library"\n'
COMPOST = "- source: articles/compost.txt"
SEND = ("send", EXAMPLE_ISSUE)
UNKNOWN_KEY = Case("issue.md", "audience: audience.csv\n", "audience: audience.csv\nauthor: Sam\n", "author:",
                   ("unknown key 'author'",))

CASES = [
    pytest.param(Case("issue.md", SUBJECT, SUBJECT.replace('"', "'", 1), "subject:", ("invalid YAML",), slack=1),
                 id="yaml-unclosed-quote"),
    pytest.param(Case("issue.md", "v1.txt\n        url:", "v1.txt\n           url:", "           url:",
                      ("invalid YAML",), slack=1), id="yaml-bad-indentation"),
    pytest.param(Case("issue.md", "date: 2026-11-27", "date: 2026-02-30", "date:", ("date",)),
                 id="impossible-date"),
    pytest.param(Case("issue.md", "articles/compost.txt", "articles/missing.txt", "- source: articles/missing.txt",
                      ("articles/missing.txt", "not found")), id="missing-article"),
    pytest.param(Case("articles/compost.txt", None, "", COMPOST, ("articles/compost.txt", "empty")),
                 id="empty-article"),
    pytest.param(Case("articles/compost.txt", None, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", COMPOST,
                      ("articles/compost.txt", "binary")), id="binary-article"),
    pytest.param(Case("articles/compost.txt", None, "Leaf mould\n\nCafé crème for everyone.\n".encode("latin-1"),
                      COMPOST, ("articles/compost.txt", "UTF-8")), id="non-utf8-article"),
    pytest.param(UNKNOWN_KEY, id="unknown-front-matter-key"),
    pytest.param(Case("issue.md", "summary: >-", "sumary: >-", "sumary:", ("unknown key 'sumary'",)),
                 id="unknown-article-key"),
    pytest.param(Case("issue.md", SUBJECT, "subject: [a, b]\n", "subject:", ("subject must be text",)),
                 id="subject-is-a-list"),
    pytest.param(Case("issue.md", "blog/seed-library\n", "blog/seed-library\n        words: many\n", "words: many",
                      ("words must be a whole number",)), id="words-not-a-number"),
    pytest.param(Case("issue.md", SUBJECT, "", "---", ("subject",), slack=1), id="missing-subject"),
    pytest.param(Case("issue.md", "\n---\nHello", "\nHello", "---", ("closing '---'",)), id="no-closing-fence"),
    pytest.param(Case("issue.md", "  - title: Community\n", "  - title: Events\n    articles: []\n"
                      "  - title: Community\n", "- title: Events", ("no articles",)), id="section-without-articles"),
    pytest.param(Case("audience.csv", "ruth.obi@example.net", "ruth.obi(at)example.net", "ruth.obi(at)",
                      ("invalid email address", "ruth.obi(at)example.net"), reported="audience.csv", command=SEND),
                 id="csv-invalid-address"),
    pytest.param(Case("audience.csv", "owen.pritchard@example.net,Owen", 'owen@example.net,"Owen\nPritchard"\n'
                      "owen-at-example.net,Owen", "owen@example.net", ("line break",), reported="audience.csv",
                      command=SEND), id="csv-line-break-in-a-value"),
    pytest.param(Case("audience.csv", "email,first_name", "mail,first_name", "mail,first_name", ("email",),
                      reported="audience.csv", command=SEND), id="csv-without-email-header"),
    pytest.param(Case("audience.csv", "dev.chandran@example.com,Dev", "dev.chandran@example.com,Dev,Chandran",
                      "dev.chandran", ("expected 2 columns", "found 3"), reported="audience.csv", command=SEND),
                 id="csv-wrong-column-count"),
]


def snapshot() -> dict[str, bytes | None]:
    """Every path under build/ and outbox/, with the bytes of each file."""
    return {str(path): path.read_bytes() if path.is_file() else None
            for folder in OUTPUTS if folder.exists() for path in sorted(folder.rglob("*"))}


def assert_one_line(result, code: int = 2) -> None:
    assert result.code == code
    assert result.err.startswith("newsletter: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err


@pytest.fixture(params=[False, True], ids=["fresh", "after-good-build"])
def previous_output(request, workspace, cli) -> None:
    """Optionally leave a good build and a good dry run behind, which bad input must not touch."""
    if request.param:
        assert cli("build", EXAMPLE_ISSUE).code == 0
        assert cli("send", EXAMPLE_ISSUE, "--limit", "1").code == 0


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_located_line_and_writes_nothing(case: Case, previous_output, cli):
    case.apply()
    before = snapshot()
    result = cli(*case.command)
    assert_one_line(result)
    match = ERROR_LINE.fullmatch(result.err)
    assert match, result.err
    assert match["path"] == str(ISSUE_DIR / case.reported)
    assert abs(int(match["line"]) - case.expected_line()) <= case.slack, result.err
    for word in case.words:
        assert word in match["message"]
    assert snapshot() == before


def test_unknown_issue_suggests_new(workspace, cli):
    result = cli("build", "2099-01")
    assert_one_line(result)
    assert "newsletter new 2099-01" in result.err
    assert snapshot() == {}


def test_send_to_invalid_address(workspace, cli):
    result = cli("send", EXAMPLE_ISSUE, "--to", "not-an-address")
    assert_one_line(result)
    assert "'not-an-address'" in result.err
    assert snapshot() == {}


def test_debug_raises_the_input_error(workspace):
    UNKNOWN_KEY.apply()
    with pytest.raises(InputError) as raised:
        main(["--debug", "build", EXAMPLE_ISSUE])
    assert Path(raised.value.path).resolve() == (ISSUE_DIR / "issue.md").resolve()
    assert raised.value.line == UNKNOWN_KEY.expected_line()
    assert "unknown key 'author'" in raised.value.message
