"""Quality metrics for citeqa: answers, retrieval, refusals, citations and latency.

Pure functions on plain inputs, no models: whatever needs a model (is this claim supported by this
quote?) is decided upstream and arrives here as a boolean.

Conventions:
- Scores are floats in [0, 1].
- A metric that is undefined for its input (a zero denominator: no gold documents, no refusals, no
  citations, no timings) returns ``None`` rather than 0 or an exception, so that averages can skip it.
  ``mean_defined`` averages while skipping ``None``.
- Retrieved items are anything with ``doc_id`` and ``text`` attributes (``embeddings.types.Hit``,
  ``corpus.types.Chunk``) or ``(doc_id, text)`` pairs, best first.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, TypeAlias

_QUOTES = str.maketrans({**dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
                         **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"')})
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_WS = re.compile(r"\s+")


def normalize_answer(s: str) -> str:
    """Normalise an answer for comparison, SQuAD-style.

    Lowercases, strips accents (NFKD, combining marks dropped), maps curly quotes to straight ones,
    deletes punctuation (ASCII and Unicode, e.g. dashes), removes the articles a/an/the and collapses
    whitespace. As in SQuAD, punctuation is deleted rather than replaced by a space, so ``"U.S."`` →
    ``"us"`` and ``"1995–2007"`` → ``"19952007"``. Currency signs and other symbols are kept.

    Example:
        >>> normalize_answer("The Palace of Versailles!")
        'palace of versailles'
    """
    # NFKD before lowercasing too: compatibility forms can decompose to capitals ("℡" → "TEL"), and
    # lowercasing can add combining marks ("İ" → "i̇"); both orders are needed for idempotence.
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", s).lower())
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).translate(_QUOTES)
    s = "".join(ch for ch in s if ch not in string.punctuation and not unicodedata.category(ch).startswith("P"))
    s = _ARTICLES.sub(" ", s)
    return _WS.sub(" ", s).strip()


def exact_match(pred: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals some normalised gold answer, else 0.0.

    With no gold answers (an unanswerable question) the only match is an empty prediction, as in
    SQuAD 2.0; refusals are better scored with ``refusal_metrics``.
    """
    p = normalize_answer(pred)
    if not golds:
        return float(p == "")
    return float(any(p == normalize_answer(g) for g in golds))


def f1(pred: str, golds: Sequence[str]) -> float:
    """Token-level F1 between prediction and gold answer, best over the gold answers.

    Tokens are the whitespace-separated words of ``normalize_answer``; overlap counts repeated tokens
    at most as often as they occur in both. When either side has no tokens the score is 1.0 if both
    are empty, else 0.0 (SQuAD 2.0), which also covers ``golds == []``.
    """
    pred_tokens = normalize_answer(pred).split()
    return max((_token_f1(pred_tokens, normalize_answer(g).split()) for g in golds or [""]), default=0.0)


def _token_f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def contains(pred: str, golds: Sequence[str]) -> float:
    """1.0 when some normalised gold answer occurs in the normalised prediction, else 0.0.

    Suits long generated answers ("Macron hosted Putin at the Palace of Versailles [1]."). Matching is
    on word boundaries of the normalised text, so gold ``"2"`` does not match ``"129"``. A gold answer
    that normalises to nothing (e.g. ``"the"``), like ``golds == []``, matches only an empty prediction.
    """
    p = f" {normalize_answer(pred)} "
    normalized = [normalize_answer(g) for g in golds] or [""]
    return float(any(f" {g} " in p if g else p.strip() == "" for g in normalized))


class _HasDocText(Protocol):
    @property
    def doc_id(self) -> str: ...
    @property
    def text(self) -> str: ...


Retrieved: TypeAlias = "_HasDocText | tuple[str, str]"


@dataclass(frozen=True)
class RetrievalScores:
    """Retrieval quality of one ranked list at cut-off ``k``; None where undefined (no gold docs/evidence)."""

    k: int
    doc_recall: float | None
    evidence_recall: float | None
    mrr: float | None
    ndcg: float | None


def _pairs(retrieved: Iterable[Retrieved], k: int) -> list[tuple[str, str]]:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return [it if isinstance(it, tuple) else (it.doc_id, it.text) for it in islice(retrieved, k)]


def _squash(s: str) -> str:
    # \s in a str pattern also matches no-break spaces and other Unicode whitespace.
    return _WS.sub(" ", s).strip()


def doc_recall(retrieved: Iterable[Retrieved], gold_docs: Iterable[str], *, k: int) -> float | None:
    """Share of the distinct gold documents with at least one chunk in the top ``k``; None without gold docs."""
    gold = set(gold_docs)
    if not gold:
        return None
    found = {doc for doc, _ in _pairs(retrieved, k)}
    return len(gold & found) / len(gold)


