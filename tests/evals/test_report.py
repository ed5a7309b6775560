"""report.md and its plots, from hand-made records (so every number in the report is known)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.report import (
    PLOT_BY_TYPE,
    PLOT_LATENCY,
    PLOT_RECALL_AT_K,
    failure_reasons,
    render_markdown,
    worst_failures,
    write_report,
)
from evals.run import EvalRun, summarize

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rec(qid: str, type_: str, *, answerable: bool = True, refused: bool = False, contains: float = 1.0,
         doc_recall: float | None = 1.0, latency: float = 10.0, text: str = "An answer [1]") -> dict[str, Any]:
    chunk = {"doc_id": "a.txt" if doc_recall else "b.txt", "start": 0, "end": 20, "text": "Some | retrieved text.",
             "score": 0.5, "title": "A", "dense_rank": 1, "bm25_rank": 1}
    return {
        "id": qid, "type": type_, "question": f"What about {qid}?", "history": [], "error": None,
        "gold": {"answers": ["gold " + qid] if answerable else [], "doc": ["a.txt"] if answerable else None,
                 "evidence": ["the evidence"] if answerable else []},
        "query": f"What about {qid}?", "latency_ms": latency,
        "answer": {"text": text, "citations": [], "chunks": [chunk], "refused": refused, "query": "q",
                   "backend": "test", "question": "q", "unsupported": 0, "timings_ms": {}},
        "metrics": {
            "retrieval": {k: doc_recall for k in ("doc_recall", "evidence_recall", "mrr", "ndcg")},
            "recall_at_k": {k: [doc_recall] * 10 for k in ("doc_recall", "evidence_recall", "mrr", "ndcg")},
            "answer": {"exact": 0.0, "f1": contains / 2, "contains": contains} if answerable else None,
            "refusal": {"should_refuse": not answerable, "refused": refused, "correct": refused != answerable},
            "citations": None if refused else {"precision": 1.0, "recall": 1.0, "claims": 1, "supported_claims": 1,
                                               "citations": 1, "quotes_exact": 1},
        },
    }  # fmt: skip


def _run(retrieval_only: bool = False) -> EvalRun:
    records = [
        _rec("q1", "factoid"),
        _rec("q2", "factoid", contains=0.0, doc_recall=0.0, latency=40.0),
        _rec("q3", "numeric", refused=True, contains=0.0),
        _rec("q4", "unanswerable", answerable=False, refused=False, doc_recall=None, text="It was Paris [1]"),
        _rec("q5", "unanswerable", answerable=False, refused=True, doc_recall=None),
    ]
    if retrieval_only:
        for r in records:
            r["metrics"].update(answer=None, refusal=None, citations=None)
            r["chunks"] = r.pop("answer")["chunks"]
            r["answer"] = None
    summary = summarize(records, k=5, backend=None if retrieval_only else "test", retrieval_only=retrieval_only)
    summary.update(set="handmade", retrieval_only=retrieval_only, duration_s=1.5, git_commit="abc123")
    return EvalRun(records, summary)


def test_report_has_tables_plots_and_failures(tmp_path: Path) -> None:
    path = write_report(_run(), tmp_path)
    md = path.read_text(encoding="utf-8")
    assert path.name == "report.md"
    assert md.startswith("# Eval report: handmade\n")
    assert "5 questions (3 answerable, 2 unanswerable)" in md and "commit `abc123`" in md
    for section in ("## Summary", "## By question type", "## Retrieval at k", "## Plots", "## Worst failures"):
        assert section in md
    assert "| Answer (answerable questions) | exact | 0.000 |" in md
    assert "| factoid | 2 | 0.500 |" in md  # doc recall of the factoid questions
    for name in (PLOT_BY_TYPE, PLOT_RECALL_AT_K, PLOT_LATENCY):
        assert f"]({name})" in md
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)
    assert "Refusals: 1 unanswerable refused, 1 unanswerable answered, 1 answerable refused" in md
    # the failures: gold, answer and what was retrieved; '|' in snippets escaped for the tables
    assert "### q4 (unanswerable): What about q4?" in md
    assert "- **Gold**: unanswerable (should refuse)" in md
    assert "- **Answer**: It was Paris [1]" in md
    assert "Some \\| retrieved text." in md
    assert "### q1" not in md  # a clean pass is not a failure


def test_worst_failures_rank_answering_the_unanswerable_first() -> None:
    run = _run()
    ranked = [r["id"] for r, _ in worst_failures(run.records)]
    assert ranked[0] == "q2"  # wrong answer and gold doc missed
    assert set(ranked) == {"q2", "q3", "q4"}
    assert ranked.index("q4") < ranked.index("q3")  # answering the unanswerable beats a false refusal
    reasons = dict((r["id"], why) for r, why in worst_failures(run.records))
    assert reasons["q2"] == ["gold answer not in the answer", "gold doc not retrieved"]
    assert reasons["q3"] == ["refused an answerable question"]
    assert reasons["q4"] == ["answered an unanswerable question"]
    assert [r["id"] for r, _ in worst_failures(run.records, limit=1)] == ["q2"]
    assert failure_reasons(run.records[0]) == []


def test_retrieval_only_report_says_what_was_not_measured(tmp_path: Path) -> None:
    md = write_report(_run(retrieval_only=True), tmp_path).read_text(encoding="utf-8")
    assert "retrieval only" in md
    assert "(not measured in a retrieval-only run)" in md
    assert "- **Retrieved**:" in md


def test_plots_are_deterministic(tmp_path: Path) -> None:
    write_report(_run(), tmp_path / "a")
    write_report(_run(), tmp_path / "b")
    for name in (PLOT_BY_TYPE, PLOT_RECALL_AT_K, PLOT_LATENCY):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_markdown_without_plots_has_no_plot_section() -> None:
    md = render_markdown(_run(), plots=[])
    assert "## Plots" not in md and "## Summary" in md
