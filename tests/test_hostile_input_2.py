"""Hostile input, round two (issue 25): the table of new attacks, one or more entries for each of the
issue's 16 rows. A refusal is one error line with the expected exit code, nothing written, nothing
sent; where the right outcome is to go ahead (an animation keeps its first frame, a feed adds its
newest items with a note, a killed build swap is mended) the entry says what the command may write
and checks the result. No entry prints a traceback, a secret, or a subscriber's address on stderr,
and each runs within its time cap. Then what one command cannot show: two commands racing, kill -9,
and the resource bombs again in a subprocess under a 512 MB memory cap and a time cap.

The network never leaves 127.0.0.1. A "public" host is a name the fake resolver (``FakeDns``, in
place of ``socket.getaddrinfo``) answers with a public address or with 127.0.0.1 for a name the
workspace allows by name; every connection to anything but loopback is refused on the spot.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import stat
import threading
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

from newsletter.cli.commands import main
from newsletter.render.unsubscribe import make_token
from tests.conftest import EXAMPLE_ISSUE
from tests.http_server import Response, WebServer
from tests.send_helpers import FAKE_KEY, set_send_settings
from tests.sendgrid_server import FakeSendGrid, Fault
from tests.test_hostile_input import (
    BUILD,
    CHECK,
    COMPOST,
    IN_AUDIENCE,
    IN_ISSUE,
    IN_SETTINGS,
    ISSUE,
    SEND,
    SUBJECT,
    Case,
    Env,
    run_case,
)

PUBLIC = "93.184.215.14"  # what the fake resolver says a public name is (never connected to: see FakeDns)
SECRET = b"internal admin page: root password hunter2\n"
PAGE = "text/plain; charset=utf-8"


class FakeDns:
    """Stands in for ``socket.getaddrinfo``: names the test sets up answer from a script (one answer
    per look-up, the last one repeating); IP literals and ``localhost`` resolve as usual; any other
    name does not resolve. ``socket.create_connection`` reaches loopback only: a connection to any
    other address is recorded in ``refused`` and refused, so no packet ever leaves the machine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: Counter[str] = Counter()
        self.refused: list[tuple[str, int]] = []
        self._getaddrinfo = socket.getaddrinfo
        self._connect = socket.create_connection
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", self.create_connection)

    def name(self, host: str, *answers: list[str]) -> None:
        self.answers[host] = list(answers)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002, ANN001, ANN201
        key = host.decode() if isinstance(host, bytes) else host
        if key in self.answers:
            self.lookups[key] += 1
            script = self.answers[key]
            addresses = script[min(self.lookups[key], len(script)) - 1]
            number = int(port) if port else 0
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, number, 0, 0) if ":" in a else (a, number)) for a in addresses]
        try:
            ipaddress.ip_address(str(key).split("%")[0])
        except ValueError:
            if key != "localhost" and not str(key).isdigit():
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return self._getaddrinfo(host, port, family, type, proto, flags)

    def create_connection(self, address, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        host, port = address[0], address[1]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            self.refused.append((host, port))
            raise ConnectionRefusedError(111, "Connection refused (the test network stops at loopback)")
        return self._connect(address, *args, **kwargs)


@dataclass
class Net:
    dns: FakeDns
    web: WebServer

    @property
    def port(self) -> int:
        return int(self.web.url("/").rsplit(":", 1)[1].strip("/"))

    def at(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch):
    web = WebServer()
    dns = FakeDns(monkeypatch)
    dns.name("news.example", ["127.0.0.1"])  # the "public" site: on loopback, allowed by name
    dns.name("northwind.example", ["127.0.0.1"])  # the example issue's links
    web.page("/internal", SECRET, PAGE)
    yield Net(dns, web)
    web.stop()


@pytest.fixture
def env(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, net: Net):
    """The example workspace; fetches may reach only news.example and northwind.example on
    loopback (127.0.0.1 itself is not allowed here, unlike the other tests' workspaces)."""
    sendgrid = FakeSendGrid(FAKE_KEY)
    monkeypatch.setenv("SENDGRID_API_KEY", FAKE_KEY)
    monkeypatch.delenv("SENDGRID_API_HOST", raising=False)
    set_send_settings(workspace, provider="sendgrid", sendgrid={"host": sendgrid.url}, timeout=2, max_retries=0)
    path = workspace / "newsletter.toml"
    text = path.read_text().replace('allow_private_hosts = ["127.0.0.1"]\n', "")
    path.write_text(text.replace("[fetch]", "[fetch]\nread_timeout = 1\ndeadline = 2\nmax_bytes = 100000\n"
                                 'connect_timeout = 1\nallow_private_hosts = ["news.example", "northwind.example"]\n', 1))
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / "build").mkdir()
    (workspace / "build" / "keep.txt").write_text("earlier build")
    # The sendgrid stand-in is on 127.0.0.1 too: its client is not a fetch, and connects as usual.
    yield Env(workspace, outside, net.web, sendgrid), sendgrid
    sendgrid.stop()


def source_at(url: Callable[[Net], str]) -> Callable[[Env, Net], None]:
    return lambda env, net: env.source(url(net))


def redirect_from_public(target: Callable[[Net], str]) -> Callable[[Env, Net], None]:
    def apply(env: Env, net: Net) -> None:
        net.web.redirect("/moved", target(net))
        env.source(net.at("news.example", "/moved"))
    return apply


def rebinding(env: Env, net: Net) -> None:
    """Public for the first look-up, loopback for every later one (a rebinding name server)."""
    net.dns.name("rebind.example", [PUBLIC], ["127.0.0.1"])
    env.source(net.at("rebind.example", "/internal"))


def mixed_answers(env: Env, net: Net) -> None:
    net.dns.name("mixed.example", [PUBLIC, "127.0.0.1"])
    env.source(net.at("mixed.example", "/internal"))


def private_name(env: Env, net: Net) -> None:
    net.dns.name("intranet.example", ["10.0.0.7"])
    env.source("http://intranet.example/wiki")


def editor_image(url: Callable[[Net], str]) -> Callable[[Env, Net], None]:
    return lambda env, net: env.issue("image: images/apple-tree.png", f"image: {url(net)}")


PRIVATE = ("is a private, loopback or link-local address; not fetched", "allow_private_hosts")
METADATA = ("is a cloud metadata address; not fetched",)


@dataclass(frozen=True)
class Row:
    case: Case
    row: int  # the issue table's row
    then: Callable[[Env, Net, str], None] | None = None  # more to assert after the run, given what it printed
    seconds: float = 60  # the run's time cap
    slow: bool = False
    megabytes: float = 0  # a cap on the run's peak Python allocations (tracemalloc), if set


def nothing_internal_read(env: Env, net: Net, output: str = "") -> None:
    assert net.web.hits["/internal"] == 0, "the internal page was read"


def pinned(env: Env, net: Net, output: str = "") -> None:
    """The connection went to the address that was checked, from the one look-up made for it."""
    nothing_internal_read(env, net)
    assert net.dns.refused == [(PUBLIC, net.port)], net.dns.refused
    assert net.dns.lookups["rebind.example"] == 1, net.dns.lookups


