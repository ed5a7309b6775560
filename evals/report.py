"""The readable side of an eval run: ``report.md`` with tables, the worst failures and PNG plots.

``write_report(run, out_dir)`` writes, next to ``results.jsonl`` and ``summary.json``:

- ``report.md``: the summary (one table per metric group), the per-type breakdown, the recall@k table,
  the plots, and the worst failures with question, gold answer, answer and what was retrieved;
- ``metrics_by_type.png``: the main metric of each group per question type;
- ``recall_at_k.png``: doc recall, evidence recall and nDCG at k = 1..10;
- ``refusal_curve.png``: refusal recall against false-refusal rate over the refusal threshold, the run's own
  threshold marked (the same numbers as the report's "Refusal curve" table);
- ``latency.png``: the histogram of per-question latency with p50 and p95.

Plots use matplotlib's Agg canvas (no display needed, no pyplot state) and are deterministic for given numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.runfiles import EvalRun
from evals.summary import METRIC_GROUPS, refusal_curve

logger = logging.getLogger(__name__)

REPORT_FILE = "report.md"
PLOT_BY_TYPE = "metrics_by_type.png"
PLOT_RECALL_AT_K = "recall_at_k.png"
PLOT_LATENCY = "latency.png"
PLOT_REFUSAL_CURVE = "refusal_curve.png"
WORST_FAILURES = 10
SNIPPET_CHARS = 220

# (group, key, label) of the metrics shown per type, in the table and the bar chart.
TYPE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("retrieval", "doc_recall", "doc recall"),
    ("retrieval", "evidence_recall", "evidence recall"),
    ("retrieval", "mrr", "MRR"),
    ("answer", "contains", "contains"),
    ("answer", "f1", "F1"),
    ("citations", "precision", "cit. precision"),
    ("citations", "recall", "cit. recall"),
    ("refusal", "accuracy", "refusal acc."),
    ("latency_ms", "p50", "p50 ms"),
)
_PLOTTED = ("doc_recall", "evidence_recall", "contains", "recall", "accuracy")


def write_report(run: EvalRun, out_dir: str | Path, *, worst: int = WORST_FAILURES) -> Path:
    """Write ``report.md`` and its plots into ``out_dir``; returns the report's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(run, out)
    path = out / REPORT_FILE
    path.write_text(render_markdown(run, plots=plots, worst=worst), encoding="utf-8")
    return path


# -- markdown -------------------------------------------------------------------------------------------


def render_markdown(run: EvalRun, *, plots: Sequence[str] = (), worst: int = WORST_FAILURES) -> str:
    """The report as Markdown (plots are linked by file name, relative to the report)."""
    s = run.summary
    lines: list[str] = []
    title = s.get("set") or "eval set"
    lines.append(f"# Eval report: {title}")
    lines.append("")
    mode = "retrieval only" if s.get("retrieval_only") else f"backend `{s.get('backend')}`"
    facts = [f"{s['n']} questions ({s.get('n_answerable', '?')} answerable, {s.get('n_unanswerable', '?')} "
             f"unanswerable)", mode, f"k = {s['k']}"]
    if s.get("duration_s") is not None:
        facts.append(f"{s['duration_s']:.1f} s")
    if s.get("started_at"):
        facts.append(f"started {s['started_at']}")
    if s.get("git_commit"):
        facts.append(f"commit `{s['git_commit']}`")
    lines.append(", ".join(facts) + ".")
    if s.get("complete") is False:
        lines.append(f"\n**This run did not finish**: {s['n'] + s.get('n_failed', 0)} of {s.get('n_total')} questions "
                     "were asked (continue it with `citeqa eval SET --out DIR --resume`).")
    if s.get("n_errors"):
        lines.append(f"\n**{s['n_errors']} question(s) were rejected by the pipeline** (see `results.jsonl`).")
    lines += _endpoint_failures(run)
    lines.append("")

    lines += ["## Summary", ""]
    lines += _summary_table(s)
    lines.append("")
    lines += _metric_notes(s)

    lines += ["## By question type", ""]
    lines += _type_table(s)
    lines.append("")

    curve = s.get("recall_at_k") or {}
    if curve.get("doc_recall"):
        lines += ["## Retrieval at k", ""]
        ks = range(1, len(curve["doc_recall"]) + 1)
        lines.append("| metric | " + " | ".join(f"@{k}" for k in ks) + " |")
        lines.append("|---|" + "---:|" * len(ks))
        for key in ("doc_recall", "evidence_recall", "mrr", "ndcg"):
            lines.append(f"| {key} | " + " | ".join(_fmt(v) for v in curve.get(key, [])) + " |")
        lines.append("")

    lines += _refusal_curve_section(run)

    if plots:
        lines += ["## Plots", ""]
        for name in plots:
            lines.append(f"![{Path(name).stem.replace('_', ' ')}]({name})")
            lines.append("")

    failures = worst_failures(run.records, limit=worst)
    lines += [f"## Worst failures ({len(failures)} of {count_failures(run.records)})", ""]
    if not failures:
        lines += ["No failures.", ""]
    for rec, reasons in failures:
        lines += _failure_block(rec, reasons)
    return "\n".join(lines).rstrip() + "\n"


