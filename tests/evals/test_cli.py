"""``citeqa eval`` end to end with CliRunner: the default command, gates and exit codes, subcommands.

The index is built once with the hash embedder (settings passed through ``--config``), so runs are fast.
The ``llm`` test runs the judge against a real llama.cpp server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from llm_server import LLMServer

from evals.cli import eval_group
from evals.sets import SETS_DIR
from qa import get_settings, library

SEED_DEV = SETS_DIR / "seed_dev.jsonl"
REPO = Path(__file__).resolve().parents[2]


def _config(folder: Path, index_dir: Path) -> Path:
    cfg = folder / f"config-{index_dir.name}.json"
    cfg.write_text(json.dumps({"embedding": {"model": "hash"}, "answer": {"refusal_threshold": 0.25},
                               "index": {"dir": str(index_dir)}}), encoding="utf-8")
    return cfg


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evalcli")


@pytest.fixture(scope="module")
def cfg(workdir: Path) -> Path:
    """A config whose index (the seed articles, hash embedder) is already built."""
    path = _config(workdir, workdir / "index")
    library.build(get_settings(path), progress=False)
    return path


def invoke(*args: Any, group: click.Group = eval_group, obj: dict[str, Any] | None = None) -> Result:
    return CliRunner().invoke(group, [str(a) for a in args], obj=obj if obj is not None else {})


@pytest.fixture(scope="module")
def runs(cfg: Path, workdir: Path) -> dict[str, Path]:
    """Two finished runs of the first 12 seed_dev questions: k=5 and k=2."""
    a, b = workdir / "run-k5", workdir / "run-k2"
    r = invoke("--config", cfg, SEED_DEV, "--limit", 12, "--out", a, "-q")
    assert r.exit_code == 0, r.output
    r = invoke("run", SEED_DEV, "--config", cfg, "-k", 2, "--limit", 12, "--out", b, "-q")
    assert r.exit_code == 0, r.output
    return {"k5": a, "k2": b}


def test_default_command_writes_every_output(runs: dict[str, Path]) -> None:
    out = runs["k5"]
    assert sorted(p.name for p in out.iterdir()) == [
        "latency.png", "metrics_by_type.png", "recall_at_k.png", "refusal_curve.png", "report.md", "results.jsonl",
        "run.json", "summary.json"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("n", "k", "backend", "retrieval", "answer", "citations", "refusal", "latency_ms", "by_type",
                "refusal_curve"):
        assert key in summary
    assert summary["n"] == 12 and summary["k"] == 5 and summary["backend"] == "extractive"
    assert len((out / "results.jsonl").read_text(encoding="utf-8").splitlines()) == 12


def test_explicit_run_with_options_after_the_set(runs: dict[str, Path]) -> None:
    summary = json.loads((runs["k2"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["k"] == 2 and summary["settings"]["retrieval"]["top_k"] == 2


def test_run_options_may_come_before_the_set(cfg: Path, tmp_path: Path) -> None:
    r = invoke("--index-dir", tmp_path / "ignored", "--config", cfg, "-k", 3, "--retrieval-only", "-q", "--limit", 1,
               "--out", tmp_path / "o", SEED_DEV, "--index-dir", Path(json.loads(cfg.read_text())["index"]["dir"]))
    assert r.exit_code == 0, r.output  # the run's own --index-dir wins over the group's
    assert json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))["k"] == 3


def test_summary_is_printed(cfg: Path, tmp_path: Path) -> None:
    r = invoke("--config", cfg, SEED_DEV, "--limit", 3, "--out", tmp_path / "o", "-q")
    assert r.exit_code == 0, r.output
    assert "seed_dev: 3 questions" in r.stdout and "backend extractive" in r.stdout
    assert "retrieval   doc_recall" in r.stdout and f"report: {tmp_path / 'o' / 'report.md'}" in r.stdout


def test_settings_come_from_the_parent_group(cfg: Path, tmp_path: Path) -> None:
    @click.group()
    @click.pass_context
    def parent(ctx: click.Context) -> None:
        ctx.ensure_object(dict)

    parent.add_command(eval_group)
    r = invoke("eval", SEED_DEV, "--limit", 2, "--out", tmp_path / "o", "-q", group=parent, obj={"config": cfg})
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))["n"] == 2


def test_default_out_dir_is_under_runs(cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = invoke("--config", cfg, SEED_DEV, "--limit", 1, "-q", "--retrieval-only")
    assert r.exit_code == 0, r.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("-seed_dev") and (folder / "summary.json").is_file()


def test_fail_under_passes_and_fails_with_the_metrics_listed(cfg: Path, tmp_path: Path) -> None:
    ok = invoke("--config", cfg, SEED_DEV, "--limit", 4, "--out", tmp_path / "a", "-q",
                "--fail-under", "retrieval.doc_recall=0.1", "--fail-over", "latency_ms.p95=600000")
    assert ok.exit_code == 0, ok.output
    assert "quality gate passed (2 bounds)" in ok.output
    bad = invoke("--config", cfg, SEED_DEV, "--limit", 4, "--out", tmp_path / "b", "-q",
                 "--fail-under", "retrieval.doc_recall=1.01", "--fail-under", "answer.contains=1.01",
                 "--fail-under", "citations.precision=0")
    assert bad.exit_code == 1
    assert "quality gate failed" in bad.stderr
    assert "retrieval.doc_recall = " in bad.stderr and "< 1.01" in bad.stderr and "answer.contains = " in bad.stderr
    assert "citations.precision" not in bad.stderr
    assert (tmp_path / "b" / "report.md").is_file()  # outputs are written before the gate


def test_gate_on_a_metric_a_retrieval_only_run_does_not_measure(cfg: Path, tmp_path: Path) -> None:
    r = invoke("--config", cfg, SEED_DEV, "--limit", 3, "--out", tmp_path / "o", "-q", "--retrieval-only",
               "--fail-under", "answer.contains=0.5")
    assert r.exit_code == 1
    assert "answer.contains is not measured in this run" in r.stderr
    assert "answer      (not measured)" in r.stdout


@pytest.mark.parametrize(
    ("bound", "message"),
    [("retrieval.recall=0.5", "unknown metric 'retrieval.recall'"), ("answer.contains", "METRIC=VALUE"),
     ("answer.contains=high", "METRIC=VALUE")],
)
def test_bad_bounds_are_usage_errors(cfg: Path, bound: str, message: str) -> None:
    r = invoke("--config", cfg, SEED_DEV, "--fail-under", bound)
    assert r.exit_code == 2 and message in r.stderr


def test_judge_needs_an_endpoint(cfg: Path, tmp_path: Path) -> None:
    r = invoke("--config", cfg, SEED_DEV, "--limit", 1, "--judge", "--out", tmp_path / "o")
    assert r.exit_code == 1
    assert "--judge needs an LLM endpoint" in r.stderr and "Traceback" not in r.output
    r = invoke("--config", cfg, SEED_DEV, "--judge", "--retrieval-only")
    assert r.exit_code == 2 and "cannot be combined" in r.stderr


def test_bad_sets_are_one_clear_error(cfg: Path, tmp_path: Path) -> None:
    r = invoke("--config", cfg, tmp_path / "missing.jsonl")
    assert r.exit_code == 1 and "missing.jsonl: no such eval set file" in r.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    r = invoke("--config", cfg, bad)
    assert r.exit_code == 1 and f"{bad}:1: missing keys" in r.stderr and "Traceback" not in r.output


def test_an_index_without_the_sets_articles_is_refused(workdir: Path, tmp_path: Path) -> None:
    other = tmp_path / "articles"
    other.mkdir()
    (other / "lighthouse.txt").write_text("The Lighthouse\n\nThe lighthouse keeper lit the lamp at dusk.\n",
                                          encoding="utf-8")
    cfg = _config(tmp_path, tmp_path / "other-index")
    library.build(get_settings(cfg), [other], progress=False)
    r = invoke("--config", cfg, SEED_DEV, "--limit", 2, "-q")
    assert r.exit_code == 1 and "does not hold this set's articles" in r.stderr
    r = invoke("--config", _config(tmp_path, tmp_path / "nowhere"), SEED_DEV, "-q")
    assert r.exit_code == 1 and "no index at" in r.stderr  # an explicit index folder is never built implicitly


def test_compare_command(runs: dict[str, Path], tmp_path: Path) -> None:
    md = tmp_path / "cmp.md"
    r = invoke("compare", runs["k5"], runs["k2"], "--out", md)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("# Eval comparison") and "note: k differs: 5 → 2" in r.stdout
    assert "| retrieval.doc_recall |" in r.stdout and md.read_text(encoding="utf-8") == r.stdout
    r = invoke("compare", runs["k5"], tmp_path)
    assert r.exit_code == 1 and "not an eval run" in r.stderr


def test_report_command_rewrites_the_report(runs: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(runs["k5"], copy)
    (copy / "report.md").unlink()
    (copy / "latency.png").unlink()
    r = invoke("report", copy / "summary.json")
    assert r.exit_code == 0, r.output
    assert (copy / "report.md").read_text(encoding="utf-8") == (runs["k5"] / "report.md").read_text(encoding="utf-8")
    assert (copy / "latency.png").is_file()


def test_feedback_command(tmp_path: Path) -> None:
    fb = tmp_path / "feedback.jsonl"
    lines = [{"verdict": "down", "question": "Who won?", "history": [], "answer": "x", "citations": [],
              "comment": "no"},
             {"verdict": "up", "question": "Who lost?", "history": [], "answer": "y", "citations": []}]
    fb.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    r = invoke("feedback", fb)
    assert r.exit_code == 0, r.output
    drafts = tmp_path / "feedback.drafts.jsonl"
    assert "2 feedback lines, 1 thumbs-down → 1 distinct questions: 1 new draft(s)" in r.stdout
    assert json.loads(drafts.read_text(encoding="utf-8"))["needs_review"] is True
    r = invoke("feedback", fb, "--out", drafts)
    assert r.exit_code == 0 and "0 new draft(s)" in r.stdout and "1 already there" in r.stdout


def test_import_squad_then_eval_on_its_own_index(tmp_path: Path) -> None:
    ctx = "The Eiffel Tower was completed in March 1889. It is 330 metres tall."
    squad = {"version": "1.1", "data": [{"title": "Eiffel_Tower", "paragraphs": [{"context": ctx, "qas": [
        {"id": "e1", "question": "When was the Eiffel Tower completed?",
         "answers": [{"text": "March 1889", "answer_start": ctx.index("March")}]},
        {"id": "e2", "question": "How tall is the Eiffel Tower?",
         "answers": [{"text": "330 metres", "answer_start": ctx.index("330")}]}]}]}]}  # fmt: skip
    src = tmp_path / "squad.json"
    src.write_text(json.dumps(squad), encoding="utf-8")
    out = tmp_path / "bench"
    r = invoke("import-squad", src, "--out", out)
    assert r.exit_code == 0, r.output
    assert "wrote 1 articles" in r.stdout and "2 questions (0 unanswerable; date 1, numeric 1)" in r.stdout
    assert f"citeqa --index-dir {out / 'index'} index {out / 'articles'}" in r.stdout
    cfg = _config(tmp_path, out / "index")
    library.build(get_settings(cfg), [out / "articles"], progress=False)
    r = invoke("--config", cfg, out / "eval.jsonl", "--out", tmp_path / "run", "-q",
               "--fail-under", "retrieval.doc_recall=1")
    assert r.exit_code == 0, r.output
    r = invoke("import-squad", src, "--out", out)
    assert r.exit_code == 1 and "--force" in r.stderr


def test_no_arguments_shows_help() -> None:
    r = invoke()
    assert "SET.jsonl" in r.output and "import-squad" in r.output


def test_python_m_evals() -> None:
    p = subprocess.run([sys.executable, "-m", "evals", "--help"], capture_output=True, text=True, cwd=REPO,
                       timeout=120)
    assert p.returncode == 0 and "Usage: python -m evals" in p.stdout and "compare" in p.stdout


@pytest.mark.llm
def test_judge_against_a_real_llm_server(llm_server: LLMServer, cfg: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = invoke("--config", cfg, SEED_DEV, "--limit", 2, "--out", out, "-q", "--backend", "openai",
               "--base-url", llm_server.base_url, "--model", llm_server.model, "--judge")
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["backend"] == "openai"
    judge = summary["judge"]
    assert judge["model"] == llm_server.model and judge["calls"] > 0 and judge["cache_hits"] == 0
    assert summary["answer"] is not None  # the offline metrics are still there
    # a second run answers again but asks the judge nothing new when the answers repeat (temperature 0)
    r = invoke("--config", cfg, SEED_DEV, "--limit", 2, "--out", tmp_path / "again", "-q", "--backend", "openai",
               "--base-url", llm_server.base_url, "--model", llm_server.model, "--judge")
    assert r.exit_code == 0, r.output
    again = json.loads((tmp_path / "again" / "summary.json").read_text(encoding="utf-8"))["judge"]
    assert again["cache_hits"] > 0
