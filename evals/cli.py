"""``citeqa eval``: run eval sets, compare runs, import SQuAD data, turn feedback into eval lines.

``eval_group`` is a click group whose default command is ``run``, so both of these work::

    citeqa eval evals/sets/seed_dev.jsonl -k 5
    citeqa eval run evals/sets/seed_dev.jsonl -k 5      # the explicit form

and the other commands are subcommands: ``citeqa eval compare A B``, ``citeqa eval feedback FILE``,
``citeqa eval import-squad FILE --out DIR``. The group also runs on its own: ``python -m evals ...``.
Errors end the command with one clear line and a non-zero exit; a failed quality gate exits 1.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from evals.cli_base import DefaultCommandGroup, command_settings

logger = logging.getLogger(__name__)

_config_opt = click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
                           help="JSON settings file (default: the parent's, or CITEQA_CONFIG).")
_index_opt = click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path),
                          help="Index folder to evaluate against (env CITEQA_INDEX_DIR).")


@click.group("eval", cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@_config_opt
@_index_opt
@click.pass_context
def eval_group(ctx: click.Context, config: Path | None, index_dir: Path | None) -> None:
    """Measure answer quality on an eval set, compare runs, and build eval sets.

    \b
    citeqa eval SET.jsonl [-k 5] [--backend extractive|openai|auto] [--out DIR] [--limit N]
                [--retrieval-only] [--fail-under METRIC=VALUE ...] [--judge]
    is short for `citeqa eval run SET.jsonl ...` (see `citeqa eval run --help`).

    \b
    Examples:
      citeqa eval evals/sets/seed_dev.jsonl
      citeqa eval evals/sets/seed_dev.jsonl --fail-under retrieval.doc_recall=0.95
      citeqa eval compare runs/before runs/after
      citeqa eval report runs/before              # rewrite report.md and plots
      citeqa eval import-squad xquad.en.json --out data/xquad
      citeqa eval feedback ~/.local/share/citeqa/feedback.jsonl
    """
    ctx.ensure_object(dict)
    if config is not None:
        ctx.obj["config"] = config
    if index_dir is not None:
        ctx.obj["index_dir"] = index_dir


def _known_metrics(judge: bool) -> set[str]:
    """Dotted summary paths a bound may name (``by_type.<type>.…`` is checked after the run)."""
    from evals.gates import metric_paths
    from evals.summary import summarize

    template = summarize([], k=1, backend="x")
    template.update(duration_s=0.0)
    if judge:
        template["judge"] = {"correct": None, "claim_support": None}
    return {p for p in metric_paths(template) if not p.startswith(("by_type", "recall_at_k"))}


def _bounds(fail_under: tuple[str, ...], fail_over: tuple[str, ...], *, judge: bool) -> list[Any]:
    from evals.gates import parse_bound

    try:
        bounds = [parse_bound(b) for b in fail_under] + [parse_bound(b, upper=True) for b in fail_over]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fail-under/--fail-over") from None
    known = _known_metrics(judge)
    for b in bounds:
        if not b.metric.startswith("by_type.") and b.metric not in known:
            hint = ", ".join(sorted(m for m in known if m.split(".")[0] in ("retrieval", "answer", "citations",
                                                                            "refusal", "latency_ms")))
            raise click.BadParameter(f"unknown metric {b.metric!r}; known: {hint}",
                                     param_hint="--fail-under/--fail-over")
    return bounds


@eval_group.command("run")
@click.argument("eval_set", metavar="SET.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice(["auto", "extractive", "openai"]), help="Generator (default: settings).")
@click.option("-k", "--top-k", "k", type=click.IntRange(1, 100),
              help="Chunks given to the generator and cut-off of the retrieval metrics (default 5).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: runs/<timestamp>-<set name>/).")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--retrieval-only", is_flag=True, help="Search only: retrieval metrics, no generation.")
@click.option("--fail-under", multiple=True, metavar="METRIC=VALUE",
              help="Exit 1 if METRIC (a summary.json path) is below VALUE. Repeatable.")
@click.option("--fail-over", multiple=True, metavar="METRIC=VALUE",
              help="Exit 1 if METRIC is above VALUE, e.g. latency_ms.p95=2000. Repeatable.")
@click.option("--judge", is_flag=True, help="Add LLM-judged correctness and claim support (needs an endpoint).")
@click.option("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL).")
@click.option("--model", help="LLM model name (env OPENAI_MODEL).")
@_config_opt
@_index_opt
@click.option("--resume", is_flag=True,
              help="Continue the run in --out: ask only the questions it has not answered (same set and settings).")
@click.option("--max-failures", type=click.IntRange(0), default=3, show_default=True,
              help="Stop when the LLM endpoint fails this many questions in a row (0: never stop).")
@click.option("-q", "--quiet", is_flag=True, help="No progress.")
@click.pass_context
def run_command(ctx: click.Context, eval_set: Path, backend: str | None, k: int | None, out_dir: Path | None,
                limit: int | None, retrieval_only: bool, fail_under: tuple[str, ...], fail_over: tuple[str, ...],
                judge: bool, base_url: str | None, model: str | None, config: Path | None,
                index_dir: Path | None, resume: bool, max_failures: int, quiet: bool) -> None:  # fmt: skip
    """Run every question of SET.jsonl through the QA pipeline and score it.

    Writes results.jsonl (each question, its full answer and metrics, appended as it finishes), summary.json
    (the numbers to gate on), report.md (tables, per-type breakdown, worst failures) and PNG plots into the
    output folder, and prints the summary. METRIC names a number in summary.json, e.g. retrieval.doc_recall,
    answer.contains, citations.precision, refusal.recall, by_type.factoid.answer.contains.

    A question the LLM endpoint fails on (unreachable, timeout, 5xx, an unreadable reply) is recorded with its
    error, left out of the metrics and counted (n_failed); after --max-failures such questions in a row the run
    stops. A rejected API key stops it at once. Ctrl-C stops it too; nothing answered is lost: run the same
    command with --resume to ask the rest.

    \b
    Example:
      citeqa eval evals/sets/seed_dev.jsonl -k 5 --fail-under answer.contains=0.7
      citeqa --index-dir data/xquad/index eval data/xquad/eval.jsonl --limit 200
      citeqa eval evals/sets/seed_dev.jsonl --backend openai --out runs/llm --resume
    """
    from evals.gates import check_bounds
    from evals.judge import JUDGE_CACHE_FILE, Judge
    from evals.report import write_report
    from evals.run import RunInterrupted, RunStopped, default_out_dir, run_eval, set_name
    from evals.sets import load_eval_set
    from qa.config import data_dir

    if judge and retrieval_only:
        raise click.UsageError("--judge grades answers: it cannot be combined with --retrieval-only")
    if resume and out_dir is None:
        raise click.UsageError("--resume continues the run in a folder: give it with --out DIR")
    bounds = _bounds(fail_under, fail_over, judge=judge)
    if not eval_set.is_file():
        raise click.ClickException(f"{eval_set}: no such eval set file")
    items = load_eval_set(eval_set)
    if limit:
        items = items[:limit]
    settings = command_settings(ctx, config=config, index_dir=index_dir,
                         generator={"backend": backend, "base_url": base_url, "model": model},
                         retrieval={"top_k": k})
    judge_obj = Judge.from_settings(settings.generator, cache_path=data_dir() / JUDGE_CACHE_FILE) if judge else None
    qa = _load_qa(settings, progress=not quiet)
    _check_corpus(items, qa, settings)

    out = out_dir or default_out_dir(eval_set)
    again = ("to continue, run the same command with --resume" if out_dir is not None
             else f"to continue, run the same command with --out {out} --resume")
    try:
        run = run_eval(items, qa, k=k, retrieval_only=retrieval_only, judge=judge_obj, progress=not quiet,
                       set_name=set_name(eval_set), out_dir=out, resume=resume, set_path=eval_set,
                       max_failures=max_failures)
    except RunInterrupted as exc:
        click.echo(f"interrupted: {_asked(exc.run.summary)}, saved in {out}; {again}", err=True)
        ctx.exit(130)
    except RunStopped as exc:
        write_report(exc.run, out)
        hint = ""
        if "API key" in str(exc) and settings.generator.api_key is None:
            hint = " (no API key is set: OPENAI_API_KEY or generator.api_key)"
        raise click.ClickException(f"stopped: {exc}{hint}; {_asked(exc.run.summary)}, saved in {out}; {again}"
                                   ) from None
    report = write_report(run, out)
    click.echo(format_summary(run.summary))
    click.echo(f"\nreport: {report}")
    try:
        failures = check_bounds(run.summary, bounds)
    except KeyError as exc:
        raise click.ClickException(f"--fail-under/--fail-over: this run's summary has no {exc.args[0]!r}") from None
    if failures:
        raise click.ClickException("quality gate failed:\n  " + "\n  ".join(failures))
    if bounds:
        click.echo(f"quality gate passed ({len(bounds)} bound{'s' * (len(bounds) != 1)})")


def _asked(s: dict[str, Any]) -> str:
    """``"37 of 86 questions answered"``, and how many the endpoint failed on."""
    failed = f" ({s['n_failed']} more failed at the LLM endpoint)" if s.get("n_failed") else ""
    return f"{s['n']} of {s.get('n_total', s['n'])} questions answered{failed}"


def _load_qa(settings: Any, *, progress: bool) -> Any:
    """The default index is built from the bundled articles when missing; an explicit one must exist."""
    from qa import QA

    if settings.index.dir is None:
        return QA.ensure(settings, progress=progress)
    return QA.from_settings(settings)


def _check_corpus(items: list[Any], qa: Any, settings: Any) -> None:
    """Fail when the set's documents are not in the index; warn about evidence that is not in them."""
    from evals.sets import validate_against_corpus

    problems = validate_against_corpus(items, {a.doc_id: a.text for a in qa.index.articles.values()})
    unknown = [p for p in problems if "unknown doc" in p]
    if unknown:
        more = f" (and {len(unknown) - 3} more)" if len(unknown) > 3 else ""
        raise click.ClickException(
            f"the index at {settings.index_dir()} does not hold this set's articles: {'; '.join(unknown[:3])}{more}. "
            "Index them first, e.g. `citeqa --index-dir DIR index ARTICLES/` then `citeqa --index-dir DIR eval SET`"
        )
    if problems:
        click.echo(f"warning: {len(problems)} evidence problem(s) against the index (evidence recall will "
                   f"miss them); first: {problems[0]}", err=True)


