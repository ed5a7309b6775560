"""A two-hop description's verb said as a noun in the article: "the year *the war broke out*" of "since *the outbreak
of* the war in 1914", "the man *who founded* the abbey" of "Henry's *founding* of the abbey", "the president *who
was elected* in 2012" of "Macron's *election*".

``qa.multihop`` reads the bridge from the clause's verb and its arguments; an article that names the event with a
noun has no such verb. The nouns that say the verb's event come from WordNet (``qa.wordnet.paraphrases``: derived
nouns such as 'founding', 'founder', 'election', 'death'), the verb itself used as a noun ('France's *return* to
NATO'), and, for a phrasal verb, its particle compounds ('break out' -> 'outbreak', 'breakout'; 'set up' -> 'setup';
'rise up' -> 'uprising'). Such a noun stands for the clause only when its own phrase holds another content word of
the clause ("the outbreak of *the war*"): a bare 'the start' or 'the founding' says nothing about which event.

The description's role is then read off the noun: its time or place (adverbial) anywhere in the noun's phrase; its
doer (subject) as the possessor, the 'by' phrase, or, for an agent noun ('founder', 'inventor'), the name it is
said of; its patient as the possessor or the 'of' phrase.

The same nouns answer a question whose own verb the article says as a noun (``stated_event``): "What crisis broke
out in 2009?" (the second hop of "What crisis broke out in the year France returned to NATO?") by "since *the
outbreak of the euro crisis in 2009*". Its cosine to the question is low (0.21: the sentence is about something
else), so it answers only as ``qa.stated`` answers below the threshold: the asked thing fills the noun's role (a
candidate of the asked type, or the question's own noun with a word the question does not give: 'the *euro*
crisis'), and the sentence passes ``qa.stated``'s checks (names and dates met, years not contradicted, no swap by
``qa.relations``). "the outbreak of cholera in 2009" names no crisis, and answers nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa import lexical, wordnet

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

    from qa.analysis import Entity
    from qa.evidence import Evidence, Sentence

_AGENT_ENDINGS = ("er", "or", "ist", "ant", "ent")
_LIGHT = frozenset({"be", "have", "do", "say", "tell", "call", "mention"})


def forms(verb: str, particle: str = "") -> frozenset[str]:
    """The words that may name the event of ``verb`` (a lemma, lower case) with its ``particle`` ("out"), lower
    case: the verb itself, WordNet's paraphrases of the phrasal verb (of the verb when WordNet has no phrasal entry),
    and the particle compounds ('outbreak', 'breakout', 'uprising')."""
    found = set(wordnet.paraphrases(f"{verb}_{particle}")) if particle else set()
    if not found:
        found = set(wordnet.paraphrases(verb))
    found.add(verb)
    if particle:
        found |= {particle + verb, verb + particle, f"{particle}{verb}ing", f"{particle}{verb}{verb[-1]}ing"}
    return frozenset(found)


def arguments(verb: str, particle: str, role: str, clause: str, doc: Doc) -> list[Token]:
    """The tokens of ``doc`` that fill ``role`` ("subject", "object", "patient" or "adverbial") for a noun naming
    the clause's event (``forms``), nearest the start first; empty when no such noun is in the sentence."""
    names = forms(verb, particle)
    root = lexical.stem(verb).rstrip("e")
    others = {t for t in lexical.content_terms(clause) if not t.startswith(root) and t != particle}
    found: list[Token] = []
    for noun in doc:
        if noun.pos_ != "NOUN" or noun.lemma_.lower() not in names and noun.lower_ not in names:
            continue
        phrase = noun.head if noun.dep_ == "pobj" and noun.head.head.pos_ == "NOUN" else noun
        words = set(lexical.content_terms(doc[phrase.left_edge.i:phrase.right_edge.i + 1].text))
        if not others & words:
            continue  # 'the start' alone says nothing of which event
        found.extend(_role_tokens(noun, role))
    return found


def said_as_is(head: str, verb: str, particle: str, clause: str, sentences: list[str]) -> bool:
    """One of ``sentences`` (what the question itself retrieved) says a time or place description as it is: its
    noun with the clause's verb (in any form, or as a noun) and the clause's other content words ("On *the day* of
    *Putin*'s *visit*, France granted ..." for "on the day Putin visited"). The question then needs no second hop:
    the sentence answers it as asked, where a bridge ('late August') would only lose words. (For ``qa.multihop``'s
    adverbial role only: a sentence saying a person's description names the person, and is the bridge.)"""
    root = lexical.stem(verb).rstrip("e")
    names = forms(verb, particle)
    others = {t for t in lexical.content_terms(clause) if not t.startswith(root) and t != particle}
    noun = lexical.stem(head)
    for text in sentences:
        words = lexical.words(text)
        terms = {lexical.stem(w.removesuffix("'s")) for w in words}  # "Putin's visit"
        if (noun in terms and others <= terms
                and any(lexical.stem(w).startswith(root) or w in names for w in words)):
            return True
    return False


