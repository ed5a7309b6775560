"""evals.gates: parsing bounds and checking them against a summary."""

from __future__ import annotations

import pytest

from evals.gates import Bound, check_bounds, lookup, parse_bound


def test_parse_bound() -> None:
    assert parse_bound("retrieval.doc_recall=0.95") == Bound("retrieval.doc_recall", 0.95)
    assert parse_bound(" latency_ms.p95 = 500", upper=True) == Bound("latency_ms.p95", 500.0, True)
    for bad in ("retrieval.doc_recall", "=0.5", "answer.f1=high", "answer.f1=nan"):
        with pytest.raises(ValueError, match="METRIC=VALUE"):
            parse_bound(bad)


def test_check_bounds_lists_every_failure() -> None:
    s = {"retrieval": {"doc_recall": 0.9, "mrr": 0.8}, "answer": None, "latency_ms": {"p95": 700.0},
         "by_type": {"why/explanation": {"answer": {"contains": 0.4}}}}
    assert check_bounds(s, [Bound("retrieval.doc_recall", 0.9)]) == []
    failures = check_bounds(s, [Bound("retrieval.doc_recall", 0.95), Bound("retrieval.mrr", 0.5),
                                Bound("answer.contains", 0.5), Bound("latency_ms.p95", 500.0, upper=True),
                                Bound("by_type.why/explanation.answer.contains", 0.5)])
    assert failures == [
        "retrieval.doc_recall = 0.9 < 0.95",
        "answer.contains is not measured in this run (need answer.contains>=0.5)",
        "latency_ms.p95 = 700 > 500",
        "by_type.why/explanation.answer.contains = 0.4 < 0.5",
    ]
    with pytest.raises(KeyError):
        check_bounds(s, [Bound("retrieval.recall", 0.5)])
    with pytest.raises(KeyError):
        check_bounds(s, [Bound("retrieval", 0.5)])
    assert lookup(s, "by_type.why/explanation.answer.contains") == 0.4
