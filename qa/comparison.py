"""Comparisons of sources: "How do Tatiana Stanovaya and Abdul Ruff differ in judging the meeting?", "How do the RT
article and Julianne Smith's article describe what happened to Crimea?".

Such a question names two or more *sources* (an article's author, its outlet, or its year: "the 2015 and the 2019
articles"), each standing for one article of the index (``ArticleMeta``). One search for the whole question finds
the article that says most about the topic and misses the other, or finds no single sentence that answers for both,
so the answer was refused. Instead each source is looked up on its own:

1. **The sources.** The question's mentions of authors (full name or surname), outlets ("RT", "Russia Direct",
   matched on the outlet's words without its web domain) and years ("the 2015 article"), each resolving to exactly
   one article; at least two different articles, named side by side ("A and B", "A or B", "A, B") or with a word of
   comparison (differ, compare, each, both, agree ...).
2. **Each side.** The topic (the question without its sources' names) is compared with every sentence of each
   source's article (the sentence vectors the answer reads anyway); the best sentence of each article is its side.
   A title, byline or dateline line (under five words) is no answer.
3. **The answer.** The sides' sentences, each cited to its own article, in the order the question names them. When
   any side's best sentence is below ``answer.refusal_threshold`` less ``MARGIN``, or no side is at the threshold,
   the comparison is not made and the question is answered as usual (which may refuse).

Deterministic and offline; off with ``retrieval.compare_sources = false``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa import lexical
from qa.analysis import parse
from qa.prompts import CANNOT_ANSWER_PHRASE

if TYPE_CHECKING:
    from corpus.types import Article
    from embeddings import Index
    from embeddings.config import RetrievalSettings
    from embeddings.types import Hit
    from qa.evidence import Evidence, Sentence

# How far below the refusal threshold a side may be when another side is at it: a source's sentence on the topic
# uses its own words (one article says "Crimea", the other "Russia's occupation in Ukraine").
MARGIN = 0.15
_ENTITY_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
_MIN_WORDS = 5  # a shorter line (title, byline, dateline, caption) is not a side's answer
_TERM_BONUS = 0.05  # per content word of the topic a sentence shares, when choosing a side's sentence
_CUE = re.compile(r"\b(?:differ\w*|difference\w*|compar\w*|contrast\w*|each|both|agree\w*|disagree\w*|versus|vs)\b",
                  re.IGNORECASE)
_JOIN = re.compile(r"^(?:[\s,]*(?:and|or|versus|vs\.?|&)?\s*(?:the\s+)?)$", re.IGNORECASE)
_SOURCE_NOUNS = re.compile(r"^(?:[’']s)?\s*(?:articles?|pieces?|reports?|commentar(?:y|ies)|op-eds?|columns?)\b",
                           re.IGNORECASE)
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b(?=(?:\s+(?:and|or)\s+(?:the\s+)?(?:19|20)\d\d)*\s+(?:articles?|pieces?|"
                   r"reports?)\b)", re.IGNORECASE)
_FRAME = re.compile(r"^\s*(?:,|each|both|all|respectively|differ|disagree|agree|compare|contrast|describe|"
                    r"judge|judging|view|see|portray|characteri[sz]e|present|report|say|tell|write|in|on|about|"
                    r"over|regarding|when|as to|to)\b\s*", re.IGNORECASE)
_DOMAIN = re.compile(r"\.(?:com|org|net|ru|fr|co\.uk|uk|de|info)$", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """A source the question names: its words in the question (offsets) and the article it stands for."""

    text: str
    start: int
    end: int
    doc_id: str


@dataclass(frozen=True)
class Side:
    """One source's answer: its best sentence on the topic, the chunk holding it, and their cosine."""

    source: Source
    sentence: Sentence
    hit: Hit
    cosine: float


@dataclass(frozen=True)
class Comparison:
    """The sides, in the order the question names their sources, and the hits to cite them from (one per side)."""

    topic: str
    sides: list[Side]

    def merge(self, hits: Sequence[Hit]) -> list[Hit]:
        """``hits``, then each side's chunk that is not among them (so every side can be cited)."""
        out = list(hits)
        keys = {(h.doc_id, h.start, h.end) for h in out}
        for side in self.sides:
            if (side.hit.doc_id, side.hit.start, side.hit.end) not in keys:
                keys.add((side.hit.doc_id, side.hit.start, side.hit.end))
                out.append(side.hit)
        return out

    def text(self, hits: Sequence[Hit]) -> str:
        """The answer from the sides alone: each side's sentence, cited to its chunk's place in ``hits``."""
        lines = list(dict.fromkeys(self._line(side, hits) for side in self.sides))  # one sentence for two names
        return " ".join(lines).strip()

    def missing(self, answer_text: str, hits: Sequence[Hit]) -> str:
        """What to add to an answer that cites none of a side's article: that side's sentence, cited ("" when every
        side's article is cited, or the answer refuses)."""
        if not answer_text.strip() or lexical.fold(CANNOT_ANSWER_PHRASE) in lexical.fold(answer_text):
            return ""
        cited = {hits[int(n) - 1].doc_id for n in re.findall(r"\[(\d+)\]", answer_text) if 0 < int(n) <= len(hits)}
        said = " ".join(answer_text.split())
        lines = [self._line(side, hits) for side in self.sides
                 if (side.source.doc_id not in cited if side.source.doc_id else not _names(side.source.text, said))
                 and " ".join(side.sentence.text.split()) not in said]
        return "".join(dict.fromkeys(lines))

    @staticmethod
    def _line(side: Side, hits: Sequence[Hit]) -> str:
        key = (side.hit.doc_id, side.hit.start, side.hit.end)
        n = next((i for i, h in enumerate(hits, 1) if (h.doc_id, h.start, h.end) == key), None)
        return "" if n is None else f" {' '.join(side.sentence.text.split())} [{n}]"

    @property
    def confidence(self) -> float:
        """The weakest side's cosine."""
        return min(s.cosine for s in self.sides)


