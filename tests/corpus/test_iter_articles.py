"""iter_articles: the articles of load_articles, read one file at a time, with the same skip reasons."""

from __future__ import annotations

import gc
import operator
import weakref
from pathlib import Path
from typing import Any

import pytest
from files import write

import corpus.load as load_module
from corpus.load import iter_articles, load_articles
from corpus.types import Article


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The doc_ids of the files ``load_article`` has read so far, in order."""
    seen: list[str] = []
    real = load_module.load_article

    def recording(path: Path, *, doc_id: str | None = None, **options: Any) -> Article:
        seen.append(doc_id or Path(path).name)
        return real(path, doc_id=doc_id, **options)

    monkeypatch.setattr(load_module, "load_article", recording)
    return seen


def test_files_are_read_one_at_a_time_as_the_stream_is_consumed(tmp_path: Path, reads: list[str]) -> None:
    for i in range(5):
        write(tmp_path / f"a{i}.txt", f"Article number {i}. It has a sentence.")
    stream = iter_articles([tmp_path])
    assert reads == [] and operator.length_hint(stream) == 5  # listed, not read
    first = next(stream)
    assert first.doc_id == "a0.txt" and reads == ["a0.txt"] and operator.length_hint(stream) == 4
    assert next(stream).doc_id == "a1.txt" and reads == ["a0.txt", "a1.txt"]
    assert [a.doc_id for a in stream] == ["a2.txt", "a3.txt", "a4.txt"]
    assert operator.length_hint(stream) == 0 and list(stream) == []


def test_the_stream_keeps_no_article_it_has_handed_out(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / f"a{i}.txt", f"Article number {i}.")
    stream = iter_articles([tmp_path])
    first = weakref.ref(next(stream))
    second = next(stream)
    gc.collect()
    assert first() is None and second.doc_id == "a1.txt"


def test_same_articles_and_skip_reasons_as_load_articles(tmp_path: Path) -> None:
    write(tmp_path / "one" / "good.txt", "A good article.")
    write(tmp_path / "one" / "same.txt", "From the first folder.")
    write(tmp_path / "one" / "empty.txt", b"")
    write(tmp_path / "one" / "blob.txt", b"abc\x00def")
    write(tmp_path / "two" / "same.txt", "From the second folder.")
    write(tmp_path / "two" / "notes.docx", b"PK\x03\x04")
    single = write(tmp_path / "lone.md", "# Lone\n\nA single file.")
    paths = [tmp_path / "one", tmp_path / "nowhere", tmp_path / "two", single]

    stream = iter_articles(paths)
    streamed = list(stream)
    loaded = load_articles(paths)
    assert streamed == loaded.articles
    assert [a.doc_id for a in streamed] == ["good.txt", "same.txt", "lone.md"]
    assert [(e.path, e.reason) for e in stream.skipped] == [(e.path, e.reason) for e in loaded.skipped]
    assert [Path(e.path).name for e in stream.skipped] == ["blob.txt", "empty.txt", "nowhere", "notes.docx",
                                                           "same.txt"]
    assert stream.n_files == 8


def test_skips_are_reported_as_they_are_met(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"")
    write(tmp_path / "b.txt", "Readable.")
    write(tmp_path / "c.txt", b"")
    stream = iter_articles(tmp_path)  # a lone path, as for load_articles
    assert next(stream).doc_id == "b.txt"
    assert [Path(e.path).name for e in stream.skipped] == ["a.txt"]
    assert list(stream) == []
    assert [Path(e.path).name for e in stream.skipped] == ["a.txt", "c.txt"]


def test_default_is_the_bundled_corpus() -> None:
    assert list(iter_articles()) == load_articles().articles
