"""Files of the index folder: JSON lines, fsync, the build lock, the staging folder and the atomic swap.

An index folder ``<dir>/<name>`` has siblings, all named after it::

    .<name>.lock          the build lock (flock, holding the builder's pid): one build of a folder at a time
    .<name>.building-PID  the staging folder a build writes before it swaps it into place
    .<name>.old           the previous index, between the two renames of a swap
    .<name>.resume        the checkpoint of an interrupted build (embeddings/checkpoint.py)
    .<name>.*.trash-*     one of the above that could not be removed, moved aside (later builds retry)

These names are citeqa's: whatever is found there (a file where a folder belongs, a symlink, a folder left
unreadable) is removed, symlinks never followed, before citeqa writes its own (``make_room``). What cannot be
removed is moved aside under a ``trash`` name with a warning, or refused with an error naming the path.

A swap fsyncs the staging folder, renames the old folder to ``.old``, renames the new one into place and
deletes the backup, so a crash at any point leaves either the old or the new index; ``recover`` finishes a
swap a crash interrupted. Processes that loaded the old index keep reading it: on POSIX, renaming and deleting
a folder does not invalidate files already open or memory-mapped from it.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from embeddings.errors import IndexBusyError, NotAnIndexError, RetrievalError

logger = logging.getLogger(__name__)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, one per non-blank line (ValueError on anything else)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield parse_record(line, path)


def parse_record(line: str | bytes, path: Path) -> dict[str, Any]:
    """One JSON-lines record, which must be an object."""
    rec = json.loads(line)
    if not isinstance(rec, dict):
        raise ValueError(f"{path.name}: a line is not a JSON object")
    return rec


def jsonl_line(record: dict[str, Any]) -> str:
    """``record`` as one line of a JSON-lines file (newline included)."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write ``records`` one per line (consumed as they are written: a generator is never materialised)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(jsonl_line(rec) for rec in records)


def fsync(*paths: Path) -> None:
    """Flush files and folders (their entries) to stable storage."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sibling(index_dir: Path, suffix: str) -> Path:
    """The hidden sibling ``.<name>.<suffix>`` of the index folder."""
    return index_dir.parent / f".{index_dir.name}.{suffix}"


@contextmanager
def build_lock(index_dir: Path, *, wait: bool = True) -> Iterator[None]:
    """Serialise builds of one folder across processes; the holder's pid is written in the lock file.

    The lock is an ``flock``: the OS drops it when its holder dies, so a killed build never leaves a stale lock
    (the pid it wrote stays in the file, but nothing reads it unless the lock is held).

    Args:
        wait: False: raise IndexBusyError at once when another process holds the lock, instead of waiting.
    """
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with _open_lock_file(sibling(index_dir, "lock")) as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: builds are not serialised
            yield
            return
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            pid = _read_pid(fh)
            raise IndexBusyError(
                f"an index build of {index_dir} is running (pid {pid if pid is not None else 'unknown'})",
                pid=pid) from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOT_A_FILE = (errno.EISDIR, errno.ELOOP, errno.ENXIO)  # open() on a folder, a symlink (O_NOFOLLOW), a socket


def _open_lock_file(path: Path) -> IO[str]:
    """The lock file, opened for reading and writing (created if absent).

    A symlink there is never followed (the pid written into the lock would truncate what it points to); it, a
    folder, a FIFO or anything else that is not a regular file is removed and a lock file created instead.
    """
    for _ in range(3):  # another process may put its own lock file there between our removal and open
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno not in _NOT_A_FILE:
                raise
        else:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                return os.fdopen(fd, "r+", encoding="utf-8")
            os.close(fd)
        logger.warning("replacing %s, which is not a lock file, with citeqa's build lock", path)
        make_room(path)
    raise RetrievalError(f"cannot create the build lock {path}: something keeps replacing it; remove it and retry")


def lock_holder(index_dir: Path) -> int | None:
    """The pid of the process building ``index_dir`` now (0 if it wrote none yet), or None when no build runs."""
    path = sibling(index_dir, "lock")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: builds are not serialised
        return None
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in _NOT_A_FILE:
            return None  # a symlink or socket there is no lock file: no build holds it
        raise
    with os.fdopen(fd, encoding="utf-8") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # a folder or FIFO: builds replace it before they lock
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fh)
            return 0 if pid is None else pid
        fcntl.flock(fh, fcntl.LOCK_UN)
        return None


def _read_pid(fh: IO[str]) -> int | None:
    fh.seek(0)
    text = fh.read().strip()
    return int(text) if text.isdigit() else None


def recover(index_dir: Path, *, names: Sequence[str], keys: Iterable[str], locked: bool = False) -> None:
    """Finish an interrupted swap: restore the backup if the index folder is missing, else drop the backup.

    Only a backup that is a citeqa index folder (see ``check_index_folder``; never a file or a symlink) is
    restored; anything else at the backup's name is removed.
    """
    backup = sibling(index_dir, "old")
    if not os.path.lexists(backup) or (not locked and os.path.lexists(index_dir)):
        return  # a stale backup beside a complete index is dropped by the next build
    if not locked:
        with build_lock(index_dir):
            return recover(index_dir, names=names, keys=keys, locked=True)
    if not os.path.lexists(index_dir) and _is_index_folder(backup, names=names, keys=keys):
        logger.warning("restoring index %s from the backup left by an interrupted build", index_dir)
        os.rename(backup, index_dir)
        fsync(index_dir.parent)
    else:
        if not os.path.lexists(index_dir):
            logger.warning("removing %s: it is not a citeqa index folder, there is nothing to restore", backup)
        discard(backup)


def _is_index_folder(path: Path, *, names: Sequence[str], keys: Iterable[str]) -> bool:
    """Whether ``path`` is a real folder (not a symlink) that ``check_index_folder`` accepts."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return False
        check_index_folder(path, names=names, keys=keys)
    except (OSError, NotAnIndexError):
        return False
    return True


