"""The tool as a newcomer gets it: the wheel built from this checkout, installed into a fresh venv.

The fresh venv sees the test venv's third-party packages through a folder of links (a .pth
line), never its ``newsletter``: pip installs the wheel itself, offline, in seconds, and the
console script it writes is the one the tests run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import PROJECT


def run(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import fcntl
    import tempfile

    out = tmp_path_factory.mktemp("wheel")
    # Parallel test workers each build it from the same checkout, whose build/ folder they would share.
    with open(Path(tempfile.gettempdir()) / "newsletter-wheel-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(PROJECT)],
            cwd=out, env=dict(os.environ))
    return next(out.glob("newsletter-*.whl"))


def fresh_venv(folder: Path) -> dict[str, str]:
    """A venv with no newsletter in it; returns the environment a shell in it would have."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    deps = folder / "third-party"
    deps.mkdir()
    ours = re.compile(r"(?i)^(newsletter\b|__editable__|.*\.pth$)")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not ours.match(entry.name):
            (deps / entry.name).symlink_to(entry)
    site = next(folder.glob("lib/python3*/site-packages"))
    (site / "third_party.pth").write_text(f"{deps}\n")
    return {"PATH": f"{folder / 'bin'}:/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8",
            "VIRTUAL_ENV": str(folder), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}


def fill_in_placeholders(root: Path, slug: str) -> None:
    """What a newcomer edits after `init`: the settings' stand-ins and the starter issue's words."""
    settings = root / "newsletter.toml"
    text = settings.read_text(encoding="utf-8")
    text = text.replace("Your organisation, street, town, postcode, country",
                        "Riverside Allotments, 3 Mill Lane, Hebden Bridge HX7 8AB, United Kingdom")
    settings.write_text(text.replace("example.com", "riverside-allotments.org.uk"), encoding="utf-8")
    issue = root / "issues" / slug / "issue.md"
    text = issue.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^subject: ".*"$', 'subject: "Seed swap, frost dates and a new shed"', text)
    text = text.replace("One line that makes people open it", "Bring your spare seeds on Saturday; soup provided")
    text = re.sub(r"(?s)\n---\n.*\Z", "\n---\nHello {{first_name}},\n\nHere is what is happening at the plots.\n", text)
    issue.write_text(text, encoding="utf-8")
