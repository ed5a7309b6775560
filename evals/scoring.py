"""Scoring one question of an eval run: its retrieval, answer, refusal and citation metrics.

``score_item`` is what ``evals.run`` calls per question; ``citation_scores`` scores one answer's citations
ALCE-style. The summary of a whole run is ``evals.summary``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from evals import metrics
from evals.sets import EvalItem
from qa.cite import split_claims, strip_markers

if TYPE_CHECKING:
    from qa import Answer

CURVE_MAX_K = 10
RETRIEVAL_KEYS = ("doc_recall", "evidence_recall", "mrr", "ndcg")
ANSWER_KEYS = ("exact", "f1", "contains", "short_exact", "short_f1")


def score_item(
    item: EvalItem,
    answer: Answer | None,
    chunks: Sequence[Any],
    ranked: Sequence[Any],
    *,
    k: int,
    retrieval_only: bool = False,
    article_text: Callable[[str], str | None] = lambda _doc: None,
) -> dict[str, Any]:
    """The per-question metrics.

    Args:
        item: the gold question.
        answer: the answer (None for retrieval-only, or when the question was rejected).
        chunks: the top-``k`` chunks the generator saw (``answer.chunks``).
        ranked: a longer ranking of the same query for the recall@k curve (k = 1..10).
        k: the retrieval cut-off.
        retrieval_only: leave the answer, citation and refusal groups as None.
        article_text: doc_id → the article's text (None when unknown), to check quotes.

    Returns:
        ``{"retrieval": {...}, "recall_at_k": {metric: [value at k=1, 2, ...]}, "answer": {...} | None,
        "refusal": {"should_refuse", "refused", "correct"} | None, "citations": {...} | None}``.
    """
    docs, evidence = list(item.docs), list(item.evidence)
    at_k = metrics.retrieval_scores(list(chunks), docs, evidence, k=k)
    curve = metrics.recall_at_ks(list(ranked), docs, evidence, ks=range(1, max(CURVE_MAX_K, k) + 1))
    out: dict[str, Any] = {
        "retrieval": {key: getattr(at_k, key) for key in RETRIEVAL_KEYS},
        "recall_at_k": {key: [getattr(curve[i], key) for i in sorted(curve)] for key in RETRIEVAL_KEYS},
        "answer": None,
        "refusal": None,
        "citations": None,
    }
    if retrieval_only:
        return out
    refused = bool(answer.refused) if answer is not None else False
    out["refusal"] = {"should_refuse": not item.answerable, "refused": refused,
                      "correct": refused == (not item.answerable),
                      # what the generator compared with its refusal threshold: the refusal curve is drawn from it
                      "confidence": answer.confidence if answer is not None else None}
    if item.answerable:
        pred = "" if answer is None or refused else strip_markers(answer.text)
        short = "" if answer is None or refused or answer.short_answer is None else answer.short_answer.text
        out["answer"] = {"exact": metrics.exact_match(pred, item.answers), "f1": metrics.f1(pred, item.answers),
                         "contains": metrics.contains(pred, item.answers),
                         # the short answer stated first (none: 0), scored as SQuAD scores a span
                         "short_exact": metrics.exact_match(short, item.answers),
                         "short_f1": metrics.f1(short, item.answers)}
    if answer is not None and not refused:
        out["citations"] = citation_scores(answer, article_text)
    return out


def citation_scores(answer: Answer, article_text: Callable[[str], str | None]) -> dict[str, Any]:
    """ALCE-style citation scores of one answer, and how many of its quotes equal their source slice."""
    by_n = {c.n: c for c in answer.citations}
    claims = []
    for claim in split_claims(answer.text):
        cited = tuple((n, by_n[n].supported is True) for n in dict.fromkeys(claim.markers) if n in by_n)
        claims.append(metrics.ClaimSupport(citations=cited))
    scores = metrics.citation_metrics(claims)
    exact = 0
    for c in answer.citations:
        text = article_text(c.doc_id)
        exact += text is not None and text[c.start : c.end] == c.quote
    return {
        "precision": scores.precision,
        "recall": scores.recall,
        "claims": scores.n_claims, "supported_claims": sum(cl.supported for cl in claims),
        "unsupported_claims": sum(not c.supported for c in answer.claims) if answer.claims else None,
        "citations": scores.n_citations,
        "quotes_exact": exact,
        "quotes": len(answer.citations),
    }


__all__ = ["ANSWER_KEYS", "CURVE_MAX_K", "RETRIEVAL_KEYS", "citation_scores", "score_item"]
