"""Upload policy for the chat UI: how many files, how big, which types, and the safe names they are stored under.

``check_uploads`` is the one check an upload goes through before it reaches the index; ``add_uploads`` hands the
accepted files, with their safe names, to ``qa.library.Library.add_files``, which reads each from where Gradio put
it and makes the one copy into the uploads folder (its doc_id rule, ``uploads/<name>``, is the library's).

Example::

    check = check_uploads(["/tmp/gradio/abc/My Report (v2).txt"])
    check.accepted  # [(PosixPath('/tmp/gradio/abc/My Report (v2).txt'), 'My_Report_v2.txt')]
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from corpus import SUPPORTED_SUFFIXES
from corpus.errors import CiteqaError

if TYPE_CHECKING:
    from qa.library import Library

logger = logging.getLogger(__name__)

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


def add_uploads(
    library: Library,
    paths: Sequence[str | Path],
    *,
    progress: Callable[[str], None] | None = None,
    hide_paths: Callable[..., str] = lambda text, *_: text,
) -> str:
    """Check ``paths`` (``check_uploads``), add the accepted files to ``library`` and say what happened, in Markdown.

    Args:
        library: the collection to add to (``QA.library``; every QA sharing its index sees the new articles).
        paths: the uploaded files, where Gradio stored them.
        progress: called with a status line when reading and when indexing start.
        hide_paths: ``hide_paths(text, *folders)`` removes server folders from a message shown to the user.
    """
    check = check_uploads(paths)
    added: list[str] = []
    skipped: list[str] = list(check.refused)
    if check.accepted:
        sources = [src for src, _ in check.accepted]
        folders = sorted({src.parent for src in sources})
        try:
            if progress:
                progress(f"Reading {len(sources)} file(s)\u2026")
            report = library.add_files(sources, progress=progress, names=[safe for _, safe in check.accepted])
        except CiteqaError as exc:
            return f"**Nothing was added.** {html.escape(hide_paths(str(exc), *folders))}"
        except OSError as exc:
            logger.warning("upload failed: %s", exc)
            return "**Nothing was added.** The uploaded files could not be stored (see the server log)."
        added = list(report.added_doc_ids)
        skipped = [html.escape(hide_paths(str(err), *folders)) for err in report.skipped] + skipped
    lines = [f"**Added {len(added)} article(s):** " + ", ".join(f"`{d}`" for d in added)] if added else []
    if skipped:
        lines.append("**Nothing was added.** Skipped:" if not added else "**Skipped:**")
        lines += [f"- {s}" for s in skipped]
    return "\n".join(lines) or "Nothing was added."
