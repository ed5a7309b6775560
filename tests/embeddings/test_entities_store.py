"""The sentence entities stored in an index folder (embeddings/entities.py): written by the build with a finder,
reused for unchanged articles, found again for another pipeline, kept without a finder, checksummed, read back.

The finder here is a real, deterministic one of its own (capitalised words as ``NAME``, digits as ``NUM``), so
these run without spaCy; what it is called on is recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from corpus.sentences import split_sentences
from corpus.types import Article
from embeddings import ChunkSettings, HashEmbedder, Index, IndexSettings, build_index, remove_articles
from embeddings.entities import Span, StoredEntities, entities_current
from embeddings.layout import ENTITIES, Damage

_WORD = re.compile(r"\b(?:[A-Z][a-z]+|\d+)\b")


class Finder:
    """Capitalised words and numbers, with a pipeline name; records every text it is asked about."""

    def __init__(self, name: str = "words 1") -> None:
        self.name = name
        self.seen: list[str] = []

    def pipeline(self) -> str:
        return self.name

    def __call__(self, texts: Sequence[str]) -> list[list[Span]]:
        self.seen += texts
        return [[(m.start(), m.end(), "NUM" if m.group().isdigit() else "NAME") for m in _WORD.finditer(t)]
                for t in texts]


def _build(index_dir: Path, articles: list[Article], finder: Finder | None, **kw: object) -> None:
    build_index(articles, index_dir=index_dir, embedder=HashEmbedder(), chunking=ChunkSettings(size=24, overlap=8),
                index_settings=IndexSettings(), progress=False, entities=finder, **kw)  # type: ignore[arg-type]


def _load(index_dir: Path) -> Index:
    return Index.load(index_dir, embedder=HashEmbedder(), chunking=ChunkSettings(size=24, overlap=8))


def _sentences(articles: list[Article]) -> list[str]:
    return [a.text[s:e] for a in articles for s, e in split_sentences(a.text)]


def test_a_build_stores_every_sentences_entities_and_the_index_reads_them(tmp_path: Path,
                                                                       articles: list[Article]) -> None:
    finder = Finder()
    _build(tmp_path / "index", articles, finder)
    assert sorted(finder.seen) == sorted(_sentences(articles))
    index = _load(tmp_path / "index")
    assert index.entities is not None and index.entities.pipeline == "words 1" and len(index.entities) == 4
    assert ENTITIES in index.manifest["files"]  # checksummed like every other file
    for a in articles:
        stored = index.entities.article(a.doc_id, a.content_hash)
        assert stored is not None and list(stored) == split_sentences(a.text)
        for (s, e), spans in stored.items():
            assert spans == Finder()([a.text[s:e]])[0]
    volcano = next(a for a in articles if a.doc_id == "volcano.txt")
    first = index.entities.article("volcano.txt", volcano.content_hash)
    assert first is not None and ("Iceland" in [volcano.text[s:e][a:b] for (s, e), sp in first.items()
                                                for a, b, _ in sp])
    assert index.entities.article("volcano.txt", "another text's hash") is None  # never another text's entities
    assert index.entities.check({a.doc_id: (a.content_hash, a.text) for a in articles}) == len(finder.seen)


def test_an_update_finds_only_the_new_articles_entities(tmp_path: Path, articles: list[Article],
                                                         new_article) -> None:
    index_dir = tmp_path / "index"
    _build(index_dir, articles, Finder())
    extra = new_article("zz.txt", "Alice met Bob in Paris. They spoke for 20 minutes.")
    again = Finder()
    _build(index_dir, [*articles, extra], again)
    assert again.seen == _sentences([extra])
    stored = _load(index_dir).entities
    assert stored is not None and len(stored) == 5
    assert stored.article("zz.txt", extra.content_hash) == {(0, 23): [(0, 5, "NAME"), (10, 13, "NAME"),
                                                                      (17, 22, "NAME")],
                                                            (24, 50): [(0, 4, "NAME"), (15, 17, "NUM")]}


def test_a_no_op_build_finds_nothing_and_an_index_without_the_file_gets_it(tmp_path: Path,
                                                                           articles: list[Article]) -> None:
    index_dir = tmp_path / "index"
    _build(index_dir, articles, None)  # built without a finder: no file (an index from before they were stored)
    assert not (index_dir / ENTITIES).exists() and _load(index_dir).entities is None
    assert not entities_current(index_dir, Finder()) and entities_current(index_dir, None)
    finder = Finder()
    _build(index_dir, articles, finder)  # nothing else changed: the build still writes the entities
    assert len(finder.seen) == len(_sentences(articles)) and (index_dir / ENTITIES).is_file()
    before = (index_dir / ENTITIES).read_bytes()
    idle = Finder()
    _build(index_dir, articles, idle)
    assert idle.seen == [] and (index_dir / ENTITIES).read_bytes() == before


def test_another_pipeline_finds_them_all_again(tmp_path: Path, articles: list[Article]) -> None:
    index_dir = tmp_path / "index"
    _build(index_dir, articles, Finder("words 1"))
    other = Finder("words 2")
    assert not entities_current(index_dir, other)
    _build(index_dir, articles, other)
    assert sorted(other.seen) == sorted(_sentences(articles))
    stored = _load(index_dir).entities
    assert stored is not None and stored.pipeline == "words 2"


def test_without_a_finder_a_build_keeps_what_it_can_reuse(tmp_path: Path, articles: list[Article],
                                                          new_article) -> None:
    index_dir = tmp_path / "index"
    _build(index_dir, articles, Finder())
    extra = new_article("zz.txt", "Alice met Bob in Paris.")
    _build(index_dir, [*articles, extra], None)  # e.g. answer.answerability off
    stored = _load(index_dir).entities
    assert stored is not None and stored.pipeline == "words 1"
    assert stored.article("zz.txt", extra.content_hash) is None  # found on first use instead
    assert all(stored.article(a.doc_id, a.content_hash) for a in articles)
    remove_articles(["cats.txt"], index_dir=index_dir, embedder=HashEmbedder(),
                    chunking=ChunkSettings(size=24, overlap=8), index_settings=IndexSettings())
    stored = _load(index_dir).entities
    assert stored is not None and len(stored) == 3 and stored.article("cats.txt", articles[0].content_hash) is None


def test_a_damaged_previous_file_is_not_reused(tmp_path: Path, articles: list[Article]) -> None:
    index_dir = tmp_path / "index"
    _build(index_dir, articles, Finder())
    path = index_dir / ENTITIES
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"NAME"', b'"XXXX"', 1)  # same size, other content: the sha256 differs
    path.write_bytes(b"\n".join(lines))
    again = Finder()
    _build(index_dir, articles, again)  # the derived files do not match their checksums: rewritten
    assert sorted(again.seen) == sorted(_sentences(articles))
    assert b"XXXX" not in path.read_bytes()


def test_unreadable_files_raise_damage(tmp_path: Path, articles: list[Article]) -> None:
    index_dir = tmp_path / "index"
    _build(index_dir, articles, Finder())
    path = index_dir / ENTITIES
    good = path.read_bytes()
    header, _, body = good.partition(b"\n")
    path.write_bytes(b"{not json\n" + body)
    with pytest.raises(Damage, match="entities.jsonl: unreadable header"):
        StoredEntities.open(index_dir)
    docs = json.loads(header)["docs"]
    docs["cats.txt"][1] += 3  # an offset into the middle of another line
    path.write_bytes(json.dumps({**json.loads(header), "docs": docs}).encode() + b"\n" + body)
    stored = StoredEntities.open(index_dir)
    assert stored is not None
    with pytest.raises(Damage, match="the line of cats.txt is unreadable"):
        stored.check({a.doc_id: (a.content_hash, a.text) for a in articles})
