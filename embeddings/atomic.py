"""Files of the index folder: JSON lines, fsync, the build lock, the staging folder and the atomic swap.

An index folder ``<dir>/<name>`` has siblings, all named after it::

    .<name>.lock          the build lock (flock): one build of a folder at a time, across processes
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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from embeddings.errors import RetrievalError

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
def build_lock(index_dir: Path) -> Iterator[None]:
    """Serialise builds of one folder across processes (the OS drops the lock if the holder dies)."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(sibling(index_dir, "lock"), "a+") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: builds are not serialised
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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


def staging_dir(index_dir: Path) -> Path:
    """A new, empty staging folder for this process's build of ``index_dir``."""
    tmp = sibling(index_dir, f"building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def swap_into_place(tmp: Path, index_dir: Path, *, marker: str) -> None:
    """Make ``tmp`` the index folder: fsync it, move the old folder aside, rename, then drop the old one.

    Args:
        marker: a file every index folder holds (the manifest): a non-empty folder without it is not
            replaced, in case ``index_dir`` points at someone's documents.
    """
    if index_dir.exists() and any(index_dir.iterdir()) and not (index_dir / marker).exists():
        raise RetrievalError(f"{index_dir} exists and is not a citeqa index; refusing to replace it")
    fsync(*tmp.rglob("*"), tmp)
    backup = sibling(index_dir, "old")
    if index_dir.exists():
        os.rename(index_dir, backup)
    os.rename(tmp, index_dir)
    fsync(index_dir.parent)
    shutil.rmtree(backup, ignore_errors=True)
