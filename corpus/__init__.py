"""The corpus stage: load article files, clean them, read their stated metadata, split and chunk them.

    load_articles(paths) → LoadResult(articles, skipped)     files → Article(doc_id, title, text, meta)
    chunk_article(article, count_tokens=…, size=…, …)        Article → [Chunk(doc_id, start, end, text)]

Every offset indexes ``Article.text`` (the cleaned text), so ``article.text[c.start:c.end] == c.text``.
Importing this package is cheap: trafilatura and pypdf are imported only when an HTML or PDF file is read.
"""

from corpus.chunk import chunk_article
from corpus.clean import clean_text
from corpus.errors import ArticleError, CiteqaError
from corpus.load import SUPPORTED_SUFFIXES, LoadResult, bundled_corpus_dir, load_article, load_articles
from corpus.meta import extract_metadata
from corpus.sentences import split_sentences
from corpus.types import Article, ArticleMeta, Chunk

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Article",
    "ArticleError",
    "ArticleMeta",
    "Chunk",
    "CiteqaError",
    "LoadResult",
    "bundled_corpus_dir",
    "chunk_article",
    "clean_text",
    "extract_metadata",
    "load_article",
    "load_articles",
    "split_sentences",
]
