"""Eval sets: JSON Lines files of questions with gold answers, source articles and verbatim evidence.

One question per line (see DESIGN.md, "Eval set format")::

    {"id": "q001", "question": "...", "answers": ["gold", "variant"], "doc": "a.txt" | ["a.txt", "b.txt"] | null,
     "evidence": ["exact quote", ...], "type": "factoid", "history": [{"role": "user", "content": "..."}, ...]}

``answers: []`` with ``doc: null`` marks a question the articles cannot answer (the right behaviour is to
refuse). ``history`` holds the earlier turns of a follow-up question.

``load_eval_set`` checks the shape of every line and reports all problems at once, each naming the file
and line. ``validate_against_corpus`` checks the set against the articles: every doc exists and every
evidence quote is an exact substring of the text of one of its docs.

Example:
    >>> items = load_eval_set(SETS_DIR / "seed_dev.jsonl")
    >>> problems = validate_against_corpus(items, {a.doc_id: a.text for a in articles})
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.errors import EvalSetError

logger = logging.getLogger(__name__)

SETS_DIR = Path(__file__).resolve().parent / "sets"

QUESTION_TYPES: tuple[str, ...] = (
    "factoid",
    "numeric",
    "date",
    "why/explanation",
    "comparison",
    "multi-doc",
    "unanswerable",
    "follow-up",
)
ROLES: tuple[str, ...] = ("user", "assistant")

_REQUIRED_KEYS = ("id", "question", "answers", "doc", "evidence", "type")
_OPTIONAL_KEYS = ("history",)
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Turn:
    """One earlier turn of a conversation."""

    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True)
class EvalItem:
    """One question of an eval set.

    Attributes:
        id: unique within its set, e.g. ``q001``.
        question: the question as the user asks it (for a follow-up: the last turn only).
        answers: short gold answers and their variants; empty when the articles cannot answer.
        doc: the article holding the answer, a tuple of articles when it needs several, None when none does.
        evidence: verbatim quotes from the article text that contain the answer.
        type: one of ``QUESTION_TYPES``.
        history: earlier turns, oldest first; empty unless the question is a follow-up.
        line: 1-based line number in the file it was loaded from (0 when built in code).
    """

    id: str
    question: str
    answers: tuple[str, ...]
    doc: str | tuple[str, ...] | None
    evidence: tuple[str, ...]
    type: str
    history: tuple[Turn, ...] = ()
    line: int = 0

    @property
    def docs(self) -> tuple[str, ...]:
        """The gold documents as a tuple (empty for an unanswerable question)."""
        if self.doc is None:
            return ()
        return (self.doc,) if isinstance(self.doc, str) else self.doc

    @property
    def answerable(self) -> bool:
        """False when the right behaviour is to refuse."""
        return bool(self.answers)

    def history_messages(self) -> list[dict[str, str]]:
        """The history in the ``[{"role": ..., "content": ...}]`` form that ``qa.answer`` takes."""
        return [{"role": t.role, "content": t.content} for t in self.history]

    def to_dict(self) -> dict[str, Any]:
        """The item in the file format (``line`` left out; ``history`` only when present)."""
        d = asdict(self)
        d.pop("line")
        d["answers"] = list(self.answers)
        d["evidence"] = list(self.evidence)
        d["doc"] = list(self.doc) if isinstance(self.doc, tuple) else self.doc
        if self.history:
            d["history"] = self.history_messages()
        else:
            d.pop("history")
        return d


def load_eval_set(path: str | Path) -> list[EvalItem]:
    """Read and validate an eval set in JSON Lines format.

    Blank lines are ignored. Every line is checked; all problems are reported together.

    Args:
        path: the ``.jsonl`` file.

    Returns:
        The items in file order.

    Raises:
        EvalSetError: the file cannot be read, or a line is not valid JSON or breaks the format
            (missing or unknown keys, wrong types, unknown ``type``, answers/doc/evidence that
            contradict each other, a malformed ``history``, a duplicate ``id``). The message names
            the file, the line number and the problem.

    Example:
        >>> items = load_eval_set("evals/sets/seed_dev.jsonl")
        >>> items[0].question
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalSetError(path, [(0, f"cannot read file: {exc}")]) from exc

    items: list[EvalItem] = []
    problems: list[tuple[int, str]] = []
    seen_ids: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append((lineno, f"bad JSON: {exc.msg} (column {exc.colno})"))
            continue
        line_problems = _check_line(obj)
        if line_problems:
            problems.extend((lineno, p) for p in line_problems)
            continue
        if obj["id"] in seen_ids:
            problems.append((lineno, f"duplicate id {obj['id']!r} (first on line {seen_ids[obj['id']]})"))
            continue
        seen_ids[obj["id"]] = lineno
        items.append(_to_item(obj, lineno))

    if problems:
        raise EvalSetError(path, problems)
    if not items:
        raise EvalSetError(path, [(0, "no questions in file")])
    logger.debug("loaded %s questions from %s", len(items), path)
    return items


