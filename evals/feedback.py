"""Thumbs up/down on answers: the feedback file's one format, its one writer and its one reader.

The chat UI writes it (``record_feedback``); ``citeqa eval feedback`` reads it (``read_feedback``) and turns the
thumbs-down lines into draft eval cases (``evals.importers.feedback_drafts``). It lives in evals/ because ui/ may
import evals/, not the reverse.

One line per verdict::

    {"time": "2025-01-01T12:00:00+00:00", "verdict": "up"|"down", "comment": "...",
     "question": "...", "history": [{"role": ..., "content": ...}], "answer": "...",
     "citations": [{"n": 1, "doc_id": ..., "title": ..., "start": ..., "end": ..., "quote": ..., "supported": ...}],
     "refused": false, "query": "...", "backend": "extractive"}
"""

from __future__ import annotations

import json
import logging
import threading
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
    """One question and its answer as the feedback record needs them (plain text, no HTML)."""

    question: str
    history: list[dict[str, str]]
    answer: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    refused: bool = False
    query: str = ""
    backend: str = ""
    error: str | None = None

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
    """Append one feedback line to ``path`` (created with its folder if missing) and return the record.

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
    # One write of a whole line under a lock: concurrent sessions never interleave partial lines.
    with _lock, path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    logger.info("feedback %s recorded in %s", verdict, path)
    return record


def read_feedback(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The records of a feedback file and how many lines could not be read (e.g. cut by a crash).

    Raises:
        OSError: the file cannot be read.
    """
    records, bad = [], 0
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            bad += 1
    return records, bad
