"""The citeqa command line, as a user runs it: fast with the hash embedder, one slow run with the real model."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ui.cli import cli

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CITEQA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CITEQA_EMBEDDING__MODEL", "hash")  # fast deterministic embedder for CLI plumbing tests
    monkeypatch.setenv("CITEQA_ANSWER__REFUSAL_THRESHOLD", "0.3")
    return tmp_path


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_index_search_ask(env: Path) -> None:
    r = run("index", "-q")
    assert r.exit_code == 0, r.output
    assert "indexed 5 articles" in r.output and "chunks/s" in r.output
    r = run("search", "Mistral helicopter carriers", "-k", "3", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert len(rows) == 3 and set(rows[0]) == {"doc_id", "title", "start", "end", "score", "text"}
    r = run("ask", "How many people were massacred in Paris?", "--json")
    assert r.exit_code == 0, r.output
    a = json.loads(r.output)
    assert {"text", "citations", "chunks", "refused", "query", "backend"} <= set(a)
    assert "129" in a["text"] and a["citations"]
    r = run("ask", "How many people were massacred in Paris?")
    assert "Sources:" in r.output and "[1]" in r.output


def test_incremental_index_reports_unchanged(env: Path) -> None:
    assert run("index", "-q").exit_code == 0
    r = run("index", "-q")
    assert "0 added, 0 updated, 0 removed, 5 unchanged" in r.output


def test_index_skips_bad_files_and_keeps_the_rest(env: Path) -> None:
    folder = env / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("The Zorbian lighthouse was painted green in 1911 by Albertine Moreau.\n")
    (folder / "empty.txt").write_text("")
    (folder / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    r = CliRunner().invoke(cli, ["index", "-q", str(folder)])
    assert r.exit_code == 0, r.output
    assert "skipped" in r.output and "empty.txt" in r.output and "latin1.txt" in r.output
    assert "indexed 1 articles" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "the question is empty"),
        (["ask", "   "], "the question is empty"),
        (["ask", "x" * 5000], "limit is 2000"),
        (["ask", "what\x07now?"], "control characters"),
        (["search", "Putin"], "citeqa index"),  # no index yet: say how to build it
        (["index", "/no/such/folder"], "no such file or folder"),
    ],
)
def test_errors_are_one_line(env: Path, args: list[str], message: str) -> None:
    r = CliRunner().invoke(cli, args)
    assert r.exit_code != 0
    assert message in r.output
    assert "Traceback" not in r.output
    assert len([line for line in r.output.splitlines() if line.strip()]) == 1


def test_corrupt_and_mismatched_index(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("index", "-q").exit_code == 0
    monkeypatch.setenv("CITEQA_CHUNKING__SIZE", "64")
    r = CliRunner().invoke(cli, ["search", "Putin"])
    assert r.exit_code != 0 and "citeqa index --rebuild" in r.output and "Traceback" not in r.output
    monkeypatch.delenv("CITEQA_CHUNKING__SIZE")
    (env / "index" / "chunks.jsonl").write_text("{not json\n")
    r = CliRunner().invoke(cli, ["search", "Putin"])
    assert r.exit_code != 0 and "damaged" in r.output and "Traceback" not in r.output
    r = run("index", "-q", "--rebuild")
    assert r.exit_code == 0 and run("search", "Putin").exit_code == 0


def test_openai_backend_without_endpoint_is_a_clear_error(env: Path) -> None:
    assert run("index", "-q").exit_code == 0
    r = CliRunner().invoke(cli, ["ask", "Where?", "--backend", "openai"])
    assert r.exit_code != 0
    assert "the openai generator needs generator.base_url" in r.output and "Traceback" not in r.output


def test_chat_keeps_history(env: Path) -> None:
    assert run("index", "-q").exit_code == 0
    r = run("chat", input="Which French ministers visited Moscow in 2019?\nAnd who did they meet?\n\nexit\n")
    assert r.exit_code == 0, r.output
    # the follow-up is searched as a readable standalone question, its pronoun resolved from the earlier turns
    searched = re.search(r"\(searched for: (.*)\)", r.output)
    assert searched is not None, r.output
    query = searched.group(1)
    assert query.startswith("Who did ") and query.endswith(" meet?") and " they " not in query, query
    assert "Which French ministers" not in query  # never the previous question pasted on


@pytest.mark.slow
def test_cold_ask_with_the_real_model(tmp_path: Path) -> None:
    """What a new user runs: a fresh process, the shipped model, the bundled articles."""
    env = {**os.environ, "CITEQA_HOME": str(tmp_path)}
    env.pop("CITEQA_EMBEDDING__MODEL", None)
    cmd = [sys.executable, "-m", "ui.cli", "ask", "Where did Macron receive Putin in 2017?"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Versailles" in out.stdout and "Sources:" in out.stdout and "001_4531c746a2d8eea5.txt" in out.stdout
