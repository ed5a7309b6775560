"""The refusal / false-refusal curve over the threshold: computed from one run's confidences, in report.md and its
plot, rewritten from a saved run, and absent (without breaking anything) for runs made before confidences existed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evals.cli import eval_group
from evals.compare import compare_runs, render_comparison
from evals.metrics import ThresholdOutcome, refusal_curve, threshold_grid
from evals.report import PLOT_REFUSAL_CURVE, render_markdown, write_report
from evals.run import EvalRun, load_run, summarize, write_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OPERATING = 0.5


def _rec(qid: str, *, answerable: bool, refused: bool, confidence: float | None, old: bool = False) -> dict[str, Any]:
    """A record as run_eval writes it; ``old``: as runs before Answer.confidence wrote it (no confidence at all)."""
    refusal = {"should_refuse": not answerable, "refused": refused, "correct": refused != answerable}
    answer = {"text": "x [1]", "citations": [], "chunks": [], "refused": refused, "query": "q", "backend": "test",
              "question": "q", "unsupported": 0, "timings_ms": {}}
    if not old:
        refusal["confidence"] = confidence
        answer["confidence"] = confidence
    return {
        "id": qid, "type": "factoid" if answerable else "unanswerable", "question": f"What about {qid}?",
        "history": [], "error": None, "query": "q", "latency_ms": 10.0,
        "gold": {"answers": ["g"] if answerable else [], "doc": ["a.txt"] if answerable else None, "evidence": []},
        "answer": answer,
        "metrics": {
            "retrieval": {k: 1.0 if answerable else None for k in ("doc_recall", "evidence_recall", "mrr", "ndcg")},
            "recall_at_k": {k: [1.0] for k in ("doc_recall", "evidence_recall", "mrr", "ndcg")},
            "answer": {"exact": 0.0, "f1": 0.0, "contains": 0.0 if refused else 1.0} if answerable else None,
            "refusal": refusal,
            "citations": None,
        },
    }  # fmt: skip


def _records(*, old: bool = False) -> list[dict[str, Any]]:
    """Four unanswerable and four answerable questions, run at threshold 0.5."""
    return [
        _rec("u1", answerable=False, refused=True, confidence=0.40, old=old),  # refused by the threshold
        _rec("u2", answerable=False, refused=True, confidence=0.70, old=old),  # refused for another reason
        _rec("u3", answerable=False, refused=False, confidence=0.55, old=old),
        _rec("u4", answerable=False, refused=False, confidence=0.65, old=old),
        _rec("a1", answerable=True, refused=False, confidence=0.80, old=old),
        _rec("a2", answerable=True, refused=False, confidence=0.60, old=old),
        _rec("a3", answerable=True, refused=True, confidence=0.45, old=old),  # wrongly refused by the threshold
        _rec("a4", answerable=True, refused=True, confidence=None, old=old),  # no hits: refused, no confidence
    ]


def _run(records: list[dict[str, Any]]) -> EvalRun:
    summary = summarize(records, k=5, backend="test", refusal_threshold=OPERATING)
    summary.update(set="handmade", retrieval_only=False, duration_s=1.0,
                   settings={"answer": {"refusal_threshold": OPERATING}})
    return EvalRun(records, summary)


def _at(curve: dict[str, Any], t: float) -> dict[str, Any]:
    return next(p for p in curve["points"] if abs(p["threshold"] - t) < 1e-9)


def test_curve_counts_other_refusals_and_confidences_below_each_threshold() -> None:
    curve = _run(_records()).summary["refusal_curve"]
    assert curve["threshold"] == OPERATING and curve["n_confident"] == 7
    # the operating point is what the run did: 2 of 4 unanswerable refused, 2 of 4 answerable refused
    here = _at(curve, 0.50)
    assert (here["recall"], here["false_refusal_rate"], here["refused"], here["exact"]) == (0.5, 0.5, 4, True)
    # at 0.60: u3 (0.55) is refused too; a2 (0.60) is not (refused below t, not at t)
    assert (_at(curve, 0.60)["recall"], _at(curve, 0.60)["false_refusal_rate"]) == (0.75, 0.5)
    # at 0.66: u4 (0.65) and a2 (0.60) too; u2 stays refused for its other reason whatever the threshold
    assert (_at(curve, 0.66)["recall"], _at(curve, 0.66)["false_refusal_rate"]) == (1.0, 0.75)
    # below the run's threshold: u1 and a3 would be let through; u2 and a4 stay refused; a lower bound
    low = _at(curve, 0.40)
    assert (low["recall"], low["false_refusal_rate"], low["exact"]) == (0.25, 0.25, False)
    thresholds = [p["threshold"] for p in curve["points"]]
    assert thresholds == sorted(thresholds) and min(thresholds) <= 0.40 and max(thresholds) >= 0.80


def test_metrics_curve_and_grid_on_plain_outcomes() -> None:
    outcomes = [ThresholdOutcome(True, False, 0.3), ThresholdOutcome(False, False, 0.9),
                ThresholdOutcome(False, True, None)]
    points = refusal_curve(outcomes, [0.2, 0.35, 0.95], operating=0.2)
    assert [(p.recall, p.false_refusal_rate) for p in points] == [(0.0, 0.5), (1.0, 0.5), (1.0, 1.0)]
    assert threshold_grid([0.43, 0.61], operating=0.5) == [0.42, 0.44, 0.46, 0.48, 0.5, 0.52, 0.54, 0.56, 0.58,
                                                          0.6, 0.62]
    assert threshold_grid([], operating=0.5) == [0.5]


def test_report_has_the_curve_table_and_plot(tmp_path: Path) -> None:
    md = write_report(_run(_records()), tmp_path).read_text(encoding="utf-8")
    assert "## Refusal curve" in md
    assert "| 0.50 | 0.500 | 0.500 | 4 | ◀ this run |" in md
    assert "| 0.66 | 1.000 | 0.750 | 7 |  |" in md
    assert "| 0.40 | ≥ 0.250 | ≥ 0.250 | 2 |  |" in md
    assert f"]({PLOT_REFUSAL_CURVE})" in md
    assert (tmp_path / PLOT_REFUSAL_CURVE).read_bytes().startswith(PNG_MAGIC)


def test_report_command_rewrites_the_curve_from_a_saved_run(tmp_path: Path) -> None:
    run = _run(_records())
    del run.summary["refusal_curve"]  # e.g. a run saved before the curve was part of the summary
    write_run(run, tmp_path)
    result = CliRunner().invoke(eval_group, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| 0.50 | 0.500 | 0.500 | 4 | ◀ this run |" in md
    assert (tmp_path / PLOT_REFUSAL_CURVE).is_file()
    assert load_run(tmp_path).records[0]["metrics"]["refusal"]["confidence"] == 0.40


def test_old_runs_without_confidence_report_and_compare(tmp_path: Path) -> None:
    old, new = _run(_records(old=True)), _run(_records())
    assert old.summary["refusal_curve"] is None
    md = render_markdown(old)
    assert "## Refusal curve" not in md and "## Summary" in md
    assert write_report(old, tmp_path / "old").is_file()
    assert not (tmp_path / "old" / PLOT_REFUSAL_CURVE).exists()
    for a, b in ((old, new), (new, old)):
        cmp = compare_runs(a, b)
        assert cmp.flips == [] and cmp.common == 8
        assert "refusal.recall" in render_comparison(cmp)
    write_run(old, tmp_path / "a")
    write_run(new, tmp_path / "b")
    result = CliRunner().invoke(eval_group, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("retrieval_only", [True, False])
def test_no_curve_without_a_threshold_or_answers(retrieval_only: bool) -> None:
    records = _records()
    summary = summarize(records, k=5, backend="test", retrieval_only=retrieval_only,
                        refusal_threshold=None if not retrieval_only else OPERATING)
    assert "refusal_curve" not in summary
