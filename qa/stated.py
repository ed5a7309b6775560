"""Answers stated the way the question asks them, for entity questions the similarity threshold alone would refuse.

The cosine of a question and the sentence that answers it is low when the question carries words the sentence has
no need of: who said it ('… does Julianne Smith mention?'), a term's long description, the month around a day. The
sentence still answers when it states the candidate *next to a phrase of the question*, the way the question asks:

  - a person asked by role: the role phrase as the name's title or apposition ('Chatham House expert Richard
    Sakwa', 'Richard Sakwa, a Chatham House expert');
  - 'how many N': the number right before N ('28 veto-wielding EU members');
  - a date: the date joined by one preposition to a thing the question names ('the White House on Nov. 24').

The phrase must have two content words or more (a bare 'people' or 'king' is too common to tie anything), and the
sentence must pass every check that refuses answered-looking unanswerable questions: it mentions every name, date
and place the question gives (a name that is the author or outlet of the sentence's article is met by the
article: the question attributes, the sentence needn't), its years do not contradict the question's, the question's
parse swaps none of its words for another (``qa.relations``), and it states a result the question asks for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa import lexical, relations
from qa.analysis import Entity, QuestionAnalysis
from qa.answer_types import DATE, NOUN_TYPES, NUMBER, PERSON
from qa.constraints import constraint_terms, contradicts, counted_noun, same_word, terms
from qa.evidence import Evidence, Sentence
from qa.ties import result_verb, states_result

# How far below the refusal threshold an answer stated as asked may score and still answer (the cosine of the
# question and the sentence). Its decision score is the cosine plus this.
STATED_BONUS = 0.15
_MIN_PHRASE_WORDS = 2
_GLUED = re.compile(r"\b([A-Z]{2,})([a-z]{3,})\b")  # 'EUmembers', 'ISISinto': an article's typo, two words
_DATE_JOINS = ("on", "in", "at")
_MONTH = re.compile(r"\b(" + "|".join(lexical.MONTHS) + r")\b\.?", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})(?![\d,])")
_ARTICLES = frozenset({"the", "a", "an"})
_QUOTED = re.compile(r"“([^”]{2,80})”|\"([^\"]{2,80})\"|‘([^’]{2,80})’")


def unglued(text: str) -> str:
    """The text with words an article's typo glued to a capitalised abbreviation set apart ('EUmembers' ->
    'EU members'); offsets change, so only for comparing words."""
    return _GLUED.sub(r"\1 \2", text)


def sources(evidence: Evidence, doc_id: str) -> set[str]:
    """The stemmed words of the article's author and outlet ('Julianne Smith'; 'rt.com' -> 'rt')."""
    article = evidence.articles.get(doc_id)
    if article is None:
        return set()
    out: set[str] = set()
    if article.meta.author:
        out |= terms(article.meta.author)
    if article.meta.outlet:
        outlet = article.meta.outlet
        out |= terms(outlet.split(".")[0] if re.fullmatch(r"[\w-]+\.\w{2,4}", outlet) else outlet)
    return out


def unmet_in(analysis: QuestionAnalysis, sentence: Sentence, evidence: Evidence, answer: Entity) -> list[str]:
    """The question's constraints (``constraints.constraint_terms``) neither the sentence nor its article's author
    or outlet mentions, and the terms it quotes that the sentence does not. A date constraint without a day is met
    by an answer of its month in a sentence that names no year ('November 2015' by 'Nov. 24'); a lower-case word
    the parser took for a name is no name."""
    have = terms(unglued(sentence.text))
    source = sources(evidence, sentence.doc_id)
    out = []
    for asked, words, years in constraint_terms(analysis):
        if not any(ch.isupper() or ch.isdigit() for ch in asked) and asked != analysis.focus_head:
            continue  # 'mention' tagged as a proper noun
        if years:
            ok = years <= have or _within(asked, answer.text, sentence.text)
        elif any(ch.isdigit() for ch in asked):
            ok = 2 * sum(w in have for w in words) >= len(words)
        else:
            ok = any(same_word(w, h) or lexical.same_place(w, h) for w in words for h in have) or words <= source
        if not ok:
            out.append(asked)
    for m in _QUOTED.finditer(analysis.question):  # a quoted term is what the question is about
        quoted = next(g for g in m.groups() if g is not None)
        if not terms(quoted) <= have:
            out.append(quoted)
    return out


