"""Hostile input, round two (issue 25): the table of new attacks, each one error line with the expected
exit code, nothing written, nothing sent, no traceback; then the attacks a table row cannot show
(a page's own picture, races, resource bombs run in a subprocess under a memory and a time cap).

The network never leaves 127.0.0.1. A "public" host is a name the fake resolver (``FakeDns``, in
place of ``socket.getaddrinfo``) answers with a public address or with 127.0.0.1 for a name the
workspace allows by name; every connection to anything but loopback is refused on the spot.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.http_server import Response, WebServer
from tests.send_helpers import FAKE_KEY, set_send_settings
from tests.sendgrid_server import FakeSendGrid
from tests.test_hostile_input import (
    BUILD,
    CHECK,
    COMPOST,
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
    yield Env(workspace, outside, net.web), sendgrid
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
    then: Callable[[Env, Net], None] | None = None  # more to assert after the run


def nothing_internal_read(env: Env, net: Net) -> None:
    assert net.web.hits["/internal"] == 0, "the internal page was read"


def pinned(env: Env, net: Net) -> None:
    """The connection went to the address that was checked, from the one look-up made for it."""
    nothing_internal_read(env, net)
    assert net.dns.refused == [(PUBLIC, net.port)], net.dns.refused
    assert net.dns.lookups["rebind.example"] == 1, net.dns.lookups


def case(apply: Callable[[Env, Net], None], words: tuple[str, ...], where: str = IN_ISSUE,
         commands: tuple[tuple[str, ...], ...] = (BUILD, CHECK, SEND), code: int = 2) -> Case:
    return Case(apply, words, where, commands, code)  # type: ignore[arg-type]


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
    # 3: a megapixel cap that refuses with one line (no DecompressionBombWarning)
    "image-150-megapixels": Row(case(lambda env, net: huge_png(env.root / ISSUE / "images" / "apple-tree.png"),
                                     ("image images/apple-tree.png", "too many pixels (15000×10000, 150 megapixels")),
                                3),
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
}


RUNS = [pytest.param(name, command, id=f"{name}-{command[0]}") for name, row in ROWS.items()
        for command in row.case.commands]


@pytest.mark.parametrize("name, command", RUNS)
def test_round_two_hostile_input_is_one_line_and_nothing_is_written_or_sent(env, net, capsys, name: str,
                                                                            command: tuple[str, ...]) -> None:
    environment, sendgrid = env
    row = ROWS[name]
    row.case.break_it(environment, net)  # type: ignore[call-arg]
    run_case(environment, sendgrid, row.case, command, capsys)
    if row.then:
        row.then(environment, net)


def test_every_row_of_the_issue_this_round_owns_has_an_entry() -> None:
    assert {3, 5, 6, 12} <= {row.row for row in ROWS.values()}


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


# Row 5: a page's own picture (og:image) pointing inside

def og_page(image: str) -> str:
    paragraph = "<p>Leaf mould is the easiest compost there is: pile the leaves, wet them, wait a year. " * 3 + "</p>"
    return (f'<html><head><title>Leaf mould</title><meta property="og:image" content="{image}"></head>'
            f"<body><article><h1>Leaf mould</h1>{paragraph * 4}</article></body></html>")


@pytest.mark.parametrize("image", ["loopback", "localhost", "metadata", "redirect"])
def test_a_page_picture_pointing_inside_is_left_out_and_never_fetched(env, net, cli, image: str) -> None:
    environment, _ = env
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 0, 0)).save(picture, "PNG")
    net.web.page("/secret.png", picture.getvalue(), "image/png")
    net.web.redirect("/pic", net.web.url("/secret.png"))
    target = {"loopback": net.web.url("/secret.png"), "localhost": net.at("localhost", "/secret.png"),
              "metadata": "http://169.254.169.254/latest/meta-data/iam/credentials.png",
              "redirect": net.at("news.example", "/pic")}[image]
    environment.source(net.web.page("/leaf-mould", og_page(target), "text/html; charset=utf-8").replace(
        "127.0.0.1", "news.example"))
    environment.issue("        url: https://northwind.example/blog/leaf-mould?ref=notes\n", "")
    result = cli("build", EXAMPLE_ISSUE, "--json")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    warnings = [line for line in result.err.splitlines() if "the article's own picture is left out" in line]
    assert len(warnings) == 1 and ("metadata" if image == "metadata" else "private, loopback") in warnings[0]
    assert net.web.hits["/secret.png"] == 0, "the picture inside was fetched"
    html = (environment.root / "build" / EXAMPLE_ISSUE / "index.html").read_text()
    assert "secret" not in html and "169.254" not in html
    assert len(list((environment.root / "build" / EXAMPLE_ISSUE / "images").iterdir())) == 1  # the apple tree


# Row 7: check --online follows the same rules and the deadline

def online_links(env: Env, net: Net, *urls: str) -> None:
    for number, url in enumerate(urls):
        old = ["https://northwind.example/blog/seed-library", "https://northwind.example/events/december-work-day"][number]
        env.issue(f"url: {old}", f"url: {url}")


def test_check_online_refuses_a_redirect_from_a_public_link_to_loopback(env, net, cli) -> None:
    environment, _ = env
    net.web.redirect("/go", net.web.url("/internal"))
    net.web.redirect("/meta", "http://169.254.169.254/latest/")
    online_links(environment, net, net.at("news.example", "/go"), net.at("news.example", "/meta"))
    result = cli("check", EXAMPLE_ISSUE, "--online", "--json")
    assert "Traceback" not in result.err
    findings = json.loads(result.out)["findings"]
    broken = [f["message"] for f in findings if f["code"] == "broken-link"]
    assert any("/go" in m and "127.0.0.1 is a private, loopback or link-local address" in m for m in broken), broken
    assert any("/meta" in m and "cloud metadata" in m for m in broken), broken
    assert net.web.hits["/internal"] == 0 and result.code == 1


def test_check_online_keeps_the_fetch_deadline(env, net, cli) -> None:
    """Slow headers on a link and a trickling image: each takes at most [fetch] deadline (here 2 s,
    with a read timeout of 5 s, which alone would let both run far longer)."""
    environment, _ = env
    environment.settings("read_timeout = 1\n", "read_timeout = 5\n")
    environment.settings('archive_url = "https://northwind.example/newsletter/{slug}/"',
                         f'archive_url = "{net.at("news.example", "/site/{slug}/")}"')
    from newsletter.render.build import build_issue
    from newsletter.workspace import find_workspace

    image = build_issue(find_workspace(environment.root), EXAMPLE_ISSUE).assets.target("images/apple-tree.png")
    net.web.route(f"/site/{EXAMPLE_ISSUE}/{image}", Response(200, b"x" * 400, {"Content-Type": "image/png"}, drip=0.05))
    net.web.route("/slow-headers", Response(200, b"ok", {"Content-Type": PAGE}, delay=8))
    online_links(environment, net, net.at("news.example", "/slow-headers"))
    start = time.monotonic()
    result = cli("check", EXAMPLE_ISSUE, "--online", "--json")
    elapsed = time.monotonic() - start
    assert "Traceback" not in result.err
    messages = [f["message"] for f in json.loads(result.out)["findings"]]
    assert any("/slow-headers" in m and "took longer than 2 s" in m for m in messages), "\n".join(messages)
    assert any(image in m and "took longer than 2 s" in m for m in messages), "\n".join([image, *messages])
    assert elapsed < 7, elapsed


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
    images = sorted(p.suffix for p in (workspace / "build" / EXAMPLE_ISSUE / "images").iterdir())
    assert images == [".png", ".png"], images  # the apple tree, and the animation's first frame as a still
    assert web.hits["/anim.gif"] == 1


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


# Row 14: a symlinked .env is written through, never replaced

def _no_log_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter.compose.sendlog import KEY_VARIABLE

    monkeypatch.setenv(KEY_VARIABLE, "x")
    monkeypatch.delenv(KEY_VARIABLE)  # restored (to unset) after the test, though the send sets it


def test_a_symlinked_env_is_written_through(env, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import stat

    environment, sendgrid = env
    _no_log_key(monkeypatch)
    secrets = environment.outside / "newsletter.env"
    secrets.write_text(f"SENDGRID_API_KEY={FAKE_KEY}\n", encoding="utf-8")
    (environment.root / ".env").unlink(missing_ok=True)  # the fixture's own
    os.symlink(secrets, environment.root / ".env")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    link = environment.root / ".env"
    assert link.is_symlink() and link.resolve() == secrets.resolve(), "the link was replaced"
    text = secrets.read_text(encoding="utf-8")
    assert text.startswith(f"SENDGRID_API_KEY={FAKE_KEY}\n") and "NEWSLETTER_LOG_KEY=" in text
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert not list(environment.root.glob(".env.*")), "a temporary file was left beside the link"


def test_a_dangling_env_symlink_is_refused_in_one_line(env, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    environment, sendgrid = env
    _no_log_key(monkeypatch)
    (environment.root / ".env").unlink(missing_ok=True)
    os.symlink(environment.outside / "missing.env", environment.root / ".env")
    line = run_case(environment, sendgrid, Case(lambda e: None, ("symlink", "missing.env", "does not exist"), r"\S*\.env"),
                    SEND, capsys)
    assert (environment.root / ".env").is_symlink() and not (environment.outside / "missing.env").exists(), line


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


# Row 16: a token is valid only for the list it names; a signed but malformed payload is one line

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


@pytest.mark.parametrize("name", [*MALFORMED, "another-list"])
def test_unsubscribe_verify_refuses_in_one_line(workspace: Path, cli, monkeypatch: pytest.MonkeyPatch,
                                                name: str) -> None:
    from newsletter.render.unsubscribe import make_token

    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", UNSUBSCRIBE_KEY)
    token = (make_token("ana@example.org", "Another Newsletter") if name == "another-list"
             else signed(MALFORMED[name], UNSUBSCRIBE_KEY))
    for extra in ((), ("--json",)):
        result = cli("unsubscribe", "verify", token, *extra)
        assert result.code == 1 and not result.err and "Traceback" not in result.out, result.err
        assert extra or len(result.out.splitlines()) == 1, result.out
        shown = json.loads(result.out) if extra else {"valid": False, "error": result.out}
        assert shown["valid"] is False
        expected = ("for the list 'Another Newsletter', not 'Northwind Notes'" if name == "another-list"
                    else "signed but does not hold an address and a list")
        assert expected in shown["error"], shown
    own = cli("unsubscribe", "verify", make_token("ana@example.org", "Northwind Notes"))
    assert own.code == 0 and own.out.startswith('Valid: ana@example.org on "Northwind Notes".')


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


@pytest.mark.parametrize("items", [pytest.param(40_000, marks=pytest.mark.slow), 300])
def test_add_feed_with_thousands_of_items_adds_the_newest_with_a_note(site: Path, cli, items: int) -> None:
    from tests.conftest import write_issue

    (site / "big.rss").write_text(big_feed(items), encoding="utf-8")
    issue = write_issue(site / "issues" / "2026-11", 'subject: "Big"\ndate: 2026-11-27\nsections: []')
    result = cli("add", "2026-11", "--feed", "big.rss", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)["feed"]
    assert (report["added"], report["left_out"]) == (50, items - 50)
    listed = re.findall(r"https://blog\.example/p/(\d+)", issue.read_text())
    assert sorted(map(int, set(listed))) == list(range(items - 50, items)), "the newest 50"
    text = cli("add", "2026-11", "--feed", "big.rss", "--max-items", "60")
    assert text.code == 0 and "Added 10 articles" in text.out, text.out
    assert f"{items - 60:,} older items left out (at most 60 are added" in text.out, text.out

def test_max_items_is_bounded(site: Path, cli, capsys) -> None:
    with pytest.raises(SystemExit) as stop:  # argparse's own usage error
        cli("add", "2026-11", "--feed", "big.rss", "--max-items", "100000")
    assert stop.value.code == 2 and "--max-items: must be 1000 or less" in capsys.readouterr().err


def oversize_cell(env: Env) -> None:
    env.write(ISSUE / "audience.csv", "email,first_name\nana@example.org,Ana\n"
              f'bob@example.org,"{"B" * 200_000}"\neve@example.org,Eve\n')


def test_an_oversize_cell_is_a_bad_row_in_one_line(env, net, capsys) -> None:
    environment, sendgrid = env
    oversize_cell(environment)
    for command in (CHECK, SEND):
        line = run_case(environment, sendgrid, Case(lambda e: None, ("'first_name' value is 200,000 characters long",
                                                                    "at most 131,072"),
                                                    r"issues/2026-11-garden-notes/audience\.csv:3"), command, capsys)
        assert "B" * 100 not in line


def test_skip_bad_rows_skips_a_row_with_an_oversize_cell(env, cli) -> None:
    import csv

    environment, sendgrid = env
    oversize_cell(environment)
    result = cli("send", EXAMPLE_ISSUE, "--skip-bad-rows", "--json")
    assert result.code == 0, result.err
    rows = list(csv.DictReader((environment.root / ISSUE / "skipped-rows.csv").open(encoding="utf-8")))
    assert [row["line"] for row in rows] == ["3"] and "200,000 characters" in rows[0]["error"]
    sent = {line for eml in (environment.root / "outbox").rglob("recipients.jsonl") for line in eml.read_text().splitlines()}
    assert len(sent) == 2, sent


def test_check_online_reads_a_150_megapixel_image_without_a_traceback(env, net, cli) -> None:
    """Rows 3 and 7: the picture at the published address is 150 megapixels; Pillow's bomb error was
    not among those caught, and killed the check from its thread pool."""
    environment, _ = env
    environment.settings('archive_url = "https://northwind.example/newsletter/{slug}/"',
                         f'archive_url = "{net.at("news.example", "/site/{slug}/")}"')
    from newsletter.render.build import build_issue
    from newsletter.workspace import find_workspace

    image = build_issue(find_workspace(environment.root), EXAMPLE_ISSUE).assets.target("images/apple-tree.png")
    huge = environment.outside / "huge.png"
    huge_png(huge)
    net.web.page(f"/site/{EXAMPLE_ISSUE}/{image}", huge.read_bytes(), "image/png")
    result = cli("check", EXAMPLE_ISSUE, "--online", "--json")
    assert "Traceback" not in result.err and "Warning" not in result.err, result.err
    findings = json.loads(result.out)["findings"]
    assert any(f["code"] == "not-an-image" and image in f["message"] for f in findings), findings


@pytest.mark.parametrize("name", ["yaml-alias-bomb", "yaml-nested-deep", "yaml-block-nested-deep", "toml-nested-deep"])
def test_bombs_in_settings_and_issue_files_stay_small_and_quick(workspace: Path, name: str) -> None:
    """Row 12 under the resource caps: a few KB that stand for billions of values, or nesting past the
    parser's stack, end in one line within seconds and well inside 512 MB."""
    environment = Env(workspace, workspace, None)  # type: ignore[arg-type]  (no web server: nothing is fetched)
    ROWS[name].case.break_it(environment, None)  # type: ignore[call-arg]
    result = run_capped("build", EXAMPLE_ISSUE, cwd=workspace, seconds=30)
    one_error_line(result, *ROWS[name].case.words)
    assert result.seconds < 20, result.seconds
