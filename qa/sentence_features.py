"""What the extractive generator scores a sentence by besides its cosine: the share of the question's content words
it holds (proper names weigh more) and whether it holds the kind of thing asked for (a date, a number, a name, a
reason)."""

from __future__ import annotations

import re

from qa import lexical

REASON = re.compile(
    r"\b(because|since|so that|in order to|as a result|reason|aim(?:s|ed)? to|seek(?:s|ing)? to|wants? to|"
    r"in the wake of|due to|given that|therefore|thus|would like|dreams? of|to show|to restore|to support)\b",
    re.IGNORECASE,
)


def type_evidence(qtype: str, sentence: str, question_names: set[str]) -> float:
    if qtype == "date":
        return 1.0 if lexical.has_date(sentence) else 0.0
    if qtype == "number":
        return 1.0 if lexical.has_number(sentence) else 0.0
    if qtype in ("person", "place"):
        return 1.0 if lexical.name_tokens(sentence) - question_names else 0.0
    if qtype == "reason":
        return 1.0 if REASON.search(sentence) else 0.0
    return 0.0


def lexical_coverage(query_terms: dict[str, float], sentence: str) -> float:
    if not query_terms:
        return 0.0
    present = set(lexical.content_terms(sentence))
    total = sum(query_terms.values())
    return sum(w for t, w in query_terms.items() if t in present) / total


def query_terms(query: str) -> dict[str, float]:
    names = lexical.name_tokens(query)
    return {t: (1.5 if t in names else 1.0) for t in lexical.content_terms(query)}