def case(apply: Callable[[Env, Net], None], words: tuple[str, ...], where: str = IN_ISSUE,
         commands: tuple[tuple[str, ...], ...] = (BUILD, CHECK, SEND), code: int = 2, **going_ahead) -> Case:
    """A Case whose set-up also gets the network; ``going_ahead``: Case.writes, Case.asks_provider."""
    return Case(apply, words, where, commands, code, **going_ahead)  # type: ignore[arg-type]


# What the entries for rows 1 to 5 and 7 to 16 set up, and what they check after the run

LOG = f"issues/{EXAMPLE_ISSUE}/send-log.jsonl"
SKIPPED = f"issues/{EXAMPLE_ISSUE}/skipped-rows.csv"
BUILT = f"build/{EXAMPLE_ISSUE}"
DRY_RUN, STATUS = ("send", EXAMPLE_ISSUE), ("status", EXAMPLE_ISSUE)
SKIP_BAD_ROWS = ("send", EXAMPLE_ISSUE, "--skip-bad-rows")
CHECK_ONLINE = ("check", EXAMPLE_ISSUE, "--online")


def page_picture_at(target: Callable[[Net], str]) -> Callable[[Env, Net], None]:
    """Row 5: a public page whose own picture (og:image) points inside, where a real picture waits."""
    def apply(env: Env, net: Net) -> None:
        import io

        from PIL import Image

        picture = io.BytesIO()
        Image.new("RGB", (40, 30), (200, 0, 0)).save(picture, "PNG")
        net.web.page("/secret.png", picture.getvalue(), "image/png")
        net.web.redirect("/pic", net.web.url("/secret.png"))
        net.web.page("/leaf-mould", og_page(target(net)), "text/html; charset=utf-8")
        env.source(net.at("news.example", "/leaf-mould"))
        env.issue("        url: https://northwind.example/blog/leaf-mould?ref=notes\n", "")
    return apply


def picture_left_out(env: Env, net: Net, output: str) -> None:
    assert net.web.hits["/secret.png"] == 0, "the picture inside was fetched"
    html = (env.root / BUILT / "index.html").read_text()
    assert "secret" not in html and "169.254" not in html
    assert len(list((env.root / BUILT / "images").iterdir())) == 1  # the apple tree


PICTURE_LEFT_OUT = "the article's own picture is left out"


def gzip_bomb_source(env: Env, net: Net) -> None:
    """Row 1: a few KB on the wire, 64 MB after its two gzip layers (the cap here is 0.1 MB)."""
    net.web.route("/bomb", Response(200, gzip_bomb(64), {"Content-Type": PAGE, "Content-Encoding": "gzip, gzip"}))
    env.source(net.at("news.example", "/bomb"))


def animated_page_picture(env: Env, net: Net) -> None:
    """Row 2: a page whose og:image is 400 frames on a 2000×2000 canvas (1.6 gigapixels decoded)."""
    net.web.page("/anim.gif", sparse_animation(2000, 2000, 400), "image/gif")
    net.web.page("/leaf-mould", og_page(net.at("news.example", "/anim.gif")), "text/html; charset=utf-8")
    env.source(net.at("news.example", "/leaf-mould"))


def first_frame_kept(env: Env, net: Net, output: str) -> None:
    images = sorted(p.suffix for p in (env.root / BUILT / "images").iterdir())
    assert images == [".png", ".png"], images  # the apple tree, and the animation's first frame as a still
    assert net.web.hits["/anim.gif"] == 1


DUMP = f"issues/{EXAMPLE_ISSUE}/articles/dump.txt"


def abbreviation_chain(env: Env, net: Net) -> None:
    """Row 4: a 200 KB dump line "A.A.A.…x." (93 s with the quadratic abbreviation pattern)."""
    env.write(DUMP, "A headline for the page\n" + "A." * 100_000 + "x.\n")


def published_picture(env: Env, net: Net) -> str:
    """The issue's archive copy is on news.example: returns where its apple-tree picture is published."""
    from newsletter.render.build import build_issue
    from newsletter.workspace import find_workspace

    env.settings('archive_url = "https://northwind.example/newsletter/{slug}/"',
                 f'archive_url = "{net.at("news.example", "/site/{slug}/")}"')
    image = build_issue(find_workspace(env.root), EXAMPLE_ISSUE).assets.target("images/apple-tree.png")
    return f"/site/{EXAMPLE_ISSUE}/{image}"


def online_links(env: Env, net: Net, *urls: str) -> None:
    for number, url in enumerate(urls):
        old = ["https://northwind.example/blog/seed-library", "https://northwind.example/events/december-work-day"][number]
        env.issue(f"url: {old}", f"url: {url}")


def link_redirecting_to(target: Callable[[Net], str]) -> Callable[[Env, Net], None]:
    """Row 7: a link on the public host that redirects inside."""
    def apply(env: Env, net: Net) -> None:
        net.web.redirect("/go", target(net))
        online_links(env, net, net.at("news.example", "/go"))
    return apply


def slow_link_and_picture(env: Env, net: Net) -> None:
    """Row 7: slow headers on a link and a trickling picture; the read timeout alone (5 s) would let
    both run far longer than [fetch] deadline (2 s)."""
    env.settings("read_timeout = 1\n", "read_timeout = 5\n")
    net.web.route(published_picture(env, net), Response(200, b"x" * 400, {"Content-Type": "image/png"}, drip=0.05))
    net.web.route("/slow-headers", Response(200, b"ok", {"Content-Type": PAGE}, delay=8))
    online_links(env, net, net.at("news.example", "/slow-headers"))


def published_picture_of_150_megapixels(env: Env, net: Net) -> None:
    """Rows 3 and 7: Pillow's bomb error was not among those check --online caught, and killed the
    check from its thread pool."""
    huge = env.outside / "huge.png"
    huge_png(huge)
    net.web.page(published_picture(env, net), huge.read_bytes(), "image/png")


def no_warning(env: Env, net: Net, output: str) -> None:
    assert "Warning" not in output, output  # Pillow's DecompressionBombWarning


def picture_cut_at_the_deadline(env: Env, net: Net, output: str) -> None:
    assert [line for line in output.splitlines() if f"/site/{EXAMPLE_ISSUE}/images/" in line
            and "took longer than 2 s" in line], output


class ImportHoldingTheLock:
    """Row 8: `suppressions import` caught between reading suppressions.csv and writing it back,
    holding the file's lock (files.locked, as merge_suppressions takes it). A pull now must wait
    for it, then add to what it wrote; without the lock the pull's rows or the import's are lost."""

    thread: threading.Thread | None = None

    def start(self, env: Env, net: Net) -> None:
        from newsletter.files import locked

        path = env.root / "suppressions.csv"
        path.write_text("email,reason,date,source\nkept@example.org,manual,2026-01-01,hand\n", encoding="utf-8")
        env.sendgrid.suppressions["bounces"] = [{"created": int(time.time()) - 60, "email": "bounced@example.org",
                                                 "reason": "550 5.1.1 no such user", "status": "5.1.1"}]
        env.sendgrid.suppressions["unsubscribes"] = [{"created": int(time.time()) - 60, "email": "left@example.org"}]
        read = threading.Event()

        def slow_import() -> None:
            with locked(path):
                text = path.read_text(encoding="utf-8")
                read.set()
                time.sleep(0.5)
                path.write_text(text + "".join(f"imported{n}@example.org,imported,,csv:x.csv\n" for n in range(50)),
                                encoding="utf-8")

        self.thread = threading.Thread(target=slow_import)
        self.thread.start()
        assert read.wait(5)

    def both_landed(self, env: Env, net: Net, output: str) -> None:
        self.thread.join(5)
        text = (env.root / "suppressions.csv").read_text(encoding="utf-8")
        for address in ("kept@", "bounced@", "left@", "imported0@", "imported49@"):
            assert address in text, address


