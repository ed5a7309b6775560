"""Run an eval set through ``QA`` and score every question: the engine behind ``citeqa eval``.

``run_eval`` answers each question (follow-ups with their history), scores it with ``evals.metrics`` and
returns an ``EvalRun``: one record per question and a summary. Given ``out_dir`` it writes the run folder as it
goes (``evals.journal``: each record appended as its question finishes, ``run.json``, ``--resume``); otherwise
``write_run`` saves ``results.jsonl`` and ``summary.json``. A question the LLM endpoint fails on is recorded and
left out of the metrics, and the run goes on (``max_failures`` in a row stop it); Ctrl-C raises ``RunInterrupted``
after saving. ``evals.report`` adds ``report.md`` and plots, ``evals.gates`` checks quality gates
(``--fail-under``) on the summary. Scoring is ``evals.scoring``, the summary ``evals.summary``, files
``evals.runfiles``, progress ``evals.progress``.

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
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.errors import EvalError
from evals.journal import RunJournal, run_manifest
from evals.progress import Progress
from evals.runfiles import RESULTS_FILE, SUMMARY_FILE, EvalRun, default_out_dir, load_run, set_name, write_run
from evals.scoring import ANSWER_KEYS, CURVE_MAX_K, RETRIEVAL_KEYS, citation_scores, score_item
from evals.sets import EvalItem
from evals.summary import LOWER_IS_BETTER, METRIC_GROUPS, MetricGroup, confidence_of, refusal_curve, summarize
from qa.errors import (
    ArticleNotFoundError,
    AuthError,
    ConfigError,
    EndpointError,
    GeneratorError,
    InvalidQuestionError,
    ModelNotFoundError,
)

if TYPE_CHECKING:
    from evals.judge import Judge
    from qa import QA, Answer

logger = logging.getLogger(__name__)


# -- running --------------------------------------------------------------------------------------------


DEFAULT_MAX_FAILURES = 3  # questions in a row the endpoint fails before the run stops: the server is down
# Errors that would fail every question alike: the run stops at once.
_FATAL = (AuthError, ModelNotFoundError, ConfigError)


class RunStopped(EvalError):
    """The run stopped before its end: the endpoint refused the key or model, or failed ``max_failures`` questions
    in a row. Everything answered is saved (``run``: the partial run) and can be resumed."""

    def __init__(self, message: str, run: EvalRun) -> None:
        super().__init__(message)
        self.run = run


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: ``run`` holds the questions finished before it (saved when the run had a folder)."""

    def __init__(self, run: EvalRun) -> None:
        super().__init__()
        self.run = run


