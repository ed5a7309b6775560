"""The sentence vectors stored in the index (embeddings/sentence_vectors.py) against damage, old indexes and updates.

The CLI cases run the real ``citeqa`` (hash embedder, answer.answerability off so no spaCy loads) on a copy of an
index built once per module with ``citeqa index``:

- the file damaged (garbage header, truncated, rows overwritten at the same size): every command prints one line
  naming ``citeqa index`` (never a traceback), ``citeqa index --check`` reports it, ``citeqa index`` repairs it and
  the answers are the undamaged index's again;
- an index without the file (built before it existed, or with index.sentence_vectors off) answers the same, says
  so once in the log, and the next ``citeqa index`` stores it;
- an answer on an index with the file embeds no sentence it stores (what the file is for);
- an update embeds the sentences of the new article only, the others' rows are kept as they were.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from rel_index_util import ANSWER_QUESTION, QUESTIONS, CliRun, ask_digest, assert_clear_error, run_cli

from corpus.load import load_articles
from corpus.sentences import split_sentences
from corpus.types import Article
from embeddings import ChunkSettings, HashEmbedder, IndexSettings, build_index
from embeddings.layout import SENTENCE_VECTORS
from embeddings.sentence_vectors import StoredSentenceVectors
from qa import QA

_ANSWER_ENV = {"CITEQA_ANSWER__ANSWERABILITY": "false"}


def _env(index_dir: Path, home: Path) -> dict[str, str | None]:
    return {"CITEQA_EMBEDDING__MODEL": "hash", "CITEQA_ANSWER__REFUSAL_THRESHOLD": "0.3", **_ANSWER_ENV,
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
    root = tmp_path_factory.mktemp("sentence-vectors")
    index_dir, home = root / "index", root / "home"
    r = _cli(["index", "-q"], index_dir, home)
    assert r.exit_code == 0 and "indexed 5 articles" in r.output, r.output
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert (index_dir / SENTENCE_VECTORS).is_file() and SENTENCE_VECTORS in manifest["files"]
    answers = _answers(index_dir, home)
    assert "129" in answers[0]["text"]  # the index really answers
    return Built(index_dir, home, answers)


def _copy(built: Built, tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(built.index_dir, index_dir)
    return index_dir


def _overwrite_rows(path: Path) -> None:
    """Every row overwritten at the same size (the load checks sizes; the sha256 of this file only --check)."""
    data = path.read_bytes()
    header = data.index(b"\n") + 1
    path.write_bytes(data[:header] + b"#" * (len(data) - header))


DAMAGES = {
    "garbage header": lambda p: p.write_bytes(b"\x00garbage\n" + p.read_bytes().partition(b"\n")[2]),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "rows overwritten, same size": _overwrite_rows,
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_sentence_vector_file_is_one_clear_line_and_citeqa_index_repairs_it(
        built: Built, tmp_path: Path, damage: str) -> None:
    index_dir = _copy(built, tmp_path)
    DAMAGES[damage](index_dir / SENTENCE_VECTORS)
    asked = _cli(["ask", ANSWER_QUESTION], index_dir, built.home)
    assert_clear_error(asked)
    assert "damaged" in asked.output and SENTENCE_VECTORS in asked.output, asked.output
    check = _cli(["index", "--check"], index_dir, built.home)
    assert check.exit_code == 1 and "Traceback" not in check.output and SENTENCE_VECTORS in check.output, check.output
    repaired = _cli(["index", "-q"], index_dir, built.home)
    assert repaired.exit_code == 0, repaired.output
    assert _cli(["index", "--check"], index_dir, built.home).exit_code == 0
    assert _answers(index_dir, built.home) == built.answers


def _build_api(index_dir: Path, articles: Sequence[Article], *, embedder: HashEmbedder | None = None,
               sentence_vectors: bool, replace: bool = True) -> None:
    build_index(articles, index_dir=index_dir, embedder=embedder or HashEmbedder(), chunking=ChunkSettings(),
                index_settings=IndexSettings(), progress=False, sources=[], sentence_vectors=sentence_vectors,
                replace=replace)


def _qa(index_dir: Path) -> QA:
    return QA.from_settings({"embedding": {"model": "hash"}, "index": {"dir": str(index_dir)},
                             "answer": {"refusal_threshold": 0.3, "answerability": False}}, preload_nlp=False)


def test_an_index_without_sentence_vectors_answers_the_same_says_so_once_and_citeqa_index_stores_them(
        built: Built, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index_dir = tmp_path / "index"
    _build_api(index_dir, load_articles(None).articles, sentence_vectors=False)  # what an older citeqa built
    assert not (index_dir / SENTENCE_VECTORS).exists()
    assert _answers(index_dir, built.home) == built.answers
    caplog.set_level(logging.INFO, logger="qa.evidence")
    qa = _qa(index_dir)
    for q in QUESTIONS:
        qa.answer(q)
    said = [r.getMessage() for r in caplog.records
            if r.name == "qa.evidence" and "no stored sentence vectors" in r.getMessage()]
    assert len(said) == 1, said  # once, however many questions
    assert _cli(["index", "-q"], index_dir, built.home).exit_code == 0
    assert (index_dir / SENTENCE_VECTORS).is_file()
    assert _answers(index_dir, built.home) == built.answers


class _Counting(HashEmbedder):
    """The hash embedder, recording every text it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed(texts, progress=progress)


