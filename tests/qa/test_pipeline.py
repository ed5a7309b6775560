"""The answer path end to end over the seed articles: fast with the hash embedder, slow with the real model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index, load_embedder
from embeddings.types import Hit
from qa import QA, Answer, InvalidQuestionError, get_settings, library
from qa.cite import cite
from qa.evidence import Evidence

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"


def _qa(tmp_path: Path, embedder, **answer_settings: float) -> QA:
    settings = get_settings({"index": {"dir": str(tmp_path / "index")}, "answer": answer_settings})
    articles = load_articles([SEEDS]).articles
    build_index(articles, index_dir=settings.index_dir(), embedder=embedder, chunking=settings.chunking,
                index_settings=settings.index, progress=False)
    index = Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking)
    return QA(settings, index, embedder)


@pytest.fixture(scope="module")
def hash_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    # hash vectors are far less similar than real ones: the refusal threshold calibrated for MiniLM is too high
    return _qa(tmp_path_factory.mktemp("hashqa"), HashEmbedder(), refusal_threshold=0.3)


def assert_citations_exact(qa: QA, a: Answer) -> None:
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", a.text)}
    assert markers == {c.n for c in a.citations}
    for c in a.citations:
        assert qa.library.article(c.doc_id).text[c.start : c.end] == c.quote
        assert c.quote.strip() == c.quote and c.quote
        dateline = qa.evidence.dateline(c.doc_id)  # dates every chunk of its article
        in_dateline = dateline is not None and (dateline.start, dateline.end) == (c.start, c.end)
        assert in_dateline or any(h.doc_id == c.doc_id and h.start <= c.start and c.end <= h.end for h in a.chunks)


@pytest.mark.parametrize(
    "question",
    [
        "How many people were massacred in Paris?",
        "Which warships did Sarkozy sell to Russia?",
        "What did the 2013 BBC World Service poll find?",
    ],
)
def test_answers_cite_exact_spans(hash_qa: QA, question: str) -> None:
    a = hash_qa.answer(question)
    assert not a.refused
    assert a.citations
    assert a.backend == "extractive" and a.query == question and a.question == question
    assert_citations_exact(hash_qa, a)
    assert a.timings_ms["total"] > 0


def test_stream_yields_text_then_answer(hash_qa: QA) -> None:
    items = list(hash_qa.stream("How many people were massacred in Paris?"))
    assert isinstance(items[-1], Answer)
    deltas = items[:-1]
    assert deltas and all(isinstance(d, str) for d in deltas)
    assert "129" in "".join(deltas)


def test_gibberish_is_refused_with_closest_chunks(hash_qa: QA) -> None:
    a = hash_qa.answer("zqxv blorf wumpus?")
    assert a.refused
    assert a.text.startswith("The articles don't say")
    assert a.citations == [] and a.unsupported == 0
    assert a.chunks  # the closest passages are still shown


def test_bad_questions_raise_clear_errors(hash_qa: QA) -> None:
    with pytest.raises(InvalidQuestionError, match="empty"):
        hash_qa.answer("   ")
    with pytest.raises(InvalidQuestionError, match="limit"):
        hash_qa.answer("why " * 1000)
    with pytest.raises(InvalidQuestionError, match="history turn 0"):
        hash_qa.answer("Who?", history=[{"role": "robot", "content": "x"}])


def _hit(qa: QA, doc_id: str, needle: str) -> Hit:
    text = qa.library.article(doc_id).text
    start = text.index(needle)
    # the whole paragraph around the needle, as a chunk would be
    s = text.rfind("\n\n", 0, start) + 2 if text.rfind("\n\n", 0, start) >= 0 else 0
    e = text.find("\n\n", start)
    e = len(text) if e < 0 else e
    return Hit(doc_id, s, e, text[s:e], 1.0, title=qa.library.article(doc_id).title)


def test_cite_drops_markers_outside_retrieved_set(hash_qa: QA) -> None:
    hit = _hit(hash_qa, "002_c143785ade127b25.txt", "massacred 129 people")
    r = cite("Terrorists massacred 129 people in Paris. [1] Something else entirely. [7]", [hit],
             Evidence(hash_qa.index.articles, hash_qa.embedder), support_threshold=0.3)
    assert "[7]" not in r.text and "[2]" not in r.text
    assert len(r.citations) == 1 and "129" in r.citations[0].quote
    assert r.unsupported == 1  # the claim with an invalid marker cites nothing


def test_support_check_flags_invented_numbers_and_names(hash_qa: QA) -> None:
    hit = _hit(hash_qa, "002_c143785ade127b25.txt", "massacred 129 people")
    ev = Evidence(hash_qa.index.articles, hash_qa.embedder)
    good = cite("The terrorists savagely massacred 129 people in Paris. [1]", [hit], ev, support_threshold=0.3)
    assert good.citations[0].supported is True and good.unsupported == 0
    bad = cite("The terrorists savagely massacred 450 people in Paris. [1]", [hit], ev, support_threshold=0.3)
    assert bad.citations[0].supported is False and bad.unsupported == 1
    # the quote is still the exact best sentence, not the whole chunk
    assert bad.citations[0].quote != hit.text and "129" in bad.citations[0].quote
    uncited = cite("Macron won the election.", [hit], ev, support_threshold=0.3)
    assert uncited.citations == [] and uncited.unsupported == 1


def test_add_and_remove_an_uploaded_article(tmp_path: Path) -> None:
    qa = _qa(tmp_path, HashEmbedder(), refusal_threshold=0.3)
    f = tmp_path / "lighthouse.txt"
    f.write_text("The Zorbian lighthouse was painted green in 1911 by the keeper Albertine Moreau.\n")
    bad = tmp_path / "blob.bin"
    bad.write_bytes(b"\x00\x01\x02")
    rep = qa.library.add_files([f, bad])
    assert rep.added_doc_ids == ["uploads/lighthouse.txt"]
    assert len(rep.skipped) == 1 and "blob.bin" in str(rep.skipped[0])
    a = qa.answer("Who painted the Zorbian lighthouse green?")
    assert any(c.doc_id == "uploads/lighthouse.txt" for c in a.citations)
    assert {i.doc_id for i in qa.library.articles()} >= {"uploads/lighthouse.txt", "001_4531c746a2d8eea5.txt"}
    # a rebuild from sources keeps the upload
    library.build(qa.settings, progress=False, embedder=qa.embedder)
    qa.library.remove_article("uploads/lighthouse.txt")
    assert "uploads/lighthouse.txt" not in {i.doc_id for i in qa.library.articles()}
    assert len(qa.library.articles()) == 5


LIGHTHOUSE = "The Zorbian lighthouse was painted green in 1911 by the keeper Albertine Moreau.\n"
LIGHTHOUSE_Q = "Who painted the Zorbian lighthouse green?"


def _cites(a: Answer, doc_id: str) -> bool:
    return any(c.doc_id == doc_id for c in a.citations)


@pytest.mark.parametrize("make_copy", [
    lambda qa: qa.with_settings(retrieval={"top_k": 3}),
    lambda qa: qa.with_generator({"backend": "extractive"}),
], ids=["with_settings", "with_generator"])
def test_copies_see_updates_made_through_the_original(tmp_path: Path, make_copy) -> None:
    qa = _qa(tmp_path, HashEmbedder(), refusal_threshold=0.3)
    copy = make_copy(qa)
    f = tmp_path / "lighthouse.txt"
    f.write_text(LIGHTHOUSE)
    qa.library.add_files([f])
    a = copy.answer(LIGHTHOUSE_Q)
    assert _cites(a, "uploads/lighthouse.txt")
    assert_citations_exact(copy, a)
    assert "uploads/lighthouse.txt" in {i.doc_id for i in copy.library.articles()}
    qa.library.remove_article("uploads/lighthouse.txt")
    assert not _cites(copy.answer(LIGHTHOUSE_Q), "uploads/lighthouse.txt")
    assert len(copy.library.articles()) == 5
    with pytest.raises(KeyError):
        copy.library.article("uploads/lighthouse.txt")


def test_the_original_and_other_copies_see_updates_made_through_a_copy(tmp_path: Path) -> None:
    qa = _qa(tmp_path, HashEmbedder(), refusal_threshold=0.3)
    copy = qa.with_settings(retrieval={"top_k": 3})
    sibling = qa.with_generator({"backend": "extractive"})
    grandchild = copy.with_settings(answer={"max_sentences": 1})
    f = tmp_path / "lighthouse.txt"
    f.write_text(LIGHTHOUSE)
    copy.library.add_files([f])
    for each in (qa, sibling, grandchild):
        a = each.answer(LIGHTHOUSE_Q)
        assert _cites(a, "uploads/lighthouse.txt")
        assert_citations_exact(each, a)
    grandchild.library.remove_article("uploads/lighthouse.txt")
    for each in (qa, copy, sibling):
        assert not _cites(each.answer(LIGHTHOUSE_Q), "uploads/lighthouse.txt")
        assert "uploads/lighthouse.txt" not in {i.doc_id for i in each.library.articles()}
    with pytest.raises(KeyError):
        copy.library.remove_article("uploads/lighthouse.txt")  # already gone, whoever removed it


def test_an_answer_under_way_keeps_the_index_it_started_with(tmp_path: Path) -> None:
    qa = _qa(tmp_path, HashEmbedder(), refusal_threshold=0.3)
    f = tmp_path / "lighthouse.txt"
    f.write_text(LIGHTHOUSE)
    qa.library.add_files([f])
    before = qa.shared.current
    stream = qa.stream(LIGHTHOUSE_Q)
    first = next(stream)  # retrieval is done and generation has started
    assert isinstance(first, str)
    qa.with_settings(retrieval={"top_k": 4}).library.remove_article("uploads/lighthouse.txt")
    final = [item for item in stream if isinstance(item, Answer)][0]
    # the whole answer read the old index: its citations are exact spans of the article it retrieved
    assert _cites(final, "uploads/lighthouse.txt")
    for c in final.citations:
        assert before.index.articles[c.doc_id].text[c.start : c.end] == c.quote
    assert qa.shared.current is not before and "uploads/lighthouse.txt" not in qa.index.articles


def test_a_failed_update_keeps_the_loaded_index(tmp_path: Path) -> None:
    qa = _qa(tmp_path, HashEmbedder(), refusal_threshold=0.3)
    before = qa.shared.current
    with pytest.raises(KeyError):
        qa.library.remove_article("no-such-article.txt")
    assert qa.shared.current is before


def test_concurrent_updates_and_answers(tmp_path: Path) -> None:
    """Answers during updates read a whole index (old or new); updates through different copies queue up."""
    import threading

    qa = _qa(tmp_path, HashEmbedder(), refusal_threshold=0.3)
    copies = [qa.with_settings(retrieval={"top_k": k}) for k in (3, 4)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask(each: QA) -> None:
        while not stop.is_set():
            try:
                a = each.answer(LIGHTHOUSE_Q)
                for c in a.citations:  # exact against the chunk it came from, whichever index that was
                    assert any(h.doc_id == c.doc_id and c.quote in h.text for h in a.chunks)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    def add(each: QA, name: str) -> None:
        try:
            g = tmp_path / name
            g.write_text(LIGHTHOUSE.replace("Zorbian", name.split(".")[0].capitalize()))
            each.library.add_files([g])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    readers = [threading.Thread(target=ask, args=(each,)) for each in (qa, *copies)]
    writers = [threading.Thread(target=add, args=(each, f"light{i}.txt")) for i, each in enumerate(copies)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors
    assert {"uploads/light0.txt", "uploads/light1.txt"} <= {i.doc_id for i in qa.library.articles()}


# -- the real model ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    return _qa(tmp_path_factory.mktemp("realqa"), load_embedder(get_settings().embedding))


@pytest.mark.slow
def test_versailles_both_sides(real_qa: QA) -> None:
    a = real_qa.answer("Where did Macron receive Putin in 2017?")
    assert not a.refused and "Versailles" in a.text
    assert "001_4531c746a2d8eea5.txt" in {c.doc_id for c in a.citations}
    assert all(c.supported for c in a.citations)
    assert_citations_exact(real_qa, a)


@pytest.mark.slow
def test_followup_uses_history(real_qa: QA) -> None:
    history = [
        {"role": "user", "content": "Which French ministers visited Moscow in September 2019?"},
        {"role": "assistant", "content": "Minister of the Armed Forces Florence Parly and Foreign Minister "
                                         "Jean-Yves Le Drian met in Moscow. [1]"},
    ]
    a = real_qa.answer("And who did they meet on the Russian side?", history=history)
    # searched as a readable standalone question: 'they' are the ministers the previous answer named
    assert a.query.startswith("Who did") and "Le Drian" in a.query and " they " not in a.query, a.query
    assert "Shoigu" in a.text or "Lavrov" in a.text
    assert_citations_exact(real_qa, a)


@pytest.mark.slow
def test_when_question_answered_by_an_undated_sentence_quotes_the_dateline(real_qa: QA) -> None:
    a = real_qa.answer("When did the French ministers visit Moscow?")
    assert not a.refused and "9 Sep, 2019" in a.text
    assert any(c.quote == "9 Sep, 2019 09:12" and c.start == 0 and c.supported for c in a.citations)
    assert_citations_exact(real_qa, a)


@pytest.mark.slow
def test_unanswerable_is_refused(real_qa: QA) -> None:
    a = real_qa.answer("What was the name of the Russian pilot whose bomber Turkey shot down?")
    assert a.refused and a.citations == [] and a.chunks


@pytest.mark.slow
def test_one_shot_answer_builds_the_default_index_once() -> None:
    """`from qa import answer` on a fresh data dir: builds the bundled index, then reuses the cached QA."""
    import qa as qa_module

    a = qa_module.answer("How much did France agree to refund Moscow over the Mistral ships?")
    assert not a.refused and "900 million" in a.text
    assert len(qa_module._default) == 1
    b = qa_module.answer("And when was that?", history=[
        {"role": "user", "content": "How much did France agree to refund Moscow over the Mistral ships?"},
        {"role": "assistant", "content": a.text},
    ])
    assert len(qa_module._default) == 1 and b.query != b.question


def test_events_show_the_sources_before_the_first_word(hash_qa: QA) -> None:
    from qa import Retrieved

    items = list(hash_qa.events("How many people were massacred in Paris?"))
    assert isinstance(items[0], Retrieved) and isinstance(items[-1], Answer)
    assert all(isinstance(d, str) for d in items[1:-1]) and items[1:-1]
    final = items[-1]
    assert items[0].hits == final.chunks and items[0].query == final.query
    # stream() is the same answer without the events
    assert [i for i in items if not isinstance(i, Retrieved)][:-1] == list(hash_qa.stream(final.question))[:-1]