def run_eval(
    items: Sequence[EvalItem],
    qa: QA,
    *,
    k: int | None = None,
    retrieval_only: bool = False,
    judge: Judge | None = None,
    progress: bool = True,
    set_name: str = "",
    out_dir: str | Path | None = None,
    resume: bool = False,
    set_path: str | Path | None = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
) -> EvalRun:
    """Answer and score every item of an eval set.

    Args:
        items: the questions, e.g. from ``load_eval_set``.
        qa: a loaded ``QA``; its ``retrieval.top_k`` is set to ``k`` for the run.
        k: chunks handed to the generator and cut-off of the retrieval metrics (default: the settings').
        retrieval_only: search only, no generation; the answer, citation and refusal groups are None.
        judge: an LLM judge whose verdicts are added next to the offline metrics.
        progress: show progress on stderr (``evals.progress``).
        set_name: recorded in the summary.
        out_dir: the run folder, written as the run goes (``evals.journal``): each question's record is appended
            to ``results.jsonl`` as it finishes; ``summary.json`` is written at the end, also when the run stops or
            is interrupted (then with ``complete`` false). None: nothing is written (``write_run`` can).
        resume: keep the questions ``out_dir`` already answered (same set file, settings and index) and ask the rest.
        set_path: the set's file (its sha256 goes into ``run.json``); needed with ``out_dir``.
        max_failures: stop after this many questions in a row failed at the endpoint (0: never stop).

    Returns:
        The ``EvalRun``. A question the pipeline rejects (``InvalidQuestionError``) is recorded with its
        ``error`` and scored as a wrong answer. A question the LLM endpoint fails on (unreachable, timed out,
        5xx, a reply it cannot read) is recorded with ``failed`` true and its ``error``, left out of every metric
        (``summary["n_failed"]``), and the run goes on.

    Raises:
        RunStopped: the endpoint refused the key or the model (at once), or failed ``max_failures`` in a row.
        RunInterrupted: Ctrl-C; what was finished is saved first.
        ResumeError: ``out_dir`` holds another set, another run's settings, or an unfinished run without ``resume``.
    """
    k = k or qa.settings.retrieval.top_k
    if qa.settings.retrieval.top_k != k:
        qa = qa.with_settings(retrieval={"top_k": k})
    journal = None
    if out_dir is not None:
        if set_path is None:
            raise ValueError("run_eval(out_dir=...) needs set_path")
        manifest = run_manifest(set_name=set_name, set_path=set_path, qa=qa, k=k, retrieval_only=retrieval_only,
                                judge_model=judge.model if judge is not None else None, total=len(items))
        manifest["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        journal = RunJournal.open(Path(out_dir), manifest, resume=resume)
    done = journal.done if journal else {}
    article_text = _article_text(qa)
    started = (journal.manifest.get("started_at") if journal else None) or datetime.now(UTC).isoformat(
        timespec="seconds")
    t0 = time.perf_counter()
    records: dict[str, dict[str, Any]] = {}
    todo = [item for item in items if item.id not in done]
    bar = Progress(len(items), done=len(items) - len(todo), desc=set_name or "eval", enabled=progress)
    streak, stop, interrupted = 0, "", False
    crash: Exception | None = None
    try:
        for item in todo:
            q0 = time.perf_counter()
            try:
                record = _run_item(item, qa, k=k, retrieval_only=retrieval_only, judge=judge, article_text=article_text)
                if not ((record.get("answer") or {}).get("timings_ms") or {}).get("model_skipped"):
                    streak = 0  # the endpoint answered (a question refused without the model says nothing of it)
            except _FATAL as exc:  # every question would fail alike
                stop = str(exc) or type(exc).__name__
                break
            except GeneratorError as exc:  # this question only: recorded, left out of the metrics
                logger.info("%s: %s", item.id, exc)  # the progress line and the report say it
                record = _failed_record(item, exc, latency_ms=(time.perf_counter() - q0) * 1000)
                streak = streak + 1 if isinstance(exc, EndpointError) else 0
            records[item.id] = record
            if journal is not None:
                journal.append(record)
            bar.update(record)
            if max_failures and streak >= max_failures:
                stop = (f"the LLM endpoint failed {streak} questions in a row, so the server looks down "
                        f"(last: {record['error']})")
                break
    except KeyboardInterrupt:
        interrupted = True
    except Exception as exc:  # a bug: the questions finished so far are still summarised and saved, then it surfaces
        crash = exc
    finally:
        bar.close()
    duration = time.perf_counter() - t0
    ordered = [r for r in (done.get(item.id) or records.get(item.id) for item in items) if r is not None]
    backend = None if retrieval_only else qa.generator.name
    summary = summarize(ordered, k=k, backend=backend, retrieval_only=retrieval_only,
                        refusal_threshold=qa.settings.answer.refusal_threshold)
    elapsed = duration + (float(journal.manifest.get("elapsed_s") or 0.0) if journal else 0.0)
    complete = not (interrupted or stop or crash)
    summary.update(
        set=set_name,
        retrieval_only=retrieval_only,
        started_at=started,
        duration_s=round(elapsed, 3),
        git_commit=_git_commit(),
        settings=qa.settings.model_dump(mode="json"),
        n_total=len(items),
        complete=complete,
    )
    if journal is not None and journal.resumed:
        summary["resumed"] = True
    if set_path is not None:
        summary["set_path"] = str(set_path)
    if judge is not None:
        summary["judge"] = {**(summary.get("judge") or {}), **judge.info()}
    run = EvalRun(records=ordered, summary=summary)
    if journal is not None:
        journal.finish(run, complete=complete, elapsed_s=elapsed)
    if crash is not None:
        raise crash
    if interrupted:
        raise RunInterrupted(run)
    if stop:
        raise RunStopped(stop, run)
    return run


def _failed_record(item: EvalItem, exc: Exception, *, latency_ms: float) -> dict[str, Any]:
    """The record of a question the endpoint failed on: no answer, no metrics, the error."""
    return {
        "id": item.id,
        "type": item.type,
        "question": item.question,
        "history": item.history_messages(),
        "gold": {"answers": list(item.answers), "doc": list(item.docs) or None, "evidence": list(item.evidence)},
        "query": None,
        "answer": None,
        "error": str(exc),
        "error_type": type(exc).__name__,
        "failed": True,
        "latency_ms": round(latency_ms, 2),
        "metrics": None,
    }


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
    "DEFAULT_MAX_FAILURES",
    "RETRIEVAL_KEYS",
    "SUMMARY_FILE",
    "EvalRun",
    "MetricGroup",
    "RunInterrupted",
    "RunStopped",
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