IMPORT_HOLDING_THE_LOCK = ImportHoldingTheLock()
BOOKSHOP = "email,first_name\nann@example.org,Ann\nbob@bücher.example,Bob\n"


def international_domains(env: Env, net: Net) -> None:
    """Row 9: a sender at bücher.example and a reader there."""
    env.settings('sender = "Northwind Notes <news@northwind.example>"', 'sender = "Bücher News <news@bücher.example>"')
    env.write(ISSUE / "audience.csv", BOOKSHOP)


def punycoded(env: Env, net: Net, output: str) -> None:
    raw = b"".join(path.read_bytes() for path in (env.root / "outbox").rglob("*.eml"))
    assert b"<news@xn--bcher-kva.example>" in raw and b"<bob@xn--bcher-kva.example>" in raw
    assert all(byte < 128 for byte in raw), "every byte of the message is ASCII"


def name_needing_smtputf8(env: Env, net: Net) -> None:
    """Row 9: line 4 is a reader whose name before the @ is Cyrillic; one more reader after it."""
    env.write(ISSUE / "audience.csv", BOOKSHOP + "пётр@пример.рф,Pyotr\ncid@example.org,Cid\n")


def skipped_lines(env: Env) -> list[dict[str, str]]:
    import csv

    return list(csv.DictReader((env.root / SKIPPED).open(encoding="utf-8")))


def recipients_written(env: Env) -> set[str]:
    return {line for path in (env.root / "outbox").rglob("recipients.jsonl") for line in path.read_text().splitlines()}


def only_line_4_skipped(env: Env, net: Net, output: str) -> None:
    assert [row["line"] for row in skipped_lines(env)] == ["4"]
    assert len(recipients_written(env)) == 3, "the readers after the bad row are in the run"


TEST_LOG_KEY = "NEWSLETTER_LOG_KEY=send-log-key-of-the-hostile-input-tests\n"


def provider_names_a_reader(env: Env, net: Net) -> None:
    """Row 10: SendGrid refuses the batch naming a reader of the example audience. (The log key is
    there already, as after a first send, so the run writes nothing but its log.)"""
    env.write(".env", TEST_LOG_KEY)
    env.sendgrid.faults = {1: Fault(400, message="Does not contain a valid address: ruth.obi@example.net")}


def no_address_at_all(env: Env, net: Net, output: str) -> None:
    assert "@" not in output, output


def sent_then_log_edited(edit: Callable[[list[bytes]], list[bytes]]) -> Callable[[Env, Net], None]:
    """Row 11: a real send to the example audience (its six readers, one batch), then its send log
    edited by hand: ``edit`` gets its lines (run-start, batch-start, batch-sent, run-end, "")."""
    def apply(env: Env, net: Net) -> None:
        assert main(list(SEND)) == 0
        log = env.root / LOG
        lines = log.read_bytes().split(b"\n")
        assert [json.loads(line)["event"] for line in lines[:4]] == ["run-start", "batch-start", "batch-sent", "run-end"]
        log.write_bytes(b"\n".join(edit(lines)))
    return apply


def batch_start(**change: object) -> Callable[[list[bytes]], list[bytes]]:
    return lambda lines: [lines[0], json.dumps({**json.loads(lines[1]), **change}).encode(), *lines[2:]]


def not_utf8(lines: list[bytes]) -> list[bytes]:
    return [lines[0], lines[1].replace(b'"event"', b'"ev\xffent"'), *lines[2:]]


def batch_sent_without_newline(lines: list[bytes]) -> list[bytes]:
    return lines[:3]  # an editor saved it: the last event is whole, only its newline is missing


def batch_sent_kept(env: Env, net: Net, output: str) -> None:
    data = (env.root / LOG).read_bytes()
    events = [json.loads(line)["event"] for line in data.splitlines()]
    assert data.endswith(b"\n") and events[:3] == ["run-start", "batch-start", "batch-sent"], events


IN_LOG_LINE_2 = r"issues/2026-11-garden-notes/send-log\.jsonl:2"
SHAPE = "not a send-log event ({}); was the log edited? Restore it from git"


def feed_of(items: int) -> Callable[[Env, Net], None]:
    return lambda env, net: env.write("big.rss", big_feed(items))


def newest_listed(count: int, items: int) -> Callable[[Env, Net, str], None]:
    def then(env: Env, net: Net, output: str) -> None:
        listed = re.findall(r"https://blog\.example/p/(\d+)", (env.root / ISSUE / "issue.md").read_text())
        assert sorted(map(int, set(listed))) == list(range(items - count, items)), f"the newest {count}"
    return then


ADD_FEED = ("add", EXAMPLE_ISSUE, "--feed", "big.rss")
ISSUE_FILE = (f"issues/{EXAMPLE_ISSUE}/issue.md", f"issues/{EXAMPLE_ISSUE}/.issue.md.lock")  # written under its lock


def oversize_cell(env: Env, net: Net) -> None:
    """Row 13: line 3 holds a 200,000-character name."""
    env.write(ISSUE / "audience.csv", "email,first_name\nana@example.org,Ana\n"
              f'bob@example.org,"{"B" * 200_000}"\neve@example.org,Eve\n')


def cell_not_shown(env: Env, net: Net, output: str) -> None:
    assert "B" * 100 not in output


def oversize_row_skipped(env: Env, net: Net, output: str) -> None:
    rows = skipped_lines(env)
    assert [row["line"] for row in rows] == ["3"] and "200,000 characters" in rows[0]["error"]
    assert len(recipients_written(env)) == 2


def symlinked_env(env: Env, net: Net | None = None) -> None:
    """Row 14: .env is a link to the team's secrets file outside the workspace."""
    secrets = env.outside / "newsletter.env"
    secrets.write_text(f"SENDGRID_API_KEY={FAKE_KEY}\n", encoding="utf-8")
    (env.root / ".env").unlink(missing_ok=True)  # the fixture's own
    os.symlink(secrets, env.root / ".env")


def written_through(env: Env, net: Net | None = None, output: str = "") -> None:
    from newsletter.secrets import read_env

    secrets, link = env.outside / "newsletter.env", env.root / ".env"
    assert link.is_symlink() and link.resolve() == secrets.resolve(), "the link was replaced"
    text = secrets.read_text(encoding="utf-8")
    assert text.startswith(f"SENDGRID_API_KEY={FAKE_KEY}\n") and "NEWSLETTER_LOG_KEY=" in text
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert not list(env.root.glob(".env.*")), "a temporary file was left beside the link"
    assert not [value for value in read_env(secrets).values() if value in output], "a secret was shown"


