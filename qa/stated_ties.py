"""Ties between people a sentence states in so many words, for short 'who' questions the cosine underrates.

"Who was Margaret's brother?" shares two words with "King Malcolm III of Scotland married Edgar's sister Margaret",
so the similarity threshold refuses it, though the sentence says the answer the plainest way there is. A short
question of one of these forms is answered by a sentence near the top that states the tie with the question's own
words (or the tie's other side), the answer a capitalised name right in the tie's slot:

  - "Who was X's R?", "What was the name of X's R?" (R a kin or role word: brother, nephew, rival, fiancée):
      "X's R N", "X's R, N", "X and his R N" ('his'/'her' standing for the nearest name before it), "N, R of X",
      "N, X's R"; or the tie said from the other side with a converse kin word (``kinship``): "N's sister X" and
      "X, sister of N" for "X's brother";
  - spouses ("Who was X's husband/wife?", "Who did X marry?", "Who married X?"): "A married B", "A had married
    B", "A married N's sister B", "A was married to B";
  - "Who was the [M] R?" (no owner): "N as a R" ('surrendered his son Duncan as a hostage'), or "their/his R N"
    after every modifier M ('Norse raiders ... under their leader Rollo');
  - "Who V the O?" (one verb, one object): the sentence's subject of V whose object is O ('Maciot de Bethencourt
    sold the rights ...'), or, for a verb with a converse (buy/sell, receive/give, borrow/lend), its recipient or
    source: 'A sold the rights to B' says who bought them.

Every word of the question is in the sentence, said as the question says it or as its converse; a question with
any other word (a date, a place, a second name) is not one of these forms and is left to the threshold. SQuAD 2.0's
unanswerable twins ask for the tie of another person ('Who was Tancred's nephew?' beside 'Bohemond ... and his
nephew Tancred'), or of someone who is no party to the verb ('Who did Edgar marry?' beside 'Malcolm married Edgar's
sister Margaret'): the owner or party must be the question's own person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa import answerability, lexical, relations
from qa.analysis import Entity
from qa.analysis import parse as analysis_parse
from qa.evidence import Evidence, Sentence

__all__ = ["TOP", "stated_tie", "tie_answer"]

# How many of the best-scored sentences may state the tie (the one stating it often scores second: its other
# words are not the question's)
TOP = 3

_SIBLING = ("brother", "sister", "sibling")
_PARENT = ("father", "mother", "parent")
_CHILD = ("son", "daughter", "child")
_SPOUSES = ("husband", "wife", "spouse")
_UNCLE = ("uncle", "aunt")
_NEPHEW = ("nephew", "niece")
# a kin word -> the words the other person of the tie is called
_CONVERSE: dict[str, tuple[str, ...]] = {
    **{w: _SIBLING for w in _SIBLING}, **{w: _CHILD for w in _PARENT}, **{w: _PARENT for w in _CHILD},
    **{w: _SPOUSES for w in _SPOUSES}, **{w: _NEPHEW for w in _UNCLE}, **{w: _UNCLE for w in _NEPHEW},
    "fiancee": ("fiance",), "fiance": ("fiancee",),
}
# a verb -> its converse and the preposition naming the converse's doer ('sold X to B': B bought X)
_CONVERSE_VERBS = {"buy": ("sell", "to"), "sell": ("buy", "from"), "receive": ("give", "to"),
                   "get": ("give", "to"), "borrow": ("lend", "to"), "lend": ("borrow", "from"),
                   "inherit": ("leave", "to")}
_NOT_NAMES = frozenset("the a an his her their its in on at of and but he she they it this that these those when "
                       "after before during while as with by from for to".split())
_PARTICLE = r"(?:of|de|von|van|da|di|du|del|la|le|the)"
_CAP = r"[A-Z][\w’'-]*"
_NAME = re.compile(rf"{_CAP}(?:\s+(?:{_PARTICLE}\s+)?{_CAP})*")
_POSS = r"(?:'s|’s|')"
_OWNER_Q = re.compile(rf"^(?i:who\s+(?:was|is|were|are)|what\s+(?:was|is)\s+the\s+name\s+of)\s+"
                      rf"(?P<owner>{_NAME.pattern}){_POSS}\s+(?P<role>[A-Za-zé]+)\s*\?$")
_MARRY_Q = (re.compile(rf"^(?i:who\s+did)\s+(?P<owner>{_NAME.pattern})\s+(?i:marry)\s*\?$"),
            re.compile(rf"^(?i:who\s+married)\s+(?P<owner>{_NAME.pattern})\s*\?$"),
            re.compile(rf"^(?i:who\s+(?:was|is))\s+(?P<owner>{_NAME.pattern})\s+(?i:married\s+to)\s*\?$"))
_ROLE_Q = re.compile(r"^who\s+(?:was|is|were|are)\s+the\s+(?P<mods>(?:[a-z]+\s+){0,2})(?P<role>[a-z]+)\s*\?$",
                     re.IGNORECASE)
_CALLED_Q = re.compile(r"^what\s+(?:was|is)\s+(?:the\s+(?P<mods>(?:[a-z]+\s+){0,2})(?P<role>[a-z]+)\s+called"
                       r"|the\s+name\s+of\s+the\s+(?P<mods2>(?:[a-z]+\s+){0,2})(?P<role2>[a-z]+))\s*\?$",
                       re.IGNORECASE)
_VERB_Q = re.compile(r"^who\s+(?P<verb>[a-z]+)\s+(?:the\s+)?(?P<obj>[a-z]+)\s*\?$", re.IGNORECASE)
_MARRIED = re.compile(r"\b(?:had\s+|has\s+|was\s+|is\s+)?(?:married|marries|wed)\s+(?:to\s+)?")


def _norm(word: str) -> str:
    return lexical.stem(lexical.fold(word).lower())


def _names(text: str) -> list[Entity]:
    """The capitalised names of the text (a run of capitalised words, 'of'/'de' inside), less an opening word that
    is no name ('The', 'His', or a one-word opening the parse does not take for a proper noun: 'Days')."""
    out = []
    for m in _NAME.finditer(text):
        start, words = m.start(), m.group().split()
        while words and words[0].lower() in _NOT_NAMES:
            start = text.index(words[1], start + len(words[0])) if len(words) > 1 else m.end()
            words = words[1:]
        if words:
            words[-1] = re.sub(r"(?:'s|’s|'|’)$", "", words[-1])  # "Edgar's sister": the name is Edgar
        while words and (words[-1].lower() in _NOT_NAMES or not words[-1]):
            words = words[:-1]
        if words:
            end = text.index(words[-1], start) + len(words[-1])
            if len(words) == 1 and not text[:start].strip() and not _proper_at(text, start):
                continue  # 'Days later the galley ...': capitalised because it opens the sentence
            out.append(Entity(text[start:end], start, end, "NAME"))
    return out


def _proper_at(text: str, start: int) -> bool:
    """Whether the parse takes the word opening the text for a proper noun."""
    return any(t.idx == start and t.pos_ == "PROPN" for t in analysis_parse(text))


def _same_person(a: str, b: str) -> bool:
    """Whether two names share a name word ('Guy' and 'Guy de Lusignan')."""
    return bool(lexical.name_tokens(a) & lexical.name_tokens(b))


def _name_ending(names: Sequence[Entity], at: int) -> Entity | None:
    return next((n for n in names if n.end == at), None)


def _name_starting(names: Sequence[Entity], at: int) -> Entity | None:
    return next((n for n in names if n.start == at), None)


def _ties(text: str, words: Sequence[str], antecedent: str | None = None) -> list[tuple[str, Entity, Entity]]:
    """The kin or role ties the text states with one of ``words``: (the word as said, its owner, the person it
    names). A 'his'/'her' with no name before it in the text stands for ``antecedent`` (the person the article
    last made the subject of a sentence, ``_antecedent``), an owner outside the text (offsets -1)."""
    names = _names(text)
    out = []
    alternatives = "|".join(re.escape(w).replace("e", "[eé]") for w in sorted(words, key=len, reverse=True))
    for m in re.finditer(rf"\b(?P<w>{alternatives})s?\b", text, re.IGNORECASE):
        word = lexical.fold(m.group("w"))
        before, after = text[: m.start()], text[m.end():]
        named = None
        gap = re.match(r"\s*,?\s*", after)
        if gap is not None:
            named = _name_starting(names, m.end() + gap.end())
        owner = None
        p = re.search(rf"{_POSS}\s+(?:[a-z]+\s+)?$", before)  # "Edgar's sister", "whose elder brother"
        if p is not None:
            owner = _name_ending(names, p.start())
        p = re.search(r"\b(?:his|her)\s+(?:[a-z]+\s+)?$", before)
        if owner is None and p is not None:  # 'his' stands for the nearest name before it
            owner = max((n for n in names if n.end <= p.start()), key=lambda n: n.end, default=None)
            if owner is None and antecedent:
                owner = Entity(antecedent, -1, -1, "ANTECEDENT")
        n = re.search(rf",\s+(?P<owner>{_NAME.pattern}){_POSS}\s+$", before)  # 'Bohemond, Robert's son'
        if named is None and n is not None:
            owner, named = _name_starting(names, n.start("owner")), _name_ending(names, n.start())
        if owner is None or named is None:  # "Emma, sister of Duke Richard II": named before, owner after
            a = re.search(r",\s+(?:the\s+|a\s+|an\s+)?$", before)
            o = re.match(r"\s+of\s+", after)
            if a is not None and o is not None:
                named, owner = _name_ending(names, a.start()), _name_starting(names, m.end() + o.end())
        if owner is not None and named is not None and owner != named:
            out.append((word, owner, named))
    return out


def _marriages(text: str) -> list[tuple[Entity, Entity]]:
    """The spouses the text marries with a verb: (subject, object)."""
    names = _names(text)
    out = []
    for m in _MARRIED.finditer(text):
        subject = next((n for n in names if re.fullmatch(r"(?:\s+of\s+[A-Z][\w-]*)?\s*", text[n.end:m.start()])
                        and n.end <= m.start()), None)
        rest = text[m.end():]
        k = re.match(rf"(?:{_NAME.pattern}{_POSS}\s+[a-z]+\s+)?", rest)  # 'married Edgar's sister Margaret'
        obj = _name_starting(names, m.end() + (k.end() if k else 0))
        if subject is not None and obj is not None:
            out.append((subject, obj))
    return out


def _spouse(owner: str, text: str) -> Entity | None:
    for a, b in _marriages(text):
        if _same_person(owner, a.text) and not _same_person(owner, b.text):
            return b
        if _same_person(owner, b.text) and not _same_person(owner, a.text):
            return a
    return None


def _possessed(owner: str, role: str, text: str, antecedent: str | None = None) -> Entity | None:
    """The person the text names as ``owner``'s ``role``, directly or from the tie's other side."""
    role = lexical.fold(role).lower()
    converse = _CONVERSE.get(role, ())
    for word, of, named in _ties(text, sorted({role, *converse}), antecedent):
        if word == role and _same_person(owner, of.text) and not _same_person(owner, named.text):
            return named
        if (word in converse and of.start >= 0 and _same_person(owner, named.text)
                and not _same_person(owner, of.text)):
            return of
    if role in _SPOUSES:
        return _spouse(owner, text)
    return None


def _apposed(mods: Sequence[str], role: str, text: str) -> Entity | None:
    """'N, (one of) the [M] R' or 'N—one of the most important [M] Rs', every modifier in that phrase."""
    names = _names(text)
    for m in re.finditer(rf"\s*[,—–]\s*(?:one\s+of\s+)?(?:the|a|an)\s+(?P<between>(?:[\w-]+\s+){{0,4}}?)"
                         rf"{re.escape(role)}(?:s|es)?\b", text, re.IGNORECASE):
        said = {w.lower() for w in m.group("between").split()}
        if all(w.lower() in said for w in mods) and (n := _name_ending(names, m.start())) is not None:
            return n
    return None


def _by_role(mods: Sequence[str], role: str, text: str) -> Entity | None:
    """'N as a R', 'N, a R', or 'their/his R N' after every modifier of the role the question gives."""
    names = _names(text)
    if (n := _apposed(mods, role, text)) is not None:
        return n
    for m in re.finditer(rf"\s+as\s+(?:a|an|the)\s+{re.escape(role)}\b", text, re.IGNORECASE):
        if all(re.search(rf"\b{re.escape(w)}\b", text, re.IGNORECASE) for w in mods):
            if (n := _name_ending(names, m.start())) is not None:
                return n
    for m in re.finditer(rf"\b(?:his|her|their|its)\s+{re.escape(role)}\s+", text, re.IGNORECASE):
        if (n := _name_starting(names, m.end())) is not None and all(
                re.search(rf"\b{re.escape(w)}\b", text[: m.start()], re.IGNORECASE) for w in mods):
            return n
    return None


def _doer(verb: str, obj: str, text: str) -> Entity | None:
    """The subject (or, for a converse verb, the recipient or source) of the question's verb with its object."""
    q = analysis_parse(f"Who {verb} the {obj}?")
    lemma = next((t.lemma_.lower() for t in q if t.pos_ in ("VERB", "AUX") and t.i == 1), None)
    if lemma is None or lemma in ("be", "have", "do"):
        return None
    converse, prep = _CONVERSE_VERBS.get(lemma, ("", ""))
    doc = analysis_parse(text)
    names = _names(text)
    for t in doc:
        if t.lemma_.lower() not in (lemma, converse) or t.pos_ != "VERB" or any(
                c.dep_ == "neg" or c.tag_ == "MD" for c in t.children):
            continue  # 'did not sell', 'would sell': not said to have happened
        if not any(c.dep_ == "dobj" and _norm(c.text) == _norm(obj) for c in t.children):
            continue
        if t.lemma_.lower() == lemma:
            heads = [c for c in t.children if c.dep_ == "nsubj"]
            heads += [a for h in heads for a in h.children if a.dep_ == "appos"]
        else:
            heads = [p for c in t.children if c.dep_ in ("prep", "dative") and c.lower_ == prep for p in c.children
                     if p.dep_ == "pobj"]
        for h in heads:
            n = next((n for n in names if n.start <= h.idx < n.end), None)
            if n is not None:
                return n
    return None


