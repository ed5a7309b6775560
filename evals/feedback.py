"""Thumbs up/down on answers: the feedback file's one format, its one writer and its one reader.

The chat UI writes it (``record_feedback``); ``citeqa eval feedback`` reads it (``read_feedback``) and turns the
thumbs-down lines into draft eval cases (``evals.importers.feedback_drafts``). It lives in evals/ because ui/ may
import evals/, not the reverse.

One line per answer: a new vote on the same answer (same ``answer_id``) replaces its line, so the latest vote
wins and the file never holds two contradicting verdicts on one answer. The file is rewritten whole through a
temporary file and an atomic rename: a crash leaves the old file or the new one, never half of one::

    {"time": "2025-01-01T12:00:00+00:00", "verdict": "up"|"down", "comment": "...", "answer_id": "9f2c…",
     "question": "...", "history": [{"role": ..., "content": ...}], "answer": "...",
     "citations": [{"n": 1, "doc_id": ..., "title": ..., "start": ..., "end": ..., "quote": ..., "supported": ...}],
     "refused": false, "query": "...", "backend": "extractive"}
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import uuid
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from qa.config import Settings, data_dir

logger = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"
MAX_COMMENT_CHARS = 2000

Verdict = Literal["up", "down"]

_lock = threading.Lock()


def feedback_path(settings: Settings) -> Path:
    """Where feedback is appended: ``feedback.jsonl`` in the data dir, beside the default index folder.

    With a custom index folder the file sits next to that folder, so feedback stays with the collection it
    is about; never inside it, because index rebuilds replace the folder.
    """
    if settings.index.dir is not None:
        return Path(settings.index.dir).expanduser().resolve().parent / FEEDBACK_FILE
    return data_dir() / FEEDBACK_FILE


@dataclass(frozen=True)
class Turn:
    """One question and its answer as the feedback record needs them (plain text, no HTML).

    ``answer_id`` names this answer in the feedback file: votes on the same answer replace each other.
    """

    question: str
    history: list[dict[str, str]]
    answer: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    refused: bool = False
    query: str = ""
    backend: str = ""
    error: str | None = None
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def from_answer(cls, question: str, history: list[dict[str, str]], answer: Any) -> Turn:
        """Build from a ``qa.Answer`` (any object with its attributes)."""
        cites = [asdict(c) if is_dataclass(c) and not isinstance(c, type) else dict(c) for c in answer.citations]
        return cls(
            question=question,
            history=[dict(m) for m in history],
            answer=answer.text,
            citations=cites,
            refused=bool(answer.refused),
            query=answer.query,
            backend=answer.backend,
        )


def record_feedback(path: Path, turn: Turn, verdict: Verdict, comment: str = "") -> dict[str, Any]:
    """Record a vote on ``turn`` in ``path`` (created with its folder if missing) and return the record.

    The line of an earlier vote on the same answer (same ``answer_id``) is replaced; other lines, including ones
    that cannot be parsed, are kept as they are. The file is replaced atomically.

    Raises:
        ValueError: the verdict is not "up" or "down".
    """
    if verdict not in ("up", "down"):
        raise ValueError(f"verdict must be 'up' or 'down', not {verdict!r}")
    record: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "verdict": verdict,
        "comment": comment.strip()[:MAX_COMMENT_CHARS],
        **asdict(turn),
    }
    line = json.dumps(record, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Read, replace and rename under a lock: concurrent sessions of this server never lose each other's votes.
    with _lock:
        try:
            old = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            old = []
        kept = [x for x in old if x.strip() and _answer_id(x) != turn.answer_id]
        _write_atomically(path, "".join(x + "\n" for x in [*kept, line]))
    logger.info("feedback %s recorded in %s", verdict, path)
    return record


def _answer_id(line: str) -> str | None:
    """The ``answer_id`` of a feedback line; None for lines without one or that cannot be parsed."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    value = obj.get("answer_id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) and value else None


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a temporary file in the same folder, flushed to disk, then renamed."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_feedback(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The records of a feedback file and how many lines could not be read (e.g. cut by a crash).

    One record per answer: where a file holds several votes on one ``answer_id`` (written by an older version
    that appended), the latest line wins, in the place of the first.

    Raises:
        OSError: the file cannot be read.
    """
    records: list[dict[str, Any]] = []
    bad = 0
    where: dict[str, int] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if not isinstance(obj, dict):
            bad += 1
            continue
        answer_id = obj.get("answer_id")
        if isinstance(answer_id, str) and answer_id in where:
            records[where[answer_id]] = obj
            continue
        if isinstance(answer_id, str) and answer_id:
            where[answer_id] = len(records)
        records.append(obj)
    return records, bad
