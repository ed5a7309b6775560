"""British and American spellings of one word ('behaviour'/'behavior', 'organisation'/'organization').

A question spelled one way must find an article spelled the other. BM25 (``embeddings.bm25``) searches every
spelling of each query word (``variants``), so the index, which stores the article's own spelling, needs no
rebuild. Only regular, well-known patterns are rewritten, each guarded against words it would wrongly merge:

- ``-our``/``-or`` for a closed list of Latinate stems (colour, behaviour, labour ...): a rule on every "-our"
  would merge 'tour'/'tor', 'four'/'for', 'hour', 'pour', 'flour'/'flor';
- ``-ise``/``-ize`` (and -ised, -ising, -isation, -iser ...) after three letters or more, except for words whose
  '-ise' is no suffix (advise, comprise, exercise, promise, surprise, franchise ...) and 'prize'/'prise',
  'seize', 'size' whose other spelling is another word or none;
- ``-re``/``-er`` for a closed list (centre, theatre, metre, fibre ...): 'acre', 'genre', 'massacre', 'ogre' and
  every '-er' agent noun ('water', 'order') would be wrong;
- ``-ence``/``-ense`` for defence, offence, licence, pretence (not 'sense', 'dense', 'fence', 'science');
- ``-ogue``/``-og`` for catalogue, dialogue, analogue; ``-lled``/``-led`` doubling (travelled, cancelled,
  labelled, modelled ...) for a closed list.
"""

from __future__ import annotations

import re

# British '-our' stems whose American spelling is '-or' (the rest of the word may follow: colours, favourite)
_OUR = ("arbour ardour armour behaviour candour clamour colour demeanour endeavour favour fervour flavour glamour "
        "harbour honour humour labour neighbour odour parlour rancour rigour rumour saviour savour splendour "
        "succour tumour valour vapour vigour").split()
_OUR_TO_OR = {w: w[:-3] + "or" for w in _OUR}
_OR_TO_OUR = {v: k for k, v in _OUR_TO_OR.items()}
_RE = ("centre theatre metre litre fibre calibre sombre spectre meagre lustre sabre manoeuvre mitre goitre "
       "sepulchre").split()
_RE_TO_ER = {w: w[:-2] + "er" for w in _RE} | {"manoeuvre": "maneuver"}
_ER_TO_RE = {v: k for k, v in _RE_TO_ER.items()}
_ENCE = {"defence": "defense", "offence": "offense", "licence": "license", "pretence": "pretense"}
_ENSE = {v: k for k, v in _ENCE.items()}
_OGUE = {"catalogue": "catalog", "dialogue": "dialog", "analogue": "analog"}
_OG = {v: k for k, v in _OGUE.items()}
_LLED = ("travel cancel label model level fuel signal channel counsel marshal total quarrel tunnel equal "
         "dial duel jewel pedal rival").split()
# words whose '-ise' is part of the stem, not the verb suffix with a '-ize' twin
_ISE_KEEP = frozenset(("advertise advise apprise arise chastise circumcise comprise compromise concise despise "
                       "devise disguise enfranchise enterprise excise exercise expertise franchise improvise "
                       "incise merchandise otherwise paradise precise premise promise revise supervise surmise "
                       "surprise televise treatise likewise clockwise noise poise praise raise cruise chemise "
                       "reprise demise braise mortise").split())
_ZE_KEEP = frozenset("prize seize size capsize baize maize".split())
_ISE = re.compile(r"^([a-z]{3,}?)i([sz])(e|es|ed|ing|er|ers|ation|ations|ational)$")
_SUFFIXES = ("", "s", "es", "ed", "ing", "er", "ers", "ite", "ites", "able", "ably", "ful", "ist", "ists", "y", "ly",
             "al", "ally", "ous", "less")


def _swap_stem(word: str, table: dict[str, str]) -> str | None:
    """``word`` with a stem of ``table`` at its start (and one of the usual endings after it) respelled."""
    for stem, other in table.items():
        if word.startswith(stem) and word[len(stem):] in _SUFFIXES:
            ending = word[len(stem):]
            # 'centered' -> 'centred', not 'centreed'
            return (other[:-1] if other.endswith("e") and ending[:1] in ("e", "i") else other) + ending
        # a stem ending in 'e' drops it before a vowel ending: 'centred', 'licensing'
        if stem.endswith("e") and word.startswith(stem[:-1]) and word[len(stem) - 1:] in ("ed", "ing", "es", "er"):
            return other[:-1] + word[len(stem) - 1:] if other.endswith("e") else other + word[len(stem) - 1:]
    return None


def variants(word: str) -> frozenset[str]:
    """The other spellings of ``word`` (lower case), without ``word`` itself; empty for most words.

    >>> sorted(variants("behaviour"))
    ['behavior']
    >>> sorted(variants("organisations"))
    ['organizations']
    >>> sorted(variants("tour")), sorted(variants("advise"))
    ([], [])
    """
    w = word.lower()
    found: set[str] = set()
    for table in (_OUR_TO_OR, _OR_TO_OUR, _RE_TO_ER, _ER_TO_RE, _ENCE, _ENSE, _OGUE, _OG):
        other = _swap_stem(w, table)
        if other is not None:
            found.add(other)
    m = _ISE.match(w)
    if m is not None:
        stem, letter, ending = m.groups()
        base = f"{stem}i{letter}e"
        if base not in _ISE_KEEP and base not in _ZE_KEEP and not any(base.endswith(k) for k in _ISE_KEEP):
            found.add(f"{stem}i{'z' if letter == 's' else 's'}{ending}")
    for stem in _LLED:
        for ending in ("ed", "ing", "er", "ers"):
            if w == f"{stem}l{ending}":
                found.add(stem + ending)
            elif w == stem + ending:
                found.add(f"{stem}l{ending}")
    found.discard(w)
    return frozenset(found)