def _endpoint_failures(run: EvalRun, shown: int = 10) -> list[str]:
    """The questions the LLM endpoint failed on: counted, left out of every metric, listed with their errors."""
    failed = [r for r in run.records if r.get("failed")]
    if not failed:
        return []
    lines = [f"\n**{len(failed)} question(s) failed at the LLM endpoint** and are left out of every metric below "
             "(`--resume` on this folder asks them again):", ""]
    for r in failed[:shown]:
        lines.append(f"- `{r['id']}`: {_snippet(str(r.get('error')))}")
    if len(failed) > shown:
        lines.append(f"- … and {len(failed) - shown} more (see `results.jsonl`)")
    return lines


def _summary_table(s: Mapping[str, Any]) -> list[str]:
    out = ["| group | metric | value |", "|---|---|---:|"]
    for g in METRIC_GROUPS:
        group, label, keys = g.name, g.label.format(k=s["k"]), g.keys
        values = s.get(group)
        if group == "judge" and not values:
            continue
        if values is None:
            out.append(f"| {label} | (not measured{' in a retrieval-only run' if s.get('retrieval_only') else ''}) | |")
            continue
        for key in keys:
            if key in values:
                out.append(f"| {label} | {key} | {_fmt(values[key], ms=group == 'latency_ms')} |")
            label = ""
    return out


def run_refusal_curve(run: EvalRun) -> dict[str, Any] | None:
    """The run's refusal curve, computed again from its records around the threshold it ran with (its settings'
    ``answer.refusal_threshold``), so a saved run's report can be rewritten; None when there is nothing to draw."""
    s = run.summary
    if s.get("retrieval_only"):
        return None
    operating = ((s.get("settings") or {}).get("answer") or {}).get("refusal_threshold")
    if operating is None:
        operating = (s.get("refusal_curve") or {}).get("threshold")
    if not isinstance(operating, int | float):
        return None
    return refusal_curve(run.records, operating=float(operating))


def _refusal_curve_section(run: EvalRun) -> list[str]:
    curve = run_refusal_curve(run)
    if curve is None:
        return []
    t0 = curve["threshold"]
    out = ["## Refusal curve", "",
           f"What this run would refuse at other values of the refusal threshold (it ran at **{t0:.2f}**, marked ◀), "
           f"from the confidence of {curve['n_confident']} answers. A question counts as refused at threshold t when "
           "the run refused it for another reason than the threshold, or its confidence is below t. Above the run's "
           "threshold the rates are exact; below it (marked ≥) they are lower bounds: a question the threshold "
           "refused might have been refused for another reason once let through, which one run cannot tell.", "",
           "| threshold | refusal recall | false-refusal rate | refused | |", "|---:|---:|---:|---:|---|"]
    for p in curve["points"]:
        mark = "◀ this run" if abs(p["threshold"] - t0) < 1e-9 else ""
        bound = "" if p["exact"] else "≥ "
        out.append(f"| {p['threshold']:.2f} | {bound}{_fmt(p['recall'])} | {bound}{_fmt(p['false_refusal_rate'])} "
                   f"| {p['refused']} | {mark} |")
    return [*out, ""]


