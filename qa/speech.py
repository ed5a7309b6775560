"""Questions asking what someone said or agreed: 'What did Obama say about Assad?', 'What did Parly and Shoigu agree
about a European army?'. What was said is answered only by a sentence that reports speech (a verb of saying, its
noun, 'according to', or a quotation) and what was agreed only by one that reports an agreement. A sentence that
only places the speaker at the event ('Putin and Hollande enter a hall for their news conference') or says what
the talks 'will focus on' does not say what was said or agreed: the question is refused whatever its type.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.analysis import QuestionAnalysis
from qa.ties import parse

# The verbs a question asks the content of, each with the lemmas that report it in a sentence.
_SAYING = frozenset(
    "say tell state declare announce call describe argue claim warn insist note add stress suggest write speak "
    "comment remark praise criticize criticise urge accuse explain reply respond answer ask admit deny vow pledge "
    "promise predict express label dub quote accord statement remark comment speech interview address message "
    "insist reiterate acknowledge assert affirm confirm emphasize emphasise caution threaten propose recall "
    "slam blast condemn reject dismiss welcome hail laud thank lament complain highlight underline mention "
    "indicate signal reaffirm voice outline hint lecture rebuff chide scold boast concede contend observe opine "
    "proclaim reckon remind report reveal shout tweet".split())
_AGREEING = frozenset(
    "agree agreement accord deal consensus sign settle compromise pact treaty accept endorse approve".split())
ASKED_CONTENT: dict[str, frozenset[str]] = {"say": _SAYING, "agree": _AGREEING}
_QUOTE = re.compile(r"[“\"][^”\"]{3,}[”\"]")


def content_verb(analysis: QuestionAnalysis) -> str | None:
    """'say' or 'agree' when the question asks 'what' someone said or agreed (the wh-word is the verb's object or
    clause: 'What did Putin say at ...', 'What did they agree about ...'), else None."""
    if analysis.wh_word != "what":
        return None
    for t in parse(analysis.question):
        lemma = t.lemma_.lower()
        if t.pos_ == "VERB" and lemma in ASKED_CONTENT and any(
                c.lower_ == "what" for c in t.subtree if c.i < t.i) and t.tag_ != "VBN":
            return lemma
    return None


def reports(verb: str, text: str) -> bool:
    """Whether a sentence reports what the question's ``verb`` asks for: a lemma of its family, or for 'say' a
    quotation."""
    if verb == "say" and _QUOTE.search(text):
        return True
    doc = parse(text)
    if verb == "say" and any(t.dep_ == "ccomp" and t.head.pos_ == "VERB" for t in doc):
        return True  # a verb with a clause said ('Macron slammed ... , arguing that ...', 'he stressed it was ...')
    return any(t.lemma_.lower() in ASKED_CONTENT[verb] for t in doc)


def unreported(analysis: QuestionAnalysis, texts: Sequence[str]) -> str | None:
    """The verb ('say', 'agree') of a question asking what was said or agreed when none of ``texts`` (the sentences
    an answer would quote) reports it, else None."""
    verb = content_verb(analysis)
    return verb if verb is not None and not any(reports(verb, t) for t in texts) else None
