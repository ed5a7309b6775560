"""Stop, Regenerate, per-answer copy, quote previews, the whole article, sources before the answer ends, saved
conversations and the collection line: their rendering and logic, without a browser (tests/ui/test_browser_features.py
drives them in Chromium)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from corpus.types import Article, ArticleMeta
from qa import Answer, Citation, CitedClaim
from qa.library import ArticleInfo
from tests.ui.conftest import QUOTE, VERSAILLES, FakeQA
from ui import conversations as convs
from ui.article_view import quote_preview, render_claims, render_retrieved, render_whole_article
from ui.collection import describe_collection, describe_library, topic_names, year_span
from ui.handlers import ChatUI, Conversation
from ui.render import render_answer, render_citation_card

MACRON = "Where did Macron receive Putin in 2017?"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'


@pytest.fixture
def ui(fake_qa: FakeQA, tmp_path: Path) -> ChatUI:
    return ChatUI(fake_qa, fake_qa.settings, feedback_file=tmp_path / "feedback.jsonl")  # type: ignore[arg-type]


def _cite(quote: str = QUOTE, supported: bool | None = True, n: int = 1) -> Citation:
    start = VERSAILLES.index(quote)
    return Citation(n, "001_versailles.txt", "Macron hosts <Putin>", start, start + len(quote), quote, supported)


# -- quote preview on markers ------------------------------------------------------------------------------
def test_cited_marker_carries_a_preview_of_its_quote_escaped() -> None:
    html = render_answer("Putin came to Versailles. [1]", [_cite()])
    pop = re.search(r'<span class="cq-pop" role="tooltip">(.*?)</span></sup>', html)
    assert pop, html
    assert "Source 1: Macron hosts &lt;Putin&gt;" in pop.group(1)  # title escaped
    assert "Palace of Versailles on May 29, 2017" in pop.group(1)
    assert 'title="' not in html  # the preview replaces the bare native tooltip


def test_unsupported_marker_preview_says_so_and_streaming_markers_have_none() -> None:
    assert "Not supported by the quoted text." in render_answer("X. [1]", [_cite(supported=False)])
    assert "cq-pop" not in render_answer("X. [1]", None, streaming=True)


def test_quote_preview_collapses_space_and_cuts_long_quotes_at_a_word() -> None:
    assert quote_preview("a\n  b\tc") == "a b c"
    long = " ".join(["word"] * 200)
    cut = quote_preview(long, limit=50)
    assert cut.endswith("\u2026") and len(cut) <= 51 and not cut[:-1].endswith(" ")


# -- per-answer copy ----------------------------------------------------------------------------------------
def test_final_answer_carries_a_copy_button_and_its_plain_text(ui: ChatUI) -> None:
    *_, (messages, _, conv, _, copy_text) = list(ui.respond(MACRON, None))
    html = messages[-1]["content"]
    assert '<button type="button" class="cq-copy-btn">Copy</button>' in html
    hidden = re.search(r'<div class="cq-plain" hidden>(.*?)</div>', html, re.S)
    assert hidden and "Sources:" in hidden.group(1) and hidden.group(1).startswith("Macron received Putin")
    # every answer keeps its own button, not just the latest
    *_, (messages, *_rest) = list(ui.respond("What did he criticise there?", conv))
    assert sum("cq-copy-btn" in m["content"] for m in messages) == 2


def test_no_copy_button_while_streaming_and_copy_text_is_escaped() -> None:
    assert "cq-copy-btn" not in render_answer("partial", None, streaming=True, copy_text="x")
    html = render_answer("a", None, copy_text=XSS)
    assert "<script>" not in html and "&lt;script&gt;" in html


# -- the whole article -------------------------------------------------------------------------------------
def test_whole_article_is_escaped_with_the_quote_highlighted() -> None:
    text = "Intro <b>bold</b> & more. " + QUOTE + " Outro <script>x</script>."
    start = text.index(QUOTE)
    html = render_whole_article(text, start, start + len(QUOTE))
    assert html.startswith('<details class="cq-article"><summary>Show the whole article</summary>')
    assert "<b>" not in html and "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert f'<mark class="cq-article-quote">{QUOTE}</mark>' in html.replace("&#x27;", "'")
    assert "Intro &lt;b&gt;bold&lt;/b&gt; &amp; more." in html and "Outro" in html  # all of it, not a window
    assert "not shown" not in html


def test_long_article_shows_a_window_around_the_quote_cut_at_words() -> None:
    words = [f"w{i}" for i in range(20_000)]
    text = " ".join(words)
    start = text.index(" w10000 ") + 1
    end = start + len("w10000")
    html = render_whole_article(text, start, end, max_chars=2000)
    body = re.search(r'aria-label="The whole article">(.*?)</div>', html, re.S)
    assert body and '<mark class="cq-article-quote">w10000</mark>' in body.group(1)
    shown = re.sub(r"<[^>]+>", "", body.group(1))
    assert len(shown) <= 2000 and shown.split()[0] in words and shown.split()[-1] in words  # whole words only
    assert html.count("characters before this are not shown") == 1
    assert html.count("characters after this are not shown") == 1


def test_source_card_offers_the_whole_article_only_when_the_quote_checks_out() -> None:
    card = render_citation_card(_cite(), VERSAILLES)
    assert "Show the whole article" in card and "RT and Sputnik" in card
    assert card.count("cq-article-quote") == 1
    bad = Citation(1, "001_versailles.txt", "t", 0, 10, "not there", True)
    assert "Show the whole article" not in render_citation_card(bad, VERSAILLES)
    assert "Show the whole article" not in render_citation_card(_cite(), None)


# -- sources before the answer ends ------------------------------------------------------------------------
def test_sources_show_once_retrieval_is_done_before_the_answer(ui: ChatUI) -> None:
    steps = list(ui.respond(MACRON, None))
    panels = [s[1] for s in steps]
    retrieved = [i for i, p in enumerate(panels) if "passage found in 1 article" in p]
    assert retrieved, panels
    first = retrieved[0]
    assert first < len(steps) - 1 and "cq-cursor" in steps[first][0][-1]["content"]  # still being written
    assert 'id="cq-src-1-1"' in panels[first] and "Versailles" in panels[first]
    assert "cq-citation" not in panels[first] and "being written" in panels[first]
    assert "Searching" not in panels[-1] and "passage found" not in panels[-1]  # the cited sources replace them


def test_retrieved_panel_escapes_and_numbers_passages_per_answer() -> None:
    from embeddings.types import Hit

    hits = [Hit("a.txt", 0, 5, XSS, 0.9, "T <1>"), Hit("b.txt", 0, 5, "two", 0.5, "")]
    html = render_retrieved(hits, turn=3)
    assert 'id="cq-src-3-1"' in html and 'id="cq-src-3-2"' in html
    assert "<script>" not in html and "T &lt;1&gt;" in html and "b.txt" in html
    assert "2 passages found in 2 articles" in html
    assert "stopped" in render_retrieved(hits, writing=False)


def test_claims_checked_while_streaming_show_above_the_passages(ui: ChatUI, fake_qa: FakeQA) -> None:
    original = fake_qa.events
    claim = CitedClaim(0, "Macron received Putin at Versailles.", [_cite()], True)

    def with_claims(question, history=None):  # type: ignore[no-untyped-def]
        for item in original(question, history):
            if isinstance(item, Answer):
                yield claim  # as QA.events does after the delta that completes a sentence
            yield item

    fake_qa.events = with_claims  # type: ignore[method-assign]
    steps = list(ui.respond(MACRON, None))
    during = [s[1] for s in steps if "Checked so far" in s[1]]
    assert during and "cq-cursor" in steps[-2][0][-1]["content"]
    panel = during[0]
    assert panel.index("Checked so far") < panel.index('id="cq-src-1-1"')
    assert "Macron received Putin at Versailles." in panel and "Palace of Versailles on May 29, 2017" in panel
    assert "supported" in panel and "Checked so far" not in steps[-1][1]  # the final sources replace it
    shown = next(s for s in steps if "Checked so far" in s[1])[0][-1]["content"]
    assert "Unchecked claim." in shown  # the text so far shows in full when a sentence is checked


def test_render_claims_escapes_and_flags_unsupported_ones() -> None:
    bad = CitedClaim(1, XSS, [], False)
    html = render_claims([bad])
    assert "<script>" not in html and "not supported" in html and "No quote supports it." in html
    assert render_claims([]) == ""


def test_unknown_events_are_ignored(ui: ChatUI, fake_qa: FakeQA) -> None:
    original = fake_qa.events

    def with_extra(question, history=None):  # type: ignore[no-untyped-def]
        for item in original(question, history):
            yield object()  # e.g. a per-claim citation event this UI does not know
            yield item

    fake_qa.events = with_extra  # type: ignore[method-assign]
    *_, (messages, sources, conv, _, _) = list(ui.respond(MACRON, None))
    assert conv.answers[-1] is not None and "cq-src-1-1" in sources


# -- Stop and Regenerate -----------------------------------------------------------------------------------
def test_stop_keeps_the_partial_answer_marked_stopped_and_the_run_writes_no_more(ui: ChatUI) -> None:
    conv = Conversation()
    run = ui.respond(MACRON, conv)
    seen = []
    for step in run:
        seen.append(step)
        if "Macron received" in step[0][-1]["content"]:
            break
    assert conv.pending is not None
    messages, sources, conv2, _ = convs.stop(ui, conv)
    assert conv2 is conv and conv.pending is None
    last = messages[-1]["content"]
    assert "Stopped: this answer is incomplete." in last and "Macron received Putin" in last and "cq-cursor" not in last
    assert conv.turns[-1].error == "stopped" and conv.answers == [None] and conv.history == []
    assert "the answer was stopped" in sources
    assert list(run) == []  # the cancelled run yields nothing more…
    assert conv.messages[-1]["content"] == last and len(conv.turns) == 1  # …and changes nothing


def test_stop_without_an_answer_in_progress_changes_nothing(ui: ChatUI) -> None:
    *_, (_, _, conv, _, _) = list(ui.respond(MACRON, None))
    before = list(conv.messages)
    messages, _, conv2, _ = convs.stop(ui, conv)
    assert messages == before and conv2.turns == conv.turns and "Stopped" not in messages[-1]["content"]


def test_regenerate_asks_the_last_question_again_replacing_its_answer(ui: ChatUI, fake_qa: FakeQA) -> None:
    *_, (_, _, conv, _, _) = list(ui.respond(MACRON, None))
    *_, (_, _, conv, _, _) = list(ui.respond("What did he criticise there?", conv))
    history_before_last = list(conv.turns[-1].history)
    fake_qa.streamed.clear()
    *_, (messages, sources, conv, _, _) = list(convs.regenerate(ui, conv))
    assert fake_qa.streamed == [("What did he criticise there?", history_before_last)]
    assert len(messages) == 4 and len(conv.turns) == 2 and len(conv.answers) == 2 and len(conv.history) == 4
    assert "cq-src-2-1" in sources and "Searched for" in messages[-1]["content"]


def test_regenerate_after_stop_and_before_any_question(ui: ChatUI, fake_qa: FakeQA) -> None:
    assert list(convs.regenerate(ui, Conversation()))[-1][0] == []
    conv = Conversation()
    run = ui.respond(MACRON, conv)
    next(run)
    convs.stop(ui, conv)
    *_, (messages, _, conv, _, _) = list(convs.regenerate(ui, conv))
    assert len(messages) == 2 and conv.answers[-1] is not None and "Stopped" not in messages[-1]["content"]


# -- saved conversations -----------------------------------------------------------------------------------
def test_saved_conversation_comes_back_as_it_was_shown(ui: ChatUI) -> None:
    *_, (_, _, conv, _, _) = list(ui.respond(MACRON, None))
    *_, (_, _, conv, _, _) = list(ui.respond("What is the capital of Australia?", conv))
    store = json.loads(json.dumps(convs.save(convs.EMPTY_STORE, "", conv)))  # what localStorage holds
    again = convs.conversation_from_record(ui, convs.find(store, "", conv.cid))  # type: ignore[arg-type]
    assert again.messages == conv.messages and again.history == conv.history and again.cid == conv.cid
    assert [t.answer_id for t in again.turns] == [t.answer_id for t in conv.turns]  # a vote replaces, not appends
    assert ui._sources_for_last(again) == ui._sources_for_last(conv)  # the refusal's closest passages too
    assert convs.listing(store, "") == [(f"{MACRON} \u00b7 2 questions", conv.cid)]


def test_stopped_and_failed_turns_are_saved_too(ui: ChatUI) -> None:
    conv = Conversation()
    run = ui.respond(MACRON, conv)
    next(run)
    convs.stop(ui, conv)
    *_, (_, _, conv, _, _) = list(ui.respond("this will fail", conv))
    again = convs.conversation_from_record(ui, convs.to_record(conv))
    assert again.messages == conv.messages
    assert "Stopped" in again.messages[1]["content"] and "Could not answer" in again.messages[3]["content"]


def test_store_is_per_user_latest_first_and_capped(ui: ChatUI) -> None:
    store: dict = convs.EMPTY_STORE
    ids = []
    for i in range(convs.MAX_CONVERSATIONS + 3):
        *_, (_, _, c, _, _) = list(ui.respond(f"{MACRON} {i}", None))
        store = convs.save(store, "alice", c)
        ids.append(c.cid)
    listed = [cid for _, cid in convs.listing(store, "alice")]
    assert listed == list(reversed(ids))[: convs.MAX_CONVERSATIONS]
    assert convs.listing(store, "bob") == [] and convs.listing(store, "") == []  # other users see none of them
    assert convs.find(store, "bob", ids[-1]) is None
    store = convs.remove(store, "alice", ids[-1])
    assert ids[-1] not in [cid for _, cid in convs.listing(store, "alice")]
    assert convs.latest(ui, store, "alice").cid == ids[-2]
    assert convs.latest(ui, store, "bob").turns == []


def test_an_empty_conversation_is_not_saved_and_resaving_moves_it_first(ui: ChatUI) -> None:
    store = convs.save(convs.EMPTY_STORE, "", Conversation())
    assert convs.listing(store, "") == []
    *_, (_, _, a, _, _) = list(ui.respond(MACRON, None))
    *_, (_, _, b, _, _) = list(ui.respond(MACRON, None))
    store = convs.save(convs.save(store, "", a), "", b)
    *_, (_, _, a, _, _) = list(ui.respond("What did he criticise there?", a))
    store = convs.save(store, "", a)
    assert [cid for _, cid in convs.listing(store, "")] == [a.cid, b.cid]


@pytest.mark.parametrize(
    "store",
    [None, "x", [], {"v": 99, "users": {"": [{"id": "a", "turns": []}]}}, {"v": 1, "users": {"": "nope"}}],
)
def test_a_store_the_page_cannot_read_is_an_empty_list(ui: ChatUI, store: object) -> None:
    assert convs.listing(store, "") == [] and convs.latest(ui, store, "").turns == []


@pytest.mark.parametrize("text", ["", "{not json", None, '"a string"'])
def test_unreadable_localstorage_text_is_an_empty_store(ui: ChatUI, text: object) -> None:
    assert convs.listing(convs.parse_store(text), "") == []


def test_the_page_reads_the_store_afresh_and_applies_changes_to_it_as_it_is_then() -> None:
    # every event that takes the store replaces it with localStorage's current text, and a save goes back as one
    # operation on the then-current store: a second tab's conversations are never overwritten with a stale copy
    assert "localStorage.getItem" in convs.read_js(1) and "args[args.length - 1]" in convs.read_js(3)
    assert "localStorage.getItem(key)" in convs.APPLY_JS and "localStorage.setItem(key" in convs.APPLY_JS
    assert json.dumps(convs.STORAGE_KEY) in convs.APPLY_JS and f"max = {convs.MAX_CONVERSATIONS}" in convs.APPLY_JS


def test_damaged_turns_in_a_record_are_skipped_and_text_stays_escaped(ui: ChatUI) -> None:
    rec = {
        "id": "x1",
        "turns": [
            {"question": XSS, "answer": None, "partial": XSS, "error": "stopped"},
            {"question": "q", "answer": {"text": "t", "citations": [["bad"]], "chunks": []}},
            {"nothing": 1},
        ],
    }
    conv = convs.conversation_from_record(ui, rec)
    assert len(conv.turns) == 1 and all("<script>" not in m["content"] for m in conv.messages)


# -- what is loaded ----------------------------------------------------------------------------------------
def test_year_span() -> None:
    assert year_span(["2019-09-09", None, "November 23, 2015", "2017"]) == "2015\u20132019"
    assert year_span(["2017-05-30"]) == "2017" and year_span([None, "soon"]) is None


def test_topic_names_are_names_most_articles_mention() -> None:
    texts = [
        "The Russian minister met French diplomats. Russia and Paris agreed.",
        "Russia said the talks went well. The meeting was in Paris.",
        "In Russia, The press wrote about Russians and Lisbon.",
        "Nothing here but words. The end.",
    ]
    # "The"/"In" start sentences (they occur in lower case too); Lisbon is in one text only
    assert topic_names(texts) == ["Russia", "Paris"]
    assert topic_names(["alpha beta", "gamma"]) == []


def test_describe_collection_counts_names_and_dates() -> None:
    infos = [
        ArticleInfo("a", "Macron hosts Putin at Versailles", None, None, "2017-05-30", 1),
        ArticleInfo("b", "Putin and Macron in Moscow", None, None, "2019-09-09", 1),
        ArticleInfo("c", "Hollande meets Putin", None, None, None, 1),
    ]
    line = describe_collection(infos, lambda d: "")
    assert line == "Loaded: **3 articles** \u00b7 mostly about Putin and Macron \u00b7 dated 2017\u20132019"
    assert "No articles" in describe_collection([], None)


def test_describe_library_reads_the_index_and_follows_its_changes(fake_qa: FakeQA) -> None:
    assert describe_library(fake_qa).startswith("Loaded: **1 article**")  # type: ignore[arg-type]
    fake_qa.articles_by_id["002.txt"] = Article(
        "002.txt", "Putin again", "Putin spoke in Sochi.", ArticleMeta(date="2019-01-01")
    )
    line = describe_library(fake_qa)  # type: ignore[arg-type]
    assert line.startswith("Loaded: **2 articles**") and "Putin" in line and "dated 2017\u20132019" in line
