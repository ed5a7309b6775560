"""Compare two eval runs: per-metric deltas, and the questions whose outcome flipped, regressions first.

A question *flips* when one of its outcomes changes between run A (the baseline) and run B:

- ``contains``: the gold answer is in the answer (answerable questions);
- ``refusal``: it refused exactly when it should;
- ``doc hit``: a gold document is among the top-k chunks.

Good in A and bad in B is a regression; the reverse an improvement. Questions are matched by ``id``;
those in only one run are counted, not compared.

Example:
    >>> cmp = compare_runs(load_run("runs/before"), load_run("runs/after"))
    >>> print(render_comparison(cmp, "before", "after"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.gates import lookup
from evals.runfiles import EvalRun
from evals.summary import LOWER_IS_BETTER, METRIC_GROUPS

# The metrics of the deltas table, in order (dotted paths into the summary): every metric of the summary's groups
# (those report.md lists), then the run's failures and its duration.
COMPARED_METRICS: tuple[str, ...] = (
    *(f"{g.name}.{key}" for g in METRIC_GROUPS for key in g.keys), "n_errors", "n_failed", "duration_s",
)
# Per-type deltas: the headline metric of each group.
TYPE_METRICS: tuple[str, ...] = ("retrieval.doc_recall", "retrieval.evidence_recall", "answer.contains",
                                 "citations.recall", "refusal.accuracy")
_EPS = 1e-9


@dataclass(frozen=True)
class MetricDelta:
    """One metric in both runs; ``delta`` is B − A (None when either is missing)."""

    metric: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def verdict(self) -> str:
        """``"better"``, ``"worse"`` or ``""`` (unchanged or not comparable)."""
        d = self.delta
        if d is None or abs(d) < _EPS:
            return ""
        return "better" if (d < 0) == (self.metric in LOWER_IS_BETTER) else "worse"


@dataclass(frozen=True)
class Flip:
    """A question whose outcome changed: which outcome, and its value in A and in B."""

    id: str
    type: str
    question: str
    outcome: str  # "contains" | "refusal" | "doc hit"
    a: bool
    b: bool

    @property
    def regression(self) -> bool:
        return self.a and not self.b


@dataclass
class Comparison:
    """Deltas overall and per type, flips (regressions first), and how the two sets overlap."""

    deltas: list[MetricDelta]
    by_type: dict[str, list[MetricDelta]]
    flips: list[Flip]
    common: int
    only_a: int
    only_b: int
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Flip]:
        return [f for f in self.flips if f.regression]

    @property
    def improvements(self) -> list[Flip]:
        return [f for f in self.flips if not f.regression]


def outcomes(record: Mapping[str, Any]) -> dict[str, bool]:
    """The pass/fail outcomes of one question record (only those the run measured; none when the endpoint failed
    on the question)."""
    m = record.get("metrics")
    out: dict[str, bool] = {}
    if not m or record.get("failed"):
        return out
    if m.get("answer") is not None:
        out["contains"] = bool(m["answer"]["contains"])
    if m.get("refusal") is not None:
        out["refusal"] = bool(m["refusal"]["correct"])
    if m["retrieval"].get("doc_recall") is not None:
        out["doc hit"] = m["retrieval"]["doc_recall"] > 0
    return out


def compare_runs(a: EvalRun, b: EvalRun) -> Comparison:
    """Compare run B against baseline A."""
    deltas = [_delta(a.summary, b.summary, m) for m in COMPARED_METRICS]
    deltas = [d for d in deltas if d.a is not None or d.b is not None]
    types = list(dict.fromkeys([*(a.summary.get("by_type") or {}), *(b.summary.get("by_type") or {})]))
    by_type = {}
    for t in types:
        sa = (a.summary.get("by_type") or {}).get(t) or {}
        sb = (b.summary.get("by_type") or {}).get(t) or {}
        by_type[t] = [_delta(sa, sb, m) for m in TYPE_METRICS]

    recs_a = {r["id"]: r for r in a.records}
    recs_b = {r["id"]: r for r in b.records}
    flips = []
    for qid, ra in recs_a.items():
        rb = recs_b.get(qid)
        if rb is None:
            continue
        oa, ob = outcomes(ra), outcomes(rb)
        for name in ("contains", "refusal", "doc hit"):
            if name in oa and name in ob and oa[name] != ob[name]:
                flips.append(Flip(qid, ra["type"], ra["question"], name, oa[name], ob[name]))
    order = {qid: i for i, qid in enumerate(recs_a)}
    flips.sort(key=lambda f: (not f.regression, order[f.id]))

    notes = []
    for key in ("set", "backend", "k", "retrieval_only"):
        va, vb = a.summary.get(key), b.summary.get(key)
        if va != vb:
            notes.append(f"{key} differs: {va!r} → {vb!r}")
    for side, run in (("A", a), ("B", b)):
        failed = sum(bool(r.get("failed")) for r in run.records)
        if failed:
            notes.append(f"{failed} question(s) of {side} failed at the LLM endpoint: left out of its metrics and "
                         "of the flips")
        if run.summary.get("complete") is False:
            notes.append(f"run {side} did not finish ({run.summary.get('n', 0) + run.summary.get('n_failed', 0)} of "
                         f"{run.summary.get('n_total')} questions)")
    common = len(recs_a.keys() & recs_b.keys())
    return Comparison(deltas, by_type, flips, common, len(recs_a.keys() - recs_b.keys()),
                      len(recs_b.keys() - recs_a.keys()), notes)


def _delta(sa: Mapping[str, Any], sb: Mapping[str, Any], metric: str) -> MetricDelta:
    return MetricDelta(metric, _number(sa, metric), _number(sb, metric))


def _number(summary: Mapping[str, Any], metric: str) -> float | None:
    try:
        v = lookup(summary, metric)
    except KeyError:
        return None
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def render_comparison(cmp: Comparison, name_a: str = "A", name_b: str = "B", *, max_flips: int = 50) -> str:
    """The comparison as Markdown: notes, the deltas table, per-type deltas, then the flips."""
    lines = [f"# Eval comparison: A = {name_a}, B = {name_b}", ""]
    lines.append(f"{cmp.common} questions in both runs"
                 + (f"; {cmp.only_a} only in A" if cmp.only_a else "")
                 + (f"; {cmp.only_b} only in B" if cmp.only_b else "") + ".")
    for note in cmp.notes:
        lines.append(f"- note: {note}")
    lines += ["", "## Metrics", "", "| metric | A | B | Δ | |", "|---|---:|---:|---:|---|"]
    for d in cmp.deltas:
        lines.append(f"| {d.metric} | {_fmt(d.a, d.metric)} | {_fmt(d.b, d.metric)} | {_fmt_delta(d)} | {d.verdict} |")
    if cmp.by_type:
        lines += ["", "## Δ by question type (B − A)", "",
                  "| type | " + " | ".join(TYPE_METRICS) + " |", "|---|" + "---:|" * len(TYPE_METRICS)]
        for t, ds in cmp.by_type.items():
            lines.append(f"| {t} | " + " | ".join(_fmt_delta(d) for d in ds) + " |")
    lines += ["", f"## Flipped questions: {len(cmp.regressions)} regressions, {len(cmp.improvements)} improvements",
              ""]
    if not cmp.flips:
        lines.append("None.")
    else:
        lines += ["| | id | type | outcome | A → B | question |", "|---|---|---|---|---|---|"]
        for f in cmp.flips[:max_flips]:
            mark = "regression" if f.regression else "improvement"
            q = " ".join(f.question.split()).replace("|", "\\|")
            q = q if len(q) <= 100 else q[:99] + "…"
            lines.append(f"| {mark} | {f.id} | {f.type} | {f.outcome} | {_ok(f.a)} → {_ok(f.b)} | {q} |")
        if len(cmp.flips) > max_flips:
            lines.append(f"\n… and {len(cmp.flips) - max_flips} more.")
    return "\n".join(lines) + "\n"


_COUNTS = frozenset({"n_errors", "n_failed"})


def _fmt(v: float | None, metric: str) -> str:
    if v is None:
        return "–"
    if metric in _COUNTS:
        return f"{v:.0f}"
    return f"{v:.0f}" if metric.startswith("latency_ms") else f"{v:.1f}" if metric == "duration_s" else f"{v:.3f}"


def _fmt_delta(d: MetricDelta) -> str:
    if d.delta is None:
        return "–"
    if abs(d.delta) < _EPS:
        return "0"
    if d.metric in _COUNTS:
        return f"{d.delta:+.0f}"
    if d.metric.startswith("latency_ms") or d.metric == "duration_s":
        return f"{d.delta:+.1f}"
    return f"{d.delta:+.3f}"


def _ok(v: bool) -> str:
    return "pass" if v else "fail"


__all__: Sequence[str] = ("Comparison", "Flip", "MetricDelta", "compare_runs", "outcomes", "render_comparison")