def _metric_notes(s: Mapping[str, Any]) -> list[str]:
    notes = []
    ref = s.get("refusal")
    if ref:
        notes.append(f"Refusals: {ref['tp']} unanswerable refused, {ref['fn']} unanswerable answered, "
                     f"{ref['fp']} answerable refused, {ref['tn']} answerable answered.")
    cit = s.get("citations")
    if cit:
        notes.append(f"Citations: {cit['claims']} claims and {cit['citations']} citations over "
                     f"{cit['answers']} answers.")
    judge = s.get("judge")
    if judge:
        notes.append(f"Judge: model `{judge.get('model')}`, {judge.get('calls', 0)} calls, "
                     f"{judge.get('cache_hits', 0)} cached, {judge.get('unparsed', 0)} unreadable verdicts; "
                     "reported next to the offline metrics, not instead of them.")
    return [*notes, ""] if notes else []


def _type_table(s: Mapping[str, Any]) -> list[str]:
    out = ["| type | n | " + " | ".join(label for _, _, label in TYPE_COLUMNS) + " |",
           "|---|---:|" + "---:|" * len(TYPE_COLUMNS)]
    for t, g in (s.get("by_type") or {}).items():
        cells = [_fmt((g.get(group) or {}).get(key), ms=group == "latency_ms") for group, key, _ in TYPE_COLUMNS]
        out.append(f"| {t} | {g.get('n', '')} | " + " | ".join(cells) + " |")
    return out


def _fmt(v: Any, *, ms: bool = False) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.0f}" if ms else f"{v:.3f}"
    return str(v)


# -- failures -------------------------------------------------------------------------------------------


def failure_reasons(rec: Mapping[str, Any]) -> list[str]:
    """Why a question counts as a failure (empty when it does not, or when the endpoint failed on it: such a question
    has no answer to judge and is listed apart)."""
    m = rec.get("metrics")
    if not m or rec.get("failed"):
        return []
    reasons = []
    if rec.get("error"):
        reasons.append(f"rejected: {rec['error']}")
    ref = m.get("refusal")
    answerable = bool(rec["gold"]["answers"])
    if ref and ref["should_refuse"] and not ref["refused"]:
        reasons.append("answered an unanswerable question")
    if ref and not ref["should_refuse"] and ref["refused"]:
        reasons.append("refused an answerable question")
    ans = m.get("answer")
    if ans and answerable and not (ref and ref["refused"]) and not ans["contains"]:
        reasons.append("gold answer not in the answer")
    r = m["retrieval"]
    if r.get("doc_recall") is not None and r["doc_recall"] < 1:
        reasons.append("gold doc not retrieved" if r["doc_recall"] == 0 else "a gold doc not retrieved")
    elif r.get("evidence_recall") is not None and r["evidence_recall"] < 1:
        reasons.append("evidence not retrieved" if r["evidence_recall"] == 0 else "some evidence not retrieved")
    cit = m.get("citations")
    if cit and cit["claims"] and cit["recall"] is not None and cit["recall"] < 1:
        reasons.append(f"{cit['claims'] - cit['supported_claims']} of {cit['claims']} claims unsupported")
    if cit and cit["citations"] and cit["quotes_exact"] < cit["citations"]:
        reasons.append("a quote differs from its source")
    return reasons


def _severity(rec: Mapping[str, Any], reasons: Sequence[str]) -> float:
    """Trust first: a wrong answer shown to the user outranks a refusal, which outranks retrieval misses."""
    m = rec.get("metrics") or {}
    ref = m.get("refusal")
    ans = m.get("answer")
    score = 4.0 if rec.get("error") else 0.0
    if ref and ref["should_refuse"] and not ref["refused"]:
        score += 3  # answered the unanswerable
    elif ref and ref["refused"] and not ref["should_refuse"]:
        score += 1.5  # refused the answerable
    elif ans and not ans["contains"]:
        score += 2 + 0.5 * (1 - ans["f1"])  # answered, wrongly
    r = m["retrieval"]
    if r.get("doc_recall") is not None:
        score += 0.5 * (1 - r["doc_recall"])
    if r.get("evidence_recall") is not None:
        score += 0.25 * (1 - r["evidence_recall"])
    cit = m.get("citations")
    if cit and cit["recall"] is not None:
        score += 0.5 * (1 - cit["recall"])
    return score + 0.01 * len(reasons)


