"""Deterministic rewrite of a follow-up question into a standalone search query (no LLM needed).

"And who did they meet on the Russian side?" after "Which French ministers visited Moscow in 2019?" /
"Florence Parly and Jean-Yves Le Drian visited Moscow." becomes "And who did they meet on the Russian side?
(Which French ministers visited Moscow in 2019? Florence Parly and Jean-Yves Le Drian visited Moscow.)":
the follow-up keeps its own words first, then carries over the previous question and the start of the
previous answer, which is what retrieval needs to find the same story.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa import lexical

_ANAPHORA = re.compile(
    r"\b(he|she|they|them|their|theirs|him|his|her|hers|it|its|this|that|these|those|there|then|the two|both|"
    r"the same|such|the former|the latter|the meeting|the visit|the talks|the article|the author)\b",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"^\s*(and|but|so|also|what about|how about|what else|anything else|more)\b", re.I)
# The previous answer names the story the follow-up is about; its first few hundred characters are enough.
# Carrying it finds the story's article more often than carrying only its names (`citeqa eval` on the
# follow-ups of evals/sets/seed_dev.jsonl shows the doc recall of either).
MAX_CARRIED_ANSWER_CHARS = 300


def is_followup(question: str, history: Sequence[dict] | None) -> bool:
    """True when the question leans on earlier turns: pronouns, 'and …', or too little of its own to search."""
    if not history or not any(t.get("role") == "user" for t in history):
        return False
    if _CONTINUATION.search(question) or _ANAPHORA.search(question):
        return True
    return not lexical.name_tokens(question) and len(lexical.content_terms(question)) < 3


def _last(history: Sequence[dict], role: str) -> str:
    for turn in reversed(history):
        if turn.get("role") == role and isinstance(turn.get("content"), str):
            return turn["content"]
    return ""


def rewrite_followup(question: str, history: Sequence[dict] | None) -> str:
    """The standalone query to search for; the question itself when it is not a follow-up."""
    question = question.strip()
    if not is_followup(question, history):
        return question
    assert history is not None
    prev_q = _last(history, "user").strip()
    prev_a = " ".join(re.sub(r"\[\d+\]", "", _last(history, "assistant")).split())
    if len(prev_a) > MAX_CARRIED_ANSWER_CHARS:
        prev_a = prev_a[:MAX_CARRIED_ANSWER_CHARS].rsplit(" ", 1)[0]
    context = " ".join(part for part in (prev_q, prev_a) if part)
    return f"{question} ({context})" if context else question
