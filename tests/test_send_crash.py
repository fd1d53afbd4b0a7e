"""Kill the sending process (SIGKILL) at random points; every recipient still gets exactly one
copy, apart from the batches the send log reports as unknown, which get at most one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from newsletter.compose.sendlog import LogState, SendLog, read_log
from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import FAKE_KEY, copies, issue_folder, log_key, set_send_settings, write_audience
from tests.sendgrid_server import FakeSendGrid, Fault

RECIPIENTS = 600
BATCH = 3  # 200 batches per full send: work left for every kill to land in


def start_send(workspace: Path, *options: str) -> subprocess.Popen:
    return start_process(workspace, {"SENDGRID_API_KEY": FAKE_KEY}, *options)


def start_process(workspace: Path, secrets: dict[str, str], *options: str) -> subprocess.Popen:
    """``newsletter send ISSUE --send --yes`` in its own process, with ``secrets`` and no host override."""
    env = {**os.environ, **secrets}
    for name in ("SENDGRID_API_HOST", "RESEND_API_HOST"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "newsletter", "send", EXAMPLE_ISSUE, "--send", "--yes", *options],
                            cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def arm_log_kill(process: subprocess.Popen, log: Path, batches: int) -> None:
    """Kill ``process`` right after the log confirmed ``batches`` more batches."""
    target = log_lines(log, "batch-sent") + batches
    threading.Thread(target=kill_when, args=(process, lambda: log_lines(log, "batch-sent") >= target),
                     daemon=True).start()


def kill(process: subprocess.Popen) -> None:
    try:
        os.kill(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def arm(mode: str, process: subprocess.Popen, server, log: Path, rng: random.Random, fault=Fault,
        requests: int = 5, batches: int = 4, delay: float = 0.4) -> None:
    """Arrange for ``process`` to be killed at a point chosen by ``mode`` and ``rng``: within the next
    ``requests`` requests to ``server`` (a stand-in whose Fault class is ``fault``), after the next
    ``batches`` logged batches, or up to ``delay`` seconds after its next request."""
    if mode in ("request-taken", "request-lost"):
        # Dies while a request is out: the provider took it (or never got it); no answer comes back.
        server.faults = {server.counter + rng.randint(1, requests): fault(before=lambda: kill(process),
                                                                           deliver=mode == "request-taken",
                                                                           answer=False)}
    elif mode == "after-batch":
        # Dies right after the log confirmed some batch: between batches, or writing the next start.
        arm_log_kill(process, log, rng.randint(1, batches))
    else:  # "timer": anywhere, including the middle of a log write
        # Counted from the first request, not from the start: with batches in parallel a whole
        # send takes about a second, and a slow start-up must not let it finish first.
        first = server.counter + 1
        wait = rng.uniform(0.0, delay)

        def kill_later() -> None:
            while process.poll() is None and server.counter < first:
                time.sleep(0.001)
            time.sleep(wait)
            kill(process)

        threading.Thread(target=kill_later, daemon=True).start()


def chaos(rng: random.Random, slow: float, make=Fault):
    """Now and then a request answered after the client gave up, or cut off after the provider took
    it (or before it did). ``make``: the stand-in's Fault class (Resend's, SendGrid's)."""
    lock = threading.Lock()

    def fault(number: int):
        with lock:
            roll = rng.random()
        if roll < 0.04:
            return make(delay=slow)
        if roll < 0.08:
            return make(answer=False)
        if roll < 0.10:
            return make(deliver=False, answer=False)
        return None

    return fault


KILL_MODES = ["request-taken", "request-lost", "after-batch", "timer"]


