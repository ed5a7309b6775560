"""Fixtures of the retrieval-layer tests: hand-made articles, the hash embedder and a built index folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from corpus.types import Article
from embeddings import ChunkSettings, HashEmbedder, IndexSettings, build_index

TOPICS = {
    "cats.txt": ("Cats", "Cats are small domestic felines. A cat sleeps most of the day and purrs when content. "
                 "Cats hunt mice at night. Many people keep a cat as a pet in apartments."),
    "ships.txt": ("Ships", "The harbour was full of cargo ships. Container vessels carry goods across the ocean. "
                  "A ship's captain plans the route. Storms delay shipping on the Atlantic every winter."),
    "bread.txt": ("Bread", "Bakers knead dough before dawn. Sourdough bread needs a starter and a long rise. "
                  "The oven must be very hot for a crisp crust. Fresh bread smells wonderful in the morning."),
    "volcano.txt": ("Volcanoes", "A volcano erupted in Iceland in 2010 and stopped flights across Europe. "
                    "Lava and ash poured from the crater. Scientists monitor volcanic tremors to predict eruptions."),
}


def make_article(doc_id: str, text: str, title: str = "") -> Article:
    """An Article the way the loader makes one: with the sha256 of its text as content hash."""
    return Article(doc_id=doc_id, title=title or doc_id, text=text,
                   content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest())


@pytest.fixture
def articles() -> list[Article]:
    return [make_article(doc_id, text, title) for doc_id, (title, text) in TOPICS.items()]


@pytest.fixture
def new_article():
    """Factory: ``new_article(doc_id, text, title="")`` -> Article with its content hash."""
    return make_article


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def chunking() -> ChunkSettings:
    # Small chunks so that each hand-made article yields several of them.
    return ChunkSettings(size=24, overlap=8)


@pytest.fixture
def index_settings() -> IndexSettings:
    return IndexSettings()


@pytest.fixture
def built_index(tmp_path: Path, articles, embedder, chunking, index_settings) -> Path:
    index_dir = tmp_path / "index"
    build_index(articles, index_dir=index_dir, embedder=embedder, chunking=chunking,
                index_settings=index_settings, progress=False)
    return index_dir
