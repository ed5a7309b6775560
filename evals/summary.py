"""The summary of an eval run, computed from its records alone: the metric groups, overall and per type.

``summarize(records, ...)`` is what ``summary.json`` holds (so a summary can be recomputed from
``results.jsonl``); ``METRIC_GROUPS`` says how people read it (the terminal summary and ``report.md``);
``refusal_curve`` draws the refusal / false-refusal trade-off from the per-question confidences.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals import metrics
from evals.scoring import ANSWER_KEYS, RETRIEVAL_KEYS


@dataclass(frozen=True)
class MetricGroup:
    """One group of the summary as people read it: the terminal summary and ``report.md`` both list these."""

    name: str  # the group's key in summary.json
    label: str  # its heading in report.md; "{k}" is the run's k
    keys: tuple[str, ...]  # the metrics report.md lists, in order
    brief: tuple[str, ...] | None = None  # the ones the terminal prints (None: all of ``keys``)


METRIC_GROUPS: tuple[MetricGroup, ...] = (
    MetricGroup("retrieval", "Retrieval @{k}", RETRIEVAL_KEYS),
    MetricGroup("answer", "Answer (answerable questions)", ANSWER_KEYS),
    MetricGroup("citations", "Citations (non-refused answers)",
                ("precision", "recall", "quotes_exact", "unsupported_claims")),
    MetricGroup("refusal", "Refusal", ("recall", "precision", "false_refusal_rate", "accuracy"),
                brief=("recall", "precision", "false_refusal_rate")),
    MetricGroup("judge", "LLM judge", ("correct", "claim_support")),
    MetricGroup("latency_ms", "Latency (ms)", ("p50", "p95", "mean", "max"), brief=("p50", "p95")),
)

# Metrics where a smaller value is better (for --fail-over, compare and reports).
LOWER_IS_BETTER = frozenset({"refusal.false_refusal_rate", "citations.unsupported_claims", "latency_ms.p50",
                             "latency_ms.p95", "latency_ms.mean", "latency_ms.max", "duration_s", "n_failed",
                             "n_errors"})



def summarize(records: Sequence[Mapping[str, Any]], *, k: int, backend: str | None,
              retrieval_only: bool = False, refusal_threshold: float | None = None) -> dict[str, Any]:
    """The summary of a run from its records: the groups of the issue, overall and ``by_type``, and the refusal
    curve around ``refusal_threshold`` (the run's ``answer.refusal_threshold``; None: no curve).

    Only the records are read, so a summary can be recomputed from ``results.jsonl``. Records of questions the
    LLM endpoint failed on (``failed`` true) are left out of every metric and of ``n``, and counted in ``n_failed``
    (their ids in ``failed_ids``); ``n_errors`` counts the questions the pipeline rejected (scored as wrong).
    """
    failed = [r for r in records if r.get("failed")]
    records = [r for r in records if not r.get("failed")]
    summary: dict[str, Any] = {"n": len(records), "k": k, "backend": backend}
    summary.update(_groups(records, retrieval_only=retrieval_only))
    summary["n_answerable"] = sum(bool(r["gold"]["answers"]) for r in records)
    summary["n_unanswerable"] = len(records) - summary["n_answerable"]
    summary["n_errors"] = sum(r.get("error") is not None for r in records)
    summary["n_failed"] = len(failed)
    summary["failed_ids"] = [r["id"] for r in failed]
    summary["recall_at_k"] = _curve(records)
    if refusal_threshold is not None and not retrieval_only:
        summary["refusal_curve"] = refusal_curve(records, operating=refusal_threshold)
    types = sorted({r["type"] for r in records})
    summary["by_type"] = {t: {"n": sum(r["type"] == t for r in records),
                              **_groups([r for r in records if r["type"] == t], retrieval_only=retrieval_only)}
                          for t in types}
    return summary


def _groups(records: Sequence[Mapping[str, Any]], *, retrieval_only: bool) -> dict[str, Any]:
    m = [r["metrics"] for r in records]
    groups: dict[str, Any] = {
        "retrieval": {key: _mean(x["retrieval"][key] for x in m) for key in RETRIEVAL_KEYS},
        "answer": None,
        "citations": None,
        "refusal": None,
    }
    if not retrieval_only:
        answered = [x["answer"] for x in m if x.get("answer") is not None]
        groups["answer"] = {key: _mean(a.get(key) for a in answered) for key in ANSWER_KEYS}
        cites = [x["citations"] for x in m if x.get("citations") is not None]
        n_citations = sum(c["citations"] for c in cites)
        n_quotes = sum(c.get("quotes", c["citations"]) for c in cites)  # a quote two claims cite counts once
        groups["citations"] = {
            "precision": _mean(c["precision"] for c in cites),
            "recall": _mean(c["recall"] for c in cites),
            "quotes_exact": _round(sum(c["quotes_exact"] for c in cites) / n_quotes) if n_quotes else None,
            "unsupported_claims": _round(metrics.unsupported_claim_rate(cites)),
            "answers": len(cites),
            "claims": sum(c["claims"] for c in cites),
            "citations": n_citations,
        }
        outcomes = [(x["refusal"]["should_refuse"], x["refusal"]["refused"]) for x in m if x.get("refusal")]
        ref = metrics.refusal_metrics(outcomes)
        groups["refusal"] = {
            "recall": _round(ref.recall),
            "precision": _round(ref.precision),
            "false_refusal_rate": _round(ref.false_refusal_rate),
            "accuracy": _round((ref.tp + ref.tn) / ref.n) if ref.n else None,
            "tp": ref.tp, "fp": ref.fp, "fn": ref.fn, "tn": ref.tn,
        }  # fmt: skip
        judged = [x["judge"] for x in m if x.get("judge")]
        if judged:
            groups["judge"] = _judge_group(judged)
    lat = metrics.latency_summary(r["latency_ms"] for r in records)
    groups["latency_ms"] = {"p50": _round(lat.p50, 1), "p95": _round(lat.p95, 1), "mean": _round(lat.mean, 1),
                            "max": _round(lat.max, 1)}
    return groups


def _judge_group(judged: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    claims = sum(j["claims"] for j in judged)
    return {
        "correct": _mean(None if j["correct"] is None else float(j["correct"]) for j in judged),
        "claim_support": _round(sum(j["supported_claims"] for j in judged) / claims) if claims else None,
        "claims": claims,
        "unparsed": sum(j.get("unparsed", 0) for j in judged),
    }


def _curve(records: Sequence[Mapping[str, Any]]) -> dict[str, list[float | None]]:
    """Mean of each retrieval metric at k = 1..K over the questions that define it."""
    out: dict[str, list[float | None]] = {}
    for key in RETRIEVAL_KEYS:
        rows = [r["metrics"]["recall_at_k"][key] for r in records]
        width = max((len(row) for row in rows), default=0)
        out[key] = [_mean(row[i] for row in rows if i < len(row)) for i in range(width)]
    return out


def confidence_of(record: Mapping[str, Any]) -> float | None:
    """A record's confidence: from its refusal metrics, or (runs made before they held it) from its answer."""
    ref = (record.get("metrics") or {}).get("refusal") or {}
    value = ref.get("confidence", (record.get("answer") or {}).get("confidence"))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def refusal_curve(records: Sequence[Mapping[str, Any]], *, operating: float) -> dict[str, Any] | None:
    """The refusal / false-refusal curve of a run over a grid of thresholds around ``operating``, or None when no
    record carries a confidence (a retrieval-only run, a generator that reports none, a run made before
    ``Answer.confidence`` existed).

    Returns:
        ``{"threshold": operating, "n_confident": questions with a confidence, "points": [{"threshold", "recall",
        "false_refusal_rate", "refused", "exact"}, ...]}`` in ascending threshold; see ``metrics.refusal_curve``
        for what is exact and what is a lower bound.
    """
    outcomes = []
    for r in records:
        ref = (r.get("metrics") or {}).get("refusal")
        if ref:
            outcomes.append(metrics.ThresholdOutcome(bool(ref["should_refuse"]), bool(ref["refused"]),
                                                     confidence_of(r)))
    confident = [o.confidence for o in outcomes if o.confidence is not None]
    if not confident:
        return None
    grid = metrics.threshold_grid(confident, operating=operating)
    points = metrics.refusal_curve(outcomes, grid, operating=operating)
    return {
        "threshold": operating,
        "n_confident": len(confident),
        "points": [{"threshold": p.threshold, "recall": _round(p.recall), "false_refusal_rate":
                    _round(p.false_refusal_rate), "refused": p.refused, "exact": p.exact} for p in points],
    }


def _mean(values: Iterable[float | None]) -> float | None:
    return _round(metrics.mean_defined(values))


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), digits)


__all__ = ["LOWER_IS_BETTER", "METRIC_GROUPS", "MetricGroup", "confidence_of", "refusal_curve", "summarize"]