def sources(question: str, articles: Mapping[str, Article]) -> list[Source]:
    """The sources ``question`` names that each stand for one article, in question order (one per article), when
    there are at least two named for comparison (see the module doc); otherwise []."""
    unique: list[Source] = []
    for s in mentions(question, articles):
        if all(u.doc_id != s.doc_id for u in unique):
            unique.append(s)
    if len(unique) < 2:
        return []
    side_by_side = any(_JOIN.match(question[a.end:b.start]) or _SOURCE_NOUNS.match(question[a.end:b.start])
                       and _JOIN.match(_SOURCE_NOUNS.sub("", question[a.end:b.start]))
                       for a, b in zip(unique, unique[1:], strict=False))
    return unique if side_by_side or _CUE.search(question) else []


def mentions(question: str, articles: Mapping[str, Article]) -> list[Source]:
    """Every mention of a source in ``question`` that stands for exactly one article (its author, outlet or year,
    see ``_mentions``), in question order; of overlapping mentions the longer, first one."""
    found: list[Source] = []
    asked = {w.lower() for w in re.findall(r"[\w-]+", question)}
    for doc_id, article in articles.items():
        for start, end in _mentions(question, article, asked):
            found.append(Source(question[start:end], start, end, doc_id))
    found.sort(key=lambda s: (s.start, -s.end))
    kept: list[Source] = []
    for s in found:
        if kept and s.start < kept[-1].end:  # overlapping mentions: the longer, first one
            continue
        kept.append(s)
    # a mention that more than one article shares (two articles of 2015) stands for none of them
    counts: dict[tuple[int, int], int] = {}
    for s in found:
        counts[(s.start, s.end)] = counts.get((s.start, s.end), 0) + 1
    return [s for s in kept if counts[(s.start, s.end)] == 1]


def _mentions(question: str, article: Article, asked: set[str]) -> list[tuple[int, int]]:
    """Offsets of the question's words that name the article: its author (full name or surname), its outlet's
    name, or its year before 'article(s)' (``asked``: the question's words, lower case, to skip most articles
    without a search)."""
    out: list[tuple[int, int]] = []
    meta = article.meta
    names: list[str] = []
    if meta.author:
        names.append(meta.author)
        parts = meta.author.split()
        if len(parts) > 1 and len(parts[-1]) > 2:
            names.append(parts[-1])
    if meta.outlet:
        outlet = _DOMAIN.sub("", meta.outlet.strip()).replace("-", " ")  # baltic-herald.com: Baltic Herald
        if len(outlet) >= 2:
            names.append(outlet)
    for name in names:
        if name.split()[-1].lower() not in asked:
            continue
        pattern = r"(?<![\w-])" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?![\w-])"
        out.extend((m.start(), m.end()) for m in re.finditer(pattern, question, re.IGNORECASE)
                   if len(name) > 3 or m.group().isupper())  # "RT" for rt.com, not the letters of a word
    if meta.date:
        for m in _YEAR.finditer(question):
            if m.group(1) == meta.date[:4]:
                out.append((m.start(1), m.end(1)))
    return out


def topic(question: str, found: Sequence[Source]) -> str:
    """What each side is asked about: the words after the last source, less the comparison's frame ("'s article
    describe", "differ in judging", "each describe", "agree on"): "How do A and B's article describe what happened
    to Crimea?" → "what happened to Crimea". When that leaves under two content words, the question without its
    sources' names."""
    last = max(found, key=lambda s: s.end)
    rest = _SOURCE_NOUNS.sub("", question[last.end:].lstrip(), count=1)
    while True:
        stripped = _FRAME.sub("", rest, count=1)
        if stripped == rest:
            break
        rest = stripped
    rest = " ".join(rest.split()).rstrip("?").strip()
    if len(lexical.content_terms(rest)) >= 2:
        return rest
    out = question
    for s in sorted(found, key=lambda s: -s.start):
        out = out[:s.start] + out[s.end:]
    return " ".join(out.split())