def remove_stale_temps(index_dir: Path) -> None:
    """Delete staging folders left by killed builds and what earlier builds moved aside (the caller holds the
    build lock); what still cannot be removed is left with a warning."""
    parent, name = index_dir.parent, index_dir.name
    for pattern in (f".{name}.building-*", *(f".{name}.{s}.{_TRASH}-*" for s in ("old", "resume", "lock"))):
        for stale in parent.glob(pattern):
            logger.info("removing %s left by an interrupted build", stale)
            try:
                remove_path(stale)
            except OSError as exc:
                # Retried by every build; warned about once per process (a long-running app builds many times).
                log = logger.info if stale in _warned else logger.warning
                _warned.add(stale)
                log("cannot remove %s (%s); remove it yourself", stale, exc)


_TRASH = "trash"
_warned: set[Path] = set()  # what this process already told the user it could not remove


def remove_path(path: Path) -> None:
    """Remove whatever is at ``path``: a file, a symlink (the link: what it points to is never touched), a folder
    tree. Folders of the tree that permissions keep from being listed or emptied get their owner's rwx back
    first (possible only for folders the caller owns). Nothing there is not an error.

    Raises:
        OSError: something could not be removed.
    """
    for attempt in range(3):
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return
        try:
            if stat.S_ISDIR(mode):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            return
        except FileNotFoundError:
            continue  # (part of) it vanished meanwhile: look again
        except PermissionError:
            if attempt or not stat.S_ISDIR(mode):
                raise
            _make_removable(path)
    raise OSError(errno.ENOTEMPTY, "still there after 3 attempts to remove it", str(path))


def _make_removable(folder: Path) -> None:
    """Give the owner rwx on every folder of the tree under ``folder``, top-down (a folder becomes listable
    before it is listed); symlinks are not followed, and failures are left for the removal to report."""
    todo = [str(folder)]
    while todo:
        path = todo.pop()
        try:
            mode = os.lstat(path).st_mode
            if not stat.S_ISDIR(mode):
                continue
            if mode & stat.S_IRWXU != stat.S_IRWXU:
                os.chmod(path, stat.S_IMODE(mode) | stat.S_IRWXU)
            with os.scandir(path) as entries:
                todo.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            continue