def evidence_recall(retrieved: Iterable[Retrieved], evidence: Iterable[str], *, k: int) -> float | None:
    """Share of the distinct gold evidence quotes contained in some top-``k`` chunk; None without evidence.

    Whitespace is collapsed on both sides before matching. A quote split across two chunks counts as
    missed: the generator can only cite what one chunk holds.
    """
    quotes = {_squash(q) for q in evidence if q.strip()}
    if not quotes:
        return None
    texts = [_squash(text) for _, text in _pairs(retrieved, k)]
    return sum(any(q in t for t in texts) for q in quotes) / len(quotes)


def mrr(retrieved: Iterable[Retrieved], gold_docs: Iterable[str], *, k: int) -> float | None:
    """Reciprocal rank of the first top-``k`` chunk from a gold document (0.0 if none); None without gold docs."""
    gold = set(gold_docs)
    if not gold:
        return None
    for rank, (doc, _) in enumerate(_pairs(retrieved, k), start=1):
        if doc in gold:
            return 1.0 / rank
    return 0.0


def ndcg(retrieved: Iterable[Retrieved], gold_docs: Iterable[str], evidence: Iterable[str], *,
         k: int) -> float | None:
    """Normalised discounted cumulative gain at ``k`` with binary relevance.

    A chunk is relevant when it contains a gold evidence quote (whitespace-collapsed), or, for items
    without evidence, when it comes from a gold document. DCG = Σ rel_i / log2(i + 1) over ranks i ≥ 1.
    The ideal DCG puts min(k, R) relevant chunks on top, where R is how many relevant chunks a perfect
    list needs: one per gold evidence quote, with quotes that share a retrieved chunk counted once
    (or one per gold document), and never fewer than the relevant chunks actually retrieved, so the
    score stays within [0, 1]. None when there are neither gold documents nor evidence.
    """
    gold = set(gold_docs)
    quotes = list(dict.fromkeys(_squash(q) for q in evidence if q.strip()))
    if not gold and not quotes:
        return None
    top = _pairs(retrieved, k)
    if quotes:
        texts = [_squash(text) for _, text in top]
        rels = [any(q in t for q in quotes) for t in texts]
        needed = _chunks_needed(quotes, texts)
    else:
        rels = [doc in gold for doc, _ in top]
        needed = len(gold)
    dcg = sum(1.0 / math.log2(i + 1) for i, rel in enumerate(rels, start=1) if rel)
    ideal_n = min(k, max(needed, sum(rels)))
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, ideal_n + 1))
    return dcg / idcg


def _chunks_needed(quotes: list[str], texts: list[str]) -> int:
    """Chunks a perfect list needs to show every quote: quotes found together in one retrieved chunk
    count once (greedy, in rank order); quotes not retrieved at all need a chunk each."""
    left = set(quotes)
    needed = 0
    for t in texts:
        hit = {q for q in left if q in t}
        if hit:
            needed += 1
            left -= hit
    return needed + len(left)


def retrieval_scores(retrieved: Sequence[Retrieved], gold_docs: Sequence[str], evidence: Sequence[str], *,
                     k: int) -> RetrievalScores:
    """All retrieval metrics of one ranked list at cut-off ``k``."""
    return RetrievalScores(
        k=k,
        doc_recall=doc_recall(retrieved, gold_docs, k=k),
        evidence_recall=evidence_recall(retrieved, evidence, k=k),
        mrr=mrr(retrieved, gold_docs, k=k),
        ndcg=ndcg(retrieved, gold_docs, evidence, k=k),
    )


def recall_at_ks(retrieved: Iterable[Retrieved], gold_docs: Sequence[str], evidence: Sequence[str], *,
                 ks: Iterable[int] = range(1, 11)) -> dict[int, RetrievalScores]:
    """Retrieval metrics at every cut-off in ``ks`` (default 1…10), keyed by k, for recall@k curves.

    Example:
        >>> curve = recall_at_ks(answer.chunks, item.docs, item.evidence)
        >>> curve[5].evidence_recall
    """
    retrieved = list(retrieved)
    return {k: retrieval_scores(retrieved, gold_docs, evidence, k=k) for k in ks}