def dangling_env(env: Env, net: Net) -> None:
    (env.root / ".env").unlink(missing_ok=True)
    os.symlink(env.outside / "missing.env", env.root / ".env")


def link_left_alone(env: Env, net: Net, output: str) -> None:
    assert (env.root / ".env").is_symlink() and not (env.outside / "missing.env").exists()


def killed_between_the_renames(env: Env, net: Net) -> None:
    """Row 15: what a build killed between the swap's two renames leaves where no one-step swap
    exists: the earlier build moved aside to .SLUG.old, no build/SLUG, the killed build's staging folder."""
    env.write(f"build/.{EXAMPLE_ISSUE}.old/index.txt", "the earlier build\n")
    env.write(f"build/.{EXAMPLE_ISSUE}.staging-killed/index.html", "half a build")


def mended(env: Env, net: Net, output: str) -> None:
    assert (env.root / BUILT / "index.html").is_file()
    assert strays(env.root) == [], "stale staging folders were not cleaned"


# Row 16: tokens signed with the workspace's secret, for another list or holding no [address, list]

def signed(payload: bytes, key: str) -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(payload)}.{b64(hmac.new(key.encode(), payload, hashlib.sha256).digest())}"


UNSUBSCRIBE_KEY = "unsubscribe-secret-for-tests-0123456789"
MALFORMED = {"not-json": b"{", "an-object": b'{"email": "a@example.org"}', "three-items": b'["a@example.org", "L", 3]',
             "numbers": b"[1, 2]", "null": b"null", "not-utf8": b'["\xff@example.org", "Northwind Notes"]',
             "empty-address": b'["", "Northwind Notes"]', "deep": b"[" * 100_000 + b"]" * 100_000}


def unsubscribe_secret(env: Env, net: Net) -> None:
    env.write(".env", f"NEWSLETTER_UNSUBSCRIBE_SECRET={UNSUBSCRIBE_KEY}\n")


def verify(token: str) -> tuple[tuple[str, ...], ...]:
    return ("unsubscribe", "verify", token), ("unsubscribe", "verify", token, "--json")


def said_not_valid(env: Env, net: Net, output: str) -> None:
    if output.startswith("{"):
        assert json.loads(output)["valid"] is False, output
    else:
        assert output.startswith("Not valid: ") and len(output.splitlines()) == 1, output