def kill_at_random_points(server, workspace: Path, secrets: dict[str, str], readers: list[str], kills: int,
                          rng: random.Random, **arm_options) -> list[str]:
    """Start the send ``kills`` times, each killed at a random point (``arm``), the log's invariants
    checked after each; the modes whose kill landed mid-send."""
    log = issue_folder(workspace) / "send-log.jsonl"
    modes = KILL_MODES * (kills // len(KILL_MODES))
    rng.shuffle(modes)
    killed = []
    for mode in modes:
        process = start_process(workspace, secrets)
        arm(mode, process, server, log, rng, **arm_options)
        process.communicate(timeout=120)
        server.faults = {}
        if process.returncode == -signal.SIGKILL:
            killed.append(mode)
        check_invariants(read_log(log, log_key(workspace)), server.delivered, readers)
    return killed


def resume_until_done(server, workspace: Path, secrets: dict[str, str], readers: list[str],
                      tries: int) -> tuple[int, str, LogState]:
    """Run the send again until it completes (at most ``tries`` times), the invariants checked after
    each: (its exit code, its stderr, the log's state)."""
    log = issue_folder(workspace) / "send-log.jsonl"
    for _ in range(tries):
        final = start_process(workspace, secrets)
        _, err = final.communicate(timeout=300)
        state = read_log(log, log_key(workspace))
        check_invariants(state, server.delivered, readers)
        if final.returncode == 0 and state.complete:
            break
    return final.returncode, err, state


def log_lines(log: Path, event: str) -> int:
    try:
        return log.read_text().count(f'"event": "{event}"')
    except FileNotFoundError:
        return 0


def kill_when(process: subprocess.Popen, condition) -> None:
    while process.poll() is None:
        if condition():
            kill(process)
            return
        time.sleep(0.001)


def check_invariants(state: LogState, delivered: list[str], audience: list[str]) -> None:
    """Over recipient ids: the log holds no address."""
    got = copies(state.id(address) for address in delivered)
    audience = [state.id(address) for address in audience]
    unknown = state.unknown_addresses
    assert max(got.values(), default=0) <= 1, "someone got two copies"
    assert state.sent <= set(got), "the log confirms a batch that was not delivered"
    assert set(got) <= state.sent | unknown, "a delivery the log does not know about"
    assert not state.sent & unknown and (state.sent | unknown) <= set(audience)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 2026])
def test_killed_at_random_points_no_one_gets_two_copies(workspace: Path, sendgrid: FakeSendGrid, seed: int) -> None:
    set_send_settings(workspace, provider="sendgrid", sendgrid={"host": sendgrid.url}, batch_size=BATCH,
                      max_backoff=0.01, timeout=5)
    audience = write_audience(issue_folder(workspace) / "audience.csv", RECIPIENTS)
    sendgrid.delay = 0.02
    log = issue_folder(workspace) / "send-log.jsonl"
    rng = random.Random(seed)
    modes = ["request-taken", "request-lost", "after-batch", "timer", "request-taken", "after-batch", "request-lost"]
    killed = []
    for mode in modes:
        process = start_send(workspace)
        arm(mode, process, sendgrid, log, rng)
        _, err = process.communicate(timeout=60)
        sendgrid.faults = {}
        if process.returncode == -signal.SIGKILL:
            killed.append(mode)
        else:
            assert process.returncode == 0, err
        check_invariants(read_log(log, log_key(workspace)), sendgrid.delivered, audience)
    assert len(killed) >= 5, killed  # the kills landed mid-send, not after it had finished

    final = start_send(workspace)
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err
    state = read_log(log, log_key(workspace))
    check_invariants(state, sendgrid.delivered, audience)
    assert state.sent | state.unknown_addresses == {state.id(a) for a in audience}, "someone was never sent it"
    got = copies(state.id(a) for a in sendgrid.delivered)
    for batch in state.unknown:
        assert f"Held back batch {batch.id}" in err  # named, not silently resent
    # Both fates occurred and both were held back: taken by SendGrid, and lost on the way.
    assert any(all(got[a] == 1 for a in batch.to) for batch in state.unknown)
    assert any(all(got[a] == 0 for a in batch.to) for batch in state.unknown)
    assert {k: v for k, v in got.items() if k not in state.unknown_addresses} == {a: 1 for a in state.sent}


def test_a_line_torn_by_a_crash_counts_as_never_written(tmp_path: Path) -> None:
    from newsletter.compose.audience import Batch, Recipient

    path = tmp_path / "send-log.jsonl"
    batch = Batch("1.1", [Recipient("a@example.org"), Recipient("b@example.org")])
    with SendLog.locked(path) as log:
        log.run_started(1, "sendgrid", "audience.csv", 2, 1)
        log.batch_started(batch, "sendgrid")
    with path.open("a") as file:
        file.write('{"at": "2026-11-27T07:00:01Z", "event": "batch-se')  # killed mid-write
    state = read_log(path)
    assert state.sent == set() and [b.id for b in state.unknown] == ["1.1"]
    with SendLog.locked(path) as log:  # the next run cuts the torn line before appending
        log.batch_sent(batch, "202")
    assert read_log(path).sent == {"a@example.org", "b@example.org"}
    assert all(line.startswith('{"at"') for line in path.read_text().splitlines())


def test_a_second_send_of_the_same_issue_is_locked_out(tmp_path: Path) -> None:
    path = tmp_path / "send-log.jsonl"
    with SendLog.locked(path):
        code = ("import sys; from pathlib import Path; from newsletter.compose.sendlog import SendLog\n"
                "try:\n    SendLog.locked(Path(sys.argv[1])).__enter__()\n"
                "except Exception as error:\n    print(error)\n")
        other = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=30)
    assert "another 'newsletter send' is sending this issue" in other.stdout
    with SendLog.locked(path):  # released when the first one finished
        pass
