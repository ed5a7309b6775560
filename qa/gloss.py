"""A question asking what a term means, answered by the gloss a sentence gives right after that term: 'What does
Obersee mean?' by 'the Obersee ("upper lake")', 'What is the English translation of Het Scheur?' by 'Het Scheur
("the Rip")'.

Such a question shares one word with its sentence, so its cosine falls below the refusal threshold. The rule is
narrow, because a gloss nearby is no answer to every meaning question (SQuAD 2.0 labels some of them unanswerable):
  - the question is only a meaning question about one term: 'What does T mean?', 'What does (the word) T translate
    to?', 'What is the (English) translation/meaning of T?', 'What does T stand for?', 'What is T literally?'; any
    other word it gives (a date, a name, 'original') leaves it to the threshold;
  - the term is capitalised or quoted in the question and the sentence says it exactly, not as the tail of a longer
    name ('Nieuwe Maas' does not gloss 'Maas');
  - the gloss follows the term at once: a quoted gloss in parentheses ('T ("X")', "T ('X')"), one opened by
    'LANGUAGE for', 'literally', 'lit.' or 'meaning' in parentheses, or after a comma ('T, meaning "X"', 'T, which
    means X', 'T, literally X');
  - a language the question names other than English must be named by the sentence within the term's phrase (the
    few words before it) or its gloss ('the German word Obersee', 'Obersee (German for "upper lake")');
  - no other sentence retrieved glosses the same term differently or names it without a gloss. SQuAD 2.0 labels a
    question unanswerable when the passage it was written against names the term bare ('into the Rheinrinne ("Rhine
    Gutter") and Seerhein' for 'What does the word Seerhein translate to?'), even if another passage glosses it; a
    term the articles also use bare is left to the threshold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.analysis import Entity

__all__ = ["asked_term", "gloss_answer", "glossed"]

_LANGUAGES = ("English|German|French|Latin|Dutch|Greek|Italian|Spanish|Portuguese|Norse|Old Norse|Arabic|Hebrew|"
              "Russian|Polish|Chinese|Japanese|Sanskrit|Celtic|Gaulish|Frankish|Swedish|Danish|Norwegian|Turkish|"
              "Persian|Hindi|Welsh|Irish|Gaelic|Hungarian|Czech|Finnish")
_OPENERS = frozenset({"the", "a", "an", "in", "on", "at", "from", "via", "into", "of", "to", "and", "but"})
_PARTICLES = frozenset({"de", "der", "den", "van", "von", "la", "le", "del", "di", "du", "of"})
_TERM = r"(?P<term>[\"“'‘]?[^\s\"“”'‘’?][^?\"“”]{0,60}?[\"”'’]?)"
_WORD = r"(?:the\s+(?:(?P<lang1>" + _LANGUAGES + r")\s+)?(?:word|name|term|phrase|expression)\s+)?"
_QUESTIONS = [re.compile(p, re.IGNORECASE) for p in (
    rf"^what\s+does\s+{_WORD}{_TERM}\s+(?:literally\s+)?(?:mean|translate)(?:\s+(?:to|into|as))?"
    rf"(?:\s+in\s+(?P<lang2>{_LANGUAGES}))?\s*\?$",
    rf"^what\s+does\s+{_WORD}{_TERM}\s+stand\s+for\s*\?$",
    rf"^what\s+is\s+the\s+(?:(?P<lang3>{_LANGUAGES})\s+|literal\s+)?(?:translation|meaning)\s+of\s+{_WORD}{_TERM}"
    rf"(?:\s+in\s+(?P<lang4>{_LANGUAGES}))?\s*\?$",
    rf"^what\s+is\s+{_WORD}{_TERM},?\s+literally\s*\?$",
)]
_ASIDE = (r"(?:(?P<lang>" + _LANGUAGES + r")\s+for|literally|lit\.|meaning)")
_QUOTED = r"[\"“'‘](?P<gloss>[^\"“”'‘’()]{1,60}?)[\"”'’]"
_GLOSSES = [
    re.compile(rf"^\s*\(\s*(?:{_ASIDE}\s*)?{_QUOTED}\s*\)"),  # T ("upper lake"), T (German for 'upper lake')
    re.compile(rf"^\s*\(\s*{_ASIDE}\s+(?P<gloss>[^\"“”'‘’()]{{1,60}}?)\s*\)"),  # T (German for upper lake)
    re.compile(rf"^\s*,\s*(?:meaning|which\s+means|literally|lit\.)\s+{_QUOTED}"),  # T, meaning 'X'
    re.compile(r"^\s*,\s*(?:meaning|which\s+means|literally|lit\.)\s+(?P<gloss>[^,;.()\"“”]{1,60}?)\s*(?:[,;.)]|$)"),
]


def asked_term(question: str) -> tuple[str, str | None] | None:
    """The term a meaning question asks about and the language it names other than English, or None when the
    question is not only a meaning question about one capitalised or quoted term.

    >>> asked_term("What does the word Rheinrinne translate to?")
    ('Rheinrinne', None)
    """
    text = " ".join(question.split())
    for pattern in _QUESTIONS:
        m = pattern.match(text)
        if m is None:
            continue
        term = m.group("term")
        quoted = term[:1] in "\"“'‘" and term[-1:] in "\"”'’" and len(term) > 2
        term = term[1:-1] if quoted else term
        if not quoted and term.lower().startswith("the "):
            term = term[4:]  # 'What does the Obersee mean?'
        words = term.split()
        if not words or term != term.strip() or len(words) > 5:
            return None
        if not quoted and (not words[0][0].isupper() or not all(w[0].isupper() or w in _PARTICLES for w in words)):
            return None  # 'Colonia Agrippina's original name': not one term
        languages = {g for k, g in m.groupdict().items() if k.startswith("lang") and g}
        languages = {g.lower() for g in languages} - {"english"}
        if len(languages) > 1:
            return None
        return term, (languages.pop() if languages else None)
    return None


def glossed(term: str, text: str, language: str | None = None) -> tuple[int, int] | None:
    """The span of the gloss the text gives right after ``term`` (said whole, not the tail of a longer capitalised
    name), or None; with ``language``, only a gloss whose term phrase or gloss names that language."""
    for m in re.finditer(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text):
        before = text[: m.start()].rstrip()
        if _tail(before):
            continue  # the tail of a longer name: 'Nieuwe Maas' for 'Maas'
        rest = text[m.end():]
        for pattern in _GLOSSES:
            g = pattern.match(rest)
            if g is None:
                continue
            if language is not None:
                named = (g.groupdict().get("lang") or "").lower() == language
                phrase = " ".join(before.split()[-4:]).lower()
                if not named and re.search(rf"\b{re.escape(language)}\b", phrase) is None:
                    return None
            start = m.end() + g.start("gloss")
            end = m.end() + g.end("gloss")
            while end > start and text[end - 1] in " ,;.":
                end -= 1
            return (start, end) if end > start else None
    return None


def _names(term: str, text: str) -> bool:
    """Whether the text says the term whole (not as the tail of a longer capitalised name)."""
    for m in re.finditer(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text):
        if not _tail(text[: m.start()].rstrip()):
            return True
    return False


def _tail(before: str) -> bool:
    """Whether a term right after ``before`` is the tail of a longer capitalised name ('Nieuwe' before 'Maas')."""
    prior = re.search(r"([\w'’-]+)$", before)
    if prior is None or not prior.group(1)[0].isupper():
        return False
    opening = prior.start(1) == 0 or re.search(r"[.!?:;]\s*$", before[: prior.start(1)]) is not None
    return not (opening and prior.group(1).lower() in _OPENERS)  # 'The Obersee ...' opens a sentence


def gloss_answer(question: str, text: str, others: Sequence[str] = ()) -> Entity | None:
    """The gloss of the question's term in ``text`` (its best sentence) as a short answer, or None.

    Args:
        question: the question as asked ('What does Obersee mean?').
        text: its best sentence.
        others: the other sentences retrieved; one glossing the same term differently, or naming it without a gloss,
            leaves the question unanswered.

    Returns:
        An Entity labelled GLOSS spanning the gloss in ``text`` ('upper lake'), when the question asks only what a
        capitalised or quoted term means and the sentence glosses that very term (module docstring); else None.
    """
    asked = asked_term(question)
    if asked is None:
        return None
    term, language = asked
    span = glossed(term, text, language)
    if span is None:
        return None
    gloss = text[span[0]: span[1]]
    for other in others:
        found = glossed(term, other, language)
        if found is None and _names(term, other) or (
                found is not None and other[found[0]: found[1]].lower() != gloss.lower()):
            return None
    return Entity(gloss, span[0], span[1], "GLOSS")