ROWS: dict[str, Row] = {
    # 5, 6: every fetch reaches only addresses it checked, whatever names them
    "ssrf-source-loopback": Row(case(source_at(lambda n: n.web.url("/internal")), PRIVATE), 5, nothing_internal_read),
    "ssrf-source-localhost": Row(case(source_at(lambda n: n.at("localhost", "/internal")), PRIVATE), 5,
                                 nothing_internal_read),
    "ssrf-source-ipv6-loopback": Row(case(source_at(lambda n: n.at("[::1]", "/internal")), PRIVATE), 5),
    "ssrf-source-ipv4-mapped": Row(case(source_at(lambda n: n.at("[::ffff:127.0.0.1]", "/internal")), PRIVATE), 5,
                                   nothing_internal_read),
    "ssrf-source-decimal-ip": Row(case(source_at(lambda n: n.at("2130706433", "/internal")), PRIVATE), 5,
                                  nothing_internal_read),
    "ssrf-source-metadata": Row(case(source_at(lambda n: "http://169.254.169.254/latest/meta-data/"), METADATA), 5),
    "ssrf-source-private-name": Row(case(private_name, PRIVATE), 5),
    "ssrf-redirect-to-loopback": Row(case(redirect_from_public(lambda n: n.web.url("/internal")), PRIVATE), 5,
                                     nothing_internal_read),
    "ssrf-redirect-to-metadata": Row(case(redirect_from_public(lambda n: "http://169.254.169.254/latest/"),
                                          METADATA), 5),
    "ssrf-editor-image-loopback": Row(case(editor_image(lambda n: n.web.url("/internal.png")), ("image", *PRIVATE)), 5),
    "ssrf-editor-image-metadata": Row(case(editor_image(lambda n: "http://169.254.169.254/latest/a.png"),
                                           ("image", *METADATA)), 5),
    # 5: a page's own picture pointing inside is left out (the build goes ahead without it), never fetched
    **{f"ssrf-page-picture-{name}": Row(case(page_picture_at(target), (PICTURE_LEFT_OUT, says), "", (BUILD,), 0,
                                             writes=(BUILT,)), 5, picture_left_out)
       for name, target, says in [("loopback", lambda n: n.web.url("/secret.png"), "private, loopback"),
                                  ("localhost", lambda n: n.at("localhost", "/secret.png"), "private, loopback"),
                                  ("metadata", lambda n: "http://169.254.169.254/latest/meta-data/iam/credentials.png",
                                   "metadata"),
                                  ("redirect", lambda n: n.at("news.example", "/pic"), "private, loopback")]},
    # 3: a megapixel cap that refuses with one line (no DecompressionBombWarning)
    "image-150-megapixels": Row(case(lambda env, net: huge_png(env.root / ISSUE / "images" / "apple-tree.png"),
                                     ("image images/apple-tree.png", "too many pixels (15000×10000, 150 megapixels")),
                                3),
    "online-150-megapixels": Row(case(published_picture_of_150_megapixels,
                                      ("error not-an-image", f"/site/{EXAMPLE_ISSUE}/images/"), "", (CHECK_ONLINE,), 1),
                                 3, no_warning),
    # 12: absurd numbers, deep nesting, alias bombs
    "connect-timeout-1e10": Row(case(lambda env, net: env.settings("connect_timeout = 1\n", "connect_timeout = 1e10\n"),
                                     ("[fetch] connect_timeout must be at most 600, not 10000000000.0",), IN_SETTINGS), 12),
    "send-timeout-1e11": Row(case(lambda env, net: env.settings("timeout = 2\n", "timeout = 1e11\n"),
                                  ("[send] timeout must be at most 3,600",), IN_SETTINGS), 12),
    "deadline-nan": Row(case(lambda env, net: env.settings("deadline = 2\n", "deadline = nan\n"),
                             ("[fetch] deadline must be a finite number, not nan",), IN_SETTINGS), 12),
    "max-bytes-inf": Row(case(lambda env, net: env.settings("max_bytes = 100000\n", "max_bytes = inf\n"),
                              ("max_bytes must be a whole number",), IN_SETTINGS), 12),
    "max-retries-huge": Row(case(lambda env, net: env.settings("max_retries = 0\n", "max_retries = 1000000000\n"),
                                 ("[send] max_retries must be at most 100",), IN_SETTINGS), 12),
    "toml-nested-deep": Row(case(lambda env, net: env.settings("[fetch]\n", "[fetch]\nuser_agent = "
                                                               + "[" * 100_000 + "]" * 100_000 + "\n"),
                                 ("nested too deeply",), r"newsletter\.toml"), 12),
    "yaml-nested-deep": Row(case(lambda env, net: env.issue(SUBJECT, "subject: " + "[" * 100_000 + "]" * 100_000),
                                 ("nested more than 64 levels deep",), IN_ISSUE), 12),
    "yaml-block-nested-deep": Row(case(lambda env, net: env.issue(SUBJECT, "subject:\n  " + "- " * 5_000 + "x"),
                                       ("nested",), IN_ISSUE), 12),
    "yaml-alias-bomb": Row(case(lambda env, net: env.issue('preheader: "Plus', f"preheader: {alias_bomb()}\nx: \"Plus"),
                                ("more than 100,000 values once its aliases are followed",), IN_ISSUE), 12),
    "ssrf-dns-rebinding": Row(case(rebinding, ("cannot connect",)), 6, pinned),
    "ssrf-mixed-answers": Row(case(mixed_answers, PRIVATE), 6, nothing_internal_read),
    # 1: the size cap counts the bytes decoded through every content-encoding layer
    "gzip-bomb-two-layers": Row(case(gzip_bomb_source, ("/bomb", "larger than 0.1 MB")), 1, megabytes=32),
    # 2: an animation past the pixel budget across its frames keeps its first frame
    "animation-past-the-pixel-cap": Row(case(animated_page_picture, ("Built 2026-11-garden-notes",), where="",
                                             commands=(BUILD,), code=0, writes=(BUILT,)), 2, first_frame_kept),
    # 4: the page-dump reader in linear time
    "dump-abbreviation-chain": Row(case(abbreviation_chain, ("title:", "A headline for the page"),
                                        where="", commands=(("extract", DUMP),), code=0), 4, seconds=10),
    # 7: check --online fetches through the same client: same address rules, same deadline
    "online-redirect-to-loopback": Row(case(link_redirecting_to(lambda n: n.web.url("/internal")),
                                            ("/go?", "127.0.0.1 is a private, loopback or link-local address"),
                                            where="", commands=(CHECK_ONLINE,), code=1), 7, nothing_internal_read),
    "online-redirect-to-metadata": Row(case(link_redirecting_to(lambda n: "http://169.254.169.254/latest/"),
                                            ("/go?", "cloud metadata"), where="", commands=(CHECK_ONLINE,), code=1), 7),
    "online-deadline": Row(case(slow_link_and_picture, ("/slow-headers?", "took longer than 2 s"),
                                where="", commands=(CHECK_ONLINE,), code=1), 7, picture_cut_at_the_deadline, seconds=7),
    # 8: a pull while an import holds the suppressions file's lock waits for it; both land
    "pull-during-an-import": Row(case(IMPORT_HOLDING_THE_LOCK.start, ("Pulled 2 suppressions",),
                                      where="", commands=(("suppressions", "pull"),), code=0,
                                      writes=("suppressions.csv", ".suppressions.csv", "..suppressions.csv")), 8,
                                 IMPORT_HOLDING_THE_LOCK.both_landed),
    # 9: international domains go out punycoded; a name needing SMTPUTF8 is refused by line, or skipped alone
    "idn-domains-punycoded": Row(case(international_domains, ("Dry run: nothing was sent. 2 recipients",),
                                      where="", commands=(DRY_RUN,), code=0, writes=("outbox",)), 9, punycoded),
    "idn-name-needs-smtputf8": Row(case(name_needing_smtputf8, ("has letters beyond ASCII before the @", "SMTPUTF8"),
                                        IN_AUDIENCE.replace(r":\d+", ":4"), (CHECK, DRY_RUN, SEND)), 9),
    "idn-bad-row-skipped": Row(case(name_needing_smtputf8, ("Skipped 1 bad row",), where="", commands=(SKIP_BAD_ROWS,),
                                    code=0, writes=("outbox", SKIPPED)), 9, only_line_4_skipped),
    # 10: a provider's error that names a reader shows the reader's send-log id
    "provider-error-names-a-reader": Row(case(provider_names_a_reader,
                                              ("SendGrid answered 400 Bad Request: Does not contain a valid address: <#",),
                                              where="", commands=(SEND,), code=1, writes=(LOG,), asks_provider=True), 10,
                                         no_address_at_all),
    # 11: a send log edited by hand is read as data, naming its line; a whole last event is kept
    "send-log-to-not-a-list": Row(case(sent_then_log_edited(batch_start(to="abc")),
                                       (SHAPE.format("to is not a list of recipients"),), IN_LOG_LINE_2, (SEND, STATUS)), 11),
    "send-log-to-a-number": Row(case(sent_then_log_edited(batch_start(to=5)),
                                     (SHAPE.format("to is not a list of recipients"),), IN_LOG_LINE_2, (SEND, STATUS)), 11),
    "send-log-batch-a-list": Row(case(sent_then_log_edited(batch_start(batch=["1.1"])),
                                      (SHAPE.format("batch is not a string"),), IN_LOG_LINE_2, (SEND, STATUS)), 11),
    "send-log-not-utf8": Row(case(sent_then_log_edited(not_utf8), ("not UTF-8 text",), IN_LOG_LINE_2, (SEND, STATUS)), 11),
    "send-log-last-event-without-newline": Row(case(sent_then_log_edited(batch_sent_without_newline),
                                                    ("Nothing to send: no one in the audience is waiting for it",),
                                                    where="", commands=(SEND,), code=0, writes=(LOG,)), 11, batch_sent_kept),
    # 12 (above); 13: a feed adds its newest items with a note of the rest; an oversize cell is a bad row
    "feed-of-40000-items": Row(case(feed_of(40_000), ("Added 50 articles", "39,950 older items left out (at most 50"),
                                    where="", commands=(ADD_FEED,), code=0, writes=ISSUE_FILE), 13,
                               newest_listed(50, 40_000), seconds=120, slow=True),
    "feed-max-items": Row(case(feed_of(300), ("Added 60 articles", "240 older items left out (at most 60"),
                               where="", commands=((*ADD_FEED, "--max-items", "60"),), code=0,
                               writes=ISSUE_FILE), 13, newest_listed(60, 300)),
    "oversize-cell": Row(case(oversize_cell, ("'first_name' value is 200,000 characters long", "at most 131,072"),
                              IN_AUDIENCE.replace(r":\d+", ":3"), (CHECK, SEND)), 13, cell_not_shown),
    "oversize-cell-skipped": Row(case(oversize_cell, ("Skipped 1 bad row",), where="", commands=(SKIP_BAD_ROWS,), code=0,
                                      writes=("outbox", SKIPPED)), 13, oversize_row_skipped),
    # 14: a symlinked .env is written through (nothing in the workspace changes), a dangling one refused
    "env-symlink-written-through": Row(case(symlinked_env, ("added NEWSLETTER_LOG_KEY, NEWSLETTER_UNSUBSCRIBE_SECRET",),
                                            where="", commands=(("secrets",),), code=0), 14, written_through),
    "env-symlink-dangling": Row(case(dangling_env, ("symlink", "missing.env", "does not exist"), r"\S*\.env", (SEND,)),
                                14, link_left_alone),
    # 15: a build killed between the swap's two renames is mended by the next build, strays removed
    "build-killed-between-renames": Row(case(killed_between_the_renames, ("Built 2026-11-garden-notes",),
                                             where="", commands=(BUILD,), code=0, writes=(BUILT, f"build/.{EXAMPLE_ISSUE}.")),
                                        15, mended),
    # 16: a token is valid only for the list it names; a signed but malformed payload is no traceback
    "token-for-another-list": Row(case(unsubscribe_secret, ("the token is for the list 'Another Newsletter', not "
                                                            "'Northwind Notes'",), "",
                                       verify(make_token("ana@example.org", "Another Newsletter", UNSUBSCRIBE_KEY)), 1),
                                  16, said_not_valid),
    **{f"token-holding-{name}": Row(case(unsubscribe_secret, ("the token is signed but does not hold an address and a "
                                                              "list",), "", verify(signed(payload, UNSUBSCRIBE_KEY)), 1),
                                    16, said_not_valid) for name, payload in MALFORMED.items()},
}


