"""Comparing two runs: deltas with the right sense of better/worse, flips with regressions first."""

from __future__ import annotations

from typing import Any

import pytest

from evals.compare import MetricDelta, compare_runs, outcomes, render_comparison
from evals.run import EvalRun, summarize


def _rec(qid: str, *, contains: float | None = 1.0, refused: bool = False, should_refuse: bool = False,
         doc_recall: float | None = 1.0, latency: float = 10.0) -> dict[str, Any]:
    return {
        "id": qid, "type": "unanswerable" if should_refuse else "factoid", "question": f"Question {qid} | x?",
        "history": [], "error": None, "latency_ms": latency,
        "gold": {"answers": [] if should_refuse else ["g"], "doc": None if should_refuse else ["a.txt"],
                 "evidence": []},
        "metrics": {
            "retrieval": {"doc_recall": doc_recall, "evidence_recall": doc_recall, "mrr": doc_recall,
                          "ndcg": doc_recall},
            "recall_at_k": {k: [doc_recall] for k in ("doc_recall", "evidence_recall", "mrr", "ndcg")},
            "answer": None if contains is None else {"exact": 0.0, "f1": 0.5, "contains": contains},
            "refusal": {"should_refuse": should_refuse, "refused": refused, "correct": refused == should_refuse},
            "citations": None,
        },
    }  # fmt: skip


def _run(records: list[dict[str, Any]], **extra: Any) -> EvalRun:
    s = summarize(records, k=extra.pop("k", 5), backend="test")
    s.update(set="s", duration_s=extra.pop("duration_s", 10.0), **extra)
    return EvalRun(records, s)


def test_flips_list_regressions_first_in_baseline_order() -> None:
    a = _run([_rec("q1"), _rec("q2", contains=0.0), _rec("q3"), _rec("u1", contains=None, should_refuse=True,
                                                                        refused=True, doc_recall=None)])
    b = _run([_rec("q1"), _rec("q2"), _rec("q3", contains=0.0, doc_recall=0.0),
              _rec("u1", contains=None, should_refuse=True, refused=False, doc_recall=None), _rec("new")])
    cmp = compare_runs(a, b)
    assert [(f.id, f.outcome, f.regression) for f in cmp.flips] == [
        ("q3", "contains", True), ("q3", "doc hit", True), ("u1", "refusal", True), ("q2", "contains", False)]
    assert cmp.common == 4 and cmp.only_a == 0 and cmp.only_b == 1
    assert len(cmp.regressions) == 3 and len(cmp.improvements) == 1


def test_deltas_know_which_direction_is_better() -> None:
    a = _run([_rec("q1", latency=100.0), _rec("q2", contains=0.0, latency=100.0)])
    b = _run([_rec("q1", latency=50.0), _rec("q2", latency=50.0)], duration_s=20.0)
    d = {x.metric: x for x in compare_runs(a, b).deltas}
    assert d["answer.contains"].delta == pytest.approx(0.5) and d["answer.contains"].verdict == "better"
    assert d["latency_ms.p50"].delta == pytest.approx(-50.0) and d["latency_ms.p50"].verdict == "better"
    assert d["duration_s"].verdict == "worse"
    assert d["retrieval.doc_recall"].verdict == "" and d["retrieval.doc_recall"].delta == 0
    assert MetricDelta("refusal.false_refusal_rate", 0.1, 0.2).verdict == "worse"
    assert MetricDelta("answer.f1", None, 0.2).delta is None and MetricDelta("answer.f1", None, 0.2).verdict == ""
    assert "judge.correct" not in d  # neither run had a judge


def test_render_shows_table_notes_and_flips() -> None:
    a = _run([_rec("q1"), _rec("q2")])
    b = _run([_rec("q1", contains=0.0), _rec("q2")], k=3)
    md = render_comparison(compare_runs(a, b), "runs/a", "runs/b")
    assert md.startswith("# Eval comparison: A = runs/a, B = runs/b")
    assert "note: k differs: 5 → 3" in md
    assert "| answer.contains | 1.000 | 0.500 | -0.500 | worse |" in md
    assert "## Flipped questions: 1 regressions, 0 improvements" in md
    assert "| regression | q1 | factoid | contains | pass → fail | Question q1 \\| x? |" in md
    assert "## Δ by question type" in md


def test_identical_runs_have_no_flips() -> None:
    a = _run([_rec("q1"), _rec("q2", contains=0.0)])
    cmp = compare_runs(a, a)
    assert cmp.flips == [] and all(d.verdict == "" for d in cmp.deltas)
    assert "None." in render_comparison(cmp)


def test_outcomes_of_a_retrieval_only_record() -> None:
    rec = _rec("q1", contains=None)
    rec["metrics"]["refusal"] = None
    assert outcomes(rec) == {"doc hit": True}
