"""Run an eval set through ``QA`` and score every question: the engine behind ``citeqa eval``.

``run_eval`` answers each question (follow-ups with their history), scores it with ``evals.metrics`` and
returns an ``EvalRun``: one record per question and a summary. ``write_run`` saves them as
``results.jsonl`` and ``summary.json``; ``evals.report`` adds ``report.md`` and plots, ``evals.gates``
checks quality gates (``--fail-under``) on the summary.

What is measured, per question and then averaged:

- retrieval at ``k`` over the chunks the generator saw (``doc_recall``, ``evidence_recall``, ``mrr``,
  ``ndcg``), plus the same metrics at k = 1..10 from one extra search of the standalone query (the
  recall@k curve);
- answer ``exact``/``f1``/``contains`` against the gold variants, over answerable questions, with the
  markers stripped; a refusal scores 0;
- citations, ALCE-style, over answers that were not refusals: the claims (``qa.cite.split_claims``) and the
  ``supported`` flags of the citations their markers point at (no marker: unsupported); ``precision``/``recall``
  average per answer; ``quotes_exact``: share of quotes equal to ``article.text[start:end]``;
  ``unsupported_claims``: mean per answer of the share of its ``Answer.claims`` nothing supports;
- refusal: unanswerable questions (``answers == []``) should be refused;
- latency: wall-clock milliseconds per question around ``qa.answer`` (or the search, retrieval-only).

Everything but the latencies is deterministic for a given index, settings and set.

Example:
    >>> qa = QA.ensure(get_settings({"retrieval": {"top_k": 5}}))
    >>> run = run_eval(load_eval_set("evals/sets/seed_dev.jsonl"), qa, k=5)
    >>> write_run(run, Path("runs/demo"))
    >>> run.summary["answer"]["contains"]
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.runfiles import RESULTS_FILE, SUMMARY_FILE, EvalRun, default_out_dir, load_run, set_name, write_run
from evals.scoring import ANSWER_KEYS, CURVE_MAX_K, RETRIEVAL_KEYS, citation_scores, score_item
from evals.sets import EvalItem
from evals.summary import LOWER_IS_BETTER, METRIC_GROUPS, MetricGroup, confidence_of, refusal_curve, summarize
from qa.errors import ArticleNotFoundError, InvalidQuestionError

if TYPE_CHECKING:
    from evals.judge import Judge
    from qa import QA, Answer

logger = logging.getLogger(__name__)


# -- running --------------------------------------------------------------------------------------------


def run_eval(
    items: Sequence[EvalItem],
    qa: QA,
    *,
    k: int | None = None,
    retrieval_only: bool = False,
    judge: Judge | None = None,
    progress: bool = True,
    set_name: str = "",
) -> EvalRun:
    """Answer and score every item of an eval set.

    Args:
        items: the questions, e.g. from ``load_eval_set``.
        qa: a loaded ``QA``; its ``retrieval.top_k`` is set to ``k`` for the run.
        k: chunks handed to the generator and cut-off of the retrieval metrics (default: the settings').
        retrieval_only: search only, no generation; the answer, citation and refusal groups are None.
        judge: an LLM judge whose verdicts are added next to the offline metrics.
        progress: show a progress bar on stderr.
        set_name: recorded in the summary.

    Returns:
        The ``EvalRun``. A question the pipeline rejects (``InvalidQuestionError``) is recorded with its
        ``error`` and scored as a wrong answer; any other error stops the run.
    """
    from tqdm import tqdm

    k = k or qa.settings.retrieval.top_k
    if qa.settings.retrieval.top_k != k:
        qa = qa.with_settings(retrieval={"top_k": k})
    article_text = _article_text(qa)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    records = []
    bar = tqdm(items, desc=set_name or "eval", unit="q", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    for item in bar:
        records.append(_run_item(item, qa, k=k, retrieval_only=retrieval_only, judge=judge, article_text=article_text))
    duration = time.perf_counter() - t0
    backend = None if retrieval_only else qa.generator.name
    summary = summarize(records, k=k, backend=backend, retrieval_only=retrieval_only,
                        refusal_threshold=qa.settings.answer.refusal_threshold)
    summary.update(
        set=set_name,
        retrieval_only=retrieval_only,
        started_at=started.isoformat(timespec="seconds"),
        duration_s=round(duration, 3),
        git_commit=_git_commit(),
        settings=qa.settings.model_dump(mode="json"),
    )
    if judge is not None:
        summary["judge"] = {**(summary.get("judge") or {}), **judge.info()}
    return EvalRun(records=records, summary=summary)


def _article_text(qa: QA) -> Callable[[str], str | None]:
    def text(doc_id: str) -> str | None:
        try:
            return qa.library.article(doc_id).text
        except ArticleNotFoundError:
            return None

    return text


def _run_item(
    item: EvalItem,
    qa: QA,
    *,
    k: int,
    retrieval_only: bool,
    judge: Judge | None,
    article_text: Callable[[str], str | None],
) -> dict[str, Any]:
    history = item.history_messages()
    record: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "question": item.question,
        "history": history,
        "gold": {"answers": list(item.answers), "doc": list(item.docs) or None, "evidence": list(item.evidence)},
        "query": None,
        "answer": None,
        "error": None,
    }
    curve_k = max(CURVE_MAX_K, k)
    answer: Answer | None = None
    t0 = time.perf_counter()
    try:
        if retrieval_only:
            query = qa.standalone_query(item.question, history)
            ranked = qa.index.search(query, qa.settings.retrieval, k=curve_k)
            chunks = ranked[:k]  # the ranking is prefix-stable for k ≤ retrieval.candidates
            latency = (time.perf_counter() - t0) * 1000
            record["chunks"] = [asdict(h) for h in chunks]
        else:
            answer = qa.answer(item.question, history)
            latency = (time.perf_counter() - t0) * 1000
            query, chunks = answer.query, answer.chunks
            ranked = qa.index.search(query, qa.settings.retrieval, k=curve_k) if curve_k > k else chunks
            record["answer"] = asdict(answer)
    except InvalidQuestionError as exc:
        logger.warning("%s: %s", item.id, exc)
        record["error"] = str(exc)
        query, chunks, ranked, latency = item.question, [], [], (time.perf_counter() - t0) * 1000
    record["query"] = query
    record["latency_ms"] = round(latency, 2)
    record["metrics"] = score_item(item, answer, chunks, ranked, k=k, retrieval_only=retrieval_only,
                                   article_text=article_text)
    if judge is not None and not retrieval_only:
        record["metrics"]["judge"] = judge.judge_answer(item, answer)
    return record


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


__all__ = [  # the names evals.run had before it was split, re-exported
    "ANSWER_KEYS",
    "CURVE_MAX_K",
    "LOWER_IS_BETTER",
    "METRIC_GROUPS",
    "RESULTS_FILE",
    "RETRIEVAL_KEYS",
    "SUMMARY_FILE",
    "EvalRun",
    "MetricGroup",
    "citation_scores",
    "confidence_of",
    "default_out_dir",
    "load_run",
    "refusal_curve",
    "run_eval",
    "score_item",
    "set_name",
    "summarize",
    "write_run",
]
