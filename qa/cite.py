"""Turn a generator's raw text with [n] markers (n indexes the retrieved chunks) into verified citations.

For every claim (sentence of the answer) and every marker in it:
1. a marker outside 1..len(hits) is dropped (paper-qa does the same with unknown keys);
2. the quote is the sentence, or two adjacent sentences, of the cited chunk that best support the claim,
   so ``article.text[c.start:c.end] == c.quote`` by construction; a claim that only states a date
   ('9 Sep, 2019 09:12') may also be quoted from the cited chunk's article's dateline, which dates
   every chunk of the article even when the chunk itself does not hold it;
3. the claim is checked against its quote: numbers and proper names in the claim must occur in the
   quote, and the claim must be semantically close to it (cosine of the embedding model's vectors).
Markers are renumbered 1..m in order of first appearance; the same span cited twice keeps one number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from corpus.sentences import split_sentences
from embeddings.types import Hit
from qa import conflict_text, lexical, refusal_text
from qa.evidence import Evidence, Sentence
from qa.types import Citation, ShortAnswer

SHORT_ANSWER_WORDS = 8  # a first claim this short that the cited sentence holds verbatim is the short answer
_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")


@dataclass(frozen=True)
class Claim:
    """A sentence of the answer, its text without markers, and the chunk numbers it cites."""

    text: str
    markers: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True)
class CiteResult:
    """The cited answer: text with renumbered markers, citations, and the support verdict of every claim.

    ``claim_ok[i]`` is True when claim ``i`` cites something and each of its quotes supports it (a citation's own
    ``supported`` is False as soon as one claim it backs fails, so it cannot tell the claims apart).
    """

    text: str
    citations: list[Citation]
    unsupported: int
    claims: int
    claim_ok: tuple[bool, ...] = ()


def _expand(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group):
        if re.fullmatch(r"\d+\s*[–-]\s*\d+", part):
            a, b = (int(x) for x in re.split(r"\s*[–-]\s*", part))
            if 0 < b - a < 10:
                out.extend(range(a, b + 1))
                continue
        out.extend(int(x) for x in re.findall(r"\d+", part))
    return out


def split_claims(text: str) -> list[Claim]:
    """Sentences of an answer with the markers each one carries.

    A marker group placed right after a sentence's final period ("... in 2017. [2]") belongs to that sentence.
    """
    claims: list[Claim] = []
    spans = split_sentences(text)
    for s, e in spans:
        # pull leading markers (left over from the previous sentence's end) back to the previous claim
        body = text[s:e]
        lead = re.match(r"(\s*\[\d+(?:\s*[,;–-]\s*\d+)*\])+", body)
        if lead and claims:
            prev = claims[-1]
            extra = tuple(n for g in _MARKER.findall(lead.group(0)) for n in _expand(g))
            claims[-1] = Claim(prev.text, prev.markers + extra, prev.start, s + lead.end())
            body = body[lead.end() :]
            s = s + lead.end()
        markers = tuple(n for g in _MARKER.findall(body) for n in _expand(g))
        plain = _MARKER.sub("", body).strip()
        if not plain and claims:
            continue
        if plain:
            claims.append(Claim(plain, markers, s, e))
    return claims


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text).strip()


def lexically_supported(claim: str, quote: str) -> bool:
    """Numbers, proper-name words, months and weekdays of the claim all occur in the quote (``missing_facts``):
    a paraphrase may reword the quote, never add a name, a number or a date to it."""
    return not missing_facts(claim, quote)


_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
_MODAL_MONTHS = frozenset({"may", "march"})  # also words: a month only next to a number ("May 29", "29 March")


def _calendar_words(text: str) -> set[str]:
    """Months (first three letters: 'sept' and 'September' are 'sep') and weekdays the text names; 'may' and
    'march' only next to a number."""
    out = set()
    folded = lexical.fold(text)
    for m in re.finditer(r"[a-z]+", folded):
        w = m.group(0)
        if w in _WEEKDAYS:
            out.add(w)
        elif w in lexical.MONTHS:
            if w in _MODAL_MONTHS and not (re.match(r"\.?\s+\d", folded[m.end():])
                                           or re.search(r"\d(?:st|nd|rd|th)?\s+$", folded[:m.start()])):
                continue
            out.add(w[:3])
    return out


def missing_facts(claim: str, quote: str) -> set[str]:
    """What the claim states that the quote does not: its numbers, the words of its proper names and its months
    and weekdays, each looked for in the quote.

    A name word counts as present in its stemmed form ('sanctions'/'sanction'), as its demonym or place
    ('French' for 'France' and back), or glued to a neighbour by a typo of the article ('ISIS' in 'ISISinto',
    'EUmembers' for 'EU members'; words of four letters or more).
    """
    c_numbers, c_tokens, c_calendar = _claim_facts(claim)
    q = _quote_facts(quote)
    missing = {n for n in c_numbers if n not in q.numbers}
    for tok in c_tokens:
        if lexical.stem(tok) in q.plain or tok in q.glued:
            continue
        if len(tok) >= 4 and any(w.startswith(tok) for w in q.words):
            continue
        if any(lexical.same_place(tok, w) for w in q.names):
            continue
        missing.add(tok)
    return missing | (c_calendar - q.calendar)


@dataclass(frozen=True)
class _QuoteFacts:
    """What ``missing_facts`` looks for a claim's facts in, read once per quote text."""

    numbers: frozenset[str]
    words: tuple[str, ...]
    plain: frozenset[str]
    glued: frozenset[str]
    names: frozenset[str]
    calendar: frozenset[str]