def count_failures(records: Sequence[Mapping[str, Any]]) -> int:
    return sum(bool(failure_reasons(r)) for r in records)


def worst_failures(records: Sequence[Mapping[str, Any]], *, limit: int = WORST_FAILURES
                   ) -> list[tuple[Mapping[str, Any], list[str]]]:
    """The failed questions, most severe first (ties in file order), with their reasons."""
    failed = [(i, r, failure_reasons(r)) for i, r in enumerate(records)]
    failed = [f for f in failed if f[2]]
    failed.sort(key=lambda f: (-_severity(f[1], f[2]), f[0]))
    return [(r, reasons) for _, r, reasons in failed[:limit]]


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    t = " ".join(str(text).split()).replace("|", "\\|")
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _failure_block(rec: Mapping[str, Any], reasons: Sequence[str]) -> list[str]:
    gold = rec["gold"]
    out = [f"### {rec['id']} ({rec['type']}): {_snippet(rec['question'], 160)}", ""]
    if rec.get("history"):
        out.append(f"- **History**: {len(rec['history'])} turns; searched for: “{_snippet(rec.get('query') or '')}”")
    out.append(f"- **Why**: {'; '.join(reasons)}")
    if gold["answers"]:
        docs = ", ".join(f"`{d}`" for d in gold["doc"] or [])
        out.append(f"- **Gold**: {' / '.join(_snippet(a, 80) for a in gold['answers'][:4])} ({docs})")
        if gold["evidence"]:
            out.append(f"- **Evidence**: “{_snippet(gold['evidence'][0])}”")
    else:
        out.append("- **Gold**: unanswerable (should refuse)")
    answer = rec.get("answer")
    if answer is not None:
        tag = " (refused)" if answer["refused"] else ""
        out.append(f"- **Answer**{tag}: {_snippet(answer['text'], 400)}")
        chunks = answer["chunks"]
    else:
        chunks = rec.get("chunks") or []
    if chunks:
        out.append("- **Retrieved**:")
        golds = set(gold["doc"] or [])
        for i, h in enumerate(chunks[:3], 1):
            mark = " ✓" if h["doc_id"] in golds else ""
            out.append(f"  {i}. `{h['doc_id']}`{mark} ({h['score']:.3f}): {_snippet(h['text'], 160)}")
    out.append("")
    return out


# -- plots ----------------------------------------------------------------------------------------------


