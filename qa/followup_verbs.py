"""A follow-up's bare "go"/"come" stands for what the previous question asked about (qa/rewrite.py's helper).

"Why did he go?" or "Why did he go there?" after "When did Gorbachev visit France?" asks why Gorbachev visited
France: searched as "Why did Gorbachev go?", nothing of the visit is looked for. The verb (with a "there" after it)
is replaced by the previous do-question's verb and what follows it: "Why did Gorbachev visit France?".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qa.answer_types import NOUN_TYPES, ORGANISATION, PERSON

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

PRO_VERBS = frozenset({"go", "come"})
MAX_TOKENS = 16  # the previous question's verb phrase is cut after this many words
_WH = ("WDT", "WP", "WP$", "WRB")


def pro_verb_edit(token: Token, pq: Doc) -> tuple[int, int, str] | None:
    """The edit (start, end, text) putting the previous question's verb phrase for a bare 'go'/'come' of the
    follow-up (and a 'there' right after it), or None when ``token`` is no such verb or ``pq`` has no phrase."""
    if token.lemma_ not in PRO_VERBS or token.pos_ != "VERB":
        return None
    after = [t for t in token.doc[token.i + 1:] if not t.is_punct]
    if any(t.lower_ != "there" for t in after) or any(c.dep_ in ("dobj", "prep") for c in token.children):
        return None
    phrase = predicate(pq)
    if not phrase:
        return None
    end = after[-1] if after else token
    return token.idx, end.idx + len(end.text), phrase


def predicate(pq: Doc) -> str:
    """The previous question's verb with what follows it, when it is a do-question about a subject's action
    ("When did Gorbachev visit France?" → "visit France"); its subject must be someone who could go (a name, a
    person or organisation noun)."""
    root = pq[:].root
    if root.pos_ != "VERB" or root.lemma_ in PRO_VERBS or root.lemma_ in ("be", "do", "have") or not any(
            c.dep_ == "aux" and c.lemma_ == "do" for c in root.children):
        return ""
    subject = next((c for c in root.children if c.dep_ == "nsubj"), None)
    if subject is None or not (subject.pos_ == "PROPN" or NOUN_TYPES.get(subject.lemma_.lower(), ("",))[0] in (
            PERSON, ORGANISATION)):
        return ""  # someone who could go: a name, a person or a body ("Where did the summit take place?": no)
    after = [t.text for t in pq[root.i + 1:] if not t.is_punct and t.tag_ not in _WH]
    if not after:
        return ""
    out = " ".join([root.lemma_, *after][:MAX_TOKENS])
    return re.sub(r"\s+([,.;:”’)])", r"\1", re.sub(r"([“(])\s+", r"\1", out))


def other_wh(pq: Doc, wh_word: str, answer: str = "") -> str:
    """The previous question asked with another wh-word ("Why?" after "Where did ...?"): "How much did France
    refund Russia?" then "When?" gives "When did France refund Russia?", "How many soldiers did Napoleon lose in
    Russia?" then "Why?" gives "Why did Napoleon lose soldiers in Russia?" (the counted noun after the verb). After
    a question whose wh-word was the verb's object, the previous ``answer`` (what it named) takes its place:
    "What did Macron criticise?" / "RT and Sputnik." then "Why?" gives "Why did Macron criticise RT and Sputnik?"."""
    text = pq.text
    wh = next((t for t in pq if t.tag_ == "WRB"), None)
    if wh is None:
        first = pq[0]
        verb = next((t for t in pq[2:] if t.pos_ == "VERB" and t.tag_ == "VB"), None)
        if not answer or first.tag_ != "WP" or first.dep_ != "dobj" or verb is None or pq[1].pos_ != "AUX":
            return text
        after = next((c.right_edge for c in verb.children if c.dep_ in ("dative", "dobj") and c.i == verb.i + 1),
                     verb)  # "send Ukraine *Leopard tanks*"
        stop = after.idx + len(after.text)
        return wh_word + text[len(first.text):stop] + " " + answer + text[stop:]
    end, moved = wh, ""
    if wh.i + 2 < len(pq) and pq[wh.i + 1].tag_ in ("RB", "JJ") and pq[wh.i + 2].pos_ == "AUX":
        end = pq[wh.i + 1]
    elif wh.i + 2 < len(pq) and pq[wh.i + 1].lower_ in ("many", "much") and pq[wh.i + 2].pos_ == "NOUN":
        end = next(t for t in pq[wh.i + 2:] if t.pos_ != "NOUN" or t.i + 1 == len(pq)).nbor(-1)
        moved = pq[wh.i + 2:end.i + 1].text
    rest = text[end.idx + len(end.text):]
    if moved and end.i + 1 < len(pq):  # the counted noun goes after the verb ("did Napoleon lose soldiers"), or
        # after the auxiliary when there is no base-form verb ("were people killed")
        anchor = next((t for t in pq[end.i + 2:] if t.pos_ == "VERB" and t.tag_ == "VB"), pq[end.i + 1])
        at = anchor.idx + len(anchor.text) - (end.idx + len(end.text))
        rest = rest[:at] + " " + moved + rest[at:]
    return text[:wh.idx] + wh_word + rest