# The support check compares every claim with every candidate quote of the chunks it cites, and the same quotes
# come back question after question: what it reads from a text is kept (pure functions of the text alone).
_FACTS_CACHE = 8192


@lru_cache(maxsize=_FACTS_CACHE)
def _quote_facts(quote: str) -> _QuoteFacts:
    quote_words = re.findall(r"[a-z0-9]+", lexical.fold(quote))
    return _QuoteFacts(
        numbers=frozenset(lexical.numbers(quote)),
        words=tuple(quote_words),
        plain=frozenset(lexical.stem(w) for w in quote_words),
        glued=frozenset(a + b for a, b in zip(quote_words, quote_words[1:], strict=False)),
        names=frozenset(t for name in lexical.proper_names(quote) for t in re.findall(r"[a-z]+", name)),
        calendar=frozenset(_calendar_words(quote)),
    )


@lru_cache(maxsize=_FACTS_CACHE)
def _claim_facts(claim: str) -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
    """The claim's numbers, the words of its proper names that must be found in a quote, its calendar words."""
    tokens = tuple(tok for name in lexical.proper_names(claim) for tok in re.findall(r"[a-z0-9]+", name)
                   if not (tok in lexical.MONTHS or tok in lexical.STOPWORDS or tok.isdigit() or len(tok) <= 1))
    return frozenset(lexical.numbers(claim)), tokens, frozenset(_calendar_words(claim))


def _candidates(
    sentences: Sequence[Sentence], vecs: np.ndarray, article_text: str
) -> tuple[list[Sentence], np.ndarray]:
    """Single sentences and adjacent pairs (a claim may fuse two source sentences), with unit vectors.

    A pair's vector is the normalised sum of its sentences' vectors: close to embedding the pair, at no cost.
    """
    out = list(sentences)
    pair_vecs = []
    for i, (a, b) in enumerate(zip(sentences, sentences[1:], strict=False)):
        if "\n" in article_text[a.end : b.start]:
            continue  # never fuse a heading or a paragraph's end with the next paragraph
        out.append(Sentence(a.doc_id, a.start, b.end, article_text[a.start : b.end]))
        v = vecs[i] + vecs[i + 1]
        pair_vecs.append(v / (np.linalg.norm(v) or 1.0))
    return out, np.vstack([vecs, *pair_vecs]) if pair_vecs else vecs


def _dateline_outside(evidence: Evidence, hit: Hit, sentences: Sequence[Sentence]) -> Sentence | None:
    """The dateline of the hit's article when it is not already one of the hit's sentences."""
    dateline = evidence.dateline(hit.doc_id)
    if dateline is None or any((s.start, s.end) == (dateline.start, dateline.end) for s in sentences):
        return None
    return dateline