def compare(question: str, index: Index, evidence: Evidence, *, refusal_threshold: float,
            settings: RetrievalSettings | None = None) -> Comparison | None:
    """The per-source answer to a comparison question, or None when it is not one or a side has nothing on it.
    With retrieval ``settings``, two names compared ("How did Hollande and Macron differ on X?") are sides too."""
    found = sources(question, index.articles) or (entity_sources(question) if settings is not None else [])
    if not found:
        return None
    about = topic(question, found)
    sides: list[Side] = []
    for source in found:
        side = (_best_side(source, about, index, evidence) if source.doc_id else
                _entity_side(source, about, index, evidence, settings) if settings is not None else None)
        if side is None:
            return None
        sides.append(side)
    best = max(s.cosine for s in sides)
    if best < refusal_threshold or min(s.cosine for s in sides) < refusal_threshold - MARGIN:
        return None
    return Comparison(topic=about, sides=sides)


def _best_side(source: Source, about: str, index: Index, evidence: Evidence) -> Side | None:
    """The sentence of the source's article closest to the topic, and the indexed chunk that holds it."""
    from embeddings.types import Hit

    article = index.articles[source.doc_id]
    whole = Hit(source.doc_id, 0, len(article.text), article.text, 0.0, article.title)
    sentences = [s for s in evidence.sentences(whole) if len(lexical.words(s.text)) >= _MIN_WORDS]
    if not sentences:
        return None
    vecs = evidence.embed([about, *(s.text for s in sentences)])
    cosines = vecs[1:] @ vecs[0]
    terms = {lexical.stem(w) for w in lexical.content_terms(about)}
    shared = np.array([len(terms & {lexical.stem(w) for w in lexical.content_terms(s.text)}) for s in sentences])
    i = int(np.argmax(cosines + _TERM_BONUS * shared))
    sentence = sentences[i]
    chunk = next((c for c in index.chunks if c.doc_id == source.doc_id and c.start <= sentence.start
                  and sentence.end <= c.end), None)
    hit = (Hit(chunk.doc_id, chunk.start, chunk.end, chunk.text, float(cosines[i]), article.title)
           if chunk is not None else
           Hit(source.doc_id, sentence.start, sentence.end, sentence.text, float(cosines[i]), article.title))
    return Side(source=source, sentence=sentence, hit=hit, cosine=float(cosines[i]))


def entity_sources(question: str) -> list[Source]:
    """Two names the question compares ("How did *Hollande* and *Macron* differ on Russia?", "Do *Berlin* and
    *Paris* agree on ...?"): side by side ("A and B", "A's and B's", "A or B") with a word of comparison, each a
    person, organisation, place or nationality. Their sources are any article (``doc_id`` ""); [] when none."""
    if not _CUE.search(question):
        return []
    doc = parse(question)
    ents = [e for e in doc.ents if e.label_ in _ENTITY_LABELS]
    tagged = {t.i for e in doc.ents for t in e}  # and a name the small parser did not tag ("Hollande")
    ents += [doc[t.i:t.i + 1] for t in doc if t.pos_ == "PROPN" and t.i not in tagged and t.i > 0]
    ents.sort(key=lambda e: e.start)
    for a, b in zip(ents, ents[1:], strict=False):
        between = re.sub(r"^[’']s\b", "", question[a.end_char:b.start_char])
        if _JOIN.match(between) and between.strip() and lexical.fold(a.text) != lexical.fold(b.text):
            return [Source(a.text, a.start_char, a.end_char, ""), Source(b.text, b.start_char, b.end_char, "")]
    return []


def _names(name: str, text: str) -> bool:
    """The text names it: one of the name's words of three letters or more ('Hollande' of 'Francois Hollande',
    'Russians' for 'Russian')."""
    said = {lexical.stem(w) for w in lexical.words(lexical.fold(text))}
    return any(lexical.stem(w) in said for w in lexical.words(lexical.fold(name)) if len(w) >= 3)


def _entity_side(source: Source, about: str, index: Index, evidence: Evidence, settings: RetrievalSettings
                 ) -> Side | None:
    """The sentence naming the source closest to the topic, among what a search for both finds."""
    best: tuple[float, float, Sentence, Hit] | None = None
    hits = index.search(f"{source.text} {about}", settings)
    candidates = [(h, s) for h in hits for s in evidence.sentences(h)
                  if len(lexical.words(s.text)) >= _MIN_WORDS and _names(source.text, s.text)]
    if not candidates:
        return None
    vecs = evidence.embed([about, *(s.text for _, s in candidates)])
    terms = {lexical.stem(w) for w in lexical.content_terms(about)}
    for (hit, sentence), cosine in zip(candidates, vecs[1:] @ vecs[0], strict=True):
        shared = len(terms & {lexical.stem(w) for w in lexical.content_terms(sentence.text)})
        rank = float(cosine) + _TERM_BONUS * shared
        if best is None or rank > best[0]:
            best = (rank, float(cosine), sentence, hit)
    assert best is not None
    return Side(source=source, sentence=best[2], hit=best[3], cosine=best[1])