def run_id(name: str, command: tuple[str, ...]) -> str:
    return "-".join([name, *(word.lstrip("-") for word in command if word != EXAMPLE_ISSUE and len(word) < 30)])


RUNS = [pytest.param(name, command, id=run_id(name, command), marks=[pytest.mark.slow] if row.slow else [])
        for name, row in ROWS.items() for command in row.case.commands]


@contextmanager
def peak_allocation() -> Iterator[list[int]]:
    """The most memory Python held at once inside the block (bytes, in the list yielded)."""
    import tracemalloc

    peak = [0]
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


@pytest.mark.parametrize("name, command", RUNS)
def test_round_two_hostile_input_is_one_line_and_nothing_is_written_or_sent(env, net, capsys, name: str,
                                                                            command: tuple[str, ...]) -> None:
    environment, sendgrid = env
    row = ROWS[name]
    row.case.break_it(environment, net)  # type: ignore[call-arg]
    start = time.monotonic()
    with peak_allocation() if row.megabytes else nullcontext([0]) as peak:
        output = run_case(environment, sendgrid, row.case, command, capsys)
    assert time.monotonic() - start < row.seconds, f"took longer than {row.seconds} s"
    assert not row.megabytes or peak[0] < row.megabytes * 2**20, f"{peak[0] / 2**20:.0f} MB at the peak"
    if row.then:
        row.then(environment, net, output)


def test_every_row_of_the_issue_this_round_owns_has_an_entry() -> None:
    assert {row.row for row in ROWS.values()} == set(range(1, 17))


def alias_bomb(levels: int = 12) -> str:
    """22 KB of YAML standing for 10**levels strings."""
    items = ['&a0 ["' + "x" * 1000 + '"' + ', "x"' * 9 + "]"]
    items += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, levels)]
    return "[" + ", ".join(items) + "]"


# Pictures: real files, written with Pillow (an animation's frames by hand, then read back by Pillow)

_HUGE: dict[str, bytes] = {}


def huge_png(path: Path) -> None:
    """A real 150-megapixel PNG (black, 1 bit a pixel: 18 KB on disk, 1.2 GB once decoded as RGB)."""
    if "png" not in _HUGE:
        import io

        from PIL import Image

        out = io.BytesIO()
        Image.new("1", (15000, 10000)).save(out, "PNG")
        _HUGE["png"] = out.getvalue()
    path.write_bytes(_HUGE["png"])


