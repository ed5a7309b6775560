"""Helpers of the index reliability cases: run the CLI on an index folder, fingerprint what an index answers.

An index "answers the same" as another when every query of ``PROBES`` returns the same chunks with the same
scores in dense and in BM25 mode, and every stored article, chunk and vector is equal: anything less could be a
silently wrong answer for some question the probes do not ask.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner, Result

from embeddings import HashEmbedder, Index, RetrievalSettings
from embeddings.config import ChunkSettings

REPO = Path(__file__).resolve().parents[2]
CITEQA = REPO / ".venv" / "bin" / "citeqa"

# Questions about the bundled articles (corpus/articles); the first is answered with "129" by the
# extractive generator over the hash embedder (tests/ui/test_citeqa_cli.py).
QUESTIONS = (
    "How many people were massacred in Paris?",
    "Where did Macron receive Putin in 2017?",
    "Mistral helicopter carriers",
)
ANSWER_QUESTION = QUESTIONS[0]
TYPED_ERRORS = ("IndexCorruptError", "IndexMismatchError", "IndexNotFoundError")

# The CLI with the fast deterministic embedder the package ships for tests (model name "hash").
HASH_ENV = {"CITEQA_EMBEDDING__MODEL": "hash", "CITEQA_ANSWER__REFUSAL_THRESHOLD": "0.3"}
HASH_CHUNKING = ChunkSettings()  # the CLI's default chunking: what `citeqa index` builds


def cli_env(index_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a CLI run on ``index_dir`` with the hash embedder."""
    return {**HASH_ENV, "CITEQA_INDEX_DIR": str(index_dir), **extra}


@dataclass(frozen=True)
class CliRun:
    """What a user saw: exit code, combined output (stdout + stderr) and stdout alone."""

    exit_code: int
    output: str
    stdout: str = ""

    @property
    def lines(self) -> list[str]:
        """The non-blank lines of the output."""
        return [line for line in self.output.splitlines() if line.strip()]


def run_cli(args: list[str], env: dict[str, str]) -> CliRun:
    """``citeqa ARGS`` in this process (click's runner on ``ui.cli:cli``); an escaped exception fails the test."""
    from ui.cli import cli

    result: Result = CliRunner().invoke(cli, args, env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"citeqa {' '.join(args)} raised instead of printing one line:\n{tb}")
    return CliRun(result.exit_code, result.output, result.stdout)


def assert_clear_error(run: CliRun, *, fix: str = "citeqa index") -> None:
    """A failed CLI run printed one line, no traceback, no 'unexpected error', and names the fix."""
    assert run.exit_code != 0, run.output
    assert "Traceback" not in run.output, run.output
    assert "unexpected error" not in run.output, run.output
    assert len(run.lines) == 1, f"expected one line, got:\n{run.output}"
    assert fix in run.output, f"the error does not name the fix {fix!r}: {run.output}"


def ask_digest(output: str) -> dict[str, Any]:
    """The parts of ``citeqa ask --json`` that must not change between equal indexes (timings do)."""
    a = json.loads(output)
    return {
        "text": a["text"],
        "refused": a["refused"],
        "citations": [(c["doc_id"], c["start"], c["end"], c["quote"]) for c in a["citations"]],
        "chunks": [(c["doc_id"], c["start"], c["end"], c["text"]) for c in a["chunks"]],
    }


@dataclass(frozen=True)
class Answers:
    """Everything a loaded index would answer with, in comparable form."""

    articles: dict[str, tuple[str, str, str]]  # doc_id -> title, text, content_hash
    chunks: list[tuple[str, int, int, str]]
    vectors: bytes
    hits: dict[tuple[str, str], list[tuple[str, int, int, float]]]  # (mode, query) -> top hits


def probe_queries(index: Index) -> list[str]:
    """The questions plus the opening words of every 7th chunk (reaches every article)."""
    return [*QUESTIONS, *(" ".join(c.text.split()[:8]) for c in index.chunks[::7])]


def answers_of(index: Index, queries: list[str] | None = None) -> Answers:
    """Fingerprint of a loaded index: its records, its vectors and its top hits per query in each mode."""
    queries = queries if queries is not None else probe_queries(index)
    hits = {}
    for mode in ("dense", "bm25"):
        settings = RetrievalSettings(mode=mode)
        for q in queries:
            hits[mode, q] = [(h.doc_id, h.start, h.end, round(h.score, 5)) for h in index.search(q, settings, k=5)]
    return Answers(
        articles={d: (a.title, a.text, a.content_hash) for d, a in index.articles.items()},
        chunks=[(c.doc_id, c.start, c.end, c.text) for c in index.chunks],
        vectors=np.ascontiguousarray(index.vectors, dtype=np.float32).tobytes(),
        hits=hits,
    )


def load_hash_index(index_dir: Path) -> Index:
    """``Index.load`` of a folder the CLI built with the hash embedder."""
    return Index.load(index_dir, embedder=HashEmbedder(), chunking=HASH_CHUNKING)


def index_files(index_dir: Path) -> dict[str, bytes]:
    """Every file of an index folder by relative path; the manifest without its build time and version."""
    files = {}
    for p in sorted(index_dir.rglob("*")):
        if p.is_file():
            rel = p.relative_to(index_dir).as_posix()
            data = p.read_bytes()
            if rel == "manifest.json":
                manifest = json.loads(data)
                for volatile in ("created_at", "citeqa_version"):
                    manifest.pop(volatile, None)
                data = json.dumps(manifest, sort_keys=True).encode()
            files[rel] = data
    return files


def subprocess_env(citeqa_home: Path, **extra: str) -> dict[str, str]:
    """Environment for a ``.venv/bin/citeqa`` child: the caller's (already isolated by tests/conftest.py) plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_"))}
    env["CITEQA_HOME"] = str(citeqa_home)
    env["PYTHONPATH"] = str(REPO)  # this source tree, whichever checkout the venv was installed from
    env.update(extra)
    return env
