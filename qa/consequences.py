"""The consequence a "what did X lead to?" question asks for, stated in the sentence after the event's.

An article often tells an event in one sentence and what came of it in the next, pointing back with "this":

    "The establishment of a French-backed Polish state ... caused tensions that led to the French invasion of Russia
    in 1812. This was major defeat for France and a turning point in the Napoleonic Wars, leading to Bonaparte's
    removal."

The second sentence shares none of the question's words but "France"; the sentences that rank best for "What did
Napoleon invading Russia in 1812 lead to?" are others that mention the invasion. So, for a question asking what an
event led to, resulted in, caused or brought about (or its result, consequence, outcome or effect), when the answer
quotes no such sentence, ``with_consequence`` looks among the retrieved sentences for a pair:

- the *event sentence*, which holds two or more of the question's content words (the consequence words aside);
- right after it in the same paragraph, a sentence that opens by pointing back to it ("This was ...", "That led to
  ...", "It resulted in ...", "As a result, ...", "The move ...") and so states what the event led to.

Both are quoted, the event sentence first, ahead of the rest of the answer (after its first sentence when that
holds the short answer). The best-ranked such pair is taken; nothing changes whether the question is answered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa import lexical
from qa.evidence import Evidence
from qa.reasons import Q, rest_of_paragraph

# What the question asks: what an event led to, or its result.
_ASKS = re.compile(
    r"\b(?:(?:lead|led|leads)\s+to|result(?:ed|s)?\s+in|brought\s+about|bring\s+about|(?:did|does|do)\b.*\bcause|"
    r"what\s+(?:was|were|is|are)\s+the\s+(?:results?|consequences?|outcomes?|effects?|upshot|aftermath)\s+of|"
    r"what\s+came\s+of|what\s+(?:happened|followed)\s+(?:after|as\s+a\s+result))\b",
    re.IGNORECASE | re.DOTALL,
)
# The words of such a question that are not the event's.
_FRAME = frozenset({"lead", "led", "result", "cause", "bring", "brought", "consequ", "outcom", "effect", "upshot",
                    "aftermath", "came", "happen", "follow"})
# A sentence opening by pointing back to the one before it, with what came of it.
_POINTS_BACK = re.compile(
    r"^\W*(?:(?:this|that|it|these|those)\s+(?:was|were|is|proved|became|turned\s+out|meant|marked|led|resulted|"
    r"caused|brought|triggered|sparked|ended|prompted|forced|left|made|gave|opened|paved|put|set)\b|"
    r"(?:this|that|the)\s+(?:move|decision|defeat|victory|invasion|war|attack|deal|event|episode|step|crisis)\s+"
    r"(?:was|were|proved|became|meant|marked|led|resulted|caused|brought|triggered|sparked|ended|prompted|forced|"
    r"left)\b|as\s+a\s+(?:result|consequence)\b|consequently\b|in\s+consequence\b|the\s+(?:result|consequence|"
    r"outcome|upshot)\s+(?:was|were)\b)",
    re.IGNORECASE,
)
MIN_SHARED = 2  # content words of the question's event the event sentence must hold


def asks_consequence(question: str) -> bool:
    """True for a question asking what an event led to ('What did X lead to?', 'What was the result of X?')."""
    return _ASKS.search(question) is not None and lexical.question_type(question) == "other"


def points_back(sentence: str) -> bool:
    """True when the sentence opens by pointing back to the one before with what came of it ('This was ...')."""
    return _POINTS_BACK.search(sentence) is not None


def _event_terms(question: str) -> set[str]:
    return {t for t in lexical.content_terms(question) if not any(t.startswith(f) for f in _FRAME)}


def with_consequence(question: str, chosen: Sequence[Q], retrieved: Sequence[Q], evidence: Evidence, *,
                     keep_first: bool) -> list[Q]:
    """``chosen`` (an answer's quoted sentences, best first) with the event sentence and the one after it that says
    what came of it quoted first (after the first sentence when ``keep_first``: it holds the short answer), for a
    question asking what the event led to when ``chosen`` quotes no sentence that points back so. Only
    ``retrieved`` sentences (best first) can be quoted; otherwise, or for any other question, ``chosen`` as it is."""
    if not chosen or not asks_consequence(question) or any(points_back(c.sentence.text) for c in chosen):
        return list(chosen)
    terms = _event_terms(question)
    if len(terms) < MIN_SHARED:
        return list(chosen)
    by_place = {(c.sentence.doc_id, c.sentence.start): c for c in retrieved}
    for event in retrieved:
        s = event.sentence
        if len(terms & set(lexical.content_terms(s.text))) < MIN_SHARED:
            continue
        spans = evidence.spans(s.doc_id)
        at = next((i for i, (start, _) in enumerate(spans) if start == s.start), None)
        if at is None:
            continue
        following = rest_of_paragraph(evidence.articles[s.doc_id].text, spans, at)[:1]
        after = by_place.get((s.doc_id, following[0][0])) if following else None
        if after is None or not points_back(after.sentence.text):
            continue
        pair = [event, after]
        rest = [c for c in chosen if c.sentence not in {event.sentence, after.sentence}]
        if keep_first and chosen[0] not in pair:
            return [chosen[0], *pair, *rest[1:]][:max(len(chosen), 3)]
        return [*pair, *rest][:max(len(chosen), 2)]
    return list(chosen)