def sparse_animation(width: int, height: int, frames: int) -> bytes:
    """An animated GIF: a ``width``×``height`` canvas and ``frames`` frames of one pixel each
    (each one decoded at the full canvas by Pillow)."""
    import io
    import struct

    from PIL import Image

    out = [b"GIF89a", struct.pack("<HH", width, height), b"\x80\x00\x00", b"\x00\x00\x00\xff\xff\xff",
           b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"]
    for number in range(frames):
        out += [b"\x21\xf9\x04\x00\x0a\x00\x00\x00", b"\x2c",
                struct.pack("<HHHH", number % width, number % height, 1, 1), b"\x00", b"\x02\x02\x44\x01\x00"]
    data = b"".join([*out, b"\x3b"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (width, height) and image.n_frames == frames
    return data


# A page with its own picture (og:image)

def og_page(image: str) -> str:
    paragraph = "<p>Leaf mould is the easiest compost there is: pile the leaves, wet them, wait a year. " * 3 + "</p>"
    return (f'<html><head><title>Leaf mould</title><meta property="og:image" content="{image}"></head>'
            f"<body><article><h1>Leaf mould</h1>{paragraph * 4}</article></body></html>")


def test_allow_private_hosts_must_name_hosts(env, cli) -> None:
    environment, _ = env
    environment.settings('allow_private_hosts = ["news.example", "northwind.example"]', "allow_private_hosts = [1]")
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 2 and re.fullmatch(r"newsletter: newsletter\.toml:\d+: \[fetch\] allow_private_hosts must "
                                              r"be a list of host names.*\n", result.err), result.err


# Resource bombs: run the command in a subprocess with at most 512 MB of address space and a time cap

CAPPED = """
import resource, sys
limit = 512 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from newsletter.cli.commands import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class Capped:
    code: int
    out: str
    err: str
    seconds: float


def run_capped(*args: str, cwd: Path, seconds: float = 60) -> Capped:
    """``newsletter ARGS`` in a fresh interpreter under the memory cap; fails the test past ``seconds``."""
    import os
    import subprocess
    import sys

    environment = {**os.environ, "MALLOC_ARENA_MAX": "2"}  # per-thread malloc arenas would count as memory
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", CAPPED, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=seconds, env=environment)
    except subprocess.TimeoutExpired:
        pytest.fail(f"newsletter {' '.join(args)} ran longer than {seconds} s")
    return Capped(done.returncode, done.stdout, done.stderr, time.monotonic() - start)


def one_error_line(result: Capped, *words: str) -> str:
    assert "Traceback" not in result.out + result.err, result.err[-3000:]
    assert result.code == 2, result.err[-3000:]
    lines = result.err.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"newsletter: [^\n]+", lines[0]), result.err[-3000:]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def gzip_bomb(megabytes: int, layers: int = 2) -> bytes:
    """``megabytes`` MB of zeros, gzipped ``layers`` times: a few KB on the wire."""
    import gzip
    import zlib

    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    zeros = b"\0" * (4 << 20)
    data = b"".join(packer.compress(zeros) for _ in range(megabytes // 4)) + packer.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data, 9)
    return data


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(600)


@pytest.mark.parametrize("encoding", ["gzip, gzip", "gzip,x-gzip", "gzip, identity, gzip"])
def test_a_nested_gzip_bomb_is_refused_at_max_bytes_of_decoded_data(site: Path, web: WebServer, bomb: bytes,
                                                                   encoding: str) -> None:
    """Row 1: 7 KB on the wire, 600 MB after two layers; the cap (0.1 MB here) counts every layer."""
    assert len(bomb) < 10_000
    url = web.route("/bomb", Response(200, bomb, {"Content-Type": PAGE, "Content-Encoding": encoding}))
    result = run_capped("extract", url, cwd=site, seconds=30)
    one_error_line(result, url, "larger than 0.1 MB")
    assert result.seconds < 15, result.seconds


def test_encoded_pages_within_the_cap_still_read(site: Path, web: WebServer, cli) -> None:
    import gzip
    import zlib

    text = "Leaf mould\n\nPile the leaves, wet them and wait a year: the easiest compost there is.\n" * 20
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    bodies = {"gzip": gzip.compress(text.encode()), "deflate": zlib.compress(text.encode()),
              "gzip, gzip": gzip.compress(gzip.compress(text.encode())),
              "Deflate": raw_deflate.compress(text.encode()) + raw_deflate.flush()}
    for number, (encoding, body) in enumerate(bodies.items()):
        url = web.route(f"/p{number}", Response(200, body, {"Content-Type": PAGE, "Content-Encoding": encoding}))
        result = cli("extract", url, "--json")
        assert result.code == 0, (encoding, result.err)
        assert "easiest compost" in json.loads(result.out)["text"], encoding


@pytest.mark.parametrize("encoding, words", [("br", "content encoding 'br' is not supported"),
                                             ("gzip", "the gzip encoding does not decode")])
def test_an_encoding_we_cannot_undo_is_one_line(site: Path, web: WebServer, cli, encoding: str, words: str) -> None:
    url = web.route("/odd", Response(200, b"\x1f\x8b\x08garbage" * 10, {"Content-Type": PAGE,
                                                                         "Content-Encoding": encoding}))
    result = cli("extract", url)
    assert result.code == 2 and result.err == f"newsletter: {url}: {words}\n" or words in result.err, result.err
    assert len(result.err.splitlines()) == 1 and "Traceback" not in result.err


@pytest.mark.parametrize("canvas, frames", [((8000, 8000), 400), ((2000, 2000), 400), ((200, 200), 3000)])
def test_an_animation_with_too_many_pixels_across_its_frames_keeps_its_first_frame(workspace: Path, web: WebServer,
                                                                                   canvas, frames) -> None:
    """Row 2: 9 KB of GIF as a page's og:image, 400 frames at 8000×8000 (25.6 gigapixels decoded):
    the build keeps the first frame, under 512 MB."""
    animation = sparse_animation(*canvas, frames)
    assert len(animation) < 100_000
    picture = web.page("/anim.gif", animation, "image/gif")
    page = web.page("/leaf-mould", og_page(picture), "text/html; charset=utf-8")
    path = workspace / ISSUE / "issue.md"
    path.write_text(path.read_text().replace(COMPOST, f"source: {page}"))
    result = run_capped("build", EXAMPLE_ISSUE, cwd=workspace, seconds=60)
    assert result.code == 0 and "Traceback" not in result.err and "Warning" not in result.err, result.err[-3000:]
    first_frame_kept(Env(workspace, workspace, web), Net(None, web), result.err)  # type: ignore[arg-type]


def test_a_small_animation_stays_animated(workspace: Path, web: WebServer, cli) -> None:
    from newsletter.render.pixels import convert

    encoded, extension, size = convert(sparse_animation(120, 90, 30), 1104, "anim.gif")
    assert (extension, size) == ("gif", (120, 90))


def test_a_150_megapixel_png_is_one_line_under_the_memory_cap(workspace: Path) -> None:
    """Row 3: refused from its header, before a pixel is decoded; no DecompressionBombWarning."""
    huge_png(workspace / ISSUE / "images" / "apple-tree.png")
    result = run_capped("build", EXAMPLE_ISSUE, cwd=workspace, seconds=60)
    line = one_error_line(result, "images/apple-tree.png", "too many pixels (15000×10000, 150 megapixels: "
                          "the limit is 80 megapixels)")
    assert re.match(r"newsletter: issues/2026-11-garden-notes/issue\.md:\d+: ", line), line
    assert not (workspace / "build").exists()


# Row 8: files two commands may write are read-modified-written under a lock

def test_two_merges_into_suppressions_at_once_both_land(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first reader is held between its read and its write; the second must wait for it."""
    import threading

    from newsletter.deliver import suppressions as module
    from newsletter.deliver.suppressions import Suppression, merge_suppressions

    path = tmp_path / "suppressions.csv"
    path.write_text("email,reason,date,source\nkept@example.org,manual,2026-01-01,hand\n", encoding="utf-8")
    read = module._read_rows
    first_read = threading.Event()

    def slow_read(target: Path):  # noqa: ANN202
        found = read(target)
        if not first_read.is_set():
            first_read.set()
            time.sleep(0.5)
        return found

    monkeypatch.setattr(module, "_read_rows", slow_read)
    pulled = threading.Thread(target=merge_suppressions, args=(path, [
        Suppression("bounced@example.org", "bounce", "2026-12-01", "sendgrid:bounces"),
        Suppression("left@example.org", "unsubscribe", "2026-12-01", "sendgrid:unsubscribes")]))
    pulled.start()
    assert first_read.wait(5)
    merge_suppressions(path, [Suppression(f"imported{n}@example.org", "imported", "", "csv:x.csv") for n in range(50)])
    pulled.join(5)
    text = path.read_text(encoding="utf-8")
    for address in ("kept@", "bounced@", "left@", "imported0@", "imported49@"):
        assert address in text, address
    assert (tmp_path / ".suppressions.csv.lock").exists()


@pytest.mark.slow
def test_suppressions_pull_and_import_at_the_same_time_keep_both(sendgrid, sendgrid_workspace: Path) -> None:
    """The issue's race, as users meet it: two commands, 300,000 imported rows, a pulled bounce and unsubscribe."""
    import os
    import subprocess
    import sys

    sendgrid.suppressions["bounces"] = [{"created": int(time.time()) - 60, "email": "bounced@example.org",
                                         "reason": "550 5.1.1 no such user", "status": "5.1.1"}]
    sendgrid.suppressions["unsubscribes"] = [{"created": int(time.time()) - 60, "email": "left@example.org"}]
    big = sendgrid_workspace / "export.csv"
    big.write_text("email\n" + "".join(f"reader{n:06d}@example.org\n" for n in range(300_000)), encoding="utf-8")
    command = [sys.executable, "-m", "newsletter"]
    environment = {**os.environ}
    for attempt in range(2):  # whichever starts first, both must land
        (sendgrid_workspace / "suppressions.csv").unlink(missing_ok=True)
        (sendgrid_workspace / ".suppressions.csv.pulled.json").unlink(missing_ok=True)
        importing = subprocess.Popen([*command, "suppressions", "import", "export.csv"], cwd=sendgrid_workspace,
                                     env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3 * attempt)
        pulling = subprocess.run([*command, "suppressions", "pull"], cwd=sendgrid_workspace, env=environment,
                                 capture_output=True, text=True, timeout=120)
        out, err = importing.communicate(timeout=120)
        assert importing.returncode == 0 and pulling.returncode == 0, (err, pulling.stderr)
        assert "Traceback" not in err + pulling.stderr
        text = (sendgrid_workspace / "suppressions.csv").read_text(encoding="utf-8")
        assert "bounced@example.org" in text and "left@example.org" in text, f"attempt {attempt}: the pull was lost"
        assert "reader000000@" in text and "reader299999@" in text, f"attempt {attempt}: the import was lost"


# Row 14 through a send: its first run makes the send-log key into the linked .env

def test_a_send_writes_its_log_key_through_a_symlinked_env(env, cli) -> None:
    environment, sendgrid = env
    symlinked_env(environment)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    written_through(environment, output=result.out + result.err)


# Row 15: SIGKILL during the build swap never leaves build/<slug> missing; strays are cleaned

KILL_DURING_SWAP = """
import os, signal, sys
from pathlib import Path
import newsletter.files as files

kill_after, exchange_works = int(sys.argv[1]), sys.argv[2] == "yes"
steps = 0


def step(real):
    def run(*args, **kwargs):
        global steps
        result = real(*args, **kwargs)
        if "build" in str(args[0]):
            steps += 1
            if steps == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        return result
    return run


Path.rename = step(Path.rename)
files.exchange = step(files.exchange if exchange_works else (lambda first, second: False))
from newsletter.cli.commands import main
sys.exit(main(sys.argv[3:]))
"""


def killed_build(workspace: Path, kill_after: int, exchange_works: bool) -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", KILL_DURING_SWAP, str(kill_after),
                           "yes" if exchange_works else "no", "build", EXAMPLE_ISSUE],
                          cwd=workspace, capture_output=True, text=True, timeout=120)
    return done.returncode


def strays(workspace: Path) -> list[str]:
    return sorted(p.name for p in (workspace / "build").iterdir() if p.name.startswith(f".{EXAMPLE_ISSUE}."))


def test_sigkill_during_the_build_swap_leaves_a_whole_build(workspace: Path, cli) -> None:
    """Row 15. The swap is one renameat2(RENAME_EXCHANGE): killed right after it, the new build is in
    place and the old one waits in a staging folder, which the next build removes."""
    import signal

    assert cli("build", EXAMPLE_ISSUE).code == 0
    folder = workspace / "build" / EXAMPLE_ISSUE
    (folder / "index.txt").write_text("the earlier build\n")
    assert killed_build(workspace, 1, exchange_works=True) == -signal.SIGKILL
    assert (folder / "index.html").is_file() and json.loads((folder / "issue.json").read_text())["slug"]
    assert (folder / "index.txt").read_text() != "the earlier build\n", "the swap had happened"
    assert len(strays(workspace)) == 1, strays(workspace)  # the earlier build, left by the killed process
    assert cli("build", EXAMPLE_ISSUE).code == 0
    assert strays(workspace) == [], "stale staging folders were not cleaned"


def test_without_an_atomic_swap_a_kill_between_the_renames_is_mended_first(workspace: Path, cli) -> None:
    """Where the system cannot exchange two folders, the swap is two renames; killed between them, the
    next writer puts the earlier build back before anything else, and leaves no strays."""
    import signal

    from newsletter.files import _mend

    assert cli("build", EXAMPLE_ISSUE).code == 0
    folder = workspace / "build" / EXAMPLE_ISSUE
    (folder / "index.txt").write_text("the earlier build\n")
    assert killed_build(workspace, 2, exchange_works=False) == -signal.SIGKILL  # 1: the refused exchange
    assert not folder.exists() and (workspace / "build" / f".{EXAMPLE_ISSUE}.old").is_dir()
    _mend(folder, folder.with_name(f".{EXAMPLE_ISSUE}.old"))
    assert (folder / "index.txt").read_text() == "the earlier build\n"
    assert strays(workspace) == []
    assert killed_build(workspace, 3, exchange_works=False) == -signal.SIGKILL  # after both renames
    assert (folder / "index.html").is_file()
    assert cli("build", EXAMPLE_ISSUE).code == 0 and strays(workspace) == []


# Row 12: disk full and a read-only workspace are one line, exit 2, and the earlier build survives

FILE_SIZE_CAP = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the cap a write fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
from newsletter.cli.commands import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_disk_that_fills_up_mid_build_is_one_line(workspace: Path, cli) -> None:
    """The kernel itself refuses the writes: no file may grow past 4 KB (RLIMIT_FSIZE)."""
    import subprocess
    import sys

    assert cli("build", EXAMPLE_ISSUE).code == 0
    earlier = (workspace / "build" / EXAMPLE_ISSUE / "index.html").read_bytes()
    (workspace / "issues" / EXAMPLE_ISSUE / "articles" / "compost.txt").write_text(
        "Leaf mould, again\n\n" + "Pile the leaves and wait a year. " * 40 + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", FILE_SIZE_CAP, "build", EXAMPLE_ISSUE, "--refresh"], cwd=workspace,
                          capture_output=True, text=True, timeout=120)
    one_error_line(Capped(done.returncode, done.stdout, done.stderr, 0), "File too large")
    assert (workspace / "build" / EXAMPLE_ISSUE / "index.html").read_bytes() == earlier
    assert not [p for p in (workspace / "build").iterdir() if p.name.startswith(".")], "a staging folder was left"


@pytest.mark.parametrize("error", ["EROFS", "ENOSPC", "EACCES"])
def test_a_workspace_that_cannot_be_written_is_one_line(workspace: Path, cli, monkeypatch: pytest.MonkeyPatch,
                                                       error: str) -> None:
    """Every new file and folder the tool makes starts with tempfile (write_atomically, replaced_whole):
    here the system refuses them all, as a read-only mount or a full disk would (tests run as root,
    which no permission bits stop)."""
    import errno
    import os
    import tempfile

    number = getattr(errno, error)

    def refuse(*args, dir=None, **kwargs):  # noqa: A002, ANN001, ANN002, ANN003, ANN202
        raise OSError(number, os.strerror(number), str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert re.fullmatch(rf"newsletter: \S+: {re.escape(os.strerror(number))}\n", result.err), result.err
    assert not (workspace / "build").exists()


# Row 13: add --feed caps the items with a note; --skip-bad-rows skips a row with an oversize cell

def big_feed(items: int) -> str:
    import datetime as dt

    start = dt.datetime(2020, 1, 1, 8, tzinfo=dt.timezone.utc)
    entries = "".join(
        f"<item><title>Post {n}</title><link>https://blog.example/p/{n}</link>"
        f"<pubDate>{(start + dt.timedelta(hours=n)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>\n"
        for n in range(items))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{entries}</channel></rss>\n'


def test_max_items_is_bounded(site: Path, cli, capsys) -> None:
    with pytest.raises(SystemExit) as stop:  # argparse's own usage error
        cli("add", "2026-11", "--feed", "big.rss", "--max-items", "100000")
    assert stop.value.code == 2 and "--max-items: must be 1000 or less" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["yaml-alias-bomb", "yaml-nested-deep", "yaml-block-nested-deep", "toml-nested-deep"])
def test_bombs_in_settings_and_issue_files_stay_small_and_quick(workspace: Path, name: str) -> None:
    """Row 12 under the resource caps: a few KB that stand for billions of values, or nesting past the
    parser's stack, end in one line within seconds and well inside 512 MB."""
    environment = Env(workspace, workspace, None)  # type: ignore[arg-type]  (no web server: nothing is fetched)
    ROWS[name].case.break_it(environment, None)  # type: ignore[call-arg]
    result = run_capped("build", EXAMPLE_ISSUE, cwd=workspace, seconds=30)
    one_error_line(result, *ROWS[name].case.words)
    assert result.seconds < 20, result.seconds