def write_plots(run: EvalRun, out_dir: Path) -> list[str]:
    """Write the PNG plots into ``out_dir``; returns their file names (skipping any with nothing to plot).

    Figures are built with ``matplotlib.figure.Figure`` (Agg canvas), not pyplot, so writing a report
    changes no global matplotlib state and needs no display.
    """
    written = []
    for name, draw in ((PLOT_BY_TYPE, _plot_by_type), (PLOT_RECALL_AT_K, _plot_recall_at_k),
                       (PLOT_REFUSAL_CURVE, _plot_refusal_curve), (PLOT_LATENCY, _plot_latency)):
        fig = draw(run)
        if fig is None:
            continue
        fig.savefig(out_dir / name, dpi=100, metadata={"Software": None})
        written.append(name)
    return written


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _plot_by_type(run: EvalRun) -> Any:
    by_type = run.summary.get("by_type") or {}
    if not by_type:
        return None
    series = [(g, k, label) for g, k, label in TYPE_COLUMNS if k in _PLOTTED
              and any((t.get(g) or {}).get(k) is not None for t in by_type.values())]
    types = list(by_type)
    fig, ax = _figure(max(7.0, 1.2 * len(types) + 2), 4.2)
    width = 0.8 / max(1, len(series))
    for i, (group, key, label) in enumerate(series):
        values = [(by_type[t].get(group) or {}).get(key) for t in types]
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(types))]
        ax.bar(xs, [v if v is not None else 0 for v in values], width, label=label)
    ax.set_xticks(range(len(types)))
    ax.set_xticklabels([f"{t}\n(n={by_type[t].get('n', '')})" for t in types], fontsize=8)
    ax.set_ylim(0, 1.22)  # headroom for the legend above the bars
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("score")
    ax.set_title(f"Metrics by question type ({run.summary.get('set') or 'eval'})")
    ax.legend(fontsize=8, ncol=max(1, len(series)), loc="upper center", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def _plot_recall_at_k(run: EvalRun) -> Any:
    curve = run.summary.get("recall_at_k") or {}
    if not any(v is not None for values in curve.values() for v in values):
        return None
    fig, ax = _figure(6.5, 4.2)
    for key, label in (("doc_recall", "doc recall"), ("evidence_recall", "evidence recall"), ("ndcg", "nDCG")):
        values = curve.get(key) or []
        points = [(k, v) for k, v in enumerate(values, 1) if v is not None]
        if points:
            ax.plot([k for k, _ in points], [v for _, v in points], marker="o", label=label)
    k = run.summary.get("k")
    if k:
        ax.axvline(k, color="grey", linestyle="--", linewidth=1, label=f"k used = {k}")
    ax.set_xlabel("k (chunks retrieved)")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(range(1, len(curve.get("doc_recall") or []) + 1))
    ax.set_title("Retrieval at k")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _plot_latency(run: EvalRun) -> Any:
    values = [r["latency_ms"] for r in run.records if r.get("latency_ms") is not None and not r.get("failed")]
    if not values:
        return None
    fig, ax = _figure(6.5, 4.2)
    ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#4c72b0")
    lat = run.summary.get("latency_ms") or {}
    for key, style in (("p50", "--"), ("p95", ":")):
        if lat.get(key) is not None:
            ax.axvline(lat[key], color="black", linestyle=style, linewidth=1, label=f"{key} = {lat[key]:.0f} ms")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Latency" + (" (retrieval only)" if run.summary.get("retrieval_only") else ""))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _plot_refusal_curve(run: EvalRun) -> Any:
    """Refusal recall and false-refusal rate against the threshold; the run's threshold as a dashed line."""
    curve = run_refusal_curve(run)
    if curve is None:
        return None
    points = curve["points"]
    fig, ax = _figure(6.5, 4.2)
    for key, label, color in (("recall", "refusal recall (unanswerable refused)", "#c44e52"),
                              ("false_refusal_rate", "false-refusal rate (answerable refused)", "#4c72b0")):
        exact = [(p["threshold"], p[key]) for p in points if p[key] is not None and p["exact"]]
        bound = [(p["threshold"], p[key]) for p in points if p[key] is not None and not p["exact"]]
        if bound and exact:
            bound.append(exact[0])  # join the lower-bound part to the exact part
        if exact:
            ax.plot([t for t, _ in exact], [v for _, v in exact], marker="o", markersize=3, color=color, label=label)
        if bound:
            ax.plot([t for t, _ in bound], [v for _, v in bound], linestyle=":", color=color)
    t0 = curve["threshold"]
    ax.axvline(t0, color="grey", linestyle="--", linewidth=1, label=f"this run's threshold = {t0:.2f}")
    here = next((p for p in points if abs(p["threshold"] - t0) < 1e-9), None)
    if here is not None:
        for key in ("recall", "false_refusal_rate"):
            if here[key] is not None:
                ax.plot([t0], [here[key]], marker="D", color="black", markersize=6)
                ax.annotate(f"{here[key]:.2f}", (t0, here[key]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel("refusal threshold (dotted: lower bounds, below the run's threshold)")
    ax.set_ylabel("share of questions")
    ax.set_ylim(0, 1.05)
    ax.set_title("Refusal curve")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