@dataclass(frozen=True)
class RefusalScores:
    """How well the system refuses exactly when it should.

    Attributes:
        recall: refused / should refuse (unanswerable questions caught); None when none should refuse.
        precision: should refuse / refused (refusals that were right); None when nothing was refused.
        false_refusal_rate: refused / answerable (answerable questions wrongly refused); None when
            every question should be refused.
        tp, fp, fn, tn: counts, with "refused" as the positive class.
    """

    recall: float | None
    precision: float | None
    false_refusal_rate: float | None
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def refusal_metrics(outcomes: Iterable[tuple[bool, bool]]) -> RefusalScores:
    """Score refusals from ``(should_refuse, did_refuse)`` pairs, one per question.

    Zero denominators give None for that score (see ``RefusalScores``), never an exception.

    Example:
        >>> refusal_metrics([(True, True), (False, True), (False, False)]).false_refusal_rate
        0.5
    """
    counts = Counter((bool(should), bool(did)) for should, did in outcomes)
    tp, fp = counts[(True, True)], counts[(False, True)]
    fn, tn = counts[(True, False)], counts[(False, False)]
    return RefusalScores(recall=_ratio(tp, tp + fn), precision=_ratio(tp, tp + fp),
                         false_refusal_rate=_ratio(fp, fp + tn), tp=tp, fp=fp, fn=fn, tn=tn)


@dataclass(frozen=True)
class ThresholdOutcome:
    """One question as the refusal curve sees it.

    Attributes:
        should_refuse: the question is unanswerable.
        refused: the run refused it.
        confidence: the score the generator compared with its refusal threshold (``Answer.confidence``); None when
            it reported none.
    """

    should_refuse: bool
    refused: bool
    confidence: float | None


@dataclass(frozen=True)
class CurvePoint:
    """Refusal recall and false-refusal rate the run would have had at ``threshold``.

    ``exact`` is False below the run's own threshold: there, a question the threshold refused would have been
    answered, and what else the generator would have done with it (refuse it for another reason, such as a
    missing answer of the asked type) was never computed, so both rates are lower bounds.
    """

    threshold: float
    recall: float | None
    false_refusal_rate: float | None
    refused: int
    exact: bool


def refusal_curve(outcomes: Iterable[ThresholdOutcome], thresholds: Iterable[float], *,
                  operating: float) -> list[CurvePoint]:
    """Refusal recall and false-refusal rate at each threshold, derived from one run made at ``operating``.

    At threshold ``t`` a question counts as refused when the run refused it for another reason than the threshold
    (refused with a confidence of at least ``operating``, or with none reported) or when its confidence is below
    ``t``. For ``t >= operating`` this is exactly what a run at ``t`` would do, provided the generator refuses on
    ``confidence < threshold`` before anything else and its confidence does not depend on the threshold (true of the
    extractive generator); below ``operating`` it is a lower bound (see ``CurvePoint.exact``).

    Example:
        >>> pts = refusal_curve([ThresholdOutcome(True, False, 0.6), ThresholdOutcome(False, False, 0.7)],
        ...                     [0.5, 0.65], operating=0.5)
        >>> [(p.recall, p.false_refusal_rate) for p in pts]
        [(0.0, 0.0), (1.0, 0.0)]
    """
    rows = list(outcomes)
    out = []
    for t in thresholds:
        pairs = []
        for o in rows:
            by_threshold = o.refused and o.confidence is not None and o.confidence < operating
            other_reason = o.refused and not by_threshold
            pairs.append((o.should_refuse, other_reason or (o.confidence is not None and o.confidence < t)))
        scores = refusal_metrics(pairs)
        out.append(CurvePoint(threshold=t, recall=scores.recall, false_refusal_rate=scores.false_refusal_rate,
                              refused=scores.tp + scores.fp, exact=t >= operating - 1e-9))
    return out


def threshold_grid(confidences: Iterable[float], *, operating: float, step: float = 0.02,
                   span: float = 0.3) -> list[float]:
    """Thresholds ``operating ± k·step`` covering the confidences seen (at most ``span`` either side), ascending.

    The operating threshold is always a point of the grid.
    """
    xs = [c for c in confidences if math.isfinite(c)]
    lo = max(min(xs, default=operating), operating - span)
    hi = min(max(xs, default=operating), operating + span)
    below = math.ceil((operating - lo) / step - 1e-9)
    above = math.ceil((hi - operating) / step - 1e-9)
    return [round(operating + i * step, 4) for i in range(-below, above + 1)]


@dataclass(frozen=True)
class ClaimSupport:
    """One claim (a sentence of the answer) and the outcome of the support check of its citations.

    Attributes:
        citations: ``(citation_id, supported)`` per citation of the claim; ``supported`` says whether
            that cited quote supports the claim.
        jointly_supported: whether the cited quotes together support the claim; None means "not
            checked jointly": then it is taken as "some single citation supports it".
    """

    citations: tuple[tuple[int | str, bool], ...]
    jointly_supported: bool | None = None

    @property
    def supported(self) -> bool:
        if self.jointly_supported is not None:
            return self.jointly_supported and bool(self.citations)
        return any(ok is True for _, ok in self.citations)