def _role_tokens(noun: Token, role: str) -> list[Token]:
    """The tokens of ``noun``'s phrase (or of the sentence around it) that fill ``role`` for its event."""
    if role == "adverbial":
        return [noun]
    poss = [c for c in noun.children if c.dep_ == "poss"]
    preps = {c.lower_: [g for g in c.children if g.dep_ == "pobj"] for c in noun.children if c.dep_ == "prep"}
    if role in ("object", "patient"):
        return poss + preps.get("of", []) if role == "patient" else preps.get("of", [])
    # the doer: 'Henry's founding', 'the founding ... by Henry', or an agent noun said of a name
    # a 'by' phrase anywhere in the noun's phrase ('the founding of the abbey by William': the parser may hang
    # it on 'abbey')
    found = poss + [g for t in noun.subtree if t.lower_ == "by" and t.dep_ in ("prep", "agent")
                    for g in t.children if g.dep_ == "pobj"]
    if noun.lemma_.lower().endswith(_AGENT_ENDINGS):
        found += [c for c in noun.children if c.dep_ in ("appos", "compound")]
        if noun.dep_ == "appos":
            found.append(noun.head)
        if noun.dep_ == "attr":
            found += [c for c in noun.head.children if c.dep_ == "nsubj"]
    return found


def asked_verb(question: str) -> tuple[str, str, str] | None:
    """The question's main verb (lemma), its particle and the role of what the question asks in its event
    ("subject", "object" or "patient", as ``arguments`` takes them), or None: no content verb, or the question asks
    no role of it ("What crisis broke out ...?": the crisis is the patient of the outbreak; "Who founded the
    abbey?": the doer; "What did the king found?": the object)."""
    from qa.analysis import parse  # spaCy only when a question gets this far

    doc = parse(question)
    verb = next((t for t in doc if t.dep_ == "ROOT"), None)
    if verb is None or verb.pos_ != "VERB" or verb.lemma_.lower() in _LIGHT:
        return None
    wh = next((t for t in doc if t.tag_ in ("WDT", "WP")), None)
    if wh is None:
        return None
    asked = wh.head if wh.dep_ == "det" else wh
    particle = next((c.lower_ for c in verb.children if c.dep_ == "prt"), "")
    if asked.head.i != verb.i:
        return None
    transitive = any(c.dep_ == "dobj" for c in verb.children)
    role = {"nsubj": "subject" if transitive else "patient", "nsubjpass": "patient", "dobj": "object"}.get(
        asked.dep_)
    return None if role is None else (verb.lemma_.lower(), particle, role)


def search_terms(question: str) -> str:
    """The nouns that may say the question's own verb ("outbreak breakout" for "What crisis broke out in 2009?"),
    for the keyword side of a search; "" when the question has no such verb."""
    found = asked_verb(question)
    if found is None:
        return ""
    verb, particle, _ = found
    return " ".join(sorted(forms(verb, particle) - {verb}))


def stated_event(question: str, sentences: Sequence[Sentence], evidence: Evidence) -> tuple[int, Entity] | None:
    """The first of ``sentences`` (best first) that answers ``question`` with its verb said as a noun, and
    the answer in it (offsets into its text); None when none does (see the module's docstring)."""
    from qa import answerability, relations
    from qa.analysis import Entity, load_pipeline
    from qa.constraints import contradicts
    from qa.stated import unmet_in

    found = asked_verb(question)
    if found is None:
        return None
    verb, particle, role = found
    names = forms(verb, particle)
    analysis = answerability.analyze(question)
    if (not analysis.expects_entity or analysis.is_comparison or analysis.is_nested or analysis.is_list
            or not analysis.constraints):
        return None
    given = set(lexical.content_terms(question))
    nlp = load_pipeline()
    for i, sentence in enumerate(sentences):
        text = sentence.text
        if not names & set(lexical.words(text.lower())) or contradicts(analysis, text):
            continue
        doc = nlp(text)
        args = arguments(verb, particle, role, question, doc)
        if not args:
            continue
        inside = {t.i for a in args for t in a.subtree}
        spans = [e for e in answerability.stated_candidates(analysis, sentence, evidence.entities([sentence])[0])
                 if any(t.idx <= e.start < t.idx + len(t) for t in doc if t.i in inside)]
        for a in args:  # the question's own noun with what the question does not give: 'the euro crisis'
            if a.lemma_.lower() == analysis.focus_head and set(lexical.content_terms(
                    doc[a.left_edge.i:a.i + 1].text)) - given:
                phrase = doc[a.left_edge.i:a.i + 1]
                spans.append(Entity(phrase.text, phrase.start_char, phrase.end_char, "NOUN"))
        for answer in spans:
            if (not unmet_in(analysis, sentence, evidence, answer) and relations.mismatch(question, text) is None
                    and not relations.answers_nothing(analysis, text)):
                return i, answer
    return None