def make_room(path: Path) -> None:
    """Clear ``path``, one of citeqa's sibling names, for citeqa to create its own file or folder there.

    Whatever is there is removed (``remove_path``); what cannot be is moved aside to ``<path>.trash-<pid>-<n>``
    with a warning (later builds retry its removal).

    Raises:
        RetrievalError: it can be neither removed nor moved aside (the message names the path and the fix).
    """
    try:
        remove_path(path)
        return
    except OSError as exc:
        error = exc
    aside = path.with_name(f"{path.name}.{_TRASH}-{os.getpid()}-{time.time_ns()}")
    try:
        os.rename(path, aside)
    except OSError:
        raise RetrievalError(f"cannot remove {path}, left beside the index ({error.strerror or error}); "
                             f"remove it yourself (e.g. `rm -rf '{path}'`) and try again") from None
    _warned.add(aside)
    logger.warning("cannot remove %s (%s): moved it aside to %s; remove that yourself", path, error, aside)


def discard(path: Path) -> None:
    """``make_room``, for clean-up that must not fail the work already done: an error is only logged."""
    try:
        make_room(path)
    except RetrievalError as exc:
        logger.warning("%s", exc)


MANIFEST_LIMIT = 1 << 20  # bytes: a manifest is a few KB; a bigger one (or /dev/zero) is not one


def read_manifest_text(path: Path) -> str:
    """The text of a manifest file, read to at most ``MANIFEST_LIMIT`` bytes (ValueError beyond: not a manifest)."""
    with open(path, "rb") as fh:
        data = fh.read(MANIFEST_LIMIT + 1)
    if len(data) > MANIFEST_LIMIT:
        raise ValueError(f"{path.name} is over {MANIFEST_LIMIT} bytes")
    return data.decode("utf-8")


def is_citeqa_manifest(path: Path, *, keys: Iterable[str]) -> bool:
    """Whether ``path`` is a JSON object holding every one of ``keys`` (what citeqa writes as a manifest)."""
    try:
        manifest = json.loads(read_manifest_text(path))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and all(k in manifest for k in keys)


def foreign_entries(index_dir: Path, *, names: Iterable[str]) -> list[str]:
    """Entries of ``index_dir`` that are not among ``names`` (citeqa's own), sorted."""
    allowed = set(names)
    return sorted(p.name for p in index_dir.iterdir() if p.name not in allowed)


def check_index_folder(index_dir: Path, *, names: Sequence[str], keys: Iterable[str]) -> None:
    """Raise NotAnIndexError unless ``index_dir`` is a citeqa index folder or may become one.

    That is: absent, empty, holding a citeqa manifest (``names[0]``, a JSON object with ``keys``), or holding only
    entries named in ``names``: so a damaged index (garbage in its manifest, a file missing) still counts and a
    build can repair it, while a folder of anything else (someone's documents) is never read, replaced or deleted.
    """
    if not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise NotAnIndexError(f"{index_dir} is a file, not a citeqa index folder; citeqa will not touch it")
    foreign = foreign_entries(index_dir, names=names)
    if foreign and not is_citeqa_manifest(index_dir / names[0], keys=keys):
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise NotAnIndexError(
            f"{index_dir} is not a citeqa index (it holds {shown}); citeqa will not read, replace or delete it: "
            "choose another --index-dir")


def staging_dir(index_dir: Path) -> Path:
    """A new, empty staging folder for this process's build of ``index_dir``."""
    tmp = sibling(index_dir, f"building-{os.getpid()}")
    make_room(tmp)
    tmp.mkdir(parents=True)
    return tmp


def swap_into_place(tmp: Path, index_dir: Path, *, names: Sequence[str], keys: Iterable[str]) -> None:
    """Make ``tmp`` the index folder: fsync it, move the old folder aside, rename, then drop the old one.

    Args:
        names, keys: what an index folder holds (see ``check_index_folder``): a folder that is not one is never
            replaced, in case ``index_dir`` points at someone's documents. Entries of the old index folder that
            are not citeqa's (a note someone left there) are moved into the new one, not deleted.
    """
    check_index_folder(index_dir, names=names, keys=keys)
    fsync(*tmp.rglob("*"), tmp)
    backup = sibling(index_dir, "old")
    make_room(backup)  # a leftover there (a file, a folder that could not be removed) must not stop the rename
    replaced = os.path.lexists(index_dir)
    if replaced:
        os.rename(index_dir, backup)
    os.rename(tmp, index_dir)
    if replaced:
        for name in foreign_entries(backup, names=names):
            logger.warning("keeping %s, which is not part of the index, in %s", name, index_dir)
            os.rename(backup / name, index_dir / name)
    fsync(index_dir.parent)
    discard(backup)
