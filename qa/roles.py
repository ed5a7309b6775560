"""Roles: the question names a party of its verb in one role, and the sentence has that party in the role asked.

"Who did the Normans encourage to come south?" asked of "Norman mercenaries were encouraged to come south by the
Lombards": the sentence says the Lombards encouraged the Normans, the reverse of what the question takes as given,
so its Lombards answer another question. ``qa.relations.mismatch`` compares the words in the slots of a shared
word, but the parses of such pairs rarely line up: a do-support question ("Who did the Irish culture have an effect
on?") is parsed with its subject as an object, a 'by' phrase hangs on the infinitive after the passive. Here each
side is read by its grammar:

- the question's roles: the wh-word's (the doer when it is the active subject; what is done to when it is the
  object, a passive subject, or asked with 'did' and no preposition left at the end; a preposition's object when
  one is left at the end: "have an effect on?"), and the parties it gives: the subject between 'did' and the verb
  (the doer), an object or passive subject (done to), a 'by' phrase (the doer), a preposition's object on the verb
  or on its object ('an effect *on Irish culture*', 'replace … *with the Norse religion*');
- the sentence's mentions of the question's verb (a light verb only with the question's object: 'had an effect'),
  with the same roles read off them: an active subject (or, with none, the subject of the verb it is conjoined to
  or completes: 'began *to enter*'), a passive's 'by' phrase (also hung on an infinitive after it), objects and
  passive subjects, prepositions' objects; and of a noun naming the verb's event, its 'by' phrase (the doer) and
  'of' phrase (done to).

When a party the question gives fills, in some mention, the role the question asks, and in none the role the
question gives it, the sentence says the roles the other way round: a swap of slot "<role>" (``qa.vetoes``). Not
for verbs whose two parties can be said either way round ("X met Y", "Y met X": meet, marry, fight, trade, …), nor
between the doer and a 'with' or 'against' phrase ("X met with Y"), nor when the party is in neither role.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from qa import wordnet
from qa.ties import parse
from qa.word_match import distinct_names, is_name, phrase, same

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

    from qa.evidence import Sentence

__all__ = ["DOER", "DONE_TO", "outranked", "reversed_roles"]

DOER = "subject"  # the slot names of qa.relations.Mismatch
DONE_TO = "object"
_WH = frozenset({"who", "whom", "what", "which"})
# verbs whose two parties may be given either way round: who met whom is said both ways
_RECIPROCAL = frozenset("meet marry wed divorce fight battle war play ally face trade negotiate compete collide clash "
                        "argue quarrel agree disagree differ partner merge unite border neighbour neighbor resemble "
                        "equal match kiss embrace date correspond cooperate collaborate compare rival "
                        "intermarry befriend".split())
# prepositions naming a party beside the doer ('met with', 'fought against'), said of either side
_BESIDE = frozenset({"with", "against", "alongside", "beside", "between", "among", "amongst"})
_ORDER = frozenset({"after", "before"})
_OF = " of"  # a party's 'of' phrase, as a role: 'object of' for 'the doctrines of the Normans' done to
_LIGHT = frozenset("be have do make take get give hold keep put set".split())
_NOUN_PHRASE = frozenset({"DET", "ADJ", "PROPN", "NOUN", "NUM"})
_SKIP_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "MONEY"})


def reversed_roles(question: str, sentence: str) -> tuple[str, str, str, str] | None:
    """(the verb as the sentence says it, the role the question gives a party, the party, what the sentence has in
    that role) when the sentence has a party the question names in the role the question asks for, and never in
    the role the question gives it; also (the sentence's main verb, "after phrase", the question's 'after' thing,
    the sentence's) when the sentence puts two events of the question's verb in the other order
    (:func:`_reversed_order`). None otherwise. A check of ``qa.vetoes.CHECKS``."""
    return _reversed(question, sentence) or _reversed_order(question, sentence)


@lru_cache(maxsize=4096)
def _reversed_order(question: str, sentence: str) -> tuple[str, str, str, str] | None:
    """Two events of one verb in the other order: "Who entered Italy soon after the Byzantine Empire?" of "Soon after
    the Normans began to enter Italy, they entered the Byzantine Empire": the question's 'after' thing is what the
    sentence's main clause does it to, and the question's own object is in the sentence's 'after' clause."""
    q_doc, s_doc = parse(question), parse(sentence)
    for verb in q_doc:
        if verb.pos_ != "VERB":
            continue
        objects = [c for c in verb.children if c.dep_ == "dobj" and _party(c)]
        asked = any(c.dep_ == "dobj" and c.tag_ in ("WP", "WDT") for c in verb.children) or any(
            c.tag_ in ("WP", "WDT") for d in verb.children if d.dep_ == "dobj" for c in d.children)
        for p in verb.children:
            if p.dep_ != "prep" or p.lower_ not in _ORDER or not (objects or asked):
                continue
            for then in (o for o in _objects(p) if _party(o)):
                mentions = list(_mentions(verb, None, s_doc))
                for main in mentions:
                    if not any(_is(then, f) for r, f in _fillers(main, question=False) if r == DONE_TO):
                        continue
                    for sub in (m for m in mentions if m.i != main.i and _under_clause(m, main, p.lower_)):
                        done = [f for r, f in _fillers(sub, question=False) if r == DONE_TO and _party(f)]
                        # the question's own object there, or, asking for it ('What did they build after the
                        # chapel?'), whatever is: the sentence's 'after' thing is the question's answer's
                        if any(_is(o, f) for o in objects for f in done) or (not objects and done):
                            return main.text, f"{p.lower_} phrase", phrase(then), phrase(done[0])
    return None


def _under_clause(sub: Token, main: Token, conjunction: str) -> bool:
    """Whether ``sub`` is in a clause of ``main`` introduced by ``conjunction`` ('after the Normans began to enter
    Italy, they entered …'): on the way up from ``sub`` to ``main`` a word is marked by it or completes it."""
    path = [sub]
    for a in sub.ancestors:
        if a.i == main.i:
            break
        path.append(a)
    else:
        return False
    return any(c.dep_ == "mark" and c.lower_ == conjunction for t in path for c in t.children) or any(
        t.dep_ == "pcomp" and t.head.lower_ == conjunction for t in path)


@lru_cache(maxsize=4096)
def _reversed(question: str, sentence: str) -> tuple[str, str, str, str] | None:
    read = _question_roles(parse(question))
    if read is None:
        return None
    verb, asked, given = read
    own = [t for t in _asked_phrase(parse(question)) if _party(t)]
    lemma = verb.lemma_.lower()
    if lemma in _RECIPROCAL:
        return None
    anchor = _object(verb) if lemma in _LIGHT else None
    if lemma in _LIGHT and anchor is None:
        return None  # 'Who did X make?': too general to find the same event by
    mentions = [_mention_roles(m) for m in _mentions(verb, anchor, parse(sentence))]
    for party, role in given:
        if {role, asked} & _BESIDE and {role, asked} & {DOER}:
            continue  # 'Who did X meet with?' of 'Y met with X'
        if role == asked or "as" in (role, asked):
            continue  # 'known as', 'served as': what a thing is called or is, not a party
        swapped = [(m, roles) for m, roles in mentions if any(_is(party, f) for f in roles.get(asked, []))
                   and not any(_is(w, f) for w in own for f in roles.get(asked, []))]  # 'What part of the Rhine'
        if not swapped or any(any(_is(party, f) for f in roles.get(role, [])) for _, roles in mentions):
            continue
        for m, roles in swapped:  # and names another party in the role the question gives it
            said = next((f for f in roles.get(role, []) if _party(f) and not _is(party, f)), None)
            if said is not None and role.endswith(_OF):  # 'the doctrines of the Normans' asked, '… of France' said
                return said.head.head.text, "of", phrase(party), phrase(said)
            if said is not None:
                return m.text, role if role in (DOER, DONE_TO) else f"{role} phrase", phrase(party), phrase(said)
    return None


def outranked(question: str, sentences: Sequence[Sentence], index: int) -> bool:
    """Whether a sentence ranked above ``sentences[index]`` says the question's event with its parties the other
    way round (:func:`reversed_roles`) and the candidate's sentence does not mention the question's verb at all:
    the question was asked of the sentence above, and the candidate answers another question ('Norman Italy'
    below 'Norman mercenaries were encouraged … by the Lombards' for 'Who did the Normans encourage?')."""
    if index <= 0 or not any(reversed_roles(question, s.text) for s in sentences[:index]):
        return False
    read = _question_roles(parse(question))
    if read is None:
        return False
    verb = read[0]
    return not any(True for _ in _mentions(verb, _object(verb) if verb.lemma_.lower() in _LIGHT else None,
                                           parse(sentences[index].text)))


def _question_roles(doc: Doc) -> tuple[Token, str, list[tuple[Token, str]]] | None:
    """(the verb, the role the wh-word asks, [(a party the question gives, its role)]) or None when the question
    asks no party of a verb."""
    wh = next((t for t in doc if t.lower_ in _WH and t.tag_ in ("WP", "WDT")), None)
    if wh is None:
        return None
    asked_word = wh.head if wh.dep_ == "det" else wh
    after = asked_word.right_edge.i + 1
    fronted = asked_word.head if asked_word.dep_ == "pobj" and asked_word.head.i == 0 else None  # 'By whom …'
    given: list[tuple[Token, str]] = []
    support = _supported(doc, after)
    stranded = _stranded(doc) or (fronted.lower_ if fronted is not None else None)
    if support is not None:  # 'Who did the Normans encourage?', 'Who was the abbey founded by?'
        aux, subject, verb = support
        if aux.lemma_ == "be" and verb.tag_ == "VBN":
            if stranded is None:
                return None  # 'What was the abbey called?'
            asked = DOER if stranded == "by" else stranded
            given.append((subject, DONE_TO))
        else:
            asked = stranded or DONE_TO
            given.append((subject, DOER))
    elif asked_word.dep_ in ("nsubj", "nsubjpass") and asked_word.head.pos_ == "VERB":
        verb = asked_word.head
        asked = DONE_TO if asked_word.dep_ == "nsubjpass" or _passive(verb) else DOER
    else:
        return None
    if verb.pos_ not in ("VERB", "NOUN"):
        return None
    skip = {wh.i, asked_word.i} | {t.i for t, _ in given}
    for role, filler in _fillers(verb, question=True):
        if filler.i not in skip and _party(filler):
            given.append((filler, role))
    given += [(o, f"{role}{_OF}") for party, role in given if role in (DOER, DONE_TO) for o in _owners(party)]
    return verb, asked, given


def _owners(party: Token) -> list[Token]:
    """The parties in a party's 'of' phrase ('the doctrines *of the Normans*')."""
    return [o for p in party.children if p.dep_ == "prep" and p.lower_ == "of" for o in _objects(p) if _party(o)]


def _asked_phrase(doc: Doc) -> list[Token]:
    """The words of the question's wh-phrase ('What part of the Rhine')."""
    wh = next((t for t in doc if t.lower_ in _WH and t.tag_ in ("WP", "WDT")), None)
    if wh is None:
        return []
    head = wh.head if wh.dep_ == "det" else wh
    return list(head.subtree)


def _supported(doc: Doc, after: int) -> tuple[Token, Token, Token] | None:
    """(the auxiliary, the subject's head noun, the verb) of a question whose wh-phrase is followed by 'did', 'was',
    'has' and the subject ('Who did *the Irish culture* have an effect on?'), read by word order: the parse often
    takes such a subject for an object."""
    if after >= len(doc) or doc[after].lemma_ not in ("do", "be", "have"):
        return None
    aux, j = doc[after], after + 1
    while j < len(doc) and (doc[j].pos_ in _NOUN_PHRASE or doc[j].text in ("-", "'s") or (
            doc[j].lower_ == "of" and j > after + 1)):  # 'Who did the son of Harold kill?'
        j += 1
    nouns = [t for t in doc[after + 1: j] if t.pos_ in ("NOUN", "PROPN")]
    if len(nouns) > 1 and nouns[-1].i == j - 1 and nouns[-1].tag_ == "NN" and (j >= len(doc) or not doc[j].is_alpha
                                                                                or doc[j].pos_ == "ADP"):
        j -= 1  # 'Who did the Saxons defeat?' with 'defeat' parsed as a noun of the subject
    of = next((t.i for t in doc[after + 1: j] if t.lower_ == "of"), j)
    subject = _last_noun(doc[after + 1: of])
    if subject is None or j >= len(doc) or not doc[j].is_alpha:
        return None
    verb = doc[j]
    if not (verb.tag_.startswith("VB") or (verb.tag_ == "NN" and aux.lemma_ == "do")):
        return None  # 'What did the French promises to protect ...': no verb after the subject
    if aux.lemma_ == "be" and verb.tag_ not in ("VBN", "VBG") or aux.lemma_ == "have" and verb.tag_ != "VBN":
        return None
    return aux, subject, verb


def _stranded(doc: Doc) -> str | None:
    """The preposition left at the end of a question ('have an effect on?', 'meet with?'), or None."""
    words = [t for t in doc if not t.is_punct]
    last = words[-1] if words else None
    if last is not None and last.pos_ == "ADP" and not any(c.dep_ == "pobj" and c.i > last.i for c in last.children):
        return last.lower_
    return None


def _last_noun(span: Span) -> Token | None:
    """The head noun of the phrase between 'did' and the verb: its last noun or name."""
    nouns = [t for t in span if t.pos_ in ("NOUN", "PROPN")]
    return nouns[-1] if nouns else None


def _party(token: Token) -> bool:
    """A noun or name that names a party, not a time, number or pronoun."""
    return token.pos_ in ("NOUN", "PROPN") and token.ent_type_ not in _SKIP_LABELS and not token.like_num


def _passive(verb: Token) -> bool:
    return any(c.dep_ in ("auxpass", "nsubjpass") for c in verb.children)


def _object(verb: Token) -> Token | None:
    return next((c for c in verb.children if c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN")), None)


def _mentions(verb: Token, anchor: Token | None, doc: Doc) -> Iterator[Token]:
    """The sentence's words for the question's verb: the verb (with the question's object, for a light verb) and
    the nouns naming its event (``qa.wordnet.paraphrases``, as ``qa.nominals.forms``)."""
    lemma = verb.lemma_.lower()
    nouns = set() if anchor is not None else wordnet.paraphrases(lemma) - {lemma}
    for t in doc:
        if t.pos_ == "VERB" and t.lemma_.lower() == lemma:
            if anchor is None or ((o := _object(t)) is not None and same(o.lemma_.lower(), anchor.lemma_.lower())):
                yield t
        elif t.pos_ == "NOUN" and t.lemma_.lower() in nouns:
            yield t


def _mention_roles(m: Token) -> tuple[Token, dict[str, list[Token]]]:
    roles: dict[str, list[Token]] = {}
    for role, filler in _fillers(m, question=False):
        roles.setdefault(role, []).append(filler)
        if role in (DOER, DONE_TO):
            roles.setdefault(f"{role}{_OF}", []).extend(_owners(filler))
    return m, roles


def _fillers(word: Token, *, question: bool) -> Iterator[tuple[str, Token]]:
    """(role, word) for the parties of a verb (or of a noun naming its event), each with its conjuncts."""
    for role, f in _direct(word, question=question):
        yield role, f
        for c in f.conjuncts:
            yield role, c
        for c in f.children:
            if c.dep_ == "appos":
                yield role, c


def _direct(word: Token, *, question: bool) -> Iterator[tuple[str, Token]]:
    if word.pos_ == "NOUN" and not question:  # 'the conquest of Cyprus by the Anglo-Norman forces'
        for p in word.children:
            if p.dep_ == "prep" and p.lower_ in ("of", "by"):
                for o in _objects(p):
                    yield (DONE_TO if p.lower_ == "of" else DOER), o
        return
    passive = _passive(word)
    subjects = [c for c in word.children if c.dep_ in ("nsubj", "nsubjpass")]
    for s in subjects:
        role = DONE_TO if passive or s.dep_ == "nsubjpass" else DOER
        yield role, (word.head if s.tag_ in ("WDT", "WP") and word.dep_ == "relcl" else s)  # 'the Saxons, who …'
    if not question and word.dep_ == "acl" and word.tag_ == "VBN" and word.head.pos_ in ("NOUN", "PROPN"):
        yield DONE_TO, word.head  # 'the Danes, defeated by the Saxons, …'
    if not subjects and word.dep_ in ("conj", "xcomp") and word.head.pos_ in ("VERB", "AUX") and not passive:
        for s in word.head.children:  # 'settled … and built', 'began to enter'
            if s.dep_ == "nsubj" and s.tag_ not in ("WDT", "WP"):
                yield DOER, s
    obj = None
    for c in word.children:
        if c.dep_ == "dobj":
            obj = c
            yield DONE_TO, c
        elif c.dep_ == "dative":
            yield from (("to", o) for o in ([c] if c.pos_ != "ADP" else _objects(c)))
        elif c.dep_ == "agent":
            yield from ((DOER, o) for o in _objects(c))
        elif c.dep_ == "prep":
            role = DOER if c.lower_ == "by" and passive else c.lower_
            yield from ((role, o) for o in _objects(c))
        elif passive and not question and c.dep_ in ("xcomp", "advcl"):  # 'encouraged to come … by the Lombards'
            for p in c.children:
                if p.dep_ in ("prep", "agent") and p.lower_ == "by":
                    yield from ((DOER, o) for o in _objects(p))
    if obj is not None:  # 'had an effect on Irish culture'
        for p in obj.children:
            if p.dep_ == "prep" and p.lower_ != "of":
                yield from ((p.lower_, o) for o in _objects(p))


def _objects(preposition: Token) -> list[Token]:
    return [c for c in preposition.children if c.dep_ == "pobj"]


def _is(party: Token, filler: Token) -> bool:
    """Whether a sentence's word names the question's party: the same word or name ('Normans', 'Norman'), or a
    people or name the filler is modified by ('*Norman* mercenaries' for 'the Normans'), with no other name beside
    it ('the *Byzantine* forces' is not 'the Anglo-Norman forces')."""
    if same(party.lemma_.lower(), filler.lemma_.lower()) or same(party.lower_, filler.lower_):
        if distinct_names(party, filler):
            return False
        a, b = _name_modifiers(party), _name_modifiers(filler)  # 'North Rhine' is not 'the Rhine'
        return not (a or b) or any(same(x, y) for x in a for y in b)
    if is_name(party) and party.pos_ == "PROPN":
        return any(c.dep_ in ("compound", "amod") and same(party.lemma_.lower(), c.lemma_.lower())
                   for c in filler.children)
    return False


def _name_modifiers(token: Token) -> set[str]:
    return {c.lemma_.lower() for c in token.children if c.dep_ in ("compound", "amod") and is_name(c)}
