"""The eval counts the claims nothing supports from ``Answer.claims`` (issue 13) and reports their rate in
report.md; runs saved before ``Answer.claims`` existed still summarise and report."""

from __future__ import annotations

from typing import Any

import pytest

from embeddings.types import Hit
from evals.metrics import unsupported_claim_rate
from evals.report import render_markdown
from evals.run import EvalRun, score_item, summarize
from evals.sets import EvalItem
from qa import Answer, Citation
from qa.align import claim_checks

ART = "Macron hosted Putin at Versailles in 2017. They talked about Syria. The meeting was tense."
ITEM = EvalItem(id="x1", question="Where did Macron host Putin?", answers=("Versailles",), doc="a.txt",
                evidence=("Macron hosted Putin at Versailles in 2017.",), type="factoid")


def _answer(text: str, citations: list[Citation], *, with_claims: bool = True) -> Answer:
    claims = claim_checks(text, citations) if with_claims else []
    return Answer(text=text, citations=citations, chunks=[Hit("a.txt", 0, len(ART), ART, 1.0)], refused=False,
                  query="q", backend="openai", claims=claims, unsupported=sum(not c.supported for c in claims))


def _rec(qid: str, citations: dict[str, Any]) -> dict[str, Any]:
    keys = ("doc_recall", "evidence_recall", "mrr", "ndcg")
    return {
        "id": qid, "type": "factoid", "question": f"q {qid}?", "history": [], "error": None,
        "gold": {"answers": ["x"], "doc": ["a.txt"], "evidence": ["e"]}, "query": "q", "answer": None,
        "latency_ms": 10.0,
        "metrics": {"retrieval": dict.fromkeys(keys, 1.0), "recall_at_k": {k: [1.0] * 10 for k in keys},
                    "answer": {"exact": 0.0, "f1": 0.5, "contains": 1.0},
                    "refusal": {"should_refuse": False, "refused": False, "correct": True},
                    "citations": {"precision": 1.0, "recall": 0.5, "supported_claims": 1, "citations": 1,
                                  "quotes_exact": 1, **citations}},
    }  # fmt: skip


def test_a_record_counts_the_claims_answer_claims_marks_unsupported() -> None:
    c1 = Citation(1, "a.txt", "A", 0, 42, ART[0:42], True)
    ans = _answer("Macron hosted Putin at Versailles. [1] They signed a treaty.", [c1])
    cit = score_item(ITEM, ans, ans.chunks, ans.chunks, k=5, article_text=lambda d: ART)["citations"]
    assert cit["claims"] == 2 and cit["unsupported_claims"] == 1
    old = _answer("Macron hosted Putin at Versailles. [1]", [c1], with_claims=False)  # no claims: not counted
    assert score_item(ITEM, old, old.chunks, old.chunks, k=5)["citations"]["unsupported_claims"] is None


def test_summary_and_report_give_the_rate_per_answer_and_old_records_are_left_out() -> None:
    recs = [_rec("a", {"claims": 2, "unsupported_claims": 1}), _rec("b", {"claims": 3, "unsupported_claims": 0}),
            _rec("c", {"claims": 4})]  # "c" comes from a run before Answer.claims
    s = summarize(recs, k=5, backend="openai")
    assert s["citations"]["unsupported_claims"] == pytest.approx(0.25)
    assert "| unsupported_claims | 0.250 |" in render_markdown(EvalRun(recs, {**s, "set": "t"}))


def test_a_run_without_claims_still_summarises_and_reports() -> None:
    recs = [_rec("a", {"claims": 2}), _rec("b", {"claims": 1})]
    s = summarize(recs, k=5, backend="extractive")
    assert s["citations"]["unsupported_claims"] is None and s["citations"]["recall"] == 0.5
    assert "| unsupported_claims | – |" in render_markdown(EvalRun(recs, {**s, "set": "t"}))


def test_rate_skips_answers_without_claims() -> None:
    answers = [{"unsupported_claims": 0, "claims": 0}, {"unsupported_claims": 2, "claims": 2}]
    assert unsupported_claim_rate(answers) == 1.0
    assert unsupported_claim_rate([]) is None
