"""Nobody gets two copies, and no key leaves for another host: the SendGrid answers that used to
send a reader several copies, or none while saying "sent", each against a stand-in doing exactly that."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import FAKE_KEY, copies, set_send_settings, write_audience
from tests.sendgrid_server import Fault

AUDIENCE = 6


@pytest.fixture
def audience(sendgrid_workspace: Path) -> list[str]:
    set_send_settings(sendgrid_workspace, batch_size=3)
    return write_audience(sendgrid_workspace / "issues" / EXAMPLE_ISSUE / "audience.csv", AUDIENCE)


def status(cli) -> dict:
    return json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)


def test_a_slow_answer_is_never_sent_again(cli, sendgrid, audience, sendgrid_workspace) -> None:
    """Row 1: SendGrid answers after 3 s, timeout 2 s, max_retries 2: it used to deliver 3 copies."""
    set_send_settings(sendgrid_workspace, timeout=0.5, max_retries=2)
    sendgrid.every_request = Fault(delay=1.2)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    time.sleep(1.5)  # the request the client gave up on is still being taken
    assert result.code == 1 and "not tried again" in result.err
    assert copies(sendgrid.delivered) == {address: 1 for address in audience}  # both batches, once each
    assert status(cli)["unknown_recipients"] == AUDIENCE and not status(cli)["complete"]


def test_an_odd_error_body_is_one_line_and_the_batch_is_refused_not_unknown(cli, sendgrid, audience) -> None:
    """Row 5: a 400 whose body is not SendGrid's errors list."""
    server_reply = {"errors": 5}

    class Odd(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps(server_reply).encode()
            self.send_response(400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    odd = ThreadingHTTPServer(("127.0.0.1", 0), Odd)
    threading.Thread(target=odd.serve_forever, daemon=True).start()
    try:
        set_send_settings(Path.cwd(), sendgrid={"host": f"http://127.0.0.1:{odd.server_address[1]}"})
        result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    finally:
        odd.shutdown()
    assert result.code == 1 and result.err.count("\n") <= 3 and "Traceback" not in result.err
    assert '{"errors": 5}' in result.err
    assert status(cli)["unknown"] == [], "a refusal is a refusal: nothing is in doubt"


def test_a_redirect_is_an_error_and_the_key_goes_nowhere_else(cli, sendgrid, audience, sendgrid_workspace) -> None:
    """Row 4: a 302 to another origin used to be followed as a GET with the key, and called sent."""
    seen: list[dict] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=other.serve_forever, daemon=True).start()

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{other.server_address[1]}/v3/mail/send")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    redirecting = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=redirecting.serve_forever, daemon=True).start()
    try:
        set_send_settings(sendgrid_workspace, sendgrid={"host": f"http://127.0.0.1:{redirecting.server_address[1]}"})
        result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    finally:
        redirecting.shutdown()
        other.shutdown()
    assert result.code == 1 and "302" in result.err and "redirects are not followed" in result.err
    assert seen == [], "nothing, and no Authorization header, reached the other origin"
    assert FAKE_KEY not in result.err
    assert status(cli)["sent"] == 0 and not status(cli)["complete"]


def test_a_refused_cancel_leaves_the_batch_unknown_never_resent(cli, sendgrid, audience, sendgrid_workspace) -> None:
    """Row 3: SendGrid holds at most 10 cancelled or paused batches; past that a cancel is refused,
    and the batch whose answer was lost used to go out again under a new batch id."""
    import datetime as dt
    import re

    from newsletter import clock

    send_at = (clock.now() + dt.timedelta(hours=2)).replace(microsecond=0)
    issue = sendgrid_workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    issue.write_text(re.sub(r"(?m)^audience: audience.csv$", f"audience: audience.csv\nsend_at: {send_at.isoformat()}",
                            issue.read_text()))
    set_send_settings(sendgrid_workspace, batch_size=AUDIENCE, timeout=0.5, concurrency=1)
    sendgrid.faults = {2: Fault(delay=1.0),  # taken, answered after the client gave up
                       3: Fault(status=400, message="You cannot have more than 10 batches cancelled at a time")}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    time.sleep(1.0)
    assert result.code == 1, result.err
    assert len([a for a in sendgrid.attempts if "personalizations" in a.body]) == 1, "never sent again"
    assert copies(sendgrid.delivered) == {address: 1 for address in audience}
    assert status(cli)["unknown_recipients"] == AUDIENCE
