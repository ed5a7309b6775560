"""Citations that do not depend on the model writing markers: every claim is aligned with the retrieved sentences.

A small model often writes sentences without ``[n]`` markers, or with a marker that names the wrong passage.
``align`` reads the answer claim by claim (``qa.cite.split_claims``) and, for each, runs the support check of
``qa.cite`` (numbers and proper names of the claim in the sentence, cosine of the embeddings at least
``support_threshold``) against every sentence of every retrieved chunk:

- a marker that names a passage with a supporting sentence is kept;
- a marker that names a passage without one is moved to the passage whose sentence supports the claim best
  (or dropped when another marker of the claim is right);
- a claim with no marker gets the marker of the passage whose sentence supports it best;
- a claim nothing supports keeps the markers the model wrote (``qa.cite`` then quotes the closest sentence of
  that passage and marks it unsupported) or stays without one; either way it is counted unsupported.

The result is the answer with its markers set, which ``qa.cite.cite`` turns into exact quotes
(``article.text[start:end] == quote``). Sentences shown to the model as ``1.2`` may come back cited as
``[1.2]``: such a marker names passage 1. A refusal sentence ("The articles don't say ...") is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.types import Hit
from qa import lexical
from qa.cite import SHORT_ANSWER_WORDS, CiteResult, cite, lexically_supported, split_claims, strip_markers
from qa.evidence import Evidence, Sentence
from qa.prompts import says_articles_lack
from qa.types import Citation, ClaimCheck

_SENTENCE_MARKER = re.compile(r"\[(\d+)\.\d+\]")  # [1.2]: sentence 2 of passage 1, as numbered in the prompt
_PARTIAL_MARKER = re.compile(r"\[[\d\s,.;–-]*$")
_GROUP = re.compile(r"\s*\[\d+(?:\s*[,;–-]\s*\d+)*\]")


@dataclass(frozen=True)
class Aligned:
    """An answer whose claims carry the markers of the passages that support them.

    Attributes:
        raw: the answer with markers set (to be passed to ``qa.cite.cite``).
        corrected: per claim of ``raw`` (``split_claims`` order): True when its markers were changed.
    """

    raw: str
    corrected: list[bool]


def normalize_markers(raw: str) -> str:
    """``[n.m]`` (a sentence number as the prompt shows it) → ``[n]``."""
    return _SENTENCE_MARKER.sub(r"[\1]", raw)


def is_refusal_claim(text: str) -> bool:
    """True for a sentence that says the articles don't hold the answer."""
    return says_articles_lack(text)


def _short_in(claim: str, sentence: str) -> bool:
    words = claim.strip().rstrip(".").strip()
    return bool(words) and len(claim.split()) <= SHORT_ANSWER_WORDS and words in sentence


