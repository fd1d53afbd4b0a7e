"""Hostile input, table-driven: issue files, settings, audiences, templates, sources and URLs
written by an attacker or by bad luck. Each one ends in a single error line (with file:line where a
file is to blame) and the expected exit code; nothing in the workspace is written (no build folder,
no outbox run, no send log, no settings or secrets) and nothing reaches the local SendGrid stand-in.
No output ever holds a traceback, a secret, or a subscriber's address on stderr."""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from newsletter.cli.commands import main
from tests.conftest import EXAMPLE_ISSUE
from tests.http_server import Response, WebServer
from tests.send_helpers import FAKE_KEY, set_send_settings
from tests.sendgrid_server import FakeSendGrid

ISSUE = Path("issues") / EXAMPLE_ISSUE
BUILD, CHECK, SEND = ("build", EXAMPLE_ISSUE), ("check", EXAMPLE_ISSUE), ("send", EXAMPLE_ISSUE, "--send", "--yes")
SUBJECT = 'subject: "Winter pruning, leaf mould & a seed library"'
COMPOST = "source: articles/compost.txt"
PNG = (ISSUE / "images" / "apple-tree.png")


@dataclass
class Env:
    root: Path
    outside: Path  # a folder beside the workspace, holding files it must not reach
    web: WebServer
    sendgrid: FakeSendGrid | None = None  # the provider a real send reaches (a case may script its answers)

    def edit(self, relative: str | Path, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert text.count(old) >= 1, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def write(self, relative: str | Path, data: str | bytes) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    def issue(self, old: str, new: str) -> None:
        self.edit(ISSUE / "issue.md", old, new)

    def settings(self, old: str, new: str) -> None:
        self.edit("newsletter.toml", old, new)

    def source(self, location: str) -> None:
        self.issue(COMPOST, f"source: {location}")


@dataclass(frozen=True)
class Case:
    break_it: Callable[[Env], None]
    words: tuple[str, ...]  # one line mentions them all: a refusal's error line, else any line of the output
    where: str = ""  # regex for the place the line must start with, e.g. r"issues/.+/issue\.md:\d+"
    commands: tuple[tuple[str, ...], ...] = (BUILD, CHECK, SEND)
    code: int = 2  # 2: refused in one line; 0: goes ahead; 1: as the command means it (errors found, not sent)
    writes: tuple[str, ...] = ()  # what a command that goes ahead may write: paths under the workspace starting so
    asks_provider: bool = False  # the provider is asked to send (and refuses): still nothing may be delivered


IN_ISSUE = r"issues/2026-11-garden-notes/issue\.md:\d+"
IN_SETTINGS = r"newsletter\.toml:\d+"
IN_AUDIENCE = r"issues/2026-11-garden-notes/audience\.csv:\d+"


def outside_file(env: Env, name: str, data: bytes = b"secret notes from outside the workspace\n") -> Path:
    path = env.outside / name
    path.write_bytes(data)
    return path


def symlink_source(env: Env) -> None:
    os.symlink(outside_file(env, "notes.txt"), env.root / ISSUE / "articles" / "linked.txt")
    env.source("articles/linked.txt")


def symlink_image(env: Env) -> None:
    target = outside_file(env, "private.png", (env.root / PNG).read_bytes())
    os.symlink(target, env.root / ISSUE / "images" / "linked.png")
    env.issue("image: images/apple-tree.png", "image: images/linked.png")


def audience(rows: str) -> Callable[[Env], None]:
    return lambda env: env.write(ISSUE / "audience.csv", rows)


def url_source(response: Response, path: str = "/page") -> Callable[[Env], None]:
    def apply(env: Env) -> None:
        env.source(env.web.route(path, response))
    return apply


def redirect_to(target: str) -> Callable[[Env], None]:
    def apply(env: Env) -> None:
        env.source(env.web.redirect("/moved", target))
    return apply


def redirect_loop(env: Env) -> None:
    env.web.redirect("/a", env.web.url("/b"))
    env.source(env.web.redirect("/b", env.web.url("/a")))


def partial(text_old: str, text_new: str) -> Callable[[Env], None]:
    def apply(env: Env) -> None:
        from newsletter.render.email_html import PACKAGE_THEMES

        original = (PACKAGE_THEMES / "digest" / "partials" / "article.mjml.j2").read_text()
        assert text_old in original
        env.write("templates/digest/partials/article.mjml.j2", original.replace(text_old, text_new, 1))
    return apply


HEADER = ("line break",)
OUTSIDE = ("outside the workspace",)
PAGE = "text/plain; charset=utf-8"

CASES: dict[str, Case] = {
    # The issue file
    "subject-crlf-bcc": Case(lambda e: e.issue(SUBJECT, r'subject: "Hi\r\nBcc: x@evil.example"'), HEADER, IN_ISSUE),
    "subject-lf": Case(lambda e: e.issue(SUBJECT, r'subject: "Two\nlines"'), HEADER, IN_ISSUE),
    "subject-nul": Case(lambda e: e.issue(SUBJECT, r'subject: "nul\0byte"'), ("control character",), IN_ISSUE),
    "subject-block-scalar": Case(lambda e: e.issue(SUBJECT, "subject: |\n  one\n  two"), HEADER, IN_ISSUE),
    "preheader-crlf": Case(lambda e: e.issue('preheader: "Plus', r'preheader: "x\r\nBcc: y@evil.example Plus'),
                           HEADER, IN_ISSUE),
    "subject-a-list": Case(lambda e: e.issue(SUBJECT, "subject: [a, b]"), ("subject must be text",), IN_ISSUE),
    "source-dotdot": Case(lambda e: (outside_file(e, "notes.txt"), e.source("../../../outside/notes.txt")),
                          OUTSIDE, IN_ISSUE),
    "source-etc-passwd": Case(lambda e: e.source("/etc/passwd"), OUTSIDE, IN_ISSUE),
    "source-symlink-out": Case(symlink_source, OUTSIDE, IN_ISSUE),
    "image-symlink-out": Case(symlink_image, ("image", *OUTSIDE), IN_ISSUE),
    "image-dotdot": Case(lambda e: (outside_file(e, "x.png", b"\x89PNG"),
                                    e.issue("image: images/apple-tree.png", "image: ../../../outside/x.png")),
                         OUTSIDE, IN_ISSUE),
    "audience-dotdot": Case(lambda e: (outside_file(e, "list.csv", b"email\na@example.org\n"),
                                       e.issue("audience: audience.csv", "audience: ../../../outside/list.csv")),
                            OUTSIDE, IN_ISSUE, (CHECK, SEND)),
    "audience-etc-passwd": Case(lambda e: e.issue("audience: audience.csv", "audience: /etc/passwd"),
                                OUTSIDE, IN_ISSUE, (CHECK, SEND)),
    "unknown-theme": Case(lambda e: e.issue("date: 2026-11-27", "date: 2026-11-27\ntheme: nope"),
                          ("unknown theme 'nope'",), IN_ISSUE),
    "file-url-source": Case(lambda e: e.source("file:///etc/passwd"), ("only http",), IN_ISSUE),
    "ftp-url-source": Case(lambda e: e.source("ftp://example.org/a.txt"), ("only http",), IN_ISSUE),
    "binary-article": Case(lambda e: e.write(ISSUE / "articles" / "compost.txt", b"\x00\x01binary" * 20),
                           ("binary file",), IN_ISSUE),
    "latin1-article": Case(lambda e: e.write(ISSUE / "articles" / "compost.txt", "Caf\xe9 notes\n".encode("latin-1")),
                           ("not UTF-8",), IN_ISSUE),
    "empty-article": Case(lambda e: e.write(ISSUE / "articles" / "compost.txt", ""), ("empty",), IN_ISSUE),
    "source-is-a-folder": Case(lambda e: e.source("articles"), ("not a file",), IN_ISSUE),
    "binary-issue-file": Case(lambda e: e.write(ISSUE / "issue.md", b"\xff\xfe\x00garbage"), ("not UTF-8",),
                              r"issues/.+/issue\.md:1"),
    "no-front-matter": Case(lambda e: e.write(ISSUE / "issue.md", "subject: hi\n"), ("must start with '---'",),
                            r"issues/.+/issue\.md:1"),
    "send-at-no-zone": Case(lambda e: e.issue("date: 2026-11-27", "date: 2026-11-27\nsend_at: 2026-11-27 07:00"),
                            ("time zone",), IN_ISSUE),
    # newsletter.toml
    "sender-crlf-bcc": Case(lambda e: e.settings('sender = "Northwind Notes <news@northwind.example>"',
                                                 r'sender = "Northwind\r\nBcc: x@evil.example <news@northwind.example>"'),
                            HEADER, IN_SETTINGS),
    "sender-no-address": Case(lambda e: e.settings('sender = "Northwind Notes <news@northwind.example>"',
                                                   'sender = "Northwind Notes"'), ("invalid address",), IN_SETTINGS),
    "sender-two-addresses": Case(lambda e: e.settings('sender = "Northwind Notes <news@northwind.example>"',
                                                      'sender = "A <a@x.org>, B <b@y.org>"'), ("not one address",),
                                 IN_SETTINGS),
    "sender-empty": Case(lambda e: e.settings('sender = "Northwind Notes <news@northwind.example>"', 'sender = ""'),
                         ("sender",), IN_SETTINGS),
    "reply-to-lf": Case(lambda e: e.settings('reply_to = "hello@northwind.example"',
                                             r'reply_to = "hello@northwind.example\nBcc: x@evil.example"'),
                        HEADER, IN_SETTINGS),
    "reply-to-not-an-address": Case(lambda e: e.settings('reply_to = "hello@northwind.example"', 'reply_to = "hello"'),
                                    ("invalid address",), IN_SETTINGS),
    "unsubscribe-url-crlf": Case(lambda e: e.settings('unsubscribe_url = "https://northwind.example/unsubscribe',
                                                      r'unsubscribe_url = "https://x.example/\r\nBcc: y@evil.example'),
                                 HEADER, IN_SETTINGS),
    "unsubscribe-mailto-bad": Case(lambda e: e.settings('unsubscribe_mailto = "unsubscribe@northwind.example"',
                                                        'unsubscribe_mailto = "unsubscribe at northwind"'),
                                   ("invalid address",), IN_SETTINGS),
    "name-lf": Case(lambda e: e.settings('name = "Northwind Notes"', r'name = "Northwind\nNotes"'), HEADER, IN_SETTINGS),
    "max-retries-negative": Case(lambda e: e.settings("max_retries = 0", "max_retries = -3"),
                                 ("max_retries",), IN_SETTINGS),
    "binary-settings": Case(lambda e: e.write("newsletter.toml", b"\x89PNG\r\n\x1a\n\x00\x00"), ("not UTF-8",),
                            r"newsletter\.toml"),
    "settings-not-toml": Case(lambda e: e.settings("[brand]", "[brand"), ("invalid TOML",), IN_SETTINGS),
    "allow-paths-not-a-list": Case(lambda e: e.settings('language = "en"', 'language = "en"\nallow_paths = "/"'),
                                   ("allow_paths",), IN_SETTINGS),
    "settings-theme-unknown": Case(lambda e: e.settings('theme = "digest"', 'theme = "nope"'),
                                   ("unknown theme 'nope'",), IN_SETTINGS),
    "settings-audience-outside": Case(lambda e: (e.issue("audience: audience.csv\n", ""),
                                                 outside_file(e, "all.csv", b"email\na@example.org\n"),
                                                 e.settings("sample = 3", 'sample = 3\naudience = "../outside/all.csv"')),
                                      OUTSIDE, IN_SETTINGS, (CHECK, SEND)),
    "settings-suppressions-outside": Case(lambda e: e.settings("sample = 3", 'sample = 3\nsuppressions = "/etc/passwd"'),
                                          OUTSIDE, IN_SETTINGS, (SEND,)),
    # The audience
    "audience-newline-bcc": Case(audience('email,first_name\nana@example.org,Ana\neve@example.org,"Eve\nBcc: x@evil.example"\n'),
                                 HEADER, IN_AUDIENCE, (SEND,)),
    "audience-cr-in-last-name": Case(audience("email,first_name,last_name\nana@example.org,Ana,\"Le\re\"\n"),
                                     HEADER, IN_AUDIENCE, (SEND,)),
    "audience-crlf-in-email": Case(audience('email\n"ana@example.org\r\nBcc: x@evil.example"\n'),
                                   ("'email' value", *HEADER), IN_AUDIENCE, (SEND,)),
    "audience-not-an-address": Case(audience("email\nnot-an-address\n"), ("invalid email",), IN_AUDIENCE, (SEND,)),
    "audience-display-name": Case(audience("email\nEve <eve@example.org>\n"), ("invalid email",), IN_AUDIENCE, (SEND,)),
    "audience-no-email-column": Case(audience("mail,name\na@example.org,A\n"), ("'email' column",), IN_AUDIENCE,
                                     (CHECK, SEND)),
    "audience-latin1": Case(lambda e: e.write(ISSUE / "audience.csv", "email,first_name\na@example.org,Ren\xe9\n"
                                              .encode("latin-1")), ("not UTF-8",), IN_AUDIENCE, (CHECK, SEND)),
    "audience-extra-column": Case(audience("email,first_name\na@example.org,A,extra\n"), ("expected 2 columns",),
                                  IN_AUDIENCE, (SEND,)),
    "audience-unclosed-quote": Case(audience('email,first_name\na@example.org,"A\nB\n'), ("line break",),
                                    IN_AUDIENCE, (SEND,)),
    # Templates
    "template-unknown-filter": Case(partial("{{ entry.summary }}", "{{ entry.summary | evil }}"), ("No filter",),
                                    r"\S*templates/digest/partials/article\.mjml\.j2:\d+"),
    "template-syntax": Case(partial("{{ entry.summary }}", "{% if %}"), ("template error",),
                            r"\S*templates/digest/partials/article\.mjml\.j2:\d+"),
    "template-undefined": Case(partial("{{ entry.summary }}", "{{ entry.nothing.deeper }}"), ("template error",),
                               r"\S*templates/digest/partials/article\.mjml\.j2:\d+"),
    "template-include-escape": Case(partial("{{ entry.summary }}", "{% include '../../../../etc/passwd' %}"),
                                    ("template not found",), r"\S*templates/digest/partials/article\.mjml\.j2:\d+"),
    "template-include-missing": Case(partial("{{ entry.summary }}", "{% include 'digest/partials/nope.mjml.j2' %}"),
                                     ("templates/digest/partials/nope.mjml.j2",),
                                     r"\S*templates/digest/partials/article\.mjml\.j2:\d+"),
    "template-bad-mjml": Case(partial("{{ entry.summary }}", "<mj-bogus>"), ("MJML compile failed",),
                              r"templates/digest/issue\.mjml\.j2:\d+"),
    # URLs
    "url-404": Case(url_source(Response(404, b"gone", {"Content-Type": PAGE})), ("HTTP 404",), IN_ISSUE),
    "url-500": Case(url_source(Response(500, b"oops", {"Content-Type": PAGE})), ("HTTP 500",), IN_ISSUE),
    "url-an-image": Case(url_source(Response(200, b"\x89PNG", {"Content-Type": "image/png"})), ("content type",),
                         IN_ISSUE),
    "url-too-big": Case(url_source(Response(200, b"a" * 200_000, {"Content-Type": PAGE})), ("larger than",),
                        IN_ISSUE),
    "url-too-big-chunked": Case(url_source(Response(200, b"a " * 100_000, {"Content-Type": PAGE}, chunked=True)),
                                ("larger than",), IN_ISSUE),
    "url-unknown-charset": Case(url_source(Response(200, b"text", {"Content-Type": "text/plain; charset=x-evil"})),
                                ("charset",), IN_ISSUE),
    "url-slow-headers": Case(url_source(Response(200, b"text", {"Content-Type": PAGE}, delay=3)), ("timed out",),
                             IN_ISSUE),
    "url-slow-drip": Case(url_source(Response(200, b"x" * 4000, {"Content-Type": PAGE}, drip=0.05)),
                          ("took longer than 2 s",), IN_ISSUE, (BUILD,)),
    "url-redirect-to-file": Case(redirect_to("file:///etc/passwd"), ("file",), IN_ISSUE),
    "url-redirect-loop": Case(redirect_loop, ("too many redirects",), IN_ISSUE),
    "url-closed-port": Case(lambda e: e.source("http://127.0.0.1:9/page"), ("cannot connect",), IN_ISSUE),
    "url-no-host": Case(lambda e: e.source("http:///page"), ("no host",), IN_ISSUE),
    # The command line
    "to-with-crlf": Case(lambda e: None, ("invalid email",), "", (("send", EXAMPLE_ISSUE, "--send", "--yes", "--to",
                                                                   "a@example.org\r\nBcc: x@evil.example"),)),
    "empty-subject-blocks-send": Case(lambda e: e.issue(SUBJECT, 'subject: ""'), ("not sent", "--force"), "",
                                      (SEND,), code=1),
    "unknown-merge-field-blocks-send": Case(lambda e: e.issue("Hello {{first_name}},", "Hello {{nickname}},"),
                                            ("not sent", "--force"), "", (SEND,), code=1),
}

RUNS = [pytest.param(name, command, id=f"{name}-{command[0]}") for name, case in CASES.items()
        for command in case.commands]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file in the workspace (builds, outbox runs, send logs, bad-row reports, settings, .env,
    suppressions, locks), by modification time and size; a symlink as itself, never followed. Not
    .cache: what the tool remembers of parsed files and fetched pages is no output."""
    files = {}
    for folder, folders, names in os.walk(root):
        if folder == str(root):
            folders[:] = [name for name in folders if name != ".cache"]
        for name in folders:  # a folder by its being there (its time changes with what it holds, listed here too)
            files[str((Path(folder) / name).relative_to(root))] = (0, 0)
        for name in names:
            path = Path(folder) / name
            stat = path.lstat()
            files[str(path.relative_to(root))] = (stat.st_mtime_ns, stat.st_size)
    return files


def changed(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def subscriber_addresses(root: Path) -> set[str]:
    """Every address in the workspace's lists (audiences, suppressions, imports): none may reach stderr."""
    found: set[str] = set()
    for path in root.rglob("*.csv"):
        words = re.split(r"[\s,;\"'<>()]+", path.read_text(encoding="utf-8", errors="replace"))
        found |= {word for word in words if "@" in word}
    return found


def secret_values(root: Path) -> set[str]:
    from newsletter.secrets import read_env

    return {FAKE_KEY, *(value for value in read_env(root / ".env").values() if len(value) >= 8)}


@pytest.fixture
def env(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    sendgrid, web = FakeSendGrid(FAKE_KEY), WebServer()
    monkeypatch.setenv("SENDGRID_API_KEY", FAKE_KEY)
    monkeypatch.delenv("SENDGRID_API_HOST", raising=False)
    set_send_settings(workspace, provider="sendgrid", sendgrid={"host": sendgrid.url}, timeout=2, max_retries=0)
    text = (workspace / "newsletter.toml").read_text()
    (workspace / "newsletter.toml").write_text(text.replace("[fetch]", "[fetch]\nread_timeout = 1\ndeadline = 2\n"
                                                            "max_bytes = 100000\nconnect_timeout = 1\n", 1))
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / "build").mkdir()  # an earlier build, which must survive untouched
    (workspace / "build" / "keep.txt").write_text("earlier build")
    yield Env(workspace, outside, web, sendgrid), sendgrid
    web.stop()
    sendgrid.stop()


def run_case(environment: Env, sendgrid: FakeSendGrid, case: Case, command: tuple[str, ...], capsys) -> str:
    """Run one command on the broken workspace and assert the table's promises; returns what it
    printed (stderr, then stdout): a refusal's one error line."""
    capsys.readouterr()  # what setting the case up printed is not the command's output
    before, asked, delivered = snapshot(environment.root), len(sendgrid.attempts), len(sendgrid.delivered)
    addresses, secrets = subscriber_addresses(environment.root), secret_values(environment.root)
    try:
        code = main(list(command))
    except BaseException:  # noqa: BLE001 (what a user would see as a traceback)
        pytest.fail(f"traceback:\n{traceback.format_exc()}")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == case.code, err
    lines = err.splitlines()
    if case.code == 2:
        assert len(lines) == 1 and not out, f"more than one line: {err!r}"
    elif case.code == 0:
        assert len(lines) <= 1, f"more than one note on stderr: {err!r}"
    if case.code and lines:  # a refusal ends in its one error line (after the findings that caused it)
        assert re.fullmatch(r"newsletter: [^\n]+", lines[-1]), lines[-1]
    said = [line for line in [*lines, *out.splitlines()] if all(word in line for word in case.words)]
    assert said, f"no line says {case.words}: {err + out!r}"
    if case.where:
        assert re.match(rf"newsletter: {case.where}: ", said[0]), said[0]
    assert not [a for a in addresses if a in err], f"a subscriber's address on stderr: {err!r}"
    assert not [s for s in secrets if s in out + err], "a secret was shown"
    written = changed(before, snapshot(environment.root))
    assert not [path for path in written if not path.startswith(case.writes or "\0")], f"written: {sorted(written)}"
    assert len(sendgrid.delivered) == delivered, "something was sent"
    attempts = [a for a in sendgrid.attempts[asked:] if "personalizations" in a.body]
    assert bool(attempts) == case.asks_provider, "the provider was asked to send" if attempts else "never asked"
    return err + out


@pytest.mark.parametrize("name, command", RUNS)
def test_hostile_input_is_one_line_and_nothing_is_written_or_sent(env, capsys, name: str,
                                                                   command: tuple[str, ...]) -> None:
    environment, sendgrid = env
    case = CASES[name]
    case.break_it(environment)
    run_case(environment, sendgrid, case, command, capsys)


def test_the_table_is_at_least_sixty_hostile_inputs() -> None:
    assert len(CASES) >= 60 and len(RUNS) >= 120


def test_a_bom_before_the_front_matter_is_accepted(env, cli) -> None:
    environment, _ = env
    path = environment.root / ISSUE / "issue.md"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert cli("build", EXAMPLE_ISSUE).code == 0


def test_a_sender_with_a_comma_in_its_name_is_quoted(env, cli) -> None:
    environment, sendgrid = env
    environment.settings('sender = "Northwind Notes <news@northwind.example>"',
                         'sender = "News, Team <news@northwind.example>"')
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert sendgrid.accepted[0]["from"] == {"email": "news@northwind.example", "name": '"News, Team"'}
    from newsletter.compose.audience import Recipient
    from newsletter.render.message import Campaign, build_message

    message = build_message(Campaign("s", "Hi", "<p>x</p>", "x", "News, Team <news@northwind.example>"),
                            Recipient("ana@example.org", {"first_name": "Ana, Jr."}))
    assert message["From"] == '"News, Team" <news@northwind.example>'
    assert message["To"] == '"Ana, Jr." <ana@example.org>'


def test_skipped_rows_cannot_run_as_spreadsheet_formulas(env, cli) -> None:
    environment, _ = env
    environment.write(ISSUE / "audience.csv", 'email,first_name\nana@example.org,Ana\n=cmd|"/c calc"!A1,x\n'
                      '+1@x,y\n-2,z\n@SUM(1),w\neve@example.org,"Eve\nBcc: x@evil.example"\n')
    result = cli("send", EXAMPLE_ISSUE, "--skip-bad-rows")
    assert result.code == 0, result.err
    import csv

    rows = list(csv.DictReader((environment.root / ISSUE / "skipped-rows.csv").open(encoding="utf-8")))
    assert len(rows) == 5
    assert all(row["row"][0] not in "=+-@" and row["error"][0] not in "=+-@" for row in rows)
    assert [row["row"][:3] for row in rows[1:4]] == ["'+1", "'-2", "'@S"]


def test_merge_fields_in_a_fetched_page_are_sent_literally(env, cli) -> None:
    environment, _ = env
    page = ('<html><head><title>Tracker {{email}}</title>'
            '<link rel="canonical" href="https://tracker.example/t?who={{email}}"></head>'
            "<body><article><h1>Tracker {{email}}</h1>" + "<p>Dear {{first_name}}, we know {{ email }}. "
            "This paragraph is long enough to be the article body text for the reader.</p>" * 6
            + "</article></body></html>")
    environment.source(environment.web.page("/tracker", page, "text/html; charset=utf-8"))
    environment.issue("        url: https://northwind.example/blog/leaf-mould?ref=notes\n", "")
    result = cli("send", EXAMPLE_ISSUE, "--json")
    assert result.code == 0, result.err
    from email import message_from_bytes, policy

    emls = sorted((environment.root / "outbox").rglob("*.eml"))
    assert emls
    for eml in emls:
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        address = message["To"].addresses[0].addr_spec
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        first = message["To"].addresses[0].display_name.split()[0] if message["To"].addresses[0].display_name else ""
        tracker = [line for line in (html + text).splitlines() if "tracker.example" in line]
        assert tracker and not any(address in line for line in tracker), "the address went to the tracker"
        assert "who=%7B%7Bemail%7D%7D" in html
        assert f"we know {address}" not in html + text
        assert not first or f"Dear {first}," not in html + text
        assert f"Hello {first}" in html or not first  # the editor's own merge field is filled
