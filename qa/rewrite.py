"""Deterministic rewrite of a follow-up question into a readable standalone question (no LLM needed).

References are resolved on spaCy's parse (qa/analysis.py's pipeline) against the earlier turns, the previous
question first, then the first sentence of the previous answer:

- pronouns by agreement: he/she/him/his → a person, they/them/their → a group (coordinated names, a plural
  noun phrase, an organisation or country), it/its → a thing, "there" → a place, "then"/"at the time"/"that
  year"/"on that occasion" → a date, "afterwards" → after the earlier event;
- "that"/"this" standing for an event → that event as a clause ("Putin calling for …");
- definite descriptions ("the minister", "that meeting", "the same poll") → the earlier noun phrase with the
  same head, or the person the previous answer named when the description is what the previous question asked;
- ellipsis ("And in 2019?", "What about Germany?", "And Hollande?") → the previous question with the
  constraint of the same kind replaced.

"And what did he say about RT and Sputnik?" after "Where did Macron receive Putin in 2017?" becomes "What did
Macron say about RT and Sputnik?". A reference that cannot be resolved unambiguously is left as it is; the
result is never the old question and answer pasted together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa import lexical
from qa.analysis import analyze_question, load_pipeline
from qa.followup_verbs import other_wh, pro_verb_edit

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

_ANAPHORA = re.compile(
    r"\b(he|she|they|them|their|theirs|him|his|her|hers|it|its|this|that|these|those|there|then|the two|both|"
    r"the same|such|the former|the latter|the meeting|the visit|the talks|the article|the author|afterwards?|"
    r"at the time|on that occasion)\b",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"^\s*(and|but|so|also|what about|how about|what else|anything else|more)\b", re.I)
_DESCRIPTION = re.compile(r"\b(?:the|that|this|these|those)\s+([a-z]+)\b(?!\s+[A-Z])")
_LEAD = re.compile(r"^\s*(?:and|but|so|also)\b[\s,]*", re.I)
_ABOUT = re.compile(r"^\s*(?:what|how)\s+about\b\s*", re.I)

PERSON, GROUP, PLACE, DATE, THING, MONEY = "person", "group", "place", "date", "thing", "money"
# entity label → the kind of reference it can stand for
_LABEL_KIND = {"PERSON": PERSON, "ORG": GROUP, "NORP": GROUP, "GPE": PLACE, "LOC": PLACE, "FAC": PLACE,
               "DATE": DATE, "TIME": DATE, "MONEY": MONEY, "EVENT": THING, "WORK_OF_ART": THING, "LAW": THING,
               "PRODUCT": THING}
_PRONOUN_KIND = {"he": PERSON, "him": PERSON, "his": PERSON, "she": PERSON, "her": PERSON, "hers": PERSON,
                 "they": GROUP, "them": GROUP, "their": GROUP, "it": THING, "its": THING}
_POSSESSIVES = frozenset({"his", "their", "its"})  # "her" is possessive only when tagged PRP$
_TIME_WORDS = ("on that occasion", "at that time", "at the time", "that year", "that day", "then")
_AFTER_WORDS = ("afterwards", "afterward", "after that", "after it")
_SAY_VERBS = frozenset("say tell write claim mention announce add state".split())
_WH = ("WDT", "WP", "WP$", "WRB")
MAX_EVENT_TOKENS = 16  # an event clause longer than this is cut at its last whole word before the limit


@dataclass(frozen=True)
class Mention:
    """Something an earlier turn named that a follow-up can point back to."""

    text: str
    kind: str  # PERSON, GROUP, PLACE, DATE or THING
    head: str = ""  # the head noun's lemma, lower case ("" for a name)
    prep: str = ""  # the preposition before it in its turn ("at" the Palace of Versailles), "" for none
    plural: bool = False
    answers: bool = False  # the previous answer gave it and the previous question did not


def is_followup(question: str, history: Sequence[dict] | None) -> bool:
    """True when the question leans on earlier turns: pronouns, 'and …', or too little of its own to search."""
    if not history or not any(t.get("role") == "user" for t in history):
        return False
    if _CONTINUATION.search(question) or _ANAPHORA.search(question):
        return True
    earlier = {lexical.stem(w) for t in history[-2:] if isinstance(t.get("content"), str)
               for w in lexical.words(t["content"])}
    if any(lexical.stem(m.group(1)) in earlier for m in _DESCRIPTION.finditer(question)):
        return True  # "the minister's counterpart" after "who is France's minister of ...?"
    return not lexical.name_tokens(question) and len(lexical.content_terms(question)) < 3


def rewrite_followup(question: str, history: Sequence[dict] | None, *, _depth: int = 0) -> str:
    """The standalone question to search for and show; the question itself when it is not a follow-up.

    Args:
        question: the question as asked.
        history: the earlier turns, ``{"role": "user"|"assistant", "content": ...}``, oldest first.

    Returns:
        The follow-up with its references resolved from the earlier turns, e.g. "What did Macron say about RT
        and Sputnik?" for "And what did he say about RT and Sputnik?" after "Where did Macron receive Putin?".
    """
    question = question.strip()
    if not is_followup(question, history):
        return question
    assert history is not None
    user_turns = [i for i, t in enumerate(history) if t.get("role") == "user" and isinstance(t.get("content"), str)]
    last = user_turns[-1]
    prev_q = history[last]["content"].strip()
    if _depth < 2:  # the previous question may itself have been a follow-up: resolve it first
        prev_q = rewrite_followup(prev_q, history[:last], _depth=_depth + 1)
    answer = next((t["content"] for t in history[last + 1:] if t.get("role") == "assistant"
                   and isinstance(t.get("content"), str)), "")
    return resolve(question, prev_q, first_sentence(answer))


def first_sentence(answer: str) -> str:
    """The previous answer's first sentence, without citation markers (a refusal gives nothing to point to)."""
    text = " ".join(re.sub(r"\[\d+\]", "", answer).split())
    if not text or lexical.fold(text).startswith("the articles don"):
        return ""
    match = re.search(r"(?<=[.!?”\"])\s+(?=[A-Z“\"])", text)
    return text[: match.start()] if match else text