def cite(raw: str, hits: Sequence[Hit], evidence: Evidence, *, support_threshold: float) -> CiteResult:
    """Map [n] markers of ``raw`` to exact quotes in ``hits`` and check each claim's support.

    Args:
        raw: generator output; [n] refers to ``hits[n-1]``.
        hits: the retrieved chunks in the order they were numbered for the generator.
        evidence: sentence splitter and embedding cache over the index's articles.
        support_threshold: least cosine similarity between a claim and its quote.

    Returns:
        the answer text with markers renumbered to index ``citations``, the citations, and the number of
        claims that are unsupported (a failing citation, or no citation at all).
    """
    claims = split_claims(raw)
    if not claims:
        return CiteResult(strip_markers(raw), [], 0, 0)
    # gather candidate quotes of every cited chunk and embed claims + candidates in one batch
    cited = sorted({n for claim in claims for n in claim.markers if 1 <= n <= len(hits)})
    sentences = {n: evidence.sentences(hits[n - 1]) for n in cited}
    datelines = {n: _dateline_outside(evidence, hits[n - 1], sentences[n]) for n in cited}
    # A short answer followed by its sentence ("Versailles. [1] Macron hosted Putin at Versailles … [1]") is quoted from
    # that sentence's quote when it holds it verbatim, whatever its own cosine: it is embedded only when that fails.
    short = [len(c.text.split()) <= SHORT_ANSWER_WORDS and i + 1 < len(claims) for i, c in enumerate(claims)]
    eager = [i for i in range(len(claims)) if not short[i]]
    texts = [claims[i].text for i in eager]
    for n in cited:
        texts += [s.text for s in sentences[n]]
        dateline = datelines[n]
        if dateline is not None:
            texts.append(dateline.text)
    vecs = evidence.embed(texts)
    claim_vecs: dict[int, np.ndarray] = dict(zip(eager, vecs[: len(eager)], strict=True))

    def claim_vec(i: int) -> np.ndarray:
        if i not in claim_vecs:
            claim_vecs[i] = evidence.embed([claims[i].text])[0]
        return claim_vecs[i]

    per_hit: dict[int, list[Sentence]] = {}
    cand_vecs: dict[int, np.ndarray] = {}
    dateline_at: dict[int, int] = {}  # n -> position of the article's dateline among hit n's candidates
    offset = len(eager)
    for n in cited:
        k = len(sentences[n])
        per_hit[n], cand_vecs[n] = _candidates(sentences[n], vecs[offset : offset + k],
                                               evidence.articles[hits[n - 1].doc_id].text)
        offset += k
        dateline = datelines[n]
        if dateline is not None:
            dateline_at[n] = len(per_hit[n])
            per_hit[n] = [*per_hit[n], dateline]
            cand_vecs[n] = np.vstack([cand_vecs[n], vecs[offset : offset + 1]])
            offset += 1

    date_only = [lexical.is_date_only(c.text) for c in claims]
    chosen: dict[tuple[int, int], tuple[int, np.ndarray, np.ndarray]] = {}  # (claim, hit) -> choose()
    lexical_ok: dict[tuple[int, int], np.ndarray] = {}  # (claim, hit) -> lexically_supported by each candidate
    citations: list[Citation] = []
    number_of: dict[tuple[str, int, int], int] = {}
    pieces: list[str] = []
    cursor = 0
    unsupported = 0
    verdicts: list[bool] = []
    for ci, claim in enumerate(claims):
        valid = [n for n in dict.fromkeys(claim.markers) if n in per_hit]
        new_numbers: list[int] = []
        claim_ok = bool(valid)
        # 'The articles differ: one says A [1]; another says B [2]': each value is checked in its own quote instead
        differ = conflict_text.checked_values(raw[claim.start:claim.end],
                                              lambda n: hits[n - 1].doc_id if 1 <= n <= len(hits) else None)
        closest = refusal_text.closest_quoted(raw[claim.start:claim.end])  # a refusal's closest sentence, whole
        for n in valid:
            cands = per_hit[n]

            def lexical_of(i: int, n: int = n, cands: list[Sentence] = cands) -> np.ndarray:
                if (i, n) not in lexical_ok:
                    lexical_ok[(i, n)] = np.array([lexically_supported(claims[i].text, c.text) for c in cands])
                return lexical_ok[(i, n)]

            def choose(i: int, n: int = n, cands: list[Sentence] = cands) -> tuple[int, np.ndarray, np.ndarray]:
                if (i, n) in chosen:  # a claim is weighed against a chunk's candidates once
                    return chosen[(i, n)]
                sims = cand_vecs[n] @ claim_vec(i)
                lex_ok = lexical_of(i)
                # prefer candidates that pass the lexical check, then the closest; pairs must beat singles clearly
                penalty = np.array([0.0 if k < len(sentences[n]) else 0.03 for k in range(len(cands))])
                if n in dateline_at and not date_only[i]:
                    penalty[dateline_at[n]] = np.inf  # the dateline backs a claim that only states a date
                chosen[(i, n)] = int(np.argmax(sims + lex_ok * 1.0 - penalty)), sims, lex_ok
                return chosen[(i, n)]

            # A short answer ("Versailles.") followed by the sentence it comes from, citing the same chunk: quote
            # that sentence for both, whichever other sentence of the chunk also names it; the quote holding it
            # verbatim supports it (its cosine is not needed then).
            best = -1
            if short[ci] and n in claims[ci + 1].markers:
                follows = choose(ci + 1)[0]
                if _span_in(claim.text, cands[follows].text) is not None and lexical_of(ci)[follows]:
                    best, supported = follows, True
            if best < 0:
                best, sims, lex_ok = choose(ci)
                supported = bool(lex_ok[best]) and float(sims[best]) >= support_threshold
                if not supported and short[ci]:
                    # a short answer ("Versailles.") is too short to embed close to its sentence: the quote holding
                    # it verbatim supports it
                    supported = bool(lex_ok[best]) and _span_in(claim.text, cands[best].text) is not None
            quote = cands[best]
            if differ is not None:
                later = [choose(j)[0] for j in range(ci + 1, len(claims)) if n in claims[j].markers]
                best, supported = conflict_text.quote_for(differ.get(n), cands, later, best)
                quote = cands[best]
            elif closest is not None:
                best, supported = conflict_text.quote_for(closest, cands, [best], best)
                quote = cands[best]
            claim_ok = claim_ok and supported
            key = (quote.doc_id, quote.start, quote.end)
            if key not in number_of:
                number_of[key] = len(citations) + 1
                citations.append(
                    Citation(
                        n=number_of[key],
                        doc_id=quote.doc_id,
                        title=hits[n - 1].title,
                        start=quote.start,
                        end=quote.end,
                        quote=quote.text,
                        supported=supported,
                    )
                )
            elif citations[number_of[key] - 1].supported and not supported:
                # the same quote backs another claim it does not support: keep the weaker verdict visible
                c = citations[number_of[key] - 1]
                citations[number_of[key] - 1] = Citation(c.n, c.doc_id, c.title, c.start, c.end, c.quote, False)
            new_numbers.append(number_of[key])
        if not claim_ok:
            unsupported += 1
        verdicts.append(claim_ok)
        # rebuild the claim's sentence with renumbered markers at its end
        gap = _MARKER.sub("", raw[cursor : claim.start])
        if pieces and not gap and not pieces[-1][-1:].isspace():
            gap = " "  # the space before this sentence went with the previous sentence's markers
        pieces.append(gap)
        body = strip_markers(raw[claim.start : claim.end])
        marks = "".join(f" [{k}]" for k in dict.fromkeys(new_numbers))
        if differ:  # each value keeps its own marker, renumbered in place
            renumber = dict(zip(valid, new_numbers, strict=True))

            def renumbered(m: re.Match[str], r: dict[int, int] = renumber) -> str:
                return "".join(f" [{r[k]}]" for k in _expand(m.group(1)) if k in r)

            body, marks = _MARKER.sub(renumbered, raw[claim.start : claim.end]).strip(), ""
        pieces.append(body + marks)
        cursor = claim.end
    pieces.append(_MARKER.sub("", raw[cursor:]))
    text = re.sub(r"[ \t]+\n", "\n", "".join(pieces)).strip()
    return CiteResult(text, citations, unsupported, len(claims), tuple(verdicts))