def align(raw: str, hits: Sequence[Hit], evidence: Evidence, *, support_threshold: float) -> Aligned:
    """Set every claim's markers to the passages whose sentences support it (see the module docstring).

    Args:
        raw: the model's answer, with or without ``[n]`` markers.
        hits: the retrieved chunks, numbered for the model in this order.
        evidence: sentences and embeddings of the index's articles.
        support_threshold: least cosine between a claim and a sentence that supports it.
    """
    raw = normalize_markers(raw)
    claims = split_claims(raw)
    if not claims or not hits:
        return Aligned(raw, [False] * len(claims))
    per_hit: list[list[Sentence]] = []
    for hit in hits:
        sents = list(evidence.sentences(hit))
        dateline = evidence.dateline(hit.doc_id)
        if dateline is not None and all((s.start, s.end) != (dateline.start, dateline.end) for s in sents):
            sents.append(dateline)
        per_hit.append(sents)
    flat = [s for sents in per_hit for s in sents]
    owner = np.array([n for n, sents in enumerate(per_hit, start=1) for _ in sents])
    is_dateline = np.array([
        evidence.dateline(s.doc_id) is not None
        and (s.start, s.end) == (evidence.dateline(s.doc_id).start, evidence.dateline(s.doc_id).end)  # type: ignore[union-attr]
        for s in flat
    ])
    if not flat:
        return Aligned(raw, [False] * len(claims))
    vecs = evidence.embed([c.text for c in claims] + [s.text for s in flat])
    claim_vecs, sent_vecs = vecs[: len(claims)], vecs[len(claims) :]
    decided: list[tuple[int, ...]] = []
    corrected: list[bool] = []
    for i, claim in enumerate(claims):
        valid = tuple(n for n in dict.fromkeys(claim.markers) if 1 <= n <= len(hits))
        if is_refusal_claim(claim.text):
            decided.append(valid)
            corrected.append(False)
            continue
        sims = sent_vecs @ claim_vecs[i]
        date_only = lexical.is_date_only(claim.text)
        lex = np.array([lexically_supported(claim.text, s.text) for s in flat])
        short = np.array([_short_in(claim.text, s.text) for s in flat])
        ok = lex & ((sims >= support_threshold) | short)
        if not date_only:
            ok &= ~is_dateline  # the dateline backs a claim that only states a date
        supporting = {int(n) for n in owner[ok]}
        keep = tuple(n for n in valid if n in supporting)
        if keep:
            new = keep
        elif supporting:
            score = np.where(ok, sims + short * 1.0, -np.inf)
            new = (int(owner[int(np.argmax(score))]),)
        else:
            new = valid  # nothing supports it: the model's own citation (checked, and flagged, by qa.cite)
        decided.append(new)
        corrected.append(new != valid)
    return Aligned(_rebuild(raw, claims, decided), corrected)


def _rebuild(raw: str, claims: Sequence, markers: Sequence[tuple[int, ...]]) -> str:
    """``raw`` with each claim's markers replaced by ``markers[i]``, placed at the end of its sentence."""
    pieces: list[str] = []
    cursor = 0
    for claim, marks in zip(claims, markers, strict=True):
        gap = _GROUP.sub("", raw[cursor : claim.start])
        if pieces and not gap and not pieces[-1][-1:].isspace():
            gap = " "
        pieces.append(gap)
        body = strip_markers(raw[claim.start : claim.end])
        pieces.append(body + "".join(f" [{n}]" for n in marks))
        cursor = claim.end
    pieces.append(_GROUP.sub("", raw[cursor:]))
    return "".join(pieces)


def align_and_cite(raw: str, hits: Sequence[Hit], evidence: Evidence, *, support_threshold: float
                   ) -> tuple[CiteResult, list[bool]]:
    """``align`` then ``qa.cite.cite``: exact citations for every claim a sentence supports, and which claims'
    markers were corrected."""
    aligned = align(raw, hits, evidence, support_threshold=support_threshold)
    return cite(aligned.raw, hits, evidence, support_threshold=support_threshold), aligned.corrected


def claim_checks(text: str, citations: Sequence[Citation], corrected: Sequence[bool] = (),
                 verdicts: Sequence[bool] = ()) -> list[ClaimCheck]:
    """The claims of a cited answer text with their verdicts (``Answer.claims``).

    A claim is supported when ``verdicts`` (``CiteResult.claim_ok``) says so; without verdicts, when it cites at
    least one citation and every one it cites is supported.
    """
    out: list[ClaimCheck] = []
    by_n = {c.n: c for c in citations}
    claims = split_claims(text)
    fixed = list(corrected) if len(corrected) == len(claims) else [False] * len(claims)
    judged = list(verdicts) if len(verdicts) == len(claims) else None
    for i, (claim, was_fixed) in enumerate(zip(claims, fixed, strict=True)):
        ns = tuple(n for n in dict.fromkeys(claim.markers) if n in by_n)
        supported = bool(ns) and (judged[i] if judged is not None else all(by_n[n].supported is not False for n in ns))
        start = claim.start + len(text[claim.start : claim.end]) - len(text[claim.start : claim.end].lstrip())
        out.append(ClaimCheck(claim.text, start, claim.end, ns, supported, was_fixed))
    return out


def complete_claims(text: str) -> int:
    """How many claims of a text still streaming are complete: all but the last, which may still grow (a marker
    still being written, ``"... 2017. [1"``, is not a new claim)."""
    return max(len(split_claims(_PARTIAL_MARKER.sub("", text))) - 1, 0)
