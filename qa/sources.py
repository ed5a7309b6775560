"""Questions that name their source: "According to Julianne Smith, who brought down a Russian airliner?", "Who is
the Russian defence minister in the 2019 RT article?", "How many years did Macron have ahead of him, according to
Stanovaya?".

The source phrase is noise for the sentence embedding (the article never says "according to Stanovaya" next to its
answer) and misleads the question's analysis, so such questions fell below the refusal threshold. When the phrase
names exactly one article of the index (its author's full name or surname, its outlet without the web domain, its
year: ``qa.comparison.mentions``), it is removed from the query that is searched and analysed, and the hits are
restricted to that article (searched deeper when the first search finds none of it). A phrase that names no
article, or a name two articles share, changes nothing: the question is answered as it is.

The phrase is one of: "according to (the) <source>('s article)", "in / from / by the (<year>) <source>('s) article"
(also piece, report, commentary, op-ed, column; "in <source>'s view / opinion"). A name elsewhere in the question
("What did Smith say?") is no source phrase.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa import lexical
from qa.comparison import mentions

if TYPE_CHECKING:
    from corpus.types import Article
    from embeddings import Index
    from embeddings.config import RetrievalSettings
    from embeddings.types import Hit

# how many times top_k the deeper search reads when the first one holds nothing of the named article
DEPTH = 4
_NOUN = r"(?:articles?|pieces?|reports?|commentar(?:y|ies)|op-eds?|columns?|view|opinion)"
_ACCORDING = re.compile(r"(?:,\s*)?\baccording\s+to\s+(?:the\s+)?(?:(?:19|20)\d\d\s+)?$", re.IGNORECASE)
_IN = re.compile(r"(?:,\s*)?\b(?:in|from|by)\s+(?:the\s+)?(?:(?:19|20)\d\d\s+)?$", re.IGNORECASE)
_AFTER_NOUN = re.compile(r"^(?:[’']s)?\s+" + _NOUN + r"\b", re.IGNORECASE)
_AFTER_OPT = re.compile(r"^(?:[’']s)?(?:\s+" + _NOUN + r"\b)?", re.IGNORECASE)


@dataclass(frozen=True)
class Named:
    """The article a question's source phrase names, and the question without that phrase."""

    doc_id: str
    phrase: str
    question: str


def named(question: str, articles: Mapping[str, Article]) -> Named | None:
    """The one article ``question``'s source phrase names, or None (no phrase, a phrase naming no article or two
    articles, or the question naming another article too: a comparison, see qa/comparison)."""
    said = mentions(question, articles)
    if len({m.doc_id for m in said}) != 1:  # none, or two articles named: a comparison (or a name and a source)
        return None
    found = [(*span, m.doc_id) for m in said if (span := _phrase(question, m.start, m.end)) is not None]
    if not found:
        return None
    start, end, doc_id = found[0]
    rest = question[:start] + question[end:]
    rest = re.sub(r"\s+([,.?!;:])", r"\1", " ".join(rest.split())).lstrip(" ,")
    rest = re.sub(r",\s*([?.!])$", r"\1", rest)
    if len(lexical.content_terms(rest)) < 2:
        return None
    return Named(doc_id=doc_id, phrase=question[start:end].strip(" ,"), question=rest[:1].upper() + rest[1:])


def _phrase(question: str, start: int, end: int) -> tuple[int, int] | None:
    """The source phrase around a mention at ``start:end`` (its offsets), or None when the mention is in none."""
    before = question[:start]
    after = question[end:]
    if (m := _ACCORDING.search(before)) is not None:
        tail = _AFTER_OPT.match(after)
        return m.start(), end + (tail.end() if tail else 0)
    if (m := _IN.search(before)) is not None and (tail := _AFTER_NOUN.match(after)) is not None:
        return m.start(), end + tail.end()
    return None


def search(query: str, index: Index, settings: RetrievalSettings) -> tuple[str, list[Hit], dict[str, float]]:
    """``index.search_timed`` for ``query``, or, when its source phrase names one article, for the query without
    the phrase with the hits restricted to that article (the query searched is returned first)."""
    source = named(query, index.articles)
    if source is None:
        return (query, *index.search_timed(query, settings))
    hits, ms = index.search_timed(source.question, settings)
    own = [h for h in hits if h.doc_id == source.doc_id]
    if not own:
        deeper = index.search(source.question, settings, k=DEPTH * settings.top_k)
        own = [h for h in deeper if h.doc_id == source.doc_id][:settings.top_k]
    return source.question, own or hits, ms