def _within(asked: str, answer: str, text: str) -> bool:
    """Whether an answer of a month ('Nov. 24') lies in the asked period ('November 2015') in a sentence that
    names no year."""
    a, b = _MONTH.search(asked), _MONTH.search(answer)
    return (a is not None and b is not None and _YEAR.search(text) is None
            and a.group(1).lower()[:3] == b.group(1).lower()[:3])


def _norm(text: str) -> str:
    """Letters and digits only, lower case: how a phrase is matched across spaces, hyphens and glued words."""
    return re.sub(r"[^0-9a-z]", "", lexical.fold(text).lower())


def _phrase(text: str) -> str | None:
    """A phrase of the question without its leading article, when it has enough content words to tie a
    candidate to; else None."""
    words = text.split()
    while words and words[0].lower() in _ARTICLES:
        words = words[1:]
    if len(terms(" ".join(words))) < _MIN_PHRASE_WORDS:
        return None
    return " ".join(words)


def _singular(norm: str) -> str:
    return norm[:-1] if norm.endswith("s") else norm


def tied_as_asked(analysis: QuestionAnalysis, text: str, e: Entity) -> bool:
    """Whether the candidate ``e`` stands next to a phrase of the question, the way the question asks it (see the
    module's docstring)."""
    before, after = text[:e.start], text[e.end:]
    focus = _phrase(analysis.focus.text) if analysis.focus is not None else None
    if analysis.answer_type == PERSON and focus is not None and NOUN_TYPES.get(analysis.focus_head, ("",))[0] == PERSON:
        title = _singular(_norm(focus))
        if before.endswith((" ", "\u00a0")) and _singular(_norm(before[-len(focus) - 4:])).endswith(title):
            return True  # 'Chatham House expert Richard Sakwa'
        m = re.match(r",\s+(?:(?:the|a|an)\s+)?([^,;()]+)", after)
        return m is not None and _norm(m.group(1)).startswith(title)  # 'Richard Sakwa, a Chatham House expert'
    if analysis.answer_type == NUMBER and counted_noun(analysis) and focus is not None:
        return after.startswith((" ", "\u00a0")) and _norm(after[:len(focus) + 8]).startswith(_singular(_norm(focus)))
    if analysis.answer_type == DATE:
        m = re.search(r"(\S[^,;]*?)\s+(\w+)\s+$", before)
        if m is None or m.group(2).lower() not in _DATE_JOINS:
            return False
        said = _norm(m.group(1))
        for c in analysis.constraints:
            phrase = _phrase(c.text)
            if phrase is not None and not lexical.has_date(phrase) and said.endswith(_norm(phrase)):
                return True  # 'the White House on Nov. 24'
    return False


def stated_answer(
    analysis: QuestionAnalysis, sentence: Sentence, candidates: Sequence[Entity], evidence: Evidence
) -> Entity | None:
    """The candidate of ``sentence`` stated as the question asks it (:func:`tied_as_asked`), when the sentence passes
    every check that refuses answered-looking unanswerable questions; else None. ``candidates`` are the sentence's
    candidates of the expected type (``qa.answerability``'s, found strictly)."""
    if (not analysis.expects_entity or analysis.is_comparison or analysis.is_nested or analysis.is_list
            or not candidates):
        return None
    text = sentence.text
    tied = [e for e in candidates if tied_as_asked(analysis, text, e)]
    if not tied or contradicts(analysis, text):
        return None
    answer = tied[0]
    if unmet_in(analysis, sentence, evidence, answer):
        return None
    if relations.mismatch(analysis.question, text) is not None or relations.answers_nothing(analysis, text):
        return None
    verb = result_verb(analysis)  # 'What did the group conclude?' needs its conclusion said
    return None if verb is not None and not states_result(verb, text) else answer
