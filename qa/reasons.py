"""The reason a why-question asks for, when the sentence that states the question's event does not hold it.

An article often tells an event in one sentence and its reason a few sentences later, with no causal connective:

    "Hollande turned to the European Union, not NATO, for additional support and solidarity. The reasons for this
    were multifold. For one, the EU is better equipped to deal with law enforcement and border security issues."

    "The second piece of good news was Macron's public decision not to moralize on ... human rights. "With regard to
    human rights issues, we have discussed this. Yes, we mentioned specific cases, but we will not publicly discuss
    these particular cases. I don't think that would help achieve progress on these issues," said the French
    president."

The extractive answer quotes the event sentence (and the one that continues it); when none of those holds a reason,
``reason_sentences`` picks, from the next few sentences of the same paragraph, the one that does:
  - after a sentence announcing reasons ("The reasons for this were multifold", "There were two reasons"), the
    sentences that go through them ("For one, ...", "Two, ...", "Second, ...");
  - otherwise the first sentence holding a reason or a goal (a causal connective, a reason noun, "would help",
    "avoids", "in a bid to", ...) that is tied to the question's event: it shares a content word of the question
    (names aside), or the sentence just before it restates the event (two or more of the question's content words)
    and is quoted with it, since the reason points back to it ("I don't think that would help ...").
Position alone never picks a sentence.

``restates`` tells a follow-up's extractive answer which sentences the previous answer already said in its own words
(they rank lower, as the ones it quoted do).

``denied_premise`` tells when the sentences an answer would quote deny what a why-question takes for granted: the
question asks why something happened ("Why did France support Russia during the Bosnia crisis?", "Why did Renzi
refuse to sign on?") and every sentence that tells that event of the question's doer says it the other way round
("France declined to support Russia", "Renzi signed on"). There is then no reason to give: the question is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from qa import lexical
from qa.evidence import Evidence, Sentence
from qa.sentence_features import REASON
from qa.ties import parse

if TYPE_CHECKING:
    from spacy.tokens import Token

WINDOW = 4  # how many sentences after the quoted event sentence (and its continuation) are read

# A reason or a goal stated without a causal connective ("that would help achieve progress", "Turning to the EU also
# avoids antagonizing Russia", "in a bid to", "with a view to").
_GOAL = re.compile(
    r"\b(?:(?:would|could|will|might|should|did|does|do)(?:\s+not|n[’']t)?\s+(?:help|allow|enable|let|lead|"
    r"prevent|avoid|ensure|undermine|hurt|damage|serve|achieve)|helps?\s+(?:to\s+)?\w+|allows?|enables?|avoids?|"
    r"prevents?|ensures?|in a bid to|so as to|with a view to|in an effort to|for fear|aimed at|intended to|"
    r"designed to|motive|motivation|purpose|goal|objective|rationale)\b",
    re.IGNORECASE,
)
# A sentence announcing reasons given in the next ones: "The reasons for this were multifold", "There are two reasons".
_ANNOUNCES = re.compile(
    r"\b(?:reasons?|motives?|explanations?|factors?)\b[^.;:]*?\b(?:were|are|was|is)\s+(?:many|multifold|manifold|"
    r"several|numerous|twofold|threefold|various|varied|complex|simple|clear|obvious|plain)\b|"
    r"\b(?:several|many|two|three|four|a number of|a few|various)\s+(?:main\s+|key\s+|good\s+)?"
    r"(?:reasons|motives|explanations|factors)\b",
    re.IGNORECASE,
)
# A sentence going through announced reasons: "For one, ...", "Two, ...", "Second, ...", "Another reason is ...".
_ENUMERATES = re.compile(
    r"^\W*(?:for one\b|first(?:ly)?\b|second(?:ly)?\b|third(?:ly)?\b|finally\b|lastly\b|moreover\b|besides\b|"
    r"in addition\b|another\b|(?:one|two|three|four|five)\s*[,:)]|\d\s*[.)])",
    re.IGNORECASE,
)


class _Quoted(Protocol):
    @property
    def sentence(self) -> Sentence: ...


Q = TypeVar("Q", bound=_Quoted)


def with_reason(question: str, chosen: Sequence[Q], retrieved: Sequence[Q], evidence: Evidence) -> list[Q]:
    """``chosen`` (an answer's quoted sentences, best first) with the reason a why-question asks for quoted after its
    event sentence (and that sentence's continuation, the next sentence of the article when it is quoted second),
    when those hold no reason and the rest of the paragraph gives one tied to the question (``reason_sentences``).
    Only ``retrieved`` sentences can be quoted (they can be cited); otherwise, or for any other question, ``chosen``
    is returned as it is."""
    if not chosen or lexical.question_type(question) != "reason":
        return list(chosen)
    first = chosen[0].sentence
    text, spans = evidence.articles[first.doc_id].text, evidence.spans(first.doc_id)
    at = next((i for i, (s, _) in enumerate(spans) if s == first.start), None)
    if at is None:
        return list(chosen)
    n = 1
    second = chosen[1].sentence if len(chosen) > 1 else None
    if second is not None and second.doc_id == first.doc_id and spans[at + 1 : at + 2] == [(second.start, second.end)]:
        n, at = 2, at + 1
    following = rest_of_paragraph(text, spans, at)
    picked = reason_sentences(question, [c.sentence.text for c in chosen[:n]], [text[s:e] for s, e in following])
    by_start = {c.sentence.start: c for c in retrieved if c.sentence.doc_id == first.doc_id}
    added = [by_start.get(following[i][0]) for i in picked]
    quoted = {c.sentence for c in chosen}
    if not added or any(a is None or a.sentence in quoted for a in added):
        return list(chosen)  # a sentence that was not retrieved cannot be cited
    return [*chosen[:n], *(a for a in added if a is not None), *chosen[n:]]


def rest_of_paragraph(text: str, spans: Sequence[tuple[int, int]], at: int) -> list[tuple[int, int]]:
    """The spans of the (at most ``WINDOW``) sentences after ``spans[at]`` in the same paragraph of ``text``."""
    following: list[tuple[int, int]] = []
    for s, e in spans[at + 1 : at + 1 + WINDOW]:
        if "\n" in text[(following[-1][1] if following else spans[at][1]) : s]:
            break  # the paragraph ends
        following.append((s, e))
    return following


def holds_reason(sentence: str) -> bool:
    """True when the sentence states a reason or a goal itself; a sentence that only announces reasons ("The
    reasons for this were multifold") does not."""
    if _ANNOUNCES.search(sentence):
        return False
    return bool(REASON.search(sentence) or _GOAL.search(sentence))


def _event_terms(question: str) -> set[str]:
    """The question's content words that are not names ("refuse", "discuss", "case" in "Why did Macron refuse to
    publicly discuss specific human rights cases with Putin?")."""
    return set(lexical.content_terms(question)) - lexical.name_tokens(question)


def reason_sentences(question: str, quoted: Sequence[str], following: Sequence[str]) -> list[int]:
    """Which of ``following`` to quote for the reason a why-question asks for (indices, in order; empty when none).

    Args:
        question: the (standalone) question; only a why-question ('why', 'for what reason', 'how come') gets any.
        quoted: the event sentence and the sentence that continues it, as the answer already quotes them.
        following: the next sentences of the same paragraph after ``quoted`` (at most ``WINDOW`` are read).
    """
    if lexical.question_type(question) != "reason" or not quoted or any(holds_reason(s) for s in quoted):
        return []
    following = list(following)[:WINDOW]
    if _ANNOUNCES.search(quoted[-1]):  # "The reasons for this were multifold." then "For one, ...", "Two, ..."
        listed = []
        for i, s in enumerate(following):
            if not _ENUMERATES.search(s):
                break
            listed.append(i)
        if listed:
            return listed
    terms = _event_terms(question)
    before = quoted[-1]
    for i, s in enumerate(following):
        if holds_reason(s) and not _ANNOUNCES.search(s):
            if terms & set(lexical.content_terms(s)):
                return [i]
            if len(terms & set(lexical.content_terms(before))) >= 2:
                # the reason points back to the sentence before it, which restates the event: quote both
                return [i] if i == 0 else [i - 1, i]
        before = s
    return []


RESTATED = 0.8  # a sentence holding this share of an earlier answer sentence's content words says it again


def said_terms(said: str) -> list[set[str]]:
    """The content words of each sentence of an earlier answer (those of four words or more)."""
    out = []
    for part in re.split(r"(?<=[.!?])\s+", re.sub(r"\[\d+\]", " ", said)):
        terms = set(lexical.content_terms(part))
        if len(terms) >= 4:
            out.append(terms)
    return out


def restates(sentence: str, said: Sequence[set[str]]) -> bool:
    """True when the sentence holds ``RESTATED`` of the content words of a sentence of an earlier answer: the
    answer said it already, in its own words ('He turned to the European Union rather than NATO for additional
    support' against '... Hollande turned to the European Union, not NATO, for additional support and solidarity')."""
    if not said:
        return False
    words = set(lexical.content_terms(sentence))
    return any(len(t & words) >= RESTATED * len(t) for t in said)


# Verbs saying that what their complement names did not happen ('refused to sign', 'cancelled the visit', 'declined to
# support'), and phrasal ones ('turned down the offer', 'called off the talks').
DENYING = frozenset(
    "refuse decline reject cancel fail abandon avoid deny forgo boycott scrap shun spurn rebuff veto postpone halt "
    "stop cease quit resist".split()
)
_DENYING_PHRASAL = frozenset({("turn", "down"), ("call", "off"), ("back", "out"), ("pull", "out"), ("rule", "out")})
# Words under which a mention is denied: 'advised him against visiting', 'without consulting', 'their lack of
# support', 'his refusal to sign', 'instead of joining'.
_DENYING_WORDS = frozenset("against without instead lack absence refusal failure rejection cancellation".split())
_CLIMB = frozenset({"xcomp", "pcomp", "pobj", "prep", "dobj", "ccomp"})  # edges a denial reaches its event by


def denied_premise(question: str, texts: Sequence[str]) -> str | None:
    """The event a why-question takes for granted when ``texts`` (the sentences an answer would quote) deny it, else
    None.

    The event is the question's main verb, or the complement of a denying verb ('refuse to *sign*', 'cancel his
    *visit*', ``DENYING``), with its polarity (a denying verb or 'not' flips it). A sentence tells the event when it
    has the event's word (as a verb or a noun: 'visit'/'visited') and mentions the question's doer (its subject, or
    the place a demonym names: 'the French' for 'France'). It is refused when at least one such mention exists and
    every one is of the other polarity: 'France declined to support Russia' (and 'their lack of support') for 'Why
    did France support Russia?', 'Renzi signed on' for 'Why did Renzi refuse to sign on?'. A sentence that never
    tells the event leaves the premise open (nothing is decided), and one telling it both ways keeps the answer.

    A choice the question takes for granted ('Why did Hollande turn to NATO *rather than* the EU?') is denied the same
    way when the sentences reject that option ('turned to the European Union, *not NATO*') and never tell it chosen.
    """
    if lexical.question_type(question) != "reason":
        return None
    if (option := _reversed_choice(question, texts)) is not None:
        return option
    event = _asked_event(question)
    if event is None:
        return None
    lemma, polarity, doer = event
    seen = False
    for text in texts:
        doc = parse(text)
        if doer and not any(_same_doer(doer, t.text) for t in doc):
            continue
        for t in doc:
            if t.pos_ in ("VERB", "NOUN") and _norm(t.lemma_) == lemma:
                told = _polarity(t)
                if told is None:
                    continue  # not told as a fact: 'considered abrogating', 'we wonder why he did not turn'
                if told == polarity:
                    return None  # said as the question takes it
                seen = True
    return lemma if seen else None


def _asked_event(question: str) -> tuple[str, bool, str] | None:
    """The question's event word (a lemma), whether it is taken as having happened, and its doer's word ('' when
    none is given)."""
    doc = parse(question)
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None or root.pos_ != "VERB":
        return None
    doer = next((c.text for c in root.children if c.dep_ in ("nsubj", "nsubjpass") and c.pos_ == "PROPN"
                 or c.dep_ in ("nsubj", "nsubjpass") and c.pos_ == "NOUN"), "")
    polarity = not _negated(root)
    event: Token = root
    if _denies(root):
        complement = next((c for c in root.children if c.dep_ == "xcomp" and c.pos_ == "VERB"), None) or next(
            (c for c in root.children if c.dep_ == "dobj" and c.pos_ == "NOUN"), None)
        if complement is None:
            return None
        event, polarity = complement, not polarity if not _negated(complement) else polarity
    if event.lemma_.lower() in _LIGHT_EVENTS:
        return None
    return _norm(event.lemma_), polarity, doer


_LIGHT_EVENTS = frozenset("be have do make take get give go come say".split())  # too common to tell one event


def _norm(lemma: str) -> str:
    """A lemma in one spelling: 'recognise' and 'recognize' are one word."""
    lemma = lemma.lower()
    return lemma[:-3] + "ize" if lemma.endswith("ise") and len(lemma) > 6 else lemma


def _same_doer(doer: str, word: str) -> bool:
    return doer.lower() == word.lower() or lexical.same_place(doer, word)


def _negated(token: Token) -> bool:
    """'did not sign', 'never signed': a negation before the word ('turned to the EU, not NATO' negates NATO)."""
    return any(c.dep_ == "neg" and c.i < token.i and not (c.i + 1 < len(c.doc) and c.nbor().lower_ == "only")
               for c in token.children)


def _denies(token: Token) -> bool:
    """A denying verb, phrasal one ('turn down') or word ('against', 'lack', 'refusal')."""
    lemma = token.lemma_.lower()
    if token.pos_ == "VERB" and lemma in DENYING:
        return True
    if any(c.dep_ == "prt" and (lemma, c.lower_) in _DENYING_PHRASAL for c in token.children):
        return True
    return token.pos_ in ("ADP", "NOUN", "ADV", "SCONJ") and lemma in _DENYING_WORDS


def _polarity(mention: Token) -> bool | None:
    """Whether a sentence tells its mention of an event as having happened (None when it does not tell it as a fact).

    'not', a denying verb or word on it or above it along complement and preposition edges ('declined *to support*',
    'against *visiting*', 'lack of *support*', 'cancelled the *visit*') each flip it; 'no' before a noun too. A
    mention under a modal or 'if' ('would invade'), a question word ('we wonder why he did not turn'), or in the
    complement of a verb that does not assert it (``UNASSERTING``: 'considered *abrogating*', 'wants France to
    *join*') is no fact.
    """
    flips = int(_negated(mention)) + int(any(c.dep_ == "det" and c.lower_ == "no" for c in mention.children))
    token, steps = mention, 0
    while True:
        if _unasserted(token):
            return None
        if token.dep_ not in _CLIMB or token.head is token or steps >= 5:
            break
        if token.dep_ == "ccomp" and _clause_break(token, token.head):
            break  # 'it has demanded X; Paris has not recognized Y' parsed as one clause: two statements
        edge, token, steps = token.dep_, token.head, steps + 1
        if edge in ("xcomp", "ccomp") and token.lemma_.lower() in UNASSERTING:
            return None
        flips += int(_denies(token)) + int(_negated(token) and token.pos_ in ("VERB", "AUX"))
    return flips % 2 == 0


# Verbs whose complement is not told as having happened ('considered abrogating', 'wants France to join', 'we wonder
# why'); a complement of any other verb is ('agreed to refund', 'managed to sign', 'seems ...: Paris has not').
UNASSERTING = frozenset(
    "consider want wish hope plan intend aim seek try attempt threaten propose suggest ask urge call expect wonder "
    "doubt fear think believe imagine prepare offer promise need like prefer mean demand press push request "
    "encourage invite advise tempt".split()
)
_MODALS = frozenset("would could might may should must can will shall".split())


def _clause_break(a: Token, b: Token) -> bool:
    """A ';' or ':' between two words: the parser often joins two statements so written as one."""
    lo, hi = sorted((a.i, b.i))
    return any(t.text in (";", ":") for t in a.doc[lo + 1 : hi])


def _unasserted(token: Token) -> bool:
    """A word under a modal, 'if'/'whether', or a question word of its own clause: not told as a fact."""
    return any(c.dep_ == "aux" and c.lower_ in _MODALS or c.dep_ == "mark" and c.lower_ in ("if", "whether", "unless")
               or c.dep_ == "advmod" and c.lower_ in ("why", "how", "whether") for c in token.children)


_CHOICE = re.compile(r"(?P<option>[\w’'-]+)\s*,?\s+(?:rather\s+than|instead\s+of)\s", re.IGNORECASE)
_REJECTS = re.compile(r"(?:\bnot|\brather\s+than|\binstead\s+of|\bnor)\s+(?:the\s+|a\s+|an\s+)?$", re.IGNORECASE)


def _reversed_choice(question: str, texts: Sequence[str]) -> str | None:
    """The option a why-question takes as chosen ('NATO' of 'turn to NATO rather than the EU') when the sentences
    reject it ('not NATO', 'rather than NATO') wherever they tell it, and never tell it as chosen; else None. A
    mention under a question word, a modal or an unasserting verb ('we wonder why he did not turn to both the EU
    and NATO') tells nothing."""
    m = _CHOICE.search(question)
    if m is None or m.group("option").lower() in lexical.STOPWORDS:
        return None
    option = m.group("option").lower()
    rejected = False
    for text in texts:
        doc = parse(text)
        for t in doc:
            if t.lower_ != option:
                continue
            verb = next((a for a in t.ancestors if a.pos_ in ("VERB", "AUX")), None)
            if verb is not None and _polarity(verb) is None:
                continue  # not told as a fact
            if _REJECTS.search(text[max(0, t.idx - 20):t.idx]):
                rejected = True
            else:
                return None  # told as chosen, or just named
    return m.group("option") if rejected else None
