"""Who wrote an article: answered from its byline, wherever the article states it, or refused when it states none.

"Who wrote the article describing the Versailles meeting as tense?", "Who is the author of the piece calling Putin a
strategic rival?", "Who wrote “Contours of Russo-France relations”?" ask for the author of the article the rest of
the question describes, not for a name in the sentences that match the description. The article is the one the
best retrieved sentence comes from (or the one whose title the question quotes); its author is what
``corpus.meta`` reads (a byline at the top, a signature or a name with its bio at the very end). The answer quotes
the line stating it ("By Julianne Smith", "• Tatiana Stanovaya"), so the pipeline adds that line's chunk to the hits
(:func:`with_byline`), and the extractive generator answers with it (:func:`stated_author`). An article that names
no author is not answered with a name from its text: the question is refused.

Only questions about the article itself: "who wrote" or "the author of" followed by an article noun (article,
piece, commentary, op-ed, column, essay, ...) or a quoted title. "Who wrote the letter?" or "Who wrote that Putin
lives in another world?" ask about something the article tells, and are left to the usual answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from qa import lexical
from qa.analysis import Entity
from qa.comparison import mentions

if TYPE_CHECKING:
    from corpus.types import Article
    from embeddings import Index
    from embeddings.types import Hit
    from qa.evidence import Evidence
    from qa.quoting import Scored

ARTICLE_NOUNS = (
    "article|piece|commentary|op-ed|column|essay|analysis|opinion piece|story|report|post|editorial|text|paper|"
    "blog post|commentary piece|one"
)
_WHO = r"^\W*(?:and\s+)?(?:who|which\s+(?:\w+\s+)?(?:writer|author|analyst|journalist|columnist|expert|scholar|" \
       r"commentator|reporter))\s+"
_ASKS = re.compile(
    _WHO + r"(?:wrote|penned|authored|(?:is|was)\s+(?:the\s+)?(?:author|writer)\s+of)\s+(?P<rest>.+)$"
    r"|^\W*(?:and\s+)?who\s+is\s+(?:the\s+)?(?:author|writer)\s+of\s+(?P<rest2>.+)$"
    r"|^\W*(?:and\s+)?whose\s+(?:byline|name)\s+(?:is|appears|stands)\s+(?:on|under)\s+(?P<rest3>.+)$",
    re.IGNORECASE,
)
_ABOUT_ARTICLE = re.compile(
    rf"^(?:the|this|that|a|an)\s+(?:\d{{4}}\s+)?(?:[\w.-]+\s+){{0,3}}?(?:{ARTICLE_NOUNS})\b|^[“\"‘']", re.IGNORECASE)
_QUOTED = re.compile(r"[“\"‘]([^”\"’]{3,200})[”\"’]")
_TOP = 3  # how many of the best hits' articles get their byline's chunk added
_TERM_BONUS = 0.05  # per content word of the description a sentence shares, when choosing the article asked about


def asks_author(question: str) -> bool:
    """Whether the question asks who wrote an article of the index ('Who wrote the piece …?', 'Who is the author of
    “Title”?')."""
    m = _ASKS.search(question.strip())
    if m is None:
        return False
    rest = next(g for g in (m.group("rest"), m.group("rest2"), m.group("rest3")) if g is not None)
    return bool(_ABOUT_ARTICLE.search(rest.strip()))


def named(question: str, articles: Mapping[str, Article]) -> str | None:
    """The one article the question names: by its quoted title, or by its outlet or author ('the Russia Direct opinion
    piece'); a year is no name here ('the one about the 2015 trip')."""
    found = titled(question, articles)
    if found is not None:
        return found
    docs = {m.doc_id for m in mentions(question, articles) if not m.text.strip().isdigit()}
    return docs.pop() if len(docs) == 1 else None


def titled(question: str, articles: Mapping[str, Article]) -> str | None:
    """The article whose title the question quotes, or None."""
    for quoted in _QUOTED.findall(question):
        wanted = lexical.fold(quoted).strip(" .?!,")
        found = [d for d, a in articles.items() if lexical.fold(a.title).strip(" .?!,") == wanted]
        if len(found) == 1:
            return found[0]
    return None


def byline_span(article: Article) -> tuple[int, int] | None:
    """Where the article's text states its author (``meta.author``): the line holding the name, at the top ('By
    Julianne Smith') or, else, the last one ('• Tatiana Stanovaya', a name above its bio); None without an author."""
    author = article.meta.author
    if not author:
        return None
    starts = [m.start() for m in re.finditer(re.escape(author), article.text)]
    lines = []
    for at in starts:
        begin = article.text.rfind("\n", 0, at) + 1
        end = article.text.find("\n", at)
        end = len(article.text) if end < 0 else end
        line = article.text[begin:end]
        if len(lexical.words(line)) <= len(author.split()) + 3:  # the name alone, 'By …', '• …': a byline
            lines.append((begin + len(line) - len(line.lstrip()), begin + len(line.rstrip())))
    return lines[0] if lines else None


def with_byline(question: str, hits: Sequence[Hit], index: Index) -> list[Hit]:
    """``hits``, then for an authorship question the chunk stating the author of each of the best hits' articles
    that is not among them (so the byline can be cited)."""
    out = list(hits)
    if not hits or not asks_author(question):
        return out
    docs = list(dict.fromkeys([d for d in [named(question, index.articles)] if d] + [h.doc_id for h in hits[:_TOP]]))
    for doc_id in docs:
        article = index.articles.get(doc_id)
        span = byline_span(article) if article is not None else None
        if span is None or any(h.doc_id == doc_id and h.start <= span[0] and span[1] <= h.end for h in out):
            continue
        chunk = next((c for c in index.chunks if c.doc_id == doc_id and c.start <= span[0] and span[1] <= c.end), None)
        if chunk is not None:
            from embeddings.types import Hit

            out.append(Hit(chunk.doc_id, chunk.start, chunk.end, chunk.text, 0.0, article.title if article else ""))
    return out


def stated_author(question: str, scored: Sequence[Scored], evidence: Evidence) -> tuple[Scored | None, Entity | None
                                                                                          ] | None:
    """For an authorship question: ``(the byline sentence, the author's name in it)`` when the article asked about
    states its author and that line is among ``scored``; ``(None, None)`` when the article states no author (refuse);
    None for any other question, or when the byline was not retrieved (the usual answer decides)."""
    if not scored or not asks_author(question):
        return None
    doc_id = named(question, evidence.articles) or _described(question, scored, evidence)
    article = evidence.articles.get(doc_id)
    if article is None:
        return None
    span = byline_span(article)
    if span is None:
        return None, None
    author = article.meta.author or ""
    for s in scored:
        sentence = s.sentence
        if sentence.doc_id == doc_id and sentence.start <= span[0] < sentence.end:
            at = sentence.text.find(author)
            if at >= 0:
                return s, Entity(author, at, at + len(author), "PERSON")
    return None


def _described(question: str, scored: Sequence[Scored], evidence: Evidence) -> str:
    """The article of the sentence closest to what the question says of the article (the words after 'who wrote'),
    by cosine plus ``_TERM_BONUS`` per content word shared; the frame 'Who wrote the article' would pull toward
    any byline or title."""
    m = _ASKS.search(question.strip())
    about = next((g for g in (m.group("rest"), m.group("rest2"), m.group("rest3")) if g), question) if m else question
    pool = [s for s in scored[:20] if len(lexical.words(s.sentence.text)) >= 5]
    if not pool:
        return scored[0].sentence.doc_id
    vecs = evidence.embed([about, *(s.sentence.text for s in pool)])
    terms = {lexical.stem(w) for w in lexical.content_terms(about)}
    best = max(range(len(pool)), key=lambda i: float(vecs[i + 1] @ vecs[0]) + _TERM_BONUS * len(
        terms & {lexical.stem(w) for w in lexical.content_terms(pool[i].sentence.text)}))
    return pool[best].sentence.doc_id