@dataclass(frozen=True)
class CitationScores:
    """ALCE-style citation quality of one answer (or a pooled set of claims).

    Attributes:
        recall: share of claims whose citations jointly support them (a claim citing nothing fails);
            None when there are no claims.
        precision: share of citations that support their claim; None when there are no citations.
            As in ALCE, a citation of an unsupported claim earns nothing, and when no single citation
            supports the claim alone but they do jointly, each counts as needed (precise).
    """

    recall: float | None
    precision: float | None
    n_claims: int
    n_citations: int


def citation_metrics(claims: Iterable[ClaimSupport | Sequence[tuple[int | str, bool]]]) -> CitationScores:
    """Citation recall and precision (Gao et al. 2023, ALCE) from per-claim support outcomes.

    Each claim is a ``ClaimSupport`` or just its ``(citation_id, supported)`` pairs; then the claim is
    supported when some citation supports it, and a citation is precise when it supports its claim.
    ALCE also credits a citation that is needed for joint support; without a model this is taken to
    hold when no citation supports the claim alone. Pool the claims of many answers for a
    micro-average. A ``supported`` that is not True (e.g. None: unchecked) earns no credit.

    Example:
        >>> citation_metrics([[(1, True)], [(2, False), (3, True)], []])
        CitationScores(recall=0.666..., precision=0.666..., n_claims=3, n_citations=3)
    """
    n_claims = n_supported = n_citations = n_good = 0
    for claim in claims:
        if not isinstance(claim, ClaimSupport):
            claim = ClaimSupport(citations=tuple((cid, ok is True) for cid, ok in claim))
        n_claims += 1
        n_supported += claim.supported
        n_citations += len(claim.citations)
        n_good += _precise_citations(claim)
    return CitationScores(recall=_ratio(n_supported, n_claims), precision=_ratio(n_good, n_citations),
                          n_claims=n_claims, n_citations=n_citations)


def unsupported_claim_rate(answers: Iterable[Mapping[str, Any]]) -> float | None:
    """Mean over answers of the share of their claims that nothing supports (``Answer.claims``, issue 13).

    Each answer is its citation record: ``unsupported_claims`` (claims whose ``supported`` is False) and ``claims``.
    Records without ``unsupported_claims`` (runs from before ``Answer.claims``, or an answer with no claims) and
    answers with no claims are left out; None when none is left.

    Example:
        >>> unsupported_claim_rate([{"unsupported_claims": 1, "claims": 2}, {"unsupported_claims": 0, "claims": 3},
        ...                         {"claims": 4}])
        0.25
    """
    rates = [a["unsupported_claims"] / a["claims"] for a in answers
             if a.get("unsupported_claims") is not None and a.get("claims")]
    return sum(rates) / len(rates) if rates else None


def _precise_citations(claim: ClaimSupport) -> int:
    if not claim.supported:
        return 0
    alone = sum(ok is True for _, ok in claim.citations)
    # Joint support with no citation sufficient alone: every citation is taken to be needed.
    return alone if alone else len(claim.citations)


def citation_recall(claims: Iterable[ClaimSupport | Sequence[tuple[int | str, bool]]]) -> float | None:
    """Share of claims whose citations jointly support them; None without claims."""
    return citation_metrics(claims).recall


def citation_precision(claims: Iterable[ClaimSupport | Sequence[tuple[int | str, bool]]]) -> float | None:
    """Share of citations that support their claim; None without citations."""
    return citation_metrics(claims).precision


@dataclass(frozen=True)
class LatencySummary:
    """Latency distribution in the unit given (milliseconds by convention); None fields when empty."""

    n: int
    p50: float | None
    p95: float | None
    mean: float | None
    max: float | None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) with linear interpolation between ranks (NumPy's default).

    Returns None for no values. Raises ValueError for q outside [0, 100] or a NaN value.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {q}")
    xs = sorted(float(v) for v in values)
    if any(math.isnan(x) for x in xs):
        raise ValueError("latency values must not be NaN")
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_summary(values: Iterable[float]) -> LatencySummary:
    """Count, median, 95th percentile, mean and maximum of latencies; None statistics for an empty list."""
    xs = [float(v) for v in values]
    if not xs:
        return LatencySummary(n=0, p50=None, p95=None, mean=None, max=None)
    return LatencySummary(n=len(xs), p50=percentile(xs, 50), p95=percentile(xs, 95),
                          mean=math.fsum(xs) / len(xs), max=max(xs))


def mean_defined(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    xs = [v for v in values if v is not None]
    return math.fsum(xs) / len(xs) if xs else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None