def resolve(question: str, prev_question: str, prev_answer: str) -> str:
    """The follow-up ``question`` made standalone from the previous question and answer (see the module doc)."""
    nlp = load_pipeline()
    body = _LEAD.sub("", question)
    doc, pq = nlp(body), nlp(prev_question)
    pa = nlp(prev_answer) if prev_answer else None
    kind, focus = _asked(prev_question)
    mentions = earlier_mentions(pq, pa, asked=kind, focus=focus)
    if _is_ellipsis(doc):
        out = _fill_ellipsis(doc, pq, mentions, pa)
    else:
        edits = _reference_edits(doc, pq, pa, mentions)
        out = _apply(body, edits)
    out = " ".join(out.split())
    out = re.sub(r"\b(the|a|an) the\b", "the", out, flags=re.I).replace(" ?", "?")
    return out[:1].upper() + out[1:] if out else question


# -- what the earlier turns named ---------------------------------------------------------------------
def _asked(prev_question: str) -> tuple[str, str]:
    """The kind of thing the previous question asked for (its answer, in the previous answer, is salient) and
    the head of the noun it asked about ("exhibition" for "What exhibition did Putin attend?")."""
    analysis = analyze_question(prev_question)
    labels = analysis.expected_labels
    for label, kind in (("PERSON", PERSON), ("GPE", PLACE), ("DATE", DATE)):
        if label in labels:
            return kind, analysis.focus_head
    return THING, analysis.focus_head


