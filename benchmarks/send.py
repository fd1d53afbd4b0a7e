"""Dry-run send of the example issue to 100,000 generated recipients, as a user runs it.

Each run is a fresh ``python -m newsletter send`` process (imports, build, audience
validation, suppression list, outbox with 100 streamed requests); wall time and the process's
peak resident memory (ru_maxrss from wait4) are measured from outside.

    python benchmarks/send.py [--recipients 100000|1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
ISSUE = "2026-11-garden-notes"
# (seconds, peak MB) by audience size: a million recipients streams through in bounded memory.
TARGETS = {100_000: (3.0, 250), 1_000_000: (10.0, 300)}


def make_workspace(root: Path, recipients: int) -> None:
    settings = (PROJECT / "newsletter.toml").read_text(encoding="utf-8")
    settings = settings.replace("[send]\n", '[send]\nsuppressions = "suppressions.csv"\n', 1)
    (root / "newsletter.toml").write_text(settings, encoding="utf-8")
    shutil.copytree(PROJECT / "issues" / ISSUE, root / "issues" / ISSUE)
    domains = ["example.org", "example.com", "example.net", "mail.example.co.uk", "post.example.de"]
    with open(root / "issues" / ISSUE / "audience.csv", "w", encoding="utf-8") as audience:
        audience.write("email,first_name,last_name,city\n")
        for number in range(recipients):
            audience.write(f"reader.{number}@{domains[number % len(domains)]},Reader{number},Example,Leeds\n")
    with open(root / "suppressions.csv", "w", encoding="utf-8") as suppressions:
        suppressions.write("email\n" + "".join(f"reader.{n}@example.org\n" for n in range(0, recipients, 500)))


def run_once(root: Path) -> tuple[float, float, float, dict]:
    """Wall seconds, CPU seconds, peak resident MB and the --json report of one cold dry run."""
    shutil.rmtree(root / "outbox", ignore_errors=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "newsletter", "send", ISSUE, "--json"], cwd=root,
                                   stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory, not all children's
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            sys.exit(f"send failed: {err.read().decode()}")
        cpu = usage.ru_utime + usage.ru_stime  # less disturbed than wall time by other work on the machine
        return elapsed, cpu, usage.ru_maxrss / 1024, json.loads(out.read())  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_workspace(root, args.recipients)
        runs = [run_once(root) for _ in range(args.repeat)]
        report = runs[-1][3]
        record = Path(report["outbox"]) / "recipients.jsonl"
        seconds = [elapsed for elapsed, _, _, _ in runs]
        cpu = statistics.median(used for _, used, _, _ in runs)
        peak = max(mb for _, _, mb, _ in runs)
        print(f"recipients {args.recipients:,} ({report['recipients']:,} after {report['suppressed']:,} suppressed), "
              f"{report['batches']} batches, recipients.jsonl {record.stat().st_size / 1e6:.1f} MB")
        seconds_target, mb_target = TARGETS.get(args.recipients, TARGETS[100_000])
        median = statistics.median(seconds)
        print(f"wall time  median {median:.2f} s, max {max(seconds):.2f} s "
              f"(target < {seconds_target:g} s: {'met' if median < seconds_target else 'MISSED'})")
        print(f"CPU time   median {cpu:.2f} s (user + system)")
        print(f"peak RSS   {peak:.0f} MB (target < {mb_target} MB: {'met' if peak < mb_target else 'MISSED'})")

if __name__ == "__main__":
    main()
