"""What a refusal says, in plain words: first what the question asks that the articles don't give, then the closest
sentence they do have, quoted and cited::

    The articles don't say the name of the Alsatian puppy; they say: … It sent an Alsatian puppy … [1]
    The articles don't say where Macron received Putin in 2019; the closest they come does not mention 2019: … [1]

The question is turned into the clause that follows "don't say" by its parse (``embedded``): "Where did Macron
receive Putin in 2019?" → "where Macron received Putin in 2019", "Who was the Russian ambassador?" → "who the Russian
ambassador was", "Did Macron visit Moscow?" → "whether Macron visited Moscow". The past of the verb comes from the
English pipeline's own table of irregular forms, else the regular rule; a verb whose past that cannot settle ("cost",
"read": the same as the verb, or not) and a question it cannot turn (one about "I" or "you", two sentences) is quoted
instead ("the answer to “How much did the Mistral ships cost Egypt”").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, TypedDict

from qa import lexical, relations
from qa.analysis import QuestionAnalysis, load_pipeline
from qa.constraints import same_word, terms
from qa.prompts import CANNOT_ANSWER_PHRASE
from qa.ties import asks_name_of, parse

if TYPE_CHECKING:
    from spacy.tokens import Token

NOTHING_CLOSE = "none of the retrieved passages answers this question. The closest passages are listed below."

_AUX = frozenset("did does do was were is are has have had will would can could should may might must shall".split())
_DO = frozenset({"did", "does", "do"})
_WH_TAGS = frozenset({"WDT", "WP", "WP$", "WRB"})
_PERSONAL = frozenset("i me my mine you your yours we us our ours".split())  # 'How do I …': no plain clause
_BASE_TAGS = frozenset({"VB", "VBP"})


def missing(analysis: QuestionAnalysis) -> str:
    """What the articles don't say, as the words after "The articles don't say": 'the name of the Alsatian puppy',
    'where Macron received Putin in 2019', 'who the Russian ambassador to France in 2017 was'; for a question
    ``embedded`` cannot turn, the answer to the question as asked ('the answer to “How much did the ships cost”':
    the parse's focus of such a question is too often no noun phrase to name the kind of answer by)."""
    clause = plain_missing(analysis)
    if clause is not None:
        return clause
    asked = " ".join(analysis.question.split()).rstrip("?!. ")  # no '?' inside the claim: it would end a sentence
    return f"the answer to \u201c{asked}\u201d"


def plain_missing(analysis: QuestionAnalysis) -> str | None:
    """``missing`` when it can say it in a plain clause ('the name of the puppy', 'who won the World Cup'), else
    None (no stand-in by the kind of answer)."""
    if asks_name_of(analysis) and analysis.focus is not None:
        return f"the name of {_with_article(analysis.focus.text)}"
    return embedded(analysis.question)


class Said(TypedDict):
    """What a refusal by the question's analysis says besides the sentence it quotes (``qa.extractive.Plan``)."""

    missing: str
    unmet: tuple[str, ...]
    about: bool
    differs: str | None


def said(analysis: QuestionAnalysis, closest: str, unmet: Sequence[str] = ()) -> Said:
    """A refusal's words for its closest sentence: what is missing (:func:`missing`), the constraints the sentence
    leaves out as the question says them (:func:`as_asked`), whether it mentions what is asked about
    (:func:`mentions_focus`), and how it differs from the question when it swaps a word the question gives
    (``qa.relations.mismatch``, described; a missing measure only when the sentence mentions every constraint)."""
    swap = relations.mismatch(analysis.question, closest)
    if swap is not None and swap.slot == relations.MEASURE and unmet:
        swap = None  # 'does not mention visitors' says more than 'gives no count'
    return Said(missing=missing(analysis), unmet=as_asked(analysis.question, unmet),
                about=mentions_focus(analysis, closest), differs=None if swap is None else swap.describe())


def refusal(what: str, closest: str | None = None, marker: int | None = None, *, unmet: Sequence[str] = (),
            about: bool = False, differs: str | None = None) -> str:
    """The refusal: what is missing first, then the closest sentence, quoted whole with its chunk marker: what
    "they say" about the thing asked about (``about``: the sentence mentions it, ``mentions_focus``), else "the
    closest they come", saying how it differs from the question when it puts another word in the question's slot
    (``differs``, ``qa.relations.Mismatch.describe``: '; the closest they come differs (the question's modifier of
    'troops' is Danish, the sentence's Frisian): …'), else which of the question's names or dates it leaves out
    ('; the closest they come does not mention 2019: …'). Without a closest sentence: that no passage answers, the
    closest passages listed below."""
    if closest is None or marker is None:
        return f"{CANNOT_ANSWER_PHRASE} {what}: {NOTHING_CLOSE}"
    quote = " ".join(closest.split())
    if differs:
        detail = " ".join(_UNSAFE.sub(" ", differs).split())  # no ':' or brackets: the quote follows the first ':'
        return f"{CANNOT_ANSWER_PHRASE} {what}; the closest they come differs ({detail}): {quote} [{marker}]"
    if unmet:
        named = ", ".join(unmet[:-1]) + (" or " if len(unmet) > 1 else "") + unmet[-1]
        return f"{CANNOT_ANSWER_PHRASE} {what}; the closest they come does not mention {named}: {quote} [{marker}]"
    if about:
        return f"{CANNOT_ANSWER_PHRASE} {what}; they say: {quote} [{marker}]"
    return f"{CANNOT_ANSWER_PHRASE} {what}; the closest they come is: {quote} [{marker}]"


def mentions_focus(analysis: QuestionAnalysis, text: str) -> bool:
    """Whether the text mentions what the question asks about (its focus noun: 'puppy' in 'the name of the Alsatian
    puppy'), so that a refusal may say what the articles say about it."""
    head = analysis.focus_head
    return bool(head) and any(same_word(lexical.stem(head), w) for w in terms(text))


_CLOSEST = re.compile(r"; (?:the closest they come (?:is|does not mention .+?|differs \([^():]*\))|they say): "
                      r"(?P<quote>.+?)\s*\[\d+\]\s*$", re.S)
_UNSAFE = re.compile(r"[():\[\]]")


def closest_quoted(raw_claim: str) -> str | None:
    """The closest sentence a refusal made by :func:`refusal` quotes whole before its marker, or None for any other
    claim. ``qa.cite`` checks that sentence against the cited quote (it must be there verbatim): the refusal's own
    words (what the articles don't say, what the sentence leaves out) are no claim a quote could support."""
    if not raw_claim.lstrip().startswith(CANNOT_ANSWER_PHRASE):
        return None
    m = _CLOSEST.search(raw_claim)
    return m.group("quote") if m else None


def as_asked(question: str, unmet: Sequence[str]) -> tuple[str, ...]:
    """The question's own words for ``unmet`` constraints: the counted noun of 'how many visitors' comes as its
    lemma ('visitor') and is said as asked ('visitors')."""
    words = re.findall(r"[\w’'-]+", question)
    out = []
    for u in unmet:
        same = [w for w in words if " " not in u and u.islower() and w.lower().startswith(u) and len(w) - len(u) <= 3]
        out.append(same[0] if same else u)
    return tuple(out)


def embedded(question: str) -> str | None:
    """The question as the clause of a statement ('The articles don't say <clause>'), or None when it cannot be
    turned plainly.

    By the parse: a question whose wh-phrase is the subject keeps its order ('who won the World Cup', 'how many
    people were injured'); otherwise the auxiliary moves after the subject ('when the forum was launched', 'who the
    ambassador was'), and "did"/"does" go into the verb ('where Macron received Putin', 'how much Egypt pays'); a
    yes/no question becomes 'whether …'.
    """
    text = question.strip()
    if not text:
        return None
    toks = [t for t in parse(text) if not t.is_space]
    while toks and toks[-1].is_punct:
        toks.pop()
    if (len(toks) < 2 or any(t.is_sent_start and t.i > 0 for t in toks)
            or any(t.lower_ in _PERSONAL and not (t.i > 0 and t.nbor(-1).pos_ == "PROPN") for t in toks)
            or any(t.text in "?!" for t in toks)):  # ('Alexander I' is a name)
        return None
    if toks[0].lower_ in _AUX:  # 'Did Macron visit Moscow?'
        return _inverted(toks, 0, "whether ")
    wh = next((i for i, t in enumerate(toks[:2]) if t.tag_ in _WH_TAGS), None)
    if wh is None:
        return None
    j = wh + 1
    while j < len(toks) and (toks[j].pos_ not in ("VERB", "AUX") or _modifies_noun(toks[j])):
        j += 1  # the rest of the wh-phrase: 'how many people', 'which French shipyard', 'how many veto-wielding …'
    if j >= len(toks):
        return None
    lead = _lower_first(toks, _join(toks[:j]))
    if toks[j].lower_ not in _AUX or (j + 1 < len(toks) and toks[j + 1].pos_ in ("VERB", "AUX")):
        return lead + _join(toks[j:]).rstrip()  # the wh-phrase is the subject: 'who won …', 'how many … were …'
    return _inverted(toks, j, lead)


def _inverted(toks: list[Token], j: int, lead: str) -> str | None:
    """The clause of a question whose auxiliary ``toks[j]`` comes before its subject, after ``lead``."""
    aux = toks[j]
    rest = toks[j + 1:]
    if not rest:
        return None
    if aux.lower_ in _DO:
        at = next((k for k, t in enumerate(rest) if t.pos_ == "VERB" and t.tag_ in _BASE_TAGS), None)
        if at is None or at == 0:
            return None
        form = _inflect(rest[at], aux.lower_)
        if form is None:
            return None
        return (lead + _join(rest[:at]) + form + rest[at].whitespace_ + _join(rest[at + 1:])).rstrip()
    head = aux.head
    if not (head.i > aux.i and head.pos_ in ("VERB", "AUX")):
        # 'When was the puppy born?' (the parser may hang 'born' off 'was'), 'Where was the summit held after …?':
        # asked when, where, how, whether or 'what year', the last participle after the subject is the passive's
        # verb; asked 'what' or 'who', only one that ends the question ('What is the port called?': 'What was the
        # price paid for the ships?' asks for the price)
        participles = [t for t in rest[1:] if t.pos_ == "VERB" and t.tag_ in ("VBN", "VBD")]
        if participles and (_asks_circumstance(toks[:j]) or participles[-1].i == rest[-1].i):
            head = participles[-1]
    if head.i > aux.i and head.pos_ in ("VERB", "AUX"):  # 'was … launched', 'has … been buried', 'will … meet'
        # before the verb, or an auxiliary before it ('been'), and the adverbs right before ('was first corrected')
        at = next((k for k, t in enumerate(rest) if t.i == head.i or (t.pos_ == "AUX" and t.i < head.i)), None)
        while at is not None and at > 1 and rest[at - 1].pos_ == "ADV":
            at -= 1
        if at is None or at == 0:
            return None
        return (lead + _join(rest[:at]) + aux.lower_ + " " + _join(rest[at:])).rstrip()
    # a copula: after its subject ('whether Putin is popular in France', 'what the population of Moscow is'), else
    # last ('who was the Russian ambassador' → 'who the Russian ambassador was')
    subject = next((c for c in aux.children if c.dep_ in ("nsubj", "nsubjpass", "expl") and c.i > aux.i), None)
    end = subject.right_edge.i if subject is not None else None
    if subject is not None and subject.pos_ == "PROPN":  # a name ends with its own words: 'when Hollande was at …'
        end = max((t.i for t in subject.subtree if t.i <= subject.i), default=subject.i)
    if end is None and lead == "whether ":  # 'Was Hollande president in 2015?': where its subject ends is unclear
        return None
    if end is not None and end < rest[-1].i:
        cut = next(k for k, t in enumerate(rest) if t.i == end) + 1
        return (lead + _join(rest[:cut]).rstrip() + " " + aux.lower_ + " " + _join(rest[cut:])).rstrip()
    return lead + _join(rest).rstrip() + " " + aux.lower_


def _modifies_noun(token: Token) -> bool:
    """A participle inside a noun phrase ('veto-wielding members', 'the downed airliner'), not the clause's verb."""
    return token.tag_ in ("VBG", "VBN") and (token.dep_ in ("amod", "compound", "nmod")
                                             or (token.i > 0 and token.nbor(-1).text == "-"))


def _asks_circumstance(lead: Sequence[Token]) -> bool:
    """Whether the wh-phrase asks about an event rather than for what its subject is: a wh-adverb ('when', 'where
    and when', 'how', 'why'), a wh-determiner ('what year', 'which century'), or none ('whether')."""
    wh = [t for t in lead if t.tag_ in _WH_TAGS]
    return not wh or all(t.tag_ in ("WRB", "WDT") for t in wh)


def _join(toks: Sequence[Token]) -> str:
    return "".join(t.text_with_ws for t in toks)


def _lower_first(toks: Sequence[Token], text: str) -> str:
    """The clause's first word in lower case unless it is a name."""
    if not toks or toks[0].pos_ == "PROPN" or (toks[0].text.isupper() and len(toks[0].text) > 1):
        return text
    return text[:1].lower() + text[1:]


def _inflect(verb: Token, do: str) -> str | None:
    """The verb in the tense 'did'/'does'/'do' carried: 'receive' after 'did' → 'received', 'pay' after 'does' →
    'pays'; None when the past cannot be told by rule."""
    lemma = verb.lower_
    if do == "do":
        return verb.text
    if do == "does":
        if lemma == "have":
            return "has"
        if re.search(r"(s|sh|ch|x|z|o)$", lemma):
            return lemma + "es"
        return lemma[:-1] + "ies" if re.search(r"[^aeiou]y$", lemma) else lemma + "s"
    forms = _irregular().get(lemma)
    if forms and any(not f.endswith("ing") or f == lemma + lemma[-1] + "ing" for f in forms):
        past = [f for f in forms if not f.endswith("ing")]
        if not past and lemma + lemma[-1] + "ing" in forms:  # 'putting' but no 'putted': 'put', 'set', 'hit'
            return lemma
        # 'went' over 'gone', 'took' over 'taken', 'began' over 'begun': the past, not the participle
        return sorted(past, key=lambda f: (f.endswith(("n", "ne")), "u" in f, f))[0]
    if len(re.findall(r"[aeiouy]+", lemma)) == 1 and lemma.endswith(("t", "d")):
        return None  # 'cost', 'read', 'hurt': the past may be the verb itself
    if lemma.endswith("e"):
        return lemma + "d"
    return lemma[:-1] + "ied" if re.search(r"[^aeiou]y$", lemma) else lemma + "ed"


@lru_cache(maxsize=1)
def _irregular() -> dict[str, list[str]]:
    """verb → its irregular and spelling-changed forms, inverted from the English pipeline's lemmatizer table
    ('made' → 'make' gives 'make': ['made'])."""
    table = load_pipeline().get_pipe("lemmatizer").lookups.get_table("lemma_exc")  # type: ignore[attr-defined]
    out: dict[str, list[str]] = {}
    for form, lemmas in table.get("verb", {}).items():
        for lemma in lemmas:
            out.setdefault(lemma, []).append(form)
    return out


def _with_article(noun_phrase: str) -> str:
    determined = noun_phrase.lower().startswith(("the ", "a ", "an ", "this ", "that "))
    return noun_phrase if determined else f"the {noun_phrase}"
