"""Upload policy for the chat UI: how many files, how big, which types, and the safe names they are stored under.

``check_uploads`` is the one check an upload goes through before it reaches the index (``ChatUI.add_uploads``).

Example::

    check = check_uploads(["/tmp/gradio/abc/My Report (v2).txt"])
    check.accepted  # [(PosixPath('/tmp/gradio/abc/My Report (v2).txt'), 'My_Report_v2.txt')]
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus import SUPPORTED_SUFFIXES

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_FILES = 20
UPLOAD_SUFFIXES: tuple[str, ...] = SUPPORTED_SUFFIXES


def sanitize_filename(name: str, *, max_len: int = 100) -> str:
    """A safe base name for an uploaded file: no folders, no hidden files, only [A-Za-z0-9._-].

    >>> sanitize_filename("../../etc/passwd.txt")
    'passwd.txt'
    """
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-") or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    stem = stem[: max_len - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


@dataclass(frozen=True)
class UploadCheck:
    """Files accepted for indexing (original path, safe name) and the messages for the refused ones."""

    accepted: list[tuple[Path, str]]
    refused: list[str]


def check_uploads(
    paths: Sequence[str | Path], *, max_bytes: int = MAX_UPLOAD_BYTES, max_files: int = MAX_UPLOAD_FILES
) -> UploadCheck:
    """Apply the upload limits (count, size, type) and give every accepted file a unique safe name."""
    accepted: list[tuple[Path, str]] = []
    refused: list[str] = []
    if len(paths) > max_files:
        refused.append(f"{len(paths)} files at once is too many; the limit is {max_files}. Nothing was added.")
        return UploadCheck([], refused)
    taken: set[str] = set()
    for raw in paths:
        p = Path(raw)
        safe = sanitize_filename(p.name)
        shown = html.escape(p.name)
        if not safe.lower().endswith(UPLOAD_SUFFIXES):
            refused.append(f"{shown}: unsupported file type; use {', '.join(UPLOAD_SUFFIXES)}.")
            continue
        try:
            size = p.stat().st_size
        except OSError:
            refused.append(f"{shown}: the upload could not be read.")
            continue
        if size > max_bytes:
            refused.append(f"{shown}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit.")
            continue
        if size == 0:
            refused.append(f"{shown}: the file is empty.")
            continue
        stem, _, suffix = safe.rpartition(".")
        unique, i = safe, 2
        while unique.lower() in taken:
            unique, i = f"{stem}-{i}.{suffix}", i + 1
        taken.add(unique.lower())
        accepted.append((p, unique))
    return UploadCheck(accepted, refused)