def validate_against_corpus(items: Iterable[EvalItem], articles: Mapping[str, str]) -> list[str]:
    """Check an eval set against the articles it is about.

    Checks that every doc is a known ``doc_id``, that every evidence quote is an exact substring of the
    text of one of the item's docs, and that every doc of the item has at least one evidence quote.
    Use the cleaned article text (what the index stores): citations point into it.

    Args:
        items: the eval set.
        articles: ``doc_id`` → article text.

    Returns:
        Human-readable problems, one per line, e.g. ``"q007 (line 7): evidence not found in ...: '...'"``;
        empty when the set is consistent with the corpus.
    """
    problems: list[str] = []
    for item in items:
        where = f"{item.id} (line {item.line})" if item.line else item.id
        known = [d for d in item.docs if d in articles]
        for d in item.docs:
            if d not in articles:
                problems.append(f"{where}: unknown doc {d!r}")
        covered: set[str] = set()
        missing = 0
        for quote in item.evidence:
            found = [d for d in known if quote in articles[d]]
            covered.update(found)
            if found or not known:
                continue
            missing += 1
            hint = ""
            if any(_squash(quote) in _squash(articles[d]) for d in known):
                hint = " (it matches only after collapsing whitespace: check for no-break spaces or line breaks)"
            problems.append(f"{where}: evidence not found in {', '.join(known)}{hint}: {_preview(quote)}")
        # A doc left uncovered because its quote is missing is already reported above.
        for d in known if not missing else ():
            if d not in covered:
                problems.append(f"{where}: doc {d!r} has no evidence quote")
    return problems


def _check_line(obj: Any) -> list[str]:
    """Shape problems of one parsed line (empty when it is well formed)."""
    if not isinstance(obj, dict):
        return [f"expected a JSON object, got {type(obj).__name__}"]
    problems: list[str] = []
    missing = [k for k in _REQUIRED_KEYS if k not in obj]
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    unknown = sorted(set(obj) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        problems.append(f"unknown keys: {', '.join(unknown)}")
    if missing:
        return problems

    for key in ("id", "question"):
        if not _is_text(obj[key]):
            problems.append(f"{key!r} must be a non-empty string")
    if obj["type"] not in QUESTION_TYPES:
        problems.append(f"unknown type {obj['type']!r} (expected one of: {', '.join(QUESTION_TYPES)})")
    for key in ("answers", "evidence"):
        if not isinstance(obj[key], list) or not all(_is_text(x) for x in obj[key]):
            problems.append(f"{key!r} must be a list of non-empty strings")
    doc = obj["doc"]
    doc_ok = doc is None or _is_text(doc) or (
        isinstance(doc, list) and len(doc) >= 1 and all(_is_text(d) for d in doc) and len(set(doc)) == len(doc))
    if not doc_ok:
        problems.append("'doc' must be a file name, a list of distinct file names, or null")
    if "history" in obj:
        problems.extend(_check_history(obj["history"]))
    if problems:
        return problems

    answers, evidence = obj["answers"], obj["evidence"]
    if not answers and doc is not None:
        problems.append("'answers' is empty but 'doc' is set: an unanswerable question needs \"doc\": null")
    if answers and doc is None:
        problems.append("'doc' is null but 'answers' is not empty: an answerable question needs its doc")
    if doc is None and evidence:
        problems.append("'evidence' must be empty when 'doc' is null")
    if answers and not evidence:
        problems.append("an answerable question needs at least one 'evidence' quote")
    if obj["type"] == "unanswerable" and answers:
        problems.append("type 'unanswerable' needs \"answers\": []")
    if obj["type"] == "multi-doc" and not (isinstance(doc, list) and len(doc) >= 2):
        problems.append("type 'multi-doc' needs 'doc' to list at least two files")
    if obj["type"] == "follow-up" and not obj.get("history"):
        problems.append("type 'follow-up' needs a 'history'")
    return problems


def _check_history(history: Any) -> list[str]:
    """History must alternate user/assistant turns, starting with the user and ending with the assistant."""
    if not isinstance(history, list) or not history:
        return ["'history' must be a non-empty list of turns"]
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or set(turn) != {"role", "content"}:
            return [f"history turn {i} must be an object with exactly 'role' and 'content'"]
        if turn["role"] not in ROLES:
            return [f"history turn {i} has unknown role {turn['role']!r} (expected 'user' or 'assistant')"]
        if not _is_text(turn["content"]):
            return [f"history turn {i} must have non-empty string 'content'"]
        expected = ROLES[i % 2]
        if turn["role"] != expected:
            return [f"history turn {i} should be {expected!r}: turns alternate, starting with 'user'"]
    if history[-1]["role"] != "assistant":
        return ["history must end with an 'assistant' turn (the question itself is the next user turn)"]
    return []


def _to_item(obj: dict[str, Any], line: int) -> EvalItem:
    doc = obj["doc"]
    return EvalItem(
        id=obj["id"],
        question=obj["question"],
        answers=tuple(obj["answers"]),
        doc=tuple(doc) if isinstance(doc, list) else doc,
        evidence=tuple(obj["evidence"]),
        type=obj["type"],
        history=tuple(Turn(role=t["role"], content=t["content"]) for t in obj.get("history", [])),
        line=line,
    )


def _is_text(x: Any) -> bool:
    return isinstance(x, str) and bool(x.strip())


def _squash(s: str) -> str:
    return _WS.sub(" ", s).strip()


def _preview(s: str, limit: int = 80) -> str:
    return repr(s if len(s) <= limit else s[: limit - 1] + "…")