def format_summary(s: dict[str, Any]) -> str:
    """The summary as a few aligned lines for the terminal."""
    from evals.summary import METRIC_GROUPS

    mode = "retrieval only" if s.get("retrieval_only") else f"backend {s.get('backend')}"
    lines = [f"{s.get('set') or 'eval'}: {s['n']} questions ({s.get('n_answerable')} answerable), {mode}, "
             f"k={s['k']}, {s.get('duration_s', 0):.1f} s"]
    if s.get("n_failed"):
        lines[0] += f"; {s['n_failed']} more failed at the LLM endpoint (left out of the metrics)"
    for g in METRIC_GROUPS:
        group = g.name
        values = s.get(group)
        if group == "judge" and not values:
            continue
        if values is None:
            lines.append(f"  {group:<11} (not measured)")
            continue
        keys = g.brief or g.keys
        cells = [f"{key} {_num(values.get(key), group)}" for key in keys if key in values]
        lines.append(f"  {group:<11} " + "  ".join(cells))
    return "\n".join(lines)


def _num(v: Any, group: str) -> str:
    if v is None:
        return "–"
    return f"{v:.0f}" if group == "latency_ms" else f"{v:.3f}"


@eval_group.command("compare")
@click.argument("run_a", type=click.Path(exists=True, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the Markdown here.")
@click.option("--max-flips", type=click.IntRange(0), default=50, show_default=True, help="Flipped questions listed.")
def compare_command(run_a: Path, run_b: Path, out_file: Path | None, max_flips: int) -> None:
    """Compare run B against baseline run A: per-metric deltas and the questions that flipped.

    RUN_A and RUN_B are run folders (or their summary.json). Regressions are listed first.

    Example: citeqa eval compare runs/20250101-120000-seed_dev runs/20250102-090000-seed_dev
    """
    from evals.compare import compare_runs, render_comparison
    from evals.runfiles import load_run

    text = render_comparison(compare_runs(load_run(run_a), load_run(run_b)), str(run_a), str(run_b),
                             max_flips=max_flips)
    click.echo(text, nl=False)
    if out_file:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text, encoding="utf-8")


@eval_group.command("report")
@click.argument("run_dir", metavar="RUN", type=click.Path(exists=True, path_type=Path))
def report_command(run_dir: Path) -> None:
    """Write report.md and the plots of RUN again from its results.jsonl and summary.json.

    Example: citeqa eval report runs/20250101-120000-seed_dev
    """
    from evals.report import write_report
    from evals.runfiles import load_run

    run = load_run(run_dir)
    folder = run_dir.parent if run_dir.is_file() else run_dir
    click.echo(f"report: {write_report(run, folder)}")


@eval_group.command("feedback")
@click.argument("feedback_file", metavar="FILE.jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Drafts file (default: FILE.drafts.jsonl beside FILE). New drafts are appended.")
def feedback_command(feedback_file: Path, out_file: Path | None) -> None:
    """Turn the thumbs-down answers of the UI's feedback file into draft eval lines to complete.

    Each draft holds the question (and history), "needs_review": true and a "review" object with the
    comment, the answer given and what it cited. Complete a draft by filling answers, doc, evidence
    and type (or answers [] and doc null with type "unanswerable"), delete needs_review and review,
    and move the line into an eval set: the loader refuses drafts that still carry those keys.

    Example: citeqa eval feedback ~/.local/share/citeqa/feedback.jsonl --out evals/sets/drafts.jsonl
    """
    from evals.feedback import read_feedback
    from evals.importers import feedback_drafts, write_drafts

    records, bad = read_feedback(feedback_file)
    down = sum(r.get("verdict") == "down" for r in records)
    drafts = feedback_drafts(records)
    out = out_file or feedback_file.with_name(feedback_file.stem + ".drafts.jsonl")
    added, existing = write_drafts(drafts, out)
    if bad:
        click.echo(f"warning: skipped {bad} unreadable line(s) in {feedback_file}", err=True)
    click.echo(f"{len(records)} feedback lines, {down} thumbs-down → {len(drafts)} distinct questions: "
               f"{added} new draft(s) written to {out}" + (f", {existing} already there" if existing else ""))
    if added:
        click.echo("complete each draft (answers, doc, evidence, type), delete needs_review and review, "
                   "then move it into an eval set")


@eval_group.command("import-squad")
@click.argument("squad_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for articles/ and eval.jsonl.")
@click.option("--limit", type=click.IntRange(1), help="At most N questions, spread evenly over the file.")
@click.option("--force", is_flag=True, help="Write into an articles/ folder that already holds files.")
def import_squad_command(squad_file: Path, out_dir: Path, limit: int | None, force: bool) -> None:
    """Import a SQuAD v1.1/v2.0 JSON file as articles and an eval set.

    Writes OUT/articles/<title>.txt (one article per title, its paragraphs separated by blank lines)
    and OUT/eval.jsonl (answers, evidence = the sentences holding the answer, unanswerable questions of
    v2.0 as answers []). With --limit only the articles of the chosen questions are written.

    \b
    Example:
      citeqa eval import-squad xquad.en.json --out data/xquad --limit 200
      citeqa --index-dir data/xquad/index index data/xquad/articles
      citeqa --index-dir data/xquad/index eval data/xquad/eval.jsonl
    """
    from evals.importers import import_squad

    report = import_squad(squad_file, out_dir, limit=limit, force=force)
    types = ", ".join(f"{t} {n}" for t, n in sorted(report.types.items()))
    click.echo(f"wrote {report.articles} articles to {report.articles_dir} and {report.questions} questions "
               f"({report.unanswerable} unanswerable; {types}) to {report.eval_path}")
    if report.skipped:
        click.echo(f"skipped {len(report.skipped)}: " + "; ".join(report.skipped[:5])
                   + (" …" if len(report.skipped) > 5 else ""), err=True)
    index = out_dir / "index"
    click.echo(f"next: citeqa --index-dir {index} index {report.articles_dir}\n"
               f"      citeqa --index-dir {index} eval {report.eval_path}")