def test_an_answer_embeds_none_of_the_sentences_the_index_stores(built: Built) -> None:
    qa = _qa(built.index_dir)
    inner = _Counting()
    qa.embedder.inner = inner  # the model behind the answer path's cache
    stored = {" ".join(a.text[s:e].split()) for a in qa.index.articles.values() for s, e in split_sentences(a.text)}
    answers = [qa.answer(q) for q in QUESTIONS]
    assert "129" in answers[0].text and answers[0].citations  # sentences were read, quoted and checked
    embedded = {" ".join(t.split()) for t in inner.seen}
    assert set(QUESTIONS) <= embedded  # the questions themselves are embedded
    assert not embedded & stored, sorted(embedded & stored)[:3]


def test_an_update_embeds_only_the_new_articles_sentences_and_keeps_the_others_rows(tmp_path: Path) -> None:
    articles = load_articles(None).articles
    index_dir = tmp_path / "index"
    _build_api(index_dir, articles[:3], sentence_vectors=True)
    before = StoredSentenceVectors.open(index_dir)
    assert before is not None
    kept = {a.doc_id: {k: np.array(v) for k, v in (before.article(a.doc_id, a.content_hash) or {}).items()}
            for a in articles[:3]}
    counting = _Counting()
    _build_api(index_dir, articles[3:4], embedder=counting, sentence_vectors=True, replace=False)
    new = articles[3]
    sentences = [new.text[s:e] for s, e in split_sentences(new.text)]
    assert sorted(set(counting.seen) & set(sentences)) == sorted(set(sentences))
    old_sentences = {a.text[s:e] for a in articles[:3] for s, e in split_sentences(a.text)} - set(sentences)
    assert not set(counting.seen) & old_sentences  # nothing of the unchanged articles is embedded again
    after = StoredSentenceVectors.open(index_dir)
    assert after is not None and len(after) == 4
    for a in articles[:3]:
        rows = after.article(a.doc_id, a.content_hash) or {}
        assert rows.keys() == kept[a.doc_id].keys() and all(np.array_equal(rows[k], kept[a.doc_id][k]) for k in rows)
    fresh = after.article(new.doc_id, new.content_hash) or {}
    assert list(fresh) == split_sentences(new.text)
    assert np.allclose(np.vstack(list(fresh.values())), HashEmbedder().embed(sentences), atol=1e-6)
