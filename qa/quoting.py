"""Which of the scored sentences an extractive answer quotes, and in what order (``qa.extractive``).

Once every sentence of the retrieved chunks is scored (``Scored``), the answer quotes
  - ``support``: the first sentence and the non-redundant ones scoring within ``MARGIN`` of it (or within
    ``OTHER_ARTICLE_MARGIN`` more when they come from an article not yet quoted): what the decision to answer reads;
  - ``widened``: once that decision is made, more sentences within ``WIDE_MARGIN`` of the first;
  - ``with_continuation``: the next sentence of the first one's article, right after it, when it opens by pointing
    back to it (``CONTINUES``);
  - ``with_date``: for a date question whose sentences place nothing in time, the article's dateline or a dated
    sentence of the same article, quoted after the answer.
Each works on a list of ``Scored`` sentences, best first, and never changes whether the question is answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa import lexical
from qa.evidence import Evidence, Sentence

SHORT_WORDS = 6  # a sentence of fewer words is rarely an answer (a heading, a caption, "The vote was close.")
REDUNDANT_COSINE = 0.85  # a second sentence this close to a chosen one adds nothing
MARGIN = 0.10  # extra sentences must score within this of the best
# ... and once the answer is decided, it also quotes sentences within this of its first (``widened``)
WIDE_MARGIN = 0.15
# ... or within this much more when they come from an article not yet quoted: questions that span articles
# (multi-doc, comparisons where the articles disagree) need one sentence from each.
OTHER_ARTICLE_MARGIN = 0.06
# A date question whose chosen sentences place nothing in time may add a sentence of the best sentence's article
# that does, within the margin a sentence from another article gets.
DATED_MARGIN = MARGIN + OTHER_ARTICLE_MARGIN

TERMINAL = re.compile(r"[.!…][\"'”’)\]]*\s*$")

# A sentence that opens by pointing back ("In this way, Macron demonstrated ...", "They wanted ...", "At the time,
# Western leaders dismissed this ...", "The special event celebrates ...") continues the sentence before it: what it
# says (often the reason, the reaction or the detail asked for) is about that sentence's subject, not named again.
CONTINUES = re.compile(
    r"^\W*(?:(?:he|she|it|they|this|that|these|those|such|his|her|its|their)\b(?!\s+(?:is|was)\s+(?:not\s+)?"
    r"(?:clear|true|possible|likely|important|difficult|hard|easy|unclear)\b)|in (?:this|that|doing so|so doing)\b|"
    r"at (?:the|that) time\b|as a result\b|for (?:this|that) reason\b|because of (?:this|that)\b|"
    r"therefore\b|thus\b|hence\b|consequently\b|instead\b|(?-i:[Tt]he\s+[a-z]))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Scored:
    """A sentence of the retrieved chunks, scored against the question (``ExtractiveGenerator.score``)."""

    hit_no: int  # 1-based position in hits
    sentence: Sentence
    score: float  # ranks sentences
    similarity: float  # cosine(query, sentence), for a follow-up the better of that and the cosine with the
    # conversation's earlier question + the follow-up: decides refusal (it separates unanswerable questions best)


def support(scored: list[Scored], evidence: Evidence, max_sentences: int) -> list[Scored]:
    """The first sentence and the non-redundant ones scoring close to it (up to ``max_sentences``)."""
    best = scored[0].score
    chosen = [scored[0]]
    chosen_vecs = [evidence.embed([scored[0].sentence.text])[0]]
    for cand in scored[1:]:
        if len(chosen) >= max_sentences or cand.score < best - MARGIN - OTHER_ARTICLE_MARGIN:
            break
        new_doc = all(c.sentence.doc_id != cand.sentence.doc_id for c in chosen)
        if cand.score < best - MARGIN and not new_doc:
            continue
        v = evidence.embed([cand.sentence.text])[0]
        if max(float(v @ c) for c in chosen_vecs) >= REDUNDANT_COSINE:
            continue
        chosen.append(cand)
        chosen_vecs.append(v)
    return chosen


def widened(chosen: list[Scored], scored: list[Scored], evidence: Evidence, max_sentences: int) -> list[Scored]:
    """``chosen`` with more sentences scoring within ``WIDE_MARGIN`` of its first one (non-redundant, best first, up
    to ``max_sentences``), added once the answer is decided: the decision reads the sentences chosen within
    ``MARGIN`` (quoting more of them there let more unanswerable questions through). The caller leaves a refusal,
    or an answer stating two articles' different values, as it is."""
    if not chosen or len(chosen) >= max_sentences:
        return chosen
    more = list(chosen)
    best = more[0].score
    vecs = [evidence.embed([c.sentence.text])[0] for c in more]
    for cand in scored:
        if len(more) >= max_sentences or cand.score < best - WIDE_MARGIN:
            break
        if any(c.sentence == cand.sentence for c in more):
            continue
        v = evidence.embed([cand.sentence.text])[0]
        if max(float(v @ c) for c in vecs) >= REDUNDANT_COSINE:
            continue
        more.append(cand)
        vecs.append(v)
    return more if len(more) > len(chosen) else chosen


