"""Adjectives: two superlatives on one noun rank by two different measures, so they name different things.

'What is the oldest work of Norman art?' asked of 'By far the most famous work of Norman art is the Bayeux
Tapestry': the most famous work need not be the oldest one; the sentence answers another question. A superlative
picks one thing out of many by one measure ('old', 'famous'), and another measure picks, as far as the sentence
tells, another thing. Unless the two measures are one in other words: 'the largest city' / 'the biggest city',
'the greatest river' / 'the largest river', which WordNet puts in one adjective cluster (``qa.wordnet.similar``).

Two plain adjectives ('separate'/'distinct' peoples, 'main'/'major' tributaries) are left alone: the parse cannot
tell those from a paraphrase, and the sentence's word often just describes the question's thing another way. Nor is
a superlative against a plain adjective ('the largest city' / 'a major city') decided here.

:func:`ranked_apart` is asked by ``qa.relations.decisive`` on a swap of modifiers, so such a sentence is refused when
quoted first (``qa.relations.opens_with_swap``) and outranks a candidate found below it.
"""

from __future__ import annotations

from qa import wordnet
from qa.ties import parse

__all__ = ["ranked_apart", "superlative"]

# irregular superlatives; the regular ones are '-est' forms or 'most' + adjective
_IRREGULAR = {"best": "good", "worst": "bad", "furthest": "far", "farthest": "far", "eldest": "old"}


def superlative(phrase: str) -> str | None:
    """The adjective a superlative phrase ranks by, lower case ('oldest' -> 'old', 'most famous' -> 'famous',
    'biggest' -> 'big', 'earliest' -> 'early', 'best' -> 'good'), or None for a phrase that is no superlative
    ('famous', 'major', 'forest', 'the most')."""
    words = phrase.lower().split()
    if words and words[0] == "the":
        words = words[1:]
    if len(words) == 2 and words[0] == "most" and wordnet.adjective(words[1]):
        return words[1]
    if len(words) != 1 or words[0] in ("most", "least"):
        return None
    word = words[0]
    token = parse(word)[0] if len(parse(word)) == 1 else None
    if token is None or token.tag_ not in ("JJS", "RBS"):  # 'honest', 'forest', 'modest': no superlative
        return None
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    stem = word.removesuffix("est")
    for lemma in (token.lemma_.lower(), stem, stem + "e", stem[:-1] + "y" if stem.endswith("i") else "",
                  stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else ""):
        if lemma and wordnet.adjective(lemma):
            return lemma
    return None


def ranked_apart(asked: str, said: str) -> bool:
    """Whether the question's modifier and the sentence's are superlatives by two measures WordNet does not call
    one ('oldest' / 'most famous': True; 'largest' / 'biggest', 'oldest' / 'eldest': False; 'oldest' / 'famous':
    False, the sentence's is no superlative).

    Args:
        asked: the question's modifier as written ('oldest').
        said: the sentence's modifier in the same slot ('most famous').
    """
    a, b = superlative(asked), superlative(said)
    return a is not None and b is not None and not wordnet.similar(a, b)
