"""The chat marks every claim nothing supports with ⚠ (issue 13), and its warning counts exactly those marks.

Answers are real ``qa.types.Answer`` records whose claims come from ``qa.align.claim_checks`` on the answer text,
rendered by the chat UI's own ``ChatUI._answer_html``.
"""

from __future__ import annotations

import json
import re

from qa.align import claim_checks
from qa.types import Answer, Citation
from ui import conversations as convs
from ui.claim_marks import NOT_SUPPORTED_LABEL, split_at_unsupported
from ui.handlers import ChatUI
from ui.render import render_answer

ARTICLE = "Macron received Putin at Versailles in May 2017. The two leaders discussed Syria."
MARK = re.compile(r'<span class="cq-claim-unsupported"[^>]*>\u26a0</span>')


def _cite(n: int, start: int, end: int, supported: bool | None = True) -> Citation:
    return Citation(n=n, doc_id="a.txt", title="Versailles", start=start, end=end, quote=ARTICLE[start:end],
                    supported=supported)


def _answer(text: str, citations: list[Citation], *, disagreement: str | None = None) -> Answer:
    claims = claim_checks(text, citations)
    return Answer(text=text, citations=citations, chunks=[], refused=False, query="q", backend="openai",
                  question="q", unsupported=sum(not c.supported for c in claims), claims=claims,
                  disagreement=disagreement)


def _count_in_note(html: str) -> int | None:
    m = re.search(r'cq-unsupported-note">\u26a0 (\d+) claims? (?:is|are) not supported', html)
    return int(m.group(1)) if m else None


def test_claims_without_markers_are_marked_and_counted() -> None:
    # the case: a small model wrote no markers, so nothing cites anything and the panel has no citations
    a = _answer("Macron met Putin at Versailles. They talked about Syria.", [])
    out = ChatUI._answer_html(a, 1)
    marks = MARK.findall(out)
    assert len(marks) == 2
    assert _count_in_note(out) == 2 == a.unsupported
    assert "(marked \u26a0)" in out


def test_mark_follows_the_unsupported_claim_only_with_an_accessible_label() -> None:
    good = _cite(1, 0, 47)
    text = "Macron received Putin at Versailles in May 2017 [1]. The leaders signed a treaty."
    a = _answer(text, [good])
    out = ChatUI._answer_html(a, 1)
    assert len(MARK.findall(out)) == 1
    mark = MARK.search(out)
    assert mark is not None
    assert f'aria-label="{NOT_SUPPORTED_LABEL}"' in mark.group(0) and f'title="{NOT_SUPPORTED_LABEL}"' in mark.group(0)
    # after the second claim, not the first (whose marker links to its source)
    assert out.index("signed a treaty.") < mark.start()
    assert out.index('href="#cq-src-1-1"') < out.index("The leaders")
    assert _count_in_note(out) == 1


def test_supported_answer_has_no_mark_and_no_note() -> None:
    a = _answer("Macron received Putin at Versailles in May 2017 [1].", [_cite(1, 0, 47)])
    out = ChatUI._answer_html(a, 1)
    assert not MARK.findall(out) and _count_in_note(out) is None


def test_count_follows_the_marks_not_a_stale_number() -> None:
    text = "Macron met Putin. They talked."
    claims = claim_checks(text, [])
    out = render_answer(text, [], unsupported=5, claims=claims)
    assert len(MARK.findall(out)) == _count_in_note(out) == 2


def test_note_without_claims_does_not_promise_marks() -> None:
    out = render_answer("Macron met Putin.", [], unsupported=2)
    assert _count_in_note(out) == 2 and "(marked" not in out and not MARK.findall(out)


def test_disagreement_is_shown_and_escaped() -> None:
    said = "The articles don't say <when>."
    a = _answer("Macron received Putin at Versailles in May 2017 [1].", [_cite(1, 0, 47)], disagreement=said)
    out = ChatUI._answer_html(a, 1)
    assert 'class="cq-disagreement-note"' in out
    assert "The articles don&#x27;t say &lt;when&gt;." in out and "<when>" not in out
    assert "Versailles" in out  # the evidence itself is still the answer


def test_no_disagreement_notice_without_one() -> None:
    out = ChatUI._answer_html(_answer("Macron met Putin.", []), 1)
    assert "cq-disagreement-note" not in out


def test_split_segments_rejoin_and_ignore_foreign_offsets() -> None:
    text = "One. Two. Three."
    claims = claim_checks(text, [])
    parts = split_at_unsupported(text, claims)
    assert "".join(p for p, _ in parts) == text and sum(m for _, m in parts) == 3
    assert split_at_unsupported("short", claims[1:]) == [("short", False)]


def test_a_reopened_conversation_keeps_the_marks_and_the_notice() -> None:
    text = "Macron received Putin at Versailles in May 2017 [1]. The leaders signed a treaty."
    a = _answer(text, [_cite(1, 0, 47)], disagreement="The articles don't say.")
    again = convs._answer_from(json.loads(json.dumps(convs._answer_record(a))))  # what localStorage holds
    assert again.claims == a.claims and again.disagreement == a.disagreement
    assert ChatUI._answer_html(again, 1) == ChatUI._answer_html(a, 1)