def with_continuation(chosen: list[Scored], scored: list[Scored], evidence: Evidence) -> list[Scored]:
    """``chosen`` with the next sentence of its first sentence's article quoted right after that one, when the next
    sentence opens by pointing back to it (``CONTINUES``) and was retrieved too (so it can be cited).

    "It was a working visit, but it excluded ... official talks" is followed by "In this way, Macron demonstrated
    a desire to maintain a certain distance ...": the reason a why-question asks for, which shares few words with
    the question. The two are quoted as one passage: the continuation does not count against ``max_sentences``
    (no other sentence gives way to it). A refusal (nothing chosen) is left as it is.
    """
    if not chosen:
        return chosen
    first = chosen[0].sentence
    spans = evidence.spans(first.doc_id)
    at = next((i for i, (s, _) in enumerate(spans) if s == first.start), None)
    if at is None or at + 1 >= len(spans):
        return chosen
    start = spans[at + 1][0]
    nxt = next((c for c in scored if c.sentence.doc_id == first.doc_id and c.sentence.start == start), None)
    if nxt is None or any(c.sentence == nxt.sentence for c in chosen):
        return chosen
    if len(nxt.sentence.text.split()) < SHORT_WORDS or not CONTINUES.search(nxt.sentence.text):
        return chosen  # "The vote was close.": too short to hold what was asked
    return [chosen[0], nxt, *chosen[1:]]


def with_date(evidence: Evidence, chosen: list[Scored], scored: list[Scored], max_sentences: int) -> list[Scored]:
    """Add the date the best sentence's article gives to an answer to a date question that states none.

    The article's dateline comes first: a report dates the events it tells ('have met ... on Monday') by
    it. Without one, the best-ranked sentence of the same article that pins a date, if it scores within
    ``DATED_MARGIN`` of the best. Either is quoted verbatim after the answer, never blended into it.
    """
    best = chosen[0]
    if not TERMINAL.search(chosen[-1].sentence.text):
        return chosen  # a line after a heading-like sentence would run into it as one claim
    dateline = evidence.dateline(best.sentence.doc_id)
    if dateline is not None:
        # cited through the best sentence's chunk: qa.cite quotes a date-only claim from the article's dateline
        return [*chosen, Scored(best.hit_no, dateline, score=0.0, similarity=0.0)]  # added, not ranked
    taken = {(c.sentence.doc_id, c.sentence.start) for c in chosen}
    for cand in scored:
        if cand.score < best.score - DATED_MARGIN:
            break
        s = cand.sentence
        if (s.doc_id, s.start) in taken or s.doc_id != best.sentence.doc_id:
            continue
        if lexical.pins_date(s.text) and TERMINAL.search(s.text):
            return [*chosen[: max_sentences - 1], cand]
    return chosen