def tie_answer(question: str, text: str, antecedent: str | None = None) -> Entity | None:
    """The name ``text`` states in the tie a short 'who' question asks about (module docstring), or None.
    ``antecedent``: whom a 'his'/'her' with no name before it in ``text`` stands for ('his fiancée Berengaria').

    >>> tie_answer("Who was Margaret's brother?", "Malcolm married Edgar's sister Margaret.").text
    'Edgar'
    """
    q = " ".join(question.split())
    if (m := _OWNER_Q.match(q)) is not None:
        return _possessed(m.group("owner"), m.group("role"), text, antecedent)
    for pattern in _MARRY_Q:
        if (m := pattern.match(q)) is not None:
            return _spouse(m.group("owner"), text)
    if (m := _ROLE_Q.match(q)) is not None:
        return _by_role(m.group("mods").split(), m.group("role"), text)
    if (m := _CALLED_Q.match(q)) is not None:  # 'What was the naval base called?'
        return _apposed((m.group("mods") or m.group("mods2") or "").split(), m.group("role") or m.group("role2"), text)
    if (m := _VERB_Q.match(q)) is not None and m.group("verb").lower() not in ("was", "is", "were", "are", "did"):
        return _doer(m.group("verb"), m.group("obj"), text)
    return None


def _antecedent(sentence: Sentence, evidence: Evidence) -> str | None:
    """The person a 'his'/'her' opening the sentence's people stands for: the name that is the subject of the
    article's previous sentence, or of the one before when the previous one names nobody ('In April 1191 Richard
    left Messina ... But a storm dispersed the fleet. ... his fiancée Berengaria'); None when a sentence between
    names someone else, or there is no such subject."""
    article = evidence.articles.get(sentence.doc_id)
    if article is None:
        return None
    spans = evidence.spans(sentence.doc_id)
    at = next((i for i, (start, _) in enumerate(spans) if start == sentence.start), None)
    for j in ([] if at is None else range(at - 1, max(at - 3, -1), -1)):
        prev = article.text[spans[j][0]:spans[j][1]]
        names = _names(prev)
        root = next((t for t in analysis_parse(prev) if t.dep_ == "ROOT"), None)
        subject = next((c for c in root.children if c.dep_ == "nsubj"), None) if root is not None else None
        if subject is not None and subject.pos_ == "PROPN":
            return next((n.text for n in names if n.start <= subject.idx < n.end), None)
        if names:
            return None
    return None


def stated_tie(question: str, sentences: Sequence[Sentence], evidence: Evidence | None = None
               ) -> tuple[int, Entity] | None:
    """The first of the ``TOP`` best sentences stating the tie the question asks about (:func:`tie_answer`), its
    index and the name, when no check of ``qa.relations`` refuses it (a swapped word, another year); else None.
    With ``evidence``, a 'his'/'her' with no name before it in its sentence stands for the article's last subject
    (``_antecedent``)."""
    if not _OWNER_Q.match(q := " ".join(question.split())) and not any(p.match(q) for p in _MARRY_Q) and not (
            _ROLE_Q.match(q) or _CALLED_Q.match(q) or _VERB_Q.match(q)):
        return None
    analysis = answerability.analyze(question)
    for i, s in enumerate(sentences[:TOP]):
        found = tie_answer(question, s.text)
        if found is None and evidence is not None and re.search(r"\b(?:his|her)\b", s.text, re.IGNORECASE):
            found = tie_answer(question, s.text, _antecedent(s, evidence))
        if found is not None and relations.mismatch(question, s.text) is None and not (
                relations.answers_nothing(analysis, s.text)):
            return i, found
    return None
