"""The people a question asks for by their role, named in the sentence after the one that describes them.

A report often describes people by their role first and names them in its next sentence:

    "The French foreign and defense ministers are visiting Moscow together ... for the first time since 2012."
    "Minister of the Armed Forces Florence Parly and Foreign Minister Jean-Yves Le Drian have met in the capital ..."

For "Which French ministers travelled to Moscow together?" the first sentence matches the question and the second
holds the answer, though it shares few of the question's words. When none of the sentences an answer quotes names
a person the question does not, ``with_names`` quotes, right after the quoted sentence that mentions the asked role,
the article's next sentence when it names a person with that same role word ("Minister ... Florence Parly").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

from qa import lexical
from qa.evidence import Evidence, Sentence

# Nouns that name people by what they do: a question asking "which <role>" or "who ... the <role>" asks for names.
ROLE_NOUNS = frozenset(
    "president minister leader chancellor king queen emperor official diplomat ambassador general spokesman "
    "spokeswoman premier tsar secretary envoy commander governor mayor senator chief expert analyst candidate "
    "founder director negotiator".split())
_WHICH = re.compile(r"^\W*(?:which|what)\s+(?P<rest>.*)", re.IGNORECASE | re.DOTALL)

_AUXILIARIES = frozenset("did does do is was are were has have had will would can could should may might".split())


class _Quoted(Protocol):
    @property
    def sentence(self) -> Sentence: ...


Q = TypeVar("Q", bound=_Quoted)


def asked_role(question: str) -> str | None:
    """The role a 'which <role>' question asks for by name ('minister' for "Which French ministers travelled ...?"),
    else None."""
    m = _WHICH.match(question)
    if m is None:
        return None
    words = re.findall(r"[a-z]+", m.group("rest").lower())
    if not words or words[0] in _AUXILIARIES:
        return None  # "What did the president say?" asks for a thing, not for the president's name
    for word in words[:4]:  # "which French ministers", "what top official"; not "which city did the ministers"
        if word in _AUXILIARIES:
            break
        if lexical.stem(word) in ROLE_NOUNS:
            return lexical.stem(word)
    return None


def _has_role(text: str, role: str) -> bool:
    return any(lexical.stem(w) == role for w in lexical.words(text))


def with_names(question: str, chosen: Sequence[Q], retrieved: Sequence[Q], evidence: Evidence) -> list[Q]:
    """``chosen`` with the sentence that names the people asked for by role quoted after the one describing them.

    Only for a 'which <role>' question (``asked_role``) whose quoted sentences name no person the question does not
    name; the added sentence is the article's next one after a quoted sentence that mentions the role (the first
    for which one qualifies), when it mentions the role too, names such a person, and was retrieved (so it can be
    cited).
    """
    role = asked_role(question)
    if role is None or not chosen:
        return list(chosen)
    given = lexical.name_tokens(question)
    sentences = [c.sentence for c in chosen]

    def names_someone(entities_of: Sentence) -> bool:
        people = [e for e in evidence.entities([entities_of])[0] if e.label == "PERSON"]
        return any(lexical.name_tokens(p.text) - given for p in people)

    if any(names_someone(s) for s in sentences):
        return list(chosen)
    for at, first in enumerate(sentences):
        if not _has_role(first.text, role):
            continue
        spans = evidence.spans(first.doc_id)
        i = next((j for j, (s, _) in enumerate(spans) if s == first.start), None)
        if i is None or i + 1 >= len(spans):
            continue
        start = spans[i + 1][0]
        nxt = next((c for c in retrieved if c.sentence.doc_id == first.doc_id and c.sentence.start == start), None)
        if (nxt is not None and nxt.sentence not in sentences and _has_role(nxt.sentence.text, role)
                and names_someone(nxt.sentence)):
            return [*chosen[: at + 1], nxt, *chosen[at + 1 :]]
    return list(chosen)
