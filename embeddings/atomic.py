"""Files of the index folder: JSON lines, fsync, the build lock, the staging folder and the atomic swap.

An index folder ``<dir>/<name>`` has siblings, all named after it::

    .<name>.lock          the build lock (flock, holding the builder's pid): one build of a folder at a time
    .<name>.building-PID  the staging folder a build writes before it swaps it into place
    .<name>.old           the previous index, between the two renames of a swap
    .<name>.resume        the checkpoint of an interrupted build (embeddings/checkpoint.py)

A swap fsyncs the staging folder, renames the old folder to ``.old``, renames the new one into place and
deletes the backup, so a crash at any point leaves either the old or the new index; ``recover`` finishes a
swap a crash interrupted. Processes that loaded the old index keep reading it: on POSIX, renaming and deleting
a folder does not invalidate files already open or memory-mapped from it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from embeddings.errors import IndexBusyError, NotAnIndexError

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
    with open(sibling(index_dir, "lock"), "a+") as fh:
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


def lock_holder(index_dir: Path) -> int | None:
    """The pid of the process building ``index_dir`` now (0 if it wrote none yet), or None when no build runs."""
    path = sibling(index_dir, "lock")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: builds are not serialised
        return None
    try:
        fh = open(path)
    except FileNotFoundError:
        return None
    with fh:
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


def recover(index_dir: Path, *, locked: bool = False) -> None:
    """Finish an interrupted swap: restore the backup if the index folder is missing, else drop the backup."""
    backup = sibling(index_dir, "old")
    if not backup.exists() or (not locked and index_dir.exists()):
        return  # a stale backup beside a complete index is dropped by the next build
    if not locked:
        with build_lock(index_dir):
            return recover(index_dir, locked=True)
    if index_dir.exists():
        shutil.rmtree(backup, ignore_errors=True)
    else:
        logger.warning("restoring index %s from the backup left by an interrupted build", index_dir)
        os.rename(backup, index_dir)
        fsync(index_dir.parent)


def remove_stale_temps(index_dir: Path) -> None:
    """Delete staging folders left by killed builds (safe: the caller holds the build lock)."""
    for stale in index_dir.parent.glob(f".{index_dir.name}.building-*"):
        logger.info("removing %s left by an interrupted build", stale)
        shutil.rmtree(stale, ignore_errors=True)


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
    shutil.rmtree(tmp, ignore_errors=True)
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
    if index_dir.exists():
        os.rename(index_dir, backup)
    os.rename(tmp, index_dir)
    if backup.exists():
        for name in foreign_entries(backup, names=names):
            logger.warning("keeping %s, which is not part of the index, in %s", name, index_dir)
            os.rename(backup / name, index_dir / name)
    fsync(index_dir.parent)
    shutil.rmtree(backup, ignore_errors=True)
