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

import json
import logging
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals import metrics
from evals.sets import EvalItem
from qa.cite import split_claims, strip_markers
from qa.errors import ArticleNotFoundError, InvalidQuestionError

if TYPE_CHECKING:
    from evals.judge import Judge
    from qa import QA, Answer

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
CURVE_MAX_K = 10
RETRIEVAL_KEYS = ("doc_recall", "evidence_recall", "mrr", "ndcg")
ANSWER_KEYS = ("exact", "f1", "contains", "short_exact", "short_f1")


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
LOWER_IS_BETTER = frozenset({"refusal.false_refusal_rate", "latency_ms.p50", "latency_ms.p95", "latency_ms.mean",
                             "latency_ms.max", "duration_s"})


@dataclass
class EvalRun:
    """The outcome of one run: a record per question (file order) and the summary."""

    records: list[dict[str, Any]]
    summary: dict[str, Any]


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


# -- scoring one question ---------------------------------------------------------------------------------


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


# -- summarising ------------------------------------------------------------------------------------------


def summarize(records: Sequence[Mapping[str, Any]], *, k: int, backend: str | None,
              retrieval_only: bool = False, refusal_threshold: float | None = None) -> dict[str, Any]:
    """The summary of a run from its records: the groups of the issue, overall and ``by_type``, and the refusal
    curve around ``refusal_threshold`` (the run's ``answer.refusal_threshold``; None: no curve).

    Only the records are read, so a summary can be recomputed from ``results.jsonl``.
    """
    summary: dict[str, Any] = {"n": len(records), "k": k, "backend": backend}
    summary.update(_groups(records, retrieval_only=retrieval_only))
    summary["n_answerable"] = sum(bool(r["gold"]["answers"]) for r in records)
    summary["n_unanswerable"] = len(records) - summary["n_answerable"]
    summary["n_errors"] = sum(r.get("error") is not None for r in records)
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
    ref = record["metrics"].get("refusal") or {}
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
        ref = r["metrics"].get("refusal")
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


# -- files ----------------------------------------------------------------------------------------------


def write_run(run: EvalRun, out_dir: str | Path) -> Path:
    """Write ``results.jsonl`` and ``summary.json`` into ``out_dir`` (created if missing); returns it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / RESULTS_FILE).open("w", encoding="utf-8") as f:
        for record in run.records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out / SUMMARY_FILE).write_text(json.dumps(run.summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


def load_run(path: str | Path) -> EvalRun:
    """Read a run folder written by ``write_run`` (or its ``summary.json``).

    Raises:
        FileNotFoundError / ValueError: the folder is not a run, or a file is not valid JSON.
    """
    p = Path(path)
    folder = p.parent if p.is_file() else p
    summary_path, results_path = folder / SUMMARY_FILE, folder / RESULTS_FILE
    if not summary_path.is_file():
        raise FileNotFoundError(f"{folder} is not an eval run: no {SUMMARY_FILE} in it")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        records = [json.loads(line) for line in results_path.read_text(encoding="utf-8").splitlines()
                   if line.strip()] if results_path.is_file() else []
    except json.JSONDecodeError as exc:
        raise ValueError(f"{folder}: invalid JSON ({exc})") from None
    return EvalRun(records=records, summary=summary)


def set_name(set_path: str | Path) -> str:
    """A set's name: its file name without suffix, or its folder's name for a generic ``eval.jsonl``.

    ``import-squad`` writes ``DIR/eval.jsonl``, so ``data/xquad/eval.jsonl`` is named ``xquad``.
    """
    p = Path(set_path)
    return p.parent.name if p.stem == "eval" and p.parent.name else p.stem


def default_out_dir(set_path: str | Path, *, root: str | Path = "runs", now: datetime | None = None) -> Path:
    """``runs/<YYYYmmdd-HHMMSS>-<set name>/``, with ``-2``, ``-3``… if that folder exists already."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{set_name(set_path)}"
    out, i = base, 2
    while out.exists():
        out, i = base.with_name(f"{base.name}-{i}"), i + 1
    return out


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


__all__ = [
    "METRIC_GROUPS",
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