def earlier_mentions(pq: Doc, pa: Doc | None, *, asked: str = "", focus: str = "") -> list[Mention]:
    """The names and noun phrases of the previous question and answer, most salient first.

    What the previous answer gave in reply to the question (a person for "who", the people for "which
    ministers", a place for "where", the exhibition for "what exhibition") comes first; then the previous
    question's names and noun phrases in order (its subject usually first), then the answer's.
    """
    given = {_words(e.text) for e in pq.ents} | {_words(t.text) for t in pq if t.pos_ == "PROPN"}
    asked_for: list[Mention] = []
    from_q = _doc_mentions(pq)
    rest_a: list[Mention] = []
    for m in _doc_mentions(pa) if pa is not None else []:
        new = not any(_words(m.text) <= g for g in given)
        m = Mention(_definite(m.text) if m.head else m.text, m.kind, m.head, m.prep, m.plural, answers=new)
        if asked == THING and focus:  # "what exhibition": the answer's exhibition, not any name it gives
            fits = m.head == focus
        else:
            fits = m.kind == asked or (asked == PERSON and m.kind == GROUP and m.plural)
        (asked_for if new and fits else rest_a).append(m)
    return asked_for + from_q + rest_a


def _definite(phrase: str) -> str:
    """'an Alsatian puppy' → 'the Alsatian puppy'."""
    return re.sub(r"^(?:a|an)\s+", "the ", phrase, flags=re.I)


def _doc_mentions(doc: Doc) -> list[Mention]:
    found: list[Mention] = []
    late: list[Mention] = []
    covered: set[int] = set()
    for ent in doc.ents:
        kind = _LABEL_KIND.get(ent.label_)
        if kind is None or (kind != PERSON and ent.root.dep_ in ("amod", "compound")):
            continue  # 'French' in 'the French ministers' describes them: the noun phrase is the referent
        text = ent.text[4:] if ent.text.lower().startswith("the ") and kind == PERSON else ent.text
        found.append(Mention(text, kind, prep=_prep_before(ent), plural=False))
        covered.update(range(ent.start, ent.end))
        if kind in (GROUP, THING) and ent.root.dep_ in ("nsubj", "nsubjpass") and all(t.pos_ == "PROPN" for t in ent):
            late.append(Mention(text, PERSON))  # "When did Napoleon invade Russia?": a subject name tagged ORG
    for token in doc:  # a name the recogniser missed ('Hollande'): a subject is taken for a person
        if token.pos_ == "PROPN" and token.i not in covered and token.dep_ in ("nsubj", "nsubjpass"):
            found.append(Mention(token.text, PERSON))
    for chunk in doc.noun_chunks:
        head = chunk.root
        asked = chunk[0].tag_ == "WDT" or (chunk.start > 0 and doc[chunk.start - 1].tag_ == "WDT")
        if head.pos_ != "NOUN" or any(t.tag_ in _WH for t in chunk[1:]) or head.i in covered:
            continue
        text = _phrase(head)
        if asked:  # 'Which French ministers visited …?': those asked about are 'the French ministers'
            text = "the " + (text.split(" ", 1)[1] if chunk[0].tag_ == "WDT" else text)
        if chunk.start == 0 and doc[0].pos_ != "PROPN":  # "Economic sanctions over Ukraine."
            text = text[:1].lower() + text[1:]
        plural = head.tag_ == "NNS" or any(c.dep_ == "conj" for c in head.children)
        kind = _noun_kind(head)
        if plural and kind == THING and head.dep_ == "nsubj":
            kind = GROUP  # 'Which Dutch engineers designed …?': plural doers are who a later 'they' means
        found.append(Mention(text, kind, head=head.lemma_.lower(), prep=_prep_before(chunk), plural=plural))
    for token in doc:  # coordinated subjects: "France and Russia", "A and B visited Moscow"
        if token.dep_ in ("nsubj", "nsubjpass") and any(c.dep_ == "conj" for c in token.children):
            span = doc[token.left_edge.i: token.right_edge.i + 1]
            if not any(t.tag_ in _WH or t.pos_ == "PRON" for t in span):
                found.insert(0, Mention(span.text, GROUP, plural=True))
    found += late
    order = {id(m): i for i, m in enumerate(found)}
    return sorted(found, key=lambda m: (order[id(m)] if m.kind == GROUP and m.plural else 10**6 + order[id(m)]))