def _span_in(claim: str, quote: str) -> tuple[int, int] | None:
    """(start, end) in the quote of a short claim, less the period that ends it (unless it is an abbreviation's,
    'U.S.'), or None when the quote does not hold it verbatim. A claim with an abbreviation inside ('Nov. 24.') is
    looked for with its last period too, then without it."""
    words = claim.strip()
    tries = [words]
    if words.endswith("."):
        bare = words[:-1].rstrip()
        tries = [bare] if "." not in bare else [words, bare]
    for w in tries:
        at = quote.find(w) if w else -1
        if at >= 0:
            return at, at + len(w)
    return None


def short_answer(text: str, citations: Sequence[Citation]) -> ShortAnswer | None:
    """The short answer an answer states first: its first claim when that is a few words its first citation's
    quote holds verbatim ("Versailles. [1] Putin was received at Versailles … [1]"), with exact offsets; else None.
    When the articles differ ("The articles differ: one says Versailles [1]; another says Paris [2]. …"), the first
    value stated.
    """
    claims = split_claims(text)
    differ = conflict_text.values(text[claims[0].start:claims[0].end]) if claims else None
    first = next(iter(differ.values())) if differ else claims[0].text if claims else ""
    if len(claims) < 2 or not claims[0].markers or (not differ and len(first.split()) > SHORT_ANSWER_WORDS):
        return None
    n = claims[0].markers[0]
    if not 1 <= n <= len(citations):
        return None
    c = citations[n - 1]
    span = _span_in(first, c.quote)
    if span is None:
        return None
    return ShortAnswer(c.quote[span[0]:span[1]], c.doc_id, c.start + span[0], c.start + span[1])
