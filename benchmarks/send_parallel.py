"""A real send of the example issue through the ``sendgrid`` client to the loopback SendGrid
stand-in (tests/sendgrid_server.py), which takes ``--delay`` seconds to answer each request,
as SendGrid does under load. The send is a fresh ``python -m newsletter send --send --yes``
process, timed from outside; afterwards the stand-in's ``delivered`` list is checked against
the audience: no duplicate, no loss.

    python benchmarks/send_parallel.py [--recipients 1000000] [--delay 0.2] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.sendgrid_server import FakeSendGrid  # noqa: E402 (after the path is set)

API_KEY = "SG.benchmark-key-not-real"
TARGET_SECONDS = {1_000_000: 45.0}


def dry_run_benchmark():
    """benchmarks/send.py, for its workspace: loaded by path (``send`` is too common a name to import)."""
    spec = importlib.util.spec_from_file_location("send_benchmark", Path(__file__).with_name("send.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sending_workspace(root: Path, recipients: int, host: str, concurrency: int) -> list[str]:
    bench = dry_run_benchmark()
    bench.make_workspace(root, recipients)
    settings = root / "newsletter.toml"
    text = settings.read_text(encoding="utf-8").replace('provider = "outbox"', f'provider = "sendgrid"\n'
                                                        f'concurrency = {concurrency}', 1)
    settings.write_text(text + f'\n[send.sendgrid]\nhost = "{host}"\n', encoding="utf-8")
    suppressed = {f"reader.{n}@example.org" for n in range(0, recipients, 500)}
    with open(root / "issues" / bench.ISSUE / "audience.csv", encoding="utf-8") as audience:
        next(audience)
        return [line.partition(",")[0] for line in audience if line.partition(",")[0] not in suppressed]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    server = FakeSendGrid(API_KEY)
    server.delay, server.keep_bodies = args.delay, False
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            expected = sending_workspace(root, args.recipients, server.url, args.concurrency)
            env = {**os.environ, "SENDGRID_API_KEY": API_KEY, "NEWSLETTER_LOG_KEY": "benchmark-log-key"}
            env.pop("SENDGRID_API_HOST", None)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "newsletter", "send", dry_run_benchmark().ISSUE, "--send",
                                   "--yes", "--json"], cwd=root, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                sys.exit(f"send failed: {done.stderr[-2000:]}")
    finally:
        server.stop()
    delivered = Counter(server.delivered)
    duplicates = sum(1 for count in delivered.values() if count > 1)
    lost = len(set(expected) - set(delivered))
    extra = len(set(delivered) - set(expected))
    target = TARGET_SECONDS.get(args.recipients)
    verdict = f" (target ≤ {target:g} s: {'met' if elapsed <= target else 'MISSED'})" if target else ""
    print(f"recipients {args.recipients:,} ({len(expected):,} after suppressions), {len(server.attempts):,} requests, "
          f"answer delay {args.delay:g} s, concurrency {args.concurrency}")
    print(f"wall time  {elapsed:.1f} s{verdict}")
    # The send is this script's only child: its peak is the children's peak (KiB on Linux).
    print(f"peak RSS   {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB (the send process)")
    print(f"delivered  {sum(delivered.values()):,}: {duplicates} duplicated, {lost} lost, {extra} not in the audience")
    if duplicates or lost or extra:
        sys.exit(1)


if __name__ == "__main__":
    main()
