"""'When did X V?' answered by the date an article gives the event's noun: "When did Augustus die?" by "From the
death of Augustus in AD 14 until after AD 70, Rome accepted ...".

The sentence is about something else (Rome's frontier), so its cosine to the question is low and the similarity
threshold refuses it, yet it says the date plainly: the question's verb said as a noun ('death' for 'die', 'fall',
'founding'; WordNet's nouns of the verb, ``nominals.forms``), that noun's 'of' phrase or possessor naming the
question's subject, every content word of it ("the death of Augustus", "the king's death"), and a date joined to
the noun by 'in', 'on' or 'at' ("in AD 14"). "When was X founded?" is asked the same way ("the founding of
Cologne in 50 AD"). A question with any other word, a noun said of another person ("the death of Augustus's wife"),
or a date on another word is not answered so; nor is a sentence a check of ``qa.relations`` refuses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa import lexical
from qa.analysis import Entity

if TYPE_CHECKING:
    from spacy.tokens import Token

    from qa.evidence import Sentence

__all__ = ["dated_event"]

TOP = 3  # how many of the best-scored sentences may give the date
_QUESTION = re.compile(r"^when\s+(?P<aux>did|was|were)\s+(?P<subject>[^?]+?)\s+(?P<verb>[a-z]+)\s*\?$", re.IGNORECASE)
_JOINS = frozenset({"in", "on", "at"})
_YEAR = re.compile(r"(?:(?:AD|BC|BCE|CE)\s*)?\d{1,4}(?:\s*(?:AD|BC|BCE|CE))?")  # '1135', 'AD 14', '50 BC'


def _said_of(noun: Token, subject: set[str]) -> bool:
    """Whether the noun's possessor or 'of' phrase is the question's subject: its head a word of the subject (not
    'the death of Augustus's *wife*'), every content word of the subject in it."""
    for c in noun.children:
        phrase = c if c.dep_ == "poss" else next(
            (p for p in c.children if p.dep_ == "pobj"), None) if c.dep_ == "prep" and c.lower_ == "of" else None
        if phrase is not None and lexical.stem(phrase.lower_) in subject and subject <= {
                lexical.stem(t.lower_) for t in phrase.subtree}:
            return True
    return False


def _date_on(noun: Token, text: str) -> Entity | None:
    """The date joined to the noun by 'in', 'on' or 'at' ("the death of Augustus in AD 14")."""
    for c in noun.children:
        if c.dep_ == "prep" and c.lower_ in _JOINS:
            pobj = next((p for p in c.children if p.dep_ == "pobj"), None)
            if pobj is None:
                continue
            span = pobj.doc[pobj.left_edge.i: pobj.right_edge.i + 1]
            if lexical.has_date(span.text) or _YEAR.fullmatch(span.text):
                return Entity(text[span.start_char:span.end_char], span.start_char, span.end_char, "DATE")
    return None


def dated_event(question: str, sentences: Sequence[Sentence]) -> tuple[int, Entity] | None:
    """The first of the ``TOP`` best sentences (``Sentence``s, best first) that dates the question's event by its
    noun (module docstring), its index and the date; else None."""
    m = _QUESTION.match(" ".join(question.split()))
    if m is None:
        return None
    from qa import answerability, nominals, relations
    from qa.analysis import parse

    q = parse(question)
    verb = next((t for t in q if t.lower_ == m.group("verb").lower()), None)  # 'end' may parse as a noun
    if verb is None or verb.pos_ == "PROPN" or verb.lemma_.lower() in ("be", "have", "do") or any(
            t.dep_ == "dobj" for t in q):
        return None  # 'When did William conquer England?': no event of the subject alone
    subject = {lexical.stem(w) for w in lexical.content_terms(m.group("subject"))}
    if not subject:
        return None
    names = nominals.forms(verb.lemma_.lower())
    analysis = answerability.analyze(question)
    for i, sentence in enumerate(sentences[:TOP]):
        text = sentence.text
        if not names & {w.lower() for w in lexical.words(text)}:
            continue
        for noun in parse(text):
            if noun.pos_ != "NOUN" or noun.lower_ not in names or not _said_of(noun, subject):
                continue
            date = _date_on(noun, text)
            if date is not None and relations.mismatch(question, text) is None and not (
                    relations.answers_nothing(analysis, text)):
                return i, date
    return None
