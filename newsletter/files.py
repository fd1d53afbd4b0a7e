"""Files and folders that appear whole or not at all, with the modes the user's umask asks for;
and answers worked out from workspace files, remembered on disk (``DiskMemo``)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from newsletter import __version__


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one step: a reader sees the old file or the new one, never half.
    ``mode``: the new file's permissions (default: what the umask gives), set before it is visible."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        # mkstemp makes 0600 files; a build or cache file should be as readable as any other.
        os.chmod(temporary, 0o666 & ~_umask() if mode is None else mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path, wait: float = 120.0) -> Iterator[Path]:
    """Hold an exclusive lock for a read-modify-write of ``path`` (its real file, symlinks followed).

    Two commands that both read a file, change it and write it back (``suppressions pull`` and
    ``suppressions import``; two writers of ``.env``) would each write what they read plus their
    own change, and the first one's change would be lost. The lock is ``fcntl.flock`` on
    ``.<name>.lock`` beside the real file (a file that is replaced cannot carry the lock itself);
    it is released when the block ends or the process dies. Yields the real path to write.
    """
    from newsletter.errors import InputError

    target = real_target(path)
    lock_path = target.with_name(f".{target.name}.lock")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise InputError(path, f"cannot lock it for writing ({error.strerror or error})") from None
    try:
        _hold(handle, path, lock_path.name, wait)
        yield target
    finally:
        os.close(handle)  # releases the lock


@contextmanager
def locked_folder(folder: Path, wait: float = 120.0) -> Iterator[None]:
    """An exclusive lock on ``folder`` itself (flock on the directory): no lock file appears in it."""
    from newsletter.errors import InputError

    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise InputError(folder, f"cannot lock it for writing ({error.strerror or error})") from None
    try:
        _hold(handle, folder, folder.name, wait)
        yield
    finally:
        os.close(handle)


def _hold(handle: int, path: Path, lock_name: str, wait: float) -> None:
    import fcntl
    import time

    from newsletter.errors import InputError

    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise InputError(path, f"another newsletter command has been writing it for {wait:g} s; "
                                 f"try again when it is done (lock: {lock_name})") from None
            time.sleep(0.05)


def real_target(path: Path) -> Path:
    """Where writing ``path`` must go: the file a symlink names (so the link stays a link), or an error
    for a link to nothing or to something that is not a regular file."""
    from newsletter.errors import InputError

    if not path.is_symlink():
        return path
    target = path.resolve()
    if not target.exists():
        raise InputError(path, f"is a symlink to {target}, which does not exist: create that file or remove the link")
    if not target.is_file():
        raise InputError(path, f"is a symlink to {target}, which is not a regular file; not written")
    return target


def update_file(path: Path, change: Callable[[str], str], mode: int | None = None) -> str:
    """Read ``path`` (empty when missing), write back ``change(text)`` whole, under ``locked``;
    through a symlink, never replacing it. ``mode`` sets the file's permissions (0o600 for secrets)
    before anything is written into it. Returns the new text."""
    with locked(path) as target:
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        new = change(old)
        write_atomically(target, new, mode)
    return new


@contextmanager
def replaced_whole(target: Path) -> Iterator[Path]:
    """Yield a staging folder beside ``target``; on success it replaces ``target``, on error it goes.

    The swap is one step where the system allows it (Linux ``renameat2`` with RENAME_EXCHANGE):
    a reader, or a process killed at any moment, sees the old folder or the new one, never none.
    Elsewhere it takes two renames (``target`` to ``.NAME.old``, staging to ``target``); a kill
    between them is mended by the next write, which puts ``.NAME.old`` back first. The writer
    holds a lock on the parent folder throughout, so staging folders found beside the target belong to dead
    processes and are removed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked_folder(target.parent):  # every writer of a folder in it holds this; no lock file is left
        old = target.with_name(f".{target.name}.old")
        _mend(target, old)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{STAGING}", dir=target.parent))
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700 folders: a web server could not read a build
        try:
            yield staging
            if not target.exists():
                staging.rename(target)
            elif exchange(staging, target):
                shutil.rmtree(staging, ignore_errors=True)  # it holds the old folder now
            else:
                target.rename(old)
                staging.rename(target)
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


STAGING = "staging-"


def _mend(target: Path, old: Path) -> None:
    """Undo what a writer killed mid-swap left: the old folder back if the target is gone, no strays."""
    if old.is_dir() and not target.exists():
        old.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    for stray in target.parent.glob(f".{glob_escape(target.name)}.{STAGING}*"):
        if stray.is_dir() and not stray.is_symlink():
            shutil.rmtree(stray, ignore_errors=True)


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    import ctypes
    import errno
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a C library older than glibc 2.28
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(error, os.strerror(error), str(second))


# Results worked out from workspace files, remembered on disk across processes.
#
# Every command starts a fresh process, and some answers cost more than the work they feed:
# ruamel.yaml takes longer to load and read an issue's front matter than MJML takes to compile
# the email, and email-validator longer to load than the whole render. What such a step
# concludes depends only on its input and on this program, so the answer is stored under a
# hash of both and read back while neither changes.
#
# The program counts as changed when its version does or when any of its modules does (an
# editable install edited in place), so no stale answer survives an upgrade or a code change.
# Records are JSON: anyone who can write to the workspace can write to the cache, and reading
# it must never run code (no pickle).

CACHE_ROOT = ".cache"  # in the workspace; `init` puts it in .gitignore


@functools.cache
def code_stamp(package: str | os.PathLike = os.path.dirname(__file__)) -> str:
    """The version, and the size and modification time of each module of the package."""
    facts = [__version__]
    for folder, _, names in sorted(os.walk(package)):  # os.walk takes half the time of pathlib's rglob
        for name in sorted(names):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                facts.append(f"{os.path.relpath(folder, package)}/{name}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(facts).encode("utf-8")).hexdigest()[:16]


def memo_key(*parts: str | bytes) -> str:
    """A file-name-safe hash of the program and ``parts`` (a text, or the bytes it was read from)."""
    digest = hashlib.sha256(code_stamp().encode())
    for part in parts:
        digest.update(b"\0" + (part.encode("utf-8") if isinstance(part, str) else part))
    return digest.hexdigest()[:40]


class DiskMemo:
    """JSON records in ``folder`` (``None``: remember nothing), each named by a ``memo_key``."""

    def __init__(self, folder: Path | None, refresh: bool = False) -> None:
        self.folder = folder
        self.refresh = refresh  # read nothing (what is worked out is still written back)

    def load(self, name: str) -> Any | None:
        if self.folder is None or self.refresh:
            return None
        try:
            return json.loads((self.folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def store(self, name: str, record: Any) -> None:
        """Best effort: a read-only workspace still builds, it is only slower next time."""
        if self.folder is None:
            return
        try:
            write_atomically(self.folder / name, json.dumps(record, ensure_ascii=False))
        except OSError:
            pass
