"""What the loaded collection is about, in one line for the first screen: "5 articles · mostly about France–Russia
and Putin · dated 2015–2019".

Derived from the index alone: the article count, the span of the articles' dates, and the names most of the
articles mention (capitalised words that never appear in lower case, counted once per article). No string is
written for any particular corpus.

Example::

    describe_collection(library.articles(), lambda d: library.article(d).text)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from qa.lexical import adjectival_base

SAMPLE_ARTICLES = 300  # enough to name the topic of a large collection; reading them all would be slow
SAMPLE_CHARS = 4000  # of each article: its opening says what it is about
TOPIC_NAMES = 3

_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*[^\W_]|[^\W\d_]")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


class _InfoLike(Protocol):
    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def date(self) -> str | None: ...


def year_span(dates: Sequence[str | None]) -> str | None:
    """ "2015–2019" from the years in ``dates`` ("2017" when they agree); None when no date has a year."""
    years = sorted({int(m.group(1)) for d in dates if d for m in [_YEAR.search(d)] if m})
    if not years:
        return None
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}\u2013{years[-1]}"


def _topics(texts: Sequence[str], limit: int) -> list[tuple[str, bool]]:
    """(name, is a place) of the names most ``texts`` mention; a place is a name one of whose adjectival forms
    ("French" for France) is mentioned too, and that form counts as the place."""
    lower: set[str] = set()
    per_text: list[Counter[str]] = []
    for text in texts:
        counts: Counter[str] = Counter()
        for w in _WORD.findall(text):
            if w[0].isupper() and len(w) > 2 and not w.isupper():
                counts[w] += 1
            elif w.islower():
                lower.add(w)
        per_text.append(counts)
    groups: dict[str, Counter[str]] = {}
    docs: dict[str, set[int]] = {}
    for i, counts in enumerate(per_text):
        for w, c in counts.items():
            if w.lower() in lower:
                continue  # a sentence's first word ("The", "While"), not a name
            key = w[:5].lower()
            groups.setdefault(key, Counter())[w] += c
            docs.setdefault(key, set()).add(i)
    # Fold adjectival forms into the name they derive from (French -> France): one name, its articles together.
    shown: dict[str, str] = {}
    places: set[str] = set()
    for k, g in groups.items():
        # a group holding a name and its adjectival form (Japan, Japanese) names a place, shown as the place
        bases = {b for w in g for b in [adjectival_base(w, list(g))] if b}
        shown[k] = max(bases, key=lambda b: (g[b], b)) if bases else g.most_common(1)[0][0]
        if bases:
            places.add(k)
    by_name = {name: k for k, name in shown.items()}
    for key in sorted(groups, key=lambda k: (len(shown[k]), k), reverse=True):  # longer forms fold first
        base = adjectival_base(shown[key], [n for n, k in by_name.items() if k in groups and k != key])
        if base is None:
            continue
        target = by_name[base]
        groups[target].update({shown[target]: sum(groups[key].values())})
        docs[target] |= docs.pop(key)
        del groups[key]
        places.add(target)
    need = max(1, (len(texts) + 1) // 2)
    ranked = sorted(
        (k for k in groups if len(docs[k]) >= need), key=lambda k: (-len(docs[k]), -sum(groups[k].values()), k)
    )
    return [(shown[k], k in places) for k in ranked[:limit]]


def topic_names(texts: Sequence[str], *, limit: int = TOPIC_NAMES) -> list[str]:
    """The names most of ``texts`` mention: capitalised words never seen in lower case, ranked by how many texts
    mention them (then how often). Variants sharing their first five letters count as one name (Russia,
    Russian, Russians), shown in their most frequent form, and an adjectival form counts as the name it derives
    from (French as France, ``adjectival_base``). Empty when no name is in at least half the texts."""
    return [name for name, _ in _topics(texts, limit)]


def topic_phrase(texts: Sequence[str], *, limit: int = TOPIC_NAMES) -> str | None:
    """What most of ``texts`` are about, as a phrase: "France–Russia and Putin" when the two leading names are
    places (names whose adjectival form is used too, joined alphabetically), else "Russia, Putin and Syria";
    None when no name is in at least half the texts."""
    topics = _topics(texts, limit)
    if not topics:
        return None
    names = [n for n, _ in topics]
    if len(topics) >= 2 and topics[0][1] and topics[1][1]:
        names = ["\u2013".join(sorted(names[:2])), *names[2:]]
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]


def describe_collection(infos: Sequence[_InfoLike], text_of: Callable[[str], str] | None = None) -> str:
    """One Markdown line on the loaded articles: how many, what most of them are about, the span of their dates.

    Args:
        infos: the indexed articles (``Library.articles()``).
        text_of: doc_id → article text (titles alone are used without it); read for at most ``SAMPLE_ARTICLES``.
    """
    n = len(infos)
    if n == 0:
        return "**No articles are indexed yet.** Add some in the Articles tab."
    step = max(1, n // SAMPLE_ARTICLES)
    texts = []
    for info in list(infos)[::step][:SAMPLE_ARTICLES]:
        body = ""
        if text_of is not None:
            try:
                body = text_of(info.doc_id)[:SAMPLE_CHARS]
            except (KeyError, OSError):
                body = ""
        texts.append(f"{info.title}\n{body}")
    bits = [f"**{n} article{'s' if n != 1 else ''}**"]
    phrase = topic_phrase(texts)
    if phrase:
        bits.append("mostly about " + phrase)
    span = year_span([i.date for i in infos])
    if span:
        bits.append(f"dated {span}")
    return "Loaded: " + " \u00b7 ".join(bits)


class _LibraryLike(Protocol):
    def articles(self) -> Sequence[_InfoLike]: ...
    def article(self, doc_id: str) -> Any: ...


_cache: dict[tuple[str, ...], str] = {}


def describe_library(library: _LibraryLike) -> str:
    """``describe_collection`` of a library (``qa.library.Library``), cached for its current set of articles."""
    infos = library.articles()
    key = tuple(sorted(f"{i.doc_id}|{i.title}|{i.date}" for i in infos))
    line = _cache.get(key)
    if line is None:
        line = describe_collection(infos, lambda d: str(library.article(d).text))
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = line
    return line
