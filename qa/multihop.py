"""Two-hop questions: resolve the question's nested description to the thing it names, then search again.

"On what date did the French president who settled the Mistral dispute visit the Kremlin?" asks about someone the
question only describes. The answer sits in a sentence about Hollande's visit, which need not mention the dispute;
the sentence that says who settled the dispute need not give the date. So:

1. **The description.** On spaCy's parse, a noun with a relative clause ("the French president *who settled the
   Mistral dispute*"; ``qa.analysis`` flags such questions ``is_nested``), the clause's verb and the relative
   pronoun's role in it (subject or object).
2. **The bridge.** The description is searched on its own; among the best sentences found, the first that
   resolves it gives the bridge:
   - for a noun that names a person, an organisation or a place (``qa.answer_types.NOUN_TYPES``), an entity of
     such a label that the question does not give, filling the pronoun's role for the clause's verb ("Sarkozy's
     successor, *Francois Hollande*, settled the dispute": the subject of *settle*);
   - for any other noun ("the attacks that preceded ..."), the same noun in the sentence with what specifies it
     ("*ISIS's Nov. 13 attacks in Paris*"), when that holds a name, date or number the question does not give.
3. **The second hop.** The question with the description replaced by the bridge ("On what date did Francois
   Hollande visit the Kremlin?") is searched, and its hits are answered from, with the bridge sentence's chunk
   kept among them; :func:`bridge_line` cites the bridge sentence when the answer did not, so both hops are cited.

The clause's verb may be said as a noun in the article ("the year the war broke out" / "since the outbreak of the
war in 1914": ``qa.nominals``), and a "whose" clause ("the president whose behaviour X calls chaotic") is resolved to
the possessor of its noun, spelled either way ("Donald Trump's ... behavior"). A time description the question's
own hits already say as it is ("on the day of Putin's visit") is not resolved.

Deterministic and offline; off with ``retrieval.two_hop = false``. A question without a relative pronoun is not
parsed at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from embeddings import spelling
from qa import lexical, nominals
from qa.analysis import TextSpan, load_pipeline, parse
from qa.answer_types import DATE, NOUN_TYPES, ORGANISATION, PERSON, PLACE
from qa.prompts import CANNOT_ANSWER_PHRASE

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

    from embeddings import Index
    from embeddings.config import RetrievalSettings
    from embeddings.types import Hit
    from qa.evidence import Evidence, Sentence

# A relative pronoun, or a time noun that may open a clause without one ("the year France returned to NATO"), after
# the first word: only such questions are parsed (the parse costs ~3 ms, the first in a process ~1 s).
_RELATIVE = re.compile(r"\S\s.*\b(?:who|whom|whose|which|that|where|when|year|day|date|month|week|decade|century)\b",
                       re.IGNORECASE | re.DOTALL)
# A do-question with a word that may be a past participle followed by a preposition ("did the president *elected
# in* 2012 visit ..."): only such questions are parsed for a participle description (``_participle``).
_PARTICIPLE = re.compile(r"\b(?:did|does|do)\b.*\b[a-z]+(?:ed|en|wn|lt|nt|ught|ung|eld|ade|orn|ost)\s+(?:in|on|at|by|"
                         r"for|from|with|during|after|before|under|as|to|since|near|into)\b", re.IGNORECASE | re.DOTALL)
_NAMED_KINDS = (PERSON, ORGANISATION, PLACE, DATE)
_SPECIFIER_LABELS = frozenset({"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART",
                               "LAW", "DATE", "TIME", "MONEY", "QUANTITY", "CARDINAL", "ORDINAL"})
_POOL = 4  # first-hop sentences looked at, best first
_NOUN_SEARCH = 10  # keyword hits looked at for the second hop's verb said as a noun (at least)
_MAX_PHRASE_TOKENS = 10  # a noun-phrase bridge longer than this is a clause, not a name for the thing
_SUBJECT_DEPS = ("nsubj", "nsubjpass", "csubj")
_OBJECT_DEPS = ("dobj", "pobj", "attr", "oprd")
_CLAUSE_DEPS = ("relcl", "acl", "advcl", "appos", "punct", "cc", "conj")
_ADVERBIAL_DEPS = ("prep", "npadvmod", "advmod", "pobj")
# The dependencies that fill the described noun's role in a sentence; a patient (the noun of "who was elected", "the
# president elected in 2012") is the object of an active verb or the subject of a passive one.
_ROLE_DEPS = {"subject": _SUBJECT_DEPS, "object": _OBJECT_DEPS, "adverbial": _ADVERBIAL_DEPS,
              "patient": ("dobj", "nsubjpass")}
# Verbs whose object noun carries the meaning ("made a visit", "paid a visit", "gave a speech", "held talks").
_LIGHT_VERBS = frozenset({"make", "pay", "take", "give", "hold", "have", "conduct", "carry", "stage", "launch"})
_MODIFIER_DEPS = ("det", "amod", "compound", "poss", "nummod", "nmod", "quantmod")


@dataclass(frozen=True)
class Description:
    """The nested description of a question: a noun with a relative clause.

    Attributes:
        span: the description in the question ("the French president who settled the Mistral dispute").
        head: the noun's lemma, lower case ("president").
        labels: entity labels that name such a thing (empty: the bridge is a noun phrase with the same noun).
        verb: the relative clause's verb lemma ("settle").
        role: the relative pronoun's role in the clause: "subject", "object", "patient" (the subject of a passive:
            "who was elected", and so a participle's noun: "the president elected in 2012"), or "adverbial" (the
            time or place of the clause: "the year (when) France returned to NATO").
        clause: the relative clause's text ("who settled the Mistral dispute").
        particle: the verb's particle, lower case ("out" of "the year the war broke out"), or "".
        possessed: for a "whose" clause (role "possessor"), the noun possessed, lower case ("behaviour").
    """

    span: TextSpan
    head: str
    labels: frozenset[str]
    verb: str
    role: str
    clause: str
    particle: str = ""
    possessed: str = ""


@dataclass(frozen=True)
class Bridge:
    """What the first hop found: the words that resolve the description, in which sentence of which chunk."""

    text: str
    sentence: Sentence
    hit: Hit


@dataclass(frozen=True)
class TwoHop:
    """The second hop: the query searched and the hits to answer from (the bridge's chunk among them)."""

    query: str
    hits: list[Hit]
    bridge: Bridge
    description: Description
    ms: float


def describe(question: str) -> Description | None:
    """The nested description of ``question``, or None when it has none (most questions: no parse is made).

    A relative clause ("the president *who settled the dispute*"), or a past participle that describes the noun
    before it ("the president *elected in 2012*", ``_participle``)."""
    found = _relative(question) if _RELATIVE.search(question) else None
    if found is None and _PARTICIPLE.search(question):
        found = _participle(question)
    return found


def _participle(question: str) -> Description | None:
    """The description of a question whose noun is described by a past participle and its complement: "On what date
    did the French president elected in 2012 visit the Kremlin?". The small parser reads the participle as the main
    verb (and "visit" as a noun); with "who was" (or "that was") put before it, it reads the relative clause it
    stands for. Only in a question whose verb comes after its subject (did/does/do), where the participle cannot be
    the main verb. The description's span is given in ``question``."""
    doc = parse(question)
    aux = next((t for t in doc if t.lower_ in ("did", "does", "do")), None)
    if aux is None:
        return None
    for t in doc[aux.i + 2:len(doc) - 1]:
        noun, after = doc[t.i - 1], doc[t.i + 1]
        if t.tag_ not in ("VBN", "VBD") or noun.pos_ not in ("NOUN", "PROPN") or after.tag_ != "IN":
            continue
        kind, _ = NOUN_TYPES.get(noun.lemma_.lower(), ("", frozenset()))
        insert = "who was " if kind == PERSON else "that was "
        found = _relative(question[:t.idx] + insert + question[t.idx:])
        if found is None or not found.span.start <= t.idx < found.span.end:
            return None
        start, end = found.span.start, found.span.end - len(insert)
        return replace(found, span=TextSpan(question[start:end], start, end))
    return None


def _relative(question: str) -> Description | None:
    """The description of a question with a relative clause on a noun other than the one asked for."""
    doc = parse(question)
    for clause in (t for t in doc if t.dep_ == "relcl"):
        noun = clause.head
        pronoun = next((c for c in clause.children if c.tag_ in ("WDT", "WP", "WP$", "WRB")), None)
        whose = next((t for t in clause.subtree if t.tag_ == "WP$"), None) if pronoun is None else None
        possessed = next((t for t in doc[whose.i + 1:whose.i + 3] if t.pos_ == "NOUN"), None) if whose else None
        if whose is not None and possessed is not None:
            pronoun = whose  # "the president whose behaviour X calls chaotic": the possessor of the behaviour
        kind, labels = NOUN_TYPES.get(noun.lemma_.lower(), ("", frozenset()))
        if pronoun is None and kind != DATE:  # only a time noun's clause goes without a pronoun reliably
            continue
        if noun.pos_ not in ("NOUN", "PROPN") or _asked(noun, doc):
            continue
        start = min([noun.i] + [c.left_edge.i for c in noun.lefts if c.dep_ in _MODIFIER_DEPS])
        end = _clause_end(doc, clause, start)
        span = doc[start:end]
        if pronoun is None or pronoun.tag_ == "WRB":
            role = "adverbial"
        else:
            role = ("possessor" if possessed is not None else "patient" if pronoun.dep_ == "nsubjpass"
                    else "subject" if pronoun.dep_ in _SUBJECT_DEPS else "object")
        clause_span = doc[min(pronoun.i if pronoun is not None else clause.i, clause.left_edge.i):end]
        particle = next((c.lower_ for c in clause.children if c.dep_ == "prt"), "")
        return Description(span=TextSpan(span.text, span.start_char, span.end_char), head=noun.lemma_.lower(),
                           labels=labels if kind in _NAMED_KINDS else frozenset(), verb=clause.lemma_.lower(),
                           role=role, clause=clause_span.text, particle=particle,
                           possessed=possessed.lemma_.lower() if possessed is not None else "")
    return None


def _clause_end(doc: Doc, clause: Token, start: int) -> int:
    """Where the relative clause ends (a token index; the description starts at ``start``). The small parser often
    runs the clause on into the main verb of an inverted question ("did the president who settled the dispute
    *visit* the Kremlin": *visit* as a noun with an object); the clause ends before a base-form verb or participle
    after its own verb, or before a noun that takes an object. When the description is the subject of a
    do-question (right after did/does/do) it also ends before a singular noun right after a year or a name that
    ends a phrase of the clause, when a determiner, preposition or the question mark follows ("did the president
    who was elected in 2012 *visit* the Kremlin", "did the duke crowned in 1066 *die*?"): the parser read "2012
    visit" as one noun phrase. A description after the main verb ("does Ruff attribute to the president who closed
    the Mistral deal with Russia?") runs to its clause's end."""
    end = clause.right_edge.i + 1
    inverted = start > 0 and doc[start - 1].lower_ in ("did", "does", "do")
    for t in doc[clause.i + 1:end]:
        if t.tag_ in ("VB", "VBN") or (t.pos_ == "NOUN" and any(c.dep_ == "dobj" for c in t.children)):
            end = t.i
            break
        if (inverted and t.tag_ in ("NN", "VBP") and t.i > clause.i + 1 and doc[t.i - 1].tag_ in ("CD", "NNP", "NNPS")
                and t.i + 1 < len(doc) and doc[t.i + 1].tag_ in ("DT", "IN", "TO", "PRP$", ".")):
            end = t.i
            break
    while end > clause.i + 1 and doc[end - 1].is_punct:
        end -= 1
    return end


def _asked(noun: Token, doc: Doc) -> bool:
    """The noun is what the question asks for, not a description to resolve: 'Which president who ...', 'Who was
    the president who ...', 'Name the president who ...'."""
    if any(c.tag_ in ("WDT", "WP", "WP$") and c.dep_ == "det" for c in noun.children):
        return True
    head = noun.head
    if noun.dep_ in ("attr", "nsubj") and head.lemma_ == "be":  # 'who/what is X': identity, one hop
        return any(c.tag_ in ("WP", "WDT") and c.dep_ in ("attr", "nsubj") for c in head.children)
    return noun.dep_ == "dobj" and head.i == next(t.i for t in doc if not t.is_punct)  # 'Name the president who'



def second_hop(
    question: str,
    hits: Sequence[Hit],
    index: Index,
    evidence: Evidence,
    settings: RetrievalSettings,
    *,
    refusal_threshold: float,
) -> TwoHop | None:
    """Resolve ``question``'s nested description and search again with the bridge in its place; None when the
    question has no description, no retrieved sentence resolves it, or the second search would be refused where
    the question as asked would not.

    That last test uses the extractive generator's measure of an answer (``Answer.confidence``: the cosine of the
    query and the best sentence retrieved) against ``refusal_threshold``: a bridge that leads the search astray
    does not turn an answer into a refusal. (The two cosines are not compared with each other: the question as
    asked shares the description's words with the bridge sentence, which does not answer it.)

    Args:
        question: the standalone question (a follow-up's resolved form).
        hits: what the question itself retrieved.
        index: the index to search.
        evidence: sentences of that index's articles.
        settings: retrieval settings (``top_k`` hits are returned, and the bridge's chunk when not among them).
        refusal_threshold: ``answer.refusal_threshold``.
    """
    t0 = time.perf_counter()
    description = describe(question)
    if description is None:
        return None
    asked = [s.text for h in hits[:settings.top_k] for s in evidence.sentences(h)]
    if description.role == "adverbial" and nominals.said_as_is(description.head, description.verb,
                                                               description.particle, description.clause, asked):
        return None  # "on the day of Putin's visit" retrieved for "on the day Putin visited": one hop answers
    bridge = find_bridge(question, description, index.search(description.span.text, settings), evidence)
    if bridge is None:
        return None
    span = description.span
    query = f"{question[:span.start]}{bridge.text}{question[span.end:]}"
    second = merge_hits(index.search(query, settings), bridge.hit, k=settings.top_k)
    noun = _said_as_noun(query, second, index, evidence, settings)
    if noun is not None:  # "the outbreak of the euro crisis in 2009" for "What crisis broke out in 2009?"
        second = merge_hits(second, noun, k=len(second))
    # the second hop's sentence vectors are the ones the generator reads next (cached); the first hop's are only
    # embedded when the second would be refused, unless a sentence states the answer with the verb as a noun
    if (_best_cosine(query, second, evidence) < refusal_threshold <= _best_cosine(question, hits, evidence)
            and nominals.stated_event(query, _sentences(second, evidence), evidence) is None):
        return None
    return TwoHop(query=query, hits=second, bridge=bridge, description=description,
                  ms=(time.perf_counter() - t0) * 1000)


def _sentences(hits: Sequence[Hit], evidence: Evidence) -> list[Sentence]:
    """The sentences of ``hits``, each once, in the order of their chunks."""
    found: dict[tuple[str, int, int], Sentence] = {}
    for hit in hits:
        for s in evidence.sentences(hit):
            found.setdefault((s.doc_id, s.start, s.end), s)
    return list(found.values())


def _said_as_noun(query: str, hits: Sequence[Hit], index: Index, evidence: Evidence,
                  settings: RetrievalSettings) -> Hit | None:
    """A chunk that answers the second hop's ``query`` with its verb said as a noun (``nominals.stated_event``),
    found by a keyword search with those nouns added ("outbreak" for "broke out"), when ``hits`` hold none; else
    None. Only the keyword side: the nouns would pull the query's vector toward any start or outbreak."""
    extra = nominals.search_terms(query)
    if not extra or nominals.stated_event(query, _sentences(hits, evidence), evidence) is not None:
        return None
    for hit in index.search(f"{query} {extra}", settings.model_copy(update={"mode": "bm25"}),
                            k=max(2 * settings.top_k, _NOUN_SEARCH)):
        if nominals.stated_event(query, _sentences([hit], evidence), evidence) is not None:
            return hit
    return None


def _best_cosine(query: str, hits: Sequence[Hit], evidence: Evidence) -> float:
    """The cosine of the query and the sentence of ``hits`` closest to it (the vectors are cached for the answer)."""
    texts = list(dict.fromkeys(s.text for hit in hits for s in evidence.sentences(hit)))
    if not texts:
        return float("-inf")
    vecs = evidence.embed([query, *texts])
    return float((vecs[1:] @ vecs[0]).max())


def find_bridge(question: str, description: Description, hits: Sequence[Hit], evidence: Evidence) -> Bridge | None:
    """The first of the best sentences of ``hits`` (found for the description) that resolves it, or None."""
    seen: set[tuple[str, int, int]] = set()
    sentences: list[tuple[Hit, Sentence]] = []
    for hit in hits:
        for s in evidence.sentences(hit):
            if (s.doc_id, s.start, s.end) not in seen:
                seen.add((s.doc_id, s.start, s.end))
                sentences.append((hit, s))
    if not sentences:
        return None
    # Only sentences with the word that must be there are parsed: the clause's verb for a named bridge (who
    # *settled* the dispute), the noun for a noun-phrase one (the *attacks*), or (an irregular verb: who *met*)
    # two words of the clause. They are ranked by the words of the clause they share, then by the rank of their
    # chunk: no sentence vectors, which the answer would not use.
    root = lexical.stem(lexical.fold(description.verb if description.labels else description.head)).rstrip("e")
    terms = set(lexical.content_terms(description.clause))
    terms |= {lexical.stem(v) for w in lexical.words(description.clause) for v in spelling.variants(w)}
    nouns = nominals.forms(description.verb, description.particle) if description.labels else frozenset()
    scores: dict[int, int] = {}
    for i, (_, s) in enumerate(sentences):
        words = set(lexical.content_terms(s.text))
        shared = len(terms & words)
        folded = lexical.words(lexical.fold(s.text))
        if (shared >= 2 or any(lexical.stem(w).startswith(root) for w in folded)
                or any(w in nouns for w in folded)):
            scores[i] = shared
    order = sorted(scores, key=lambda i: -scores[i])[:_POOL]
    nlp = load_pipeline()
    given = lexical.plain_tokens(question)
    for i in order:
        hit, sentence = sentences[i]
        found = _resolve(description, nlp(sentence.text), given)
        if found is not None:
            return Bridge(text=found, sentence=sentence, hit=hit)
    return None


def _resolve(description: Description, doc: Doc, given: set[str]) -> str | None:
    """The words of a sentence that the description names, or None."""
    if description.labels and description.possessed:  # "whose behaviour": the possessor of that noun
        nouns = {description.possessed, *spelling.variants(description.possessed)}
        for noun in (t for t in doc if t.lemma_.lower() in nouns and t.pos_ == "NOUN"):
            for arg in (c for c in noun.children if c.dep_ == "poss"):
                entity = _named_entity(description, doc, arg, given)
                if entity is not None:
                    return entity
        return None
    if description.labels:
        deps = _ROLE_DEPS[description.role]
        for verb in (t for t in doc if t.lemma_.lower() == description.verb):
            if verb.pos_ in ("VERB", "AUX"):
                args = [c for c in verb.children if c.dep_ in deps]
            else:
                args = _light_verb_args(description, verb)
            if description.role == "patient" and verb.dep_ == "amod":
                noun = verb.head  # the participle describes it: "newly *elected* French President Emmanuel Macron"
                while noun.dep_ == "compound" and noun.head is not noun:
                    noun = noun.head
                args.append(noun)
            for arg in args:
                entity = _named_entity(description, doc, arg, given)
                if entity is not None:
                    return entity
        # the verb said as a noun: "the outbreak of the war in 1914", "Henry's founding of the abbey" (qa.nominals)
        for arg in nominals.arguments(description.verb, description.particle, description.role, description.clause,
                                      doc):
            entity = _named_entity(description, doc, arg, given)
            if entity is not None:
                return entity
        return None
    for noun in (t for t in doc if t.lemma_.lower() == description.head and t.pos_ == "NOUN"):
        phrase = _noun_phrase(noun)
        if len(phrase) <= _MAX_PHRASE_TOKENS and _new_specifier(phrase, noun, given):
            return phrase.text
    return None


def _light_verb_args(description: Description, noun: Token) -> list[Token]:
    """The subjects of a light verb whose object is the clause's verb as a noun: "who *visited* France" said as
    "Gorbachev *made a visit* to France" (also paid/took/gave/held ... a visit, a speech, talks). The noun is
    looked up by the verb's lemma, so only nouns spelled as the verb are found (visit, call, trip ...)."""
    light = noun.head
    if (description.role != "subject" or noun.pos_ != "NOUN" or noun.dep_ != "dobj"
            or light.lemma_.lower() not in _LIGHT_VERBS):
        return []
    return [c for c in light.children if c.dep_ == "nsubj"]


def _named_entity(description: Description, doc: Doc, arg: Token, given: set[str]) -> str | None:
    """An entity of the description's labels in ``arg``'s subtree, not a possessor ("Sarkozy's successor,
    Francois Hollande": Hollande), and not given by the question."""
    inside = range(arg.left_edge.i, arg.right_edge.i + 1)
    for ent in doc.ents:
        if ent.label_ not in description.labels or ent.start not in inside:
            continue
        if (ent.root.dep_ == "poss" or any(t.tag_ == "POS" for t in ent)) and ent.root.i != arg.i:
            continue  # a possessor of the argument, unless it is the argument ("Macron's election")
        if ent[-1].tag_ == "POS":
            ent = ent[:-1]
        if not lexical.plain_tokens(ent.text) - given:
            continue  # the question names it already: not what the description stands for
        return ent.text
    return None


def _noun_phrase(noun: Token) -> Span:
    """The noun with its modifiers, less any clause hanging off it."""
    tokens = [noun]
    for child in noun.children:
        if child.dep_ not in _CLAUSE_DEPS:
            tokens.extend(child.subtree)
    ids = sorted(t.i for t in tokens)
    return noun.doc[ids[0]:ids[-1] + 1]


def _new_specifier(phrase: Span, noun: Token, given: set[str]) -> bool:
    """The phrase holds a name, date or number (other than the noun) that the question does not give."""
    doc = noun.doc
    return any(ent.label_ in _SPECIFIER_LABELS and ent.start >= phrase.start and ent.end <= phrase.end
               and noun.i not in range(ent.start, ent.end) and lexical.plain_tokens(ent.text) - given
               for ent in doc.ents)


def merge_hits(hits: Sequence[Hit], bridge_hit: Hit, *, k: int) -> list[Hit]:
    """The second hop's best ``k`` hits, then the bridge's chunk when it is not among them (``k + 1`` hits)."""
    key = (bridge_hit.doc_id, bridge_hit.start, bridge_hit.end)
    top = list(hits[:k])
    if any((h.doc_id, h.start, h.end) == key for h in top):
        return top
    return [*top, bridge_hit]


def bridge_line(hop: TwoHop, answer_text: str) -> str:
    """The bridge sentence, cited, to follow an answer that did not cite it ("" when it did, or refused).

    The answer came from the second hop; this line says why its subject is the one the question described.
    """
    folded = lexical.fold(answer_text)
    if not answer_text.strip() or lexical.fold(CANNOT_ANSWER_PHRASE) in folded:
        return ""
    key = (hop.bridge.hit.doc_id, hop.bridge.hit.start, hop.bridge.hit.end)
    n = next((i for i, h in enumerate(hop.hits, 1) if (h.doc_id, h.start, h.end) == key), None)
    if n is None or f"[{n}]" in answer_text:
        return ""
    quoted = " ".join(hop.bridge.sentence.text.split())
    if quoted in " ".join(answer_text.split()):
        return ""
    return f" {quoted} [{n}]"

