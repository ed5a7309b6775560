"""Prompts for the LLM generator, as module constants, and the functions that fill them.

Two prompts:

- ``ANSWER_SYSTEM_PROMPT``: answer only from numbered passages ``[1]..[k]`` and cite one after every
  sentence; refuse with ``CANNOT_ANSWER_PHRASE`` when the passages do not hold the answer.
- ``REWRITE_SYSTEM_PROMPT``: turn a follow-up question into a standalone search query.

Prompts are sized for small context windows (the test model has 2,048 tokens): history keeps the last
``HISTORY_TURNS`` turns, each message truncated, and the passages fill what is left of a character
budget. Passages that do not fit are dropped from the end, so ``[n]`` always means ``hits[n - 1]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

from embeddings.types import Hit

logger = logging.getLogger(__name__)

CANNOT_ANSWER_PHRASE = "The articles don't say"

# ~4-5 characters per token for English news text (SmolLM2: 7,563 chars = 1,522 tokens): 5,000 / 4 = 1,250
# tokens, which leaves room for the chat template and a 512-token answer in a 2,048-token context (llama.cpp
# rejects prompt + max_tokens > n_ctx with HTTP 400). Raise it for models with larger windows.
DEFAULT_CHAR_BUDGET = 5000
HISTORY_TURNS = 3
HISTORY_MESSAGE_CHARS = 300
# A passage cut shorter than this is more noise than evidence: drop it instead.
MIN_PASSAGE_CHARS = 200
ELLIPSIS = "…"

ANSWER_SYSTEM_PROMPT = f"""\
You answer questions using only the numbered passages from news articles given by the user.
Rules:
- Use only facts stated in the passages. Never use outside knowledge.
- Put the passage number in brackets, like [1] or [2], after every sentence you write.
- If the passages do not contain the answer, reply exactly "{CANNOT_ANSWER_PHRASE}" followed by what \
is missing, e.g. "{CANNOT_ANSWER_PHRASE} when the summit took place."
- If passages from different articles disagree about what was asked, say that they disagree and give \
each side with its own citation.
- Be concise: at most a few sentences."""

REWRITE_SYSTEM_PROMPT = """\
Rewrite the user's last question as a standalone search query, using the conversation to resolve words \
like "he", "it", "they" or "that visit". Keep names, places and dates. Reply with the query only: \
no explanation, no quotes."""

_MARKER_RE = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_ROLES = ("user", "assistant")


def build_answer_messages(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[Mapping[str, str]] | None = None,
    *,
    char_budget: int = DEFAULT_CHAR_BUDGET,
    dates: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """Build the chat messages that ask the model to answer ``question`` from ``hits`` with citations.

    Args:
        question: the user's question, as asked.
        hits: retrieved chunks in rank order; passage ``[n]`` is ``hits[n - 1]``.
        history: earlier chat turns (``{"role": "user"|"assistant", "content": ...}``); only the last
            ``HISTORY_TURNS`` turns are kept, each message truncated to ``HISTORY_MESSAGE_CHARS``.
        char_budget: the most characters all message contents may add up to. The system prompt and the
            question always go in; history and then passages share what is left.
        dates: optional ``doc_id -> date`` (ISO 8601) shown beside each passage's title.

    Returns:
        ``[system, *history, user]`` messages for a chat completion.

    Example::

        messages = build_answer_messages("Where did Macron receive Putin?", hits)
    """
    system = {"role": "system", "content": ANSWER_SYSTEM_PROMPT}
    question = question.strip()
    tail = f"\n\nQuestion: {question}"
    header = "Passages:\n"
    room = char_budget - len(ANSWER_SYSTEM_PROMPT) - len(tail) - len(header)
    past = _trim_history(history, room // 3)
    room -= sum(len(m["content"]) for m in past)
    passages = _format_passages(hits, room, dates or {})
    if len(passages) < len(hits):
        logger.debug("char budget %s kept %s of %s passages", char_budget, len(passages), len(hits))
    body = "\n\n".join(passages) if passages else "(no passages)"
    user = {"role": "user", "content": header + body + tail}
    return [system, *past, user]


def build_rewrite_messages(
    question: str,
    history: Sequence[Mapping[str, str]] | None,
    *,
    char_budget: int = DEFAULT_CHAR_BUDGET,
) -> list[dict[str, str]]:
    """Build the chat messages that ask the model to rewrite a follow-up as a standalone search query.

    The conversation goes into one user message as a transcript (not as chat turns), so the model
    rewrites the question instead of answering it.

    Args:
        question: the follow-up question.
        history: earlier chat turns; the last ``HISTORY_TURNS`` turns are kept, truncated.
        char_budget: the most characters all message contents may add up to.

    Returns:
        ``[system, user]`` messages.
    """
    question = question.strip()
    tail = f"\n\nLast question: {question}\n\nStandalone search query:"
    header = "Conversation:\n"
    room = char_budget - len(REWRITE_SYSTEM_PROMPT) - len(tail) - len(header)
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in _trim_history(history, room)]
    transcript = "\n".join(lines) if lines else "(none)"
    return [
        {"role": "system", "content": REWRITE_SYSTEM_PROMPT},
        {"role": "user", "content": header + transcript + tail},
    ]


def _trim_history(history: Sequence[Mapping[str, str]] | None, room: int) -> list[dict[str, str]]:
    """The last ``HISTORY_TURNS`` user/assistant turns, each message cut short, within ``room`` chars.

    Citation markers are stripped from earlier answers: their numbers index the passages of an earlier
    prompt, and a small model would copy them as if they pointed at the current passages.
    """
    kept = [m for m in history or () if m.get("role") in _ROLES and str(m.get("content") or "").strip()]
    kept = kept[-2 * HISTORY_TURNS :]
    out: list[dict[str, str]] = []
    used = 0
    for m in reversed(kept):  # newest first, so the budget drops the oldest turns
        text = str(m["content"])
        if m["role"] == "assistant":
            text = _MARKER_RE.sub("", text)
        text = _truncate(text.strip(), HISTORY_MESSAGE_CHARS)
        # The rewrite transcript adds "Assistant: " and a newline per line; count them so both builders
        # can share this helper and stay inside their budgets.
        cost = len(text) + len("Assistant: \n")
        if used + cost > room:
            break
        used += cost
        out.append({"role": str(m["role"]), "content": text})
    out.reverse()
    return out


def _format_passages(hits: Sequence[Hit], room: int, dates: Mapping[str, str]) -> list[str]:
    """``[n] Title (date)\\ntext`` blocks in rank order until ``room`` characters are used."""
    out: list[str] = []
    used = 0
    for n, hit in enumerate(hits, start=1):
        sep = 2 if out else 0  # the "\n\n" joining blocks
        label = " ".join(p for p in (hit.title.strip(), f"({dates[hit.doc_id]})" if hit.doc_id in dates else "") if p)
        head = f"[{n}] {label}\n" if label else f"[{n}]\n"
        left = room - used - sep - len(head)
        text = " ".join(hit.text.split())
        if len(text) > left:
            if left < MIN_PASSAGE_CHARS:
                break
            text = _truncate(text, left)
        out.append(head + text)
        used += sep + len(head) + len(text)
    return out


def _truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, ending in an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + ELLIPSIS