def _noun_kind(head: Token) -> str:
    return PERSON if head.lemma_.lower() in _PERSON_NOUNS else THING


_PERSON_NOUNS = frozenset("president minister leader chancellor king queen emperor author victim man woman "
                          "prime official diplomat ambassador general spokesman spokeswoman premier tsar".split())


def _phrase(head: Token) -> str:
    """The noun phrase of ``head`` with its post-modifiers ('an exhibition dedicated to Peter the Great'), cut at
    the first comma, quote or clause and at MAX_EVENT_TOKENS words."""
    doc = head.doc
    start = head.left_edge.i
    end = head.i + 1
    for t in doc[head.i + 1: head.right_edge.i + 1]:
        clause = t.dep_ in ("relcl", "acl") or t.pos_ == "VERB"
        if (t.is_punct and t.tag_ != "HYPH") or (clause and t.tag_ != "VBN"):
            break
        end = t.i + 1
    end = min(end, start + MAX_EVENT_TOKENS)
    return doc[start:end].text


def _prep_before(span: Any) -> str:
    doc = span.doc
    i = span.start - 1
    return doc[i].lower_ if i >= 0 and doc[i].pos_ == "ADP" else ""


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[\w’'-]+", text.lower()) if w not in ("the", "a", "an", "of"))


# -- ellipsis ----------------------------------------------------------------------------------------
def _is_ellipsis(doc: Doc) -> bool:
    """No verb of its own: 'And in 2019?', 'What about Germany?', 'And Hollande?'."""
    return not any(t.pos_ in ("VERB", "AUX") for t in doc) and len(doc) <= 8


def _fill_ellipsis(doc: Doc, pq: Doc, mentions: list[Mention], pa: Doc | None = None) -> str:
    """The previous question with the fragment's names put in place of the names of the same kind."""
    text = pq.text
    frag = _ABOUT.sub("", doc.text).rstrip(" ?.!")
    words = [t for t in doc if not t.is_punct and t.lower_ not in ("what", "about", "how")]
    if len(words) == 1 and words[0].tag_ in _WH:  # "Why?" after "Where did ...?": the same question, other wh-word
        short = pa is not None and len(pa) <= 7 and not any(t.pos_ in ("VERB", "AUX") for t in pa)
        named = next((m.text for m in mentions if m.answers), "")
        if short and pa is not None:  # "RT and Sputnik.", "Economic sanctions." (a name keeps its capital)
            named = pa.text.rstrip(" .") if pa[0].pos_ == "PROPN" else pa.text[:1].lower() + pa.text[1:].rstrip(" .")
        return other_wh(pq, words[0].text.lower(), named)
    ents = list(doc.ents) or [doc[t.i: t.i + 1] for t in words if t.pos_ == "PROPN" or t.is_title]
    old_ents = list(pq.ents)
    edits = []
    for ent in ents:
        kind = _LABEL_KIND.get(getattr(ent, "label_", ""), "")
        same = [o for o in old_ents if _LABEL_KIND.get(o.label_) == kind] if kind else [
            o for o in old_ents if _LABEL_KIND.get(o.label_) in (PERSON, GROUP, PLACE)]
        if same:
            old = same[0]
            edits.append((old.start_char, old.end_char, ent.text))
            old_ents.remove(old)
        else:  # a name of that kind (any, untagged) the parse did not tag in the previous question ("did Rutte visit")
            at = next((m.text for m in mentions if m.kind in ((kind,) if kind else (PERSON, GROUP, PLACE))
                       and not m.head and m.text in text
                       and not any(o.start_char <= text.index(m.text) < o.end_char for o in pq.ents)), None)
            if at is not None:
                edits.append((text.index(at), text.index(at) + len(at), ent.text))
    if not edits:  # nothing of its kind to replace: the new constraint joins the previous question
        return text.rstrip(" ?") + " " + frag + "?"
    return _apply(text, edits)


# -- references in a full follow-up ------------------------------------------------------------------
def _reference_edits(doc: Doc, pq: Doc, pa: Doc | None, mentions: list[Mention]) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    used: set[str] = set()
    text = doc.text
    low = text.lower()
    for phrase in _TIME_WORDS + _AFTER_WORDS:
        for m in re.finditer(rf"\b{phrase}\b", low):
            if any(s < m.end() and m.start() < e for s, e, _ in edits):
                continue
            if phrase in _AFTER_WORDS:
                event = _event_phrase(pq, mentions)
                if event:
                    edits.append((m.start(), m.end(), "after " + event))
                continue
            date = next((x for x in mentions if x.kind == DATE), None)
            if date is not None:
                edits.append((m.start(), m.end(), f"{date.prep or 'in'} {date.text}"))
    for token in doc:
        if any(s <= token.idx < e for s, e, _ in edits):
            continue
        lower = token.lower_
        if lower == "there" and token.dep_ != "expl":
            place = next((x for x in mentions if x.kind == PLACE), None)
            if place is not None:
                edits.append(_span(token, f"{place.prep or 'in'} {place.text}"))
        elif lower in _PRONOUN_KIND and token.pos_ == "PRON" or token.tag_ == "PRP$":
            ref = _pronoun_referent(token, mentions, used)
            if ref is not None:
                used.add(ref.text)
                possessive = token.tag_ == "PRP$" or lower in _POSSESSIVES
                edits.append(_span(token, ref.text + ("’s" if possessive else "")))
        elif lower in ("that", "this") and token.dep_ != "det" and token.pos_ == "PRON":
            if token.head.lemma_ in _SAY_VERBS:
                continue  # "where did he say that?": what was said is not an event to spell out
            event = _event_clause(pq, pa, mentions)
            if event:
                edits.append(_span(token, event))
        elif (verb := pro_verb_edit(token, pq)) is not None:  # "Why did he go (there)?": the earlier verb phrase
            edits.append(verb)
        elif token.pos_ == "NOUN" and any(c.dep_ == "det" and c.lower_ in ("the", "that", "this", "these", "those")
                                          for c in token.children):
            edit = _description_edit(token, mentions, {t.lower_ for t in pq})
            if edit is not None:
                edits.append(edit)
    return edits


def _span(token: Token, text: str) -> tuple[int, int, str]:
    return token.idx, token.idx + len(token.text), text


def _pronoun_referent(token: Token, mentions: list[Mention], used: set[str]) -> Mention | None:
    possessive = token.tag_ == "PRP$" or token.lower_ in _POSSESSIVES
    # a subject of its own that could own it: for his/her a name or a person noun ("the purpose of his visit": no)
    person = _PRONOUN_KIND.get(token.lower_) == PERSON
    own_subject = any(t.dep_ in ("nsubj", "nsubjpass") and t.pos_ in ("NOUN", "PROPN") and not (
        person and t.pos_ == "NOUN" and _noun_kind(t) != PERSON) for t in token.doc[:token.i])
    subject = token.dep_ in ("nsubj", "nsubjpass")
    return pick_referent(token.lower_, mentions, used=used, possessive=possessive, own_subject=own_subject,
                         subject=subject)


def pick_referent(pronoun: str, mentions: Sequence[Mention], *, used: set[str] | frozenset[str] = frozenset(),
                  possessive: bool = False, own_subject: bool = False, subject: bool = False) -> Mention | None:
    """The most salient earlier mention that agrees with ``pronoun`` (lower case), or None.

    None as well when the reference is ambiguous: an object pronoun after a subject pronoun took one person
    while two more are named ('she wanted him to …'), or a possessive whose own clause has a subject that it
    most likely points to ('when did the ships reach their new owner').

    Args:
        pronoun: the pronoun, lower case ("he", "their", ...).
        mentions: the earlier turns' mentions, most salient first (see :func:`earlier_mentions`).
        used: mentions already taken by another pronoun of the same question.
        possessive: the pronoun is a determiner ("her visit", "its name").
        own_subject: the pronoun's question has a noun subject of its own before it.
        subject: the pronoun is its verb's subject: the doer ('how many did it send': the country), where an
            object is more likely a thing ('why did France suspend it': the deal).
    """
    kind = _PRONOUN_KIND.get(pronoun, "")
    names = [m for m in mentions if m.kind in (GROUP, PLACE) and not m.head and not m.plural]
    if pronoun in ("it", "its"):
        asked = [m for m in mentions if m.kind == THING and m.answers and m.head and not m.plural]
        things = [m for m in mentions if m.kind == THING and not m.plural]
        cands = asked + (names + things if subject else things + names)
    elif kind == GROUP:  # asked-for people, coordinated names, two people, then countries or plural nouns
        first = [m for m in mentions if m.answers and m.plural and m.kind in (GROUP, PERSON)]
        people = list(dict.fromkeys(m.text for m in mentions if m.kind == PERSON and not m.plural))
        pair = [Mention(" and ".join(people[:2]), GROUP, plural=True)] if len(people) >= 2 else []
        plural_things = [m for m in mentions if m.plural and m.kind == THING]
        groups = [m for m in mentions if m.kind == GROUP and m.plural]
        plural_people = [m for m in mentions if m.kind == PERSON and m.plural]
        cands = first + groups + plural_people + pair + (names + plural_things if subject else plural_things + names)
    elif kind == PERSON:
        cands = [m for m in mentions if m.kind == PERSON and not m.plural]
    else:
        return None
    cands = [m for m in cands if m.text not in used]
    if possessive and own_subject:
        return None
    if pronoun in ("him", "her") and not possessive and used:
        others = {m.text for m in mentions if not m.head and m.kind in (PERSON, GROUP)} - used
        return cands[0] if len(others) == 1 and cands else None
    return cands[0] if cands else None


def _description_edit(token: Token, mentions: list[Mention], asked_words: set[str]) -> tuple[int, int, str] | None:
    """'the minister' → the person the previous answer named for it; 'that meeting', 'the same poll' → the
    earlier phrase with the same head noun, when it says more."""
    chunk_start = min(c.i for c in token.children if c.dep_ == "det")
    mods = [t for t in token.doc[chunk_start + 1: token.i] if t.lower_ not in ("same",)]
    if mods:
        return None  # "the Russian side", "the EU Treaty": already a description of its own
    lemma = token.lemma_.lower()
    same = [m for m in mentions if m.head == lemma]
    if not same and lemma in ("money", "sum", "amount", "funds"):  # "that money" → "the 12 billion francs"
        same = [Mention("the " + m.text, THING, head=lemma) for m in mentions if m.kind == MONEY][:1]
    if not same and lemma in _PERSON_NOUNS and lemma in asked_words:  # "Who is France's Minister of ...?"
        same = [Mention(lemma, PERSON, head=lemma)]
    if not same:
        return None
    if any(c.dep_ == "case" for c in token.children) and " of " in same[0].text:
        return None  # "the victim of homophobic persecution in Chechnya's name" would not read
    if same[0].kind == PERSON:
        person = next((m for m in mentions if m.kind == PERSON and m.answers and not m.head), None)
        if person is not None:
            return token.doc[chunk_start].idx, token.idx + len(token.text), person.text
    phrase = re.sub(r"^(?:the|a|an|that|this|these|those)\s+", "", same[0].text, flags=re.I)
    if len(phrase.split()) <= 1:
        return None
    return token.doc[chunk_start].idx, token.idx + len(token.text), "the " + phrase


def _event_phrase(pq: Doc, mentions: list[Mention]) -> str:
    """What 'afterwards' is after: the previous question's noun phrase holding a date ('the November 2015
    Paris attacks'), an event's name, or the date itself."""
    for chunk in pq.noun_chunks:
        if chunk.root.pos_ == "NOUN" and any(t.ent_type_ in ("DATE", "EVENT") for t in chunk):
            return chunk.text
    event = next((e for e in pq.ents if e.label_ == "EVENT"), None)
    if event is not None:
        return event.text
    date = next((m for m in mentions if m.kind == DATE), None)
    return date.text if date is not None else ""


def _event_clause(pq: Doc, pa: Doc | None, mentions: list[Mention]) -> str:
    """The earlier event as a gerund clause: the previous answer's sentence when it is a clause ('He called for
    X' → 'Putin calling for X'), else the previous question's ('When did Napoleon invade Russia?' / 'In 1812.'
    → 'Napoleon invading Russia in 1812')."""
    people = [m for m in mentions if m.kind == PERSON]
    if pa is not None:
        root = pa[:].root
        subj = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if root.pos_ == "VERB" and subj is not None and root.tag_ != "VBN":
            who = subj.text if subj.pos_ != "PRON" else (people[0].text if people else "")
            if subj.pos_ == "PRON" and subj.lower_ in ("it", "they"):
                who = next((m.text for m in mentions if m.kind in (GROUP, PLACE) and not m.head), "")
            if who:
                return _gerund_clause(who if subj.pos_ == "PRON" else _sub_text(subj), root, pa)
    verb = next((t for t in pq if t.tag_ in ("VB", "VBD", "VBZ", "VBP") and t.pos_ in ("VERB", "NOUN")
                 and t.dep_ != "aux"), None)
    if verb is None or verb.lemma_ == "be":
        return ""
    tokens = [t for t in pq if not t.is_punct and t.tag_ not in _WH and not (t.dep_ == "aux" and t.i < verb.i)]
    words = [(_gerund(t.lemma_) if t.i == verb.i else t.text) for t in tokens]
    if not words or words[0] == _gerund(verb.lemma_):
        return ""  # the wh-word was the subject: there is no one doing it to name
    tail = ""
    if pa is not None and len(pa) <= 6 and any(t.ent_type_ in ("DATE", "GPE", "FAC", "LOC") for t in pa):
        tail = " " + pa.text.rstrip(" .")
        tail = tail[:2].lower() + tail[2:] if pa[0].pos_ == "ADP" else tail
    return " ".join(words[:MAX_EVENT_TOKENS]) + tail


def _sub_text(token: Token) -> str:
    return token.doc[token.left_edge.i: token.right_edge.i + 1].text


def _gerund_clause(who: str, root: Token, doc: Doc) -> str:
    after = [t for t in doc[root.i + 1:] if not (t.is_punct and t.i == len(doc) - 1)]
    words = [who, _gerund(root.lemma_)] + [t.text for t in after]
    return _join(words[: MAX_EVENT_TOKENS + 2])


def _join(words: list[str]) -> str:
    out = " ".join(words)
    return re.sub(r"\s+([,.;:”’)])", r"\1", re.sub(r"([“(])\s+", r"\1", out))


def _gerund(lemma: str) -> str:
    """'call' → 'calling', 'invade' → 'invading', 'stop' → 'stopping', 'die' → 'dying'."""
    if lemma.endswith("ie"):
        return lemma[:-2] + "ying"
    if lemma.endswith("e") and not lemma.endswith(("ee", "ye", "oe")) and len(lemma) > 2:
        return lemma[:-1] + "ing"
    if re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", lemma):
        return lemma + lemma[-1] + "ing"
    return lemma + "ing"


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
