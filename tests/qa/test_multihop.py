"""Two-hop questions (qa/multihop.py) on the real spaCy parse over a HashEmbedder index of the seed articles: the
nested description, the bridge found for it, the second search, and an answer citing both hops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index
from qa import QA, Answer, get_settings
from qa.multihop import bridge_line, describe, merge_hits, second_hop
from qa.types import Retrieved

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"
NESTED = "On what date did the French president who settled the Mistral dispute visit the Kremlin?"
RESOLVED = "On what date did Francois Hollande visit the Kremlin?"
BRIDGE = "Sarkozy’s successor, Francois Hollande, settled the dispute by agreeing to refund Moscow almost €900 million"


@pytest.fixture(scope="module")
def seed_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    embedder = HashEmbedder()
    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("hop") / "index")},
                             "retrieval": {"two_hop": True},
                             # hash vectors are no measure of relevance: answer whatever is found
                             "answer": {"refusal_threshold": -1.0, "support_threshold": 0.3}})
    build_index(load_articles([SEEDS]).articles, index_dir=settings.index_dir(), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


def test_the_nested_description_its_noun_verb_and_role() -> None:
    d = describe(NESTED)
    assert d is not None
    assert NESTED[d.span.start:d.span.end] == d.span.text == "the French president who settled the Mistral dispute"
    assert (d.head, d.verb, d.role, "PERSON" in d.labels) == ("president", "settle", "subject", True)
    # a time noun's clause without a pronoun: the bridge is the clause's date
    t = describe("What crisis broke out in the same year France returned to NATO’s command structure?")
    assert t is not None and t.span.text == "the same year France returned to NATO’s command structure"
    assert (t.head, t.verb, t.role, "DATE" in t.labels) == ("year", "return", "adverbial", True)
    # any other noun: the bridge is that noun as a sentence specifies it
    a = describe("How many people died in the attacks that preceded Hollande’s November 26 trip to the Kremlin?")
    assert a is not None and (a.head, a.labels) == ("attack", frozenset())


@pytest.mark.parametrize("question", [
    "Where did Macron receive Putin in 2017?",  # no relative clause (not even parsed)
    "Who was the French president who settled the Mistral dispute?",  # the description is what is asked: one hop
    "Which French president who settled the dispute visited Moscow?",
])
def test_no_second_hop_without_a_description_to_resolve(question: str) -> None:
    assert describe(question) is None


def test_the_bridge_is_found_and_searched_again(seed_qa: QA) -> None:
    hits = seed_qa.index.search(NESTED, seed_qa.settings.retrieval)
    hop = second_hop(NESTED, hits, seed_qa.index, seed_qa.evidence, seed_qa.settings.retrieval, refusal_threshold=-1)
    assert hop is not None
    assert hop.bridge.text == "Francois Hollande" and hop.bridge.sentence.text.startswith(BRIDGE)
    assert hop.query == RESOLVED
    second = seed_qa.index.search(RESOLVED, seed_qa.settings.retrieval)
    assert hop.hits[:len(second)] == second  # the second search's hits, then the bridge's chunk if not among them
    assert hop.bridge.hit in hop.hits and len(hop.hits) <= seed_qa.settings.retrieval.top_k + 1
    text = seed_qa.evidence.articles[hop.bridge.hit.doc_id].text
    assert text[hop.bridge.sentence.start:hop.bridge.sentence.end] == hop.bridge.sentence.text


def _best(qa: QA, query: str, hits: list) -> float:
    """The cosine of the query and the closest sentence of the hits (what the extractive generator thresholds)."""
    texts = [s.text for h in hits for s in qa.evidence.sentences(h)]
    vecs = qa.evidence.embed([query, *texts])
    return float(np.max(vecs[1:] @ vecs[0]))


def test_no_second_hop_that_would_turn_an_answer_into_a_refusal(seed_qa: QA) -> None:
    retrieval = seed_qa.settings.retrieval
    hits = seed_qa.index.search(NESTED, retrieval)
    hop = second_hop(NESTED, hits, seed_qa.index, seed_qa.evidence, retrieval, refusal_threshold=-1)
    assert hop is not None
    before, after = _best(seed_qa, NESTED, hits), _best(seed_qa, RESOLVED, hop.hits)
    low, high = sorted((before, after))
    between = (low + high) / 2  # answered on one side of it, refused on the other
    kept = second_hop(NESTED, hits, seed_qa.index, seed_qa.evidence, retrieval, refusal_threshold=between)
    assert (kept is None) == (after < before)  # dropped only when the second hop would be the refused one
    # both refused (or both answered): the second hop stands
    assert second_hop(NESTED, hits, seed_qa.index, seed_qa.evidence, retrieval, refusal_threshold=5.0) is not None


def test_the_answer_cites_both_hops(seed_qa: QA) -> None:
    events = list(seed_qa.events(NESTED))
    retrieved = next(e for e in events if isinstance(e, Retrieved))
    answer = events[-1]
    assert isinstance(answer, Answer) and not answer.refused
    assert retrieved.query == answer.query == RESOLVED
    assert any(c.quote.startswith(BRIDGE) for c in answer.citations)  # the first hop's sentence, cited
    assert "two_hop" in " ".join(answer.timings_ms)
    for c in answer.citations:
        assert seed_qa.evidence.articles[c.doc_id].text[c.start:c.end] == c.quote
    off = seed_qa.with_settings(retrieval={"two_hop": False}).answer(NESTED)
    assert off.query == NESTED and not any(c.quote.startswith(BRIDGE) for c in off.citations)


def test_the_bridge_line_only_when_the_answer_did_not_cite_it(seed_qa: QA) -> None:
    hits = seed_qa.index.search(NESTED, seed_qa.settings.retrieval)
    hop = second_hop(NESTED, hits, seed_qa.index, seed_qa.evidence, seed_qa.settings.retrieval, refusal_threshold=-1)
    assert hop is not None
    n = hop.hits.index(hop.bridge.hit) + 1
    quoted = " ".join(hop.bridge.sentence.text.split())
    assert bridge_line(hop, "On Nov. 26 Hollande was in Moscow [1].") == f" {quoted} [{n}]"
    assert bridge_line(hop, f"Hollande settled it [{n}].") == ""
    assert bridge_line(hop, "The articles don't say: none of the retrieved passages answers this question.") == ""


def test_merge_keeps_the_second_hop_and_adds_the_bridge_chunk(seed_qa: QA) -> None:
    a, b, c = seed_qa.index.search("Mistral warships refund", seed_qa.settings.retrieval, k=3)
    assert merge_hits([a, b], c, k=2) == [a, b, c]
    assert merge_hits([a, b, c], b, k=3) == [a, b, c]


# -- a participle describes the noun: "the president elected in 2012" -------------------------------------------
PARTICIPLE = "Who did the French president elected in 2017 host at the Palace of Versailles?"


@pytest.mark.parametrize(("question", "span", "verb"), [
    # the small parser reads 'elected' as the main verb and 'visit' as a noun ('2012 visit')
    ("On what date did the French president elected in 2012 visit the Kremlin?", "the French president elected in 2012",
     "elect"),
    (PARTICIPLE, "the French president elected in 2017", "elect"),
    ("Who did the king killed at the Battle of Hastings succeed?", "the king killed at the Battle of Hastings", "kill"),
])
def test_a_participle_describes_the_noun_before_it(question: str, span: str, verb: str) -> None:
    d = describe(question)
    assert d is not None
    assert question[d.span.start:d.span.end] == d.span.text == span
    assert (d.verb, d.role) == (verb, "patient")  # the one elected: an active verb's object, a passive's subject


@pytest.mark.parametrize("question", [
    "What crisis broke out in 2009?",  # the past tense is the main verb: no do-question
    "When did Macron host Putin in Versailles?",
    "Who elected the French president in 2012?",
])
def test_a_main_verb_in_the_past_is_no_participle(question: str) -> None:
    assert describe(question) is None


def test_the_participle_bridge_is_the_name_it_describes(seed_qa: QA) -> None:
    # 'Newly elected French President Emmanuel Macron and ...': the participle modifies the name
    hits = seed_qa.index.search(PARTICIPLE, seed_qa.settings.retrieval)
    hop = second_hop(PARTICIPLE, hits, seed_qa.index, seed_qa.evidence, seed_qa.settings.retrieval,
                     refusal_threshold=-1)
    assert hop is not None and hop.bridge.text == "Emmanuel Macron"
    assert hop.bridge.sentence.text.startswith("Newly elected French President Emmanuel Macron")
    assert hop.query == "Who did Emmanuel Macron host at the Palace of Versailles?"


def test_two_hops_are_on_by_default(seed_qa: QA) -> None:
    # the default retrieval settings (no two_hop given): the nested question is searched with its bridge in place
    settings = get_settings({"index": {"dir": str(seed_qa.settings.index_dir())},
                             "answer": {"refusal_threshold": -1.0, "support_threshold": 0.3}})
    assert settings.retrieval.two_hop is True
    embedder = HashEmbedder()
    qa = QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)
    answer = qa.answer(NESTED)
    assert answer.query == RESOLVED and any(c.quote.startswith(BRIDGE) for c in answer.citations)


@pytest.mark.parametrize(("question", "description"), [
    # the description comes after the question's main verb: the clause runs to its end, "with NATO" included
    ("Which policy does the report attribute to the general who led the Kabul operation with NATO?",
     "the general who led the Kabul operation with NATO"),
    ("What did the senator say about the minister who signed the Hanover treaty with Germany?",
     "the minister who signed the Hanover treaty with Germany"),
    # the description is the do-question's subject: the clause still stops before the main verb read as a noun
    ("On what date did the president who was elected in 2012 visit the Kremlin?",
     "the president who was elected in 2012"),
])
def test_a_description_after_the_main_verb_keeps_its_whole_clause(question: str, description: str) -> None:
    d = describe(question)
    assert d is not None and d.span.text == description == question[d.span.start:d.span.end]


@pytest.mark.parametrize(("sentence", "bridge"), [
    ("German chancellor Helmut Kohl made a visit to Poland in May 1990 to sign the border treaty.", "Helmut Kohl"),
    ("Foreign minister Anna Berg paid a visit to Poland in May 1990, her first abroad.", "Anna Berg"),
    # the noun is not a light verb's object: nobody is said to have visited
    ("The minister's visit to Poland in May 1990 was cancelled by Anna Berg.", None),
])
def test_the_clause_verb_said_as_a_light_verb_and_its_noun(sentence: str, bridge: str | None) -> None:
    from qa import lexical
    from qa.analysis import load_pipeline
    from qa.multihop import _resolve

    question = "In which year did the chancellor who visited Poland in May 1990 resign from office?"
    d = describe(question)
    assert d is not None and (d.verb, d.role) == ("visit", "subject")
    assert _resolve(d, load_pipeline()(sentence), lexical.plain_tokens(question)) == bridge


def _bridge_of(question: str, sentence: str) -> str | None:
    from qa import lexical
    from qa.analysis import load_pipeline
    from qa.multihop import _resolve

    d = describe(question)
    assert d is not None
    return _resolve(d, load_pipeline()(sentence), lexical.plain_tokens(question))


@pytest.mark.parametrize(("question", "sentence", "bridge"), [
    # a phrasal verb asked, its particle compound said ('broke out' / 'the outbreak of')
    ("In which city did the treaty get signed in the year the war broke out?",
     "Since the outbreak of the war in 1914, the harbour had been closed to shipping.", "1914"),
    # a verb asked, its derived noun said, with the doer as possessor or 'by' phrase
    ("Where was the king who founded the abbey of Cluny buried?",
     "The founding of the abbey of Cluny by William of Aquitaine in 910 began a reform.", "William"),
    ("What did the scientist who invented the jet engine study?",
     "Frank Whittle, the inventor of the jet engine, was born in Coventry.", "Frank Whittle"),
    # the patient of a passive as the possessor of the noun ('Macron's election')
    ("What did the president who was elected in 2017 promise?",
     "Emmanuel Macron's election in 2017 surprised the established parties.", "Emmanuel Macron"),
])
def test_the_clause_verb_said_as_a_noun_in_the_sentence(question: str, sentence: str, bridge: str) -> None:
    assert _bridge_of(question, sentence) == bridge


@pytest.mark.parametrize(("question", "sentence"), [
    # the noun's phrase holds none of the clause's other words: which event started is not said
    ("In which city did the treaty get signed in the year the war broke out?",
     "The outbreak of cholera in 1832 killed thousands."),
    # a possessor that is no doer of the event ('the abbey's founder' names no one)
    ("Where was the king who founded the abbey of Cluny buried?",
     "The abbey of Cluny's founding charter was kept in Paris by Louis Halphen."),
])
def test_a_noun_of_the_verb_that_does_not_resolve_the_description(question: str, sentence: str) -> None:
    assert _bridge_of(question, sentence) is None


def test_no_second_hop_when_a_retrieved_sentence_says_the_description_as_a_noun() -> None:
    from qa.nominals import said_as_is

    d = describe("Who did France grant political asylum to on the day Putin visited?")
    assert d is not None and (d.head, d.verb, d.role) == ("day", "visit", "adverbial")
    said = "On the day of Putin’s visit, France granted political asylum to a victim of persecution."
    elsewhere = "Putin visited Macron at his summer residence in late August."
    assert said_as_is(d.head, d.verb, d.particle, d.clause, [elsewhere, said])
    # a sentence that resolves the description (its date) is no restatement of it: the second hop goes on
    assert not said_as_is(d.head, d.verb, d.particle, d.clause, [elsewhere])


@pytest.mark.parametrize(("question", "possessed", "sentence", "bridge"), [
    # a 'whose' clause: the bridge is the possessor of the noun it names, spelled either way
    ("What did the US president whose behaviour Stanovaya calls chaotic suggest about Russia?", "behaviour",
     "How will it tie in with U.S. President Donald Trump’s chaotic and unpredictable behavior?", "Donald Trump"),
    ("Where was the author whose novel won the prize born?", "novel",
     "Last year Hilary Mantel's novel won the Booker Prize.", "Hilary Mantel"),
])
def test_a_whose_clause_is_resolved_to_the_possessor(question: str, possessed: str, sentence: str,
                                                     bridge: str) -> None:
    d = describe(question)
    assert d is not None and (d.role, d.possessed) == ("possessor", possessed)
    assert _bridge_of(question, sentence) == bridge
    # another possessor's noun is no bridge
    assert _bridge_of(question, "The prize itself is said to be Hilary Mantel's.") is None


# The second hop's question asks about an event the article states as a noun: "What crisis broke out in 2009?"
# (the second hop of "What crisis broke out in the same year France returned to NATO?") and "since the outbreak of
# the euro crisis in 2009". The cosine of the two is low; the sentence answers by qa.stated's rules (qa.nominals).
EURO = "For since the outbreak of the euro crisis in 2009, France has chafed at Germany’s self-appointed leadership."
CHOLERA = "For since the outbreak of cholera in 2009, France has chafed at Germany’s self-appointed leadership."


@pytest.mark.parametrize(("question", "sentence", "answer"), [
    ("What crisis broke out in 2009?", EURO, "the euro crisis"),
    ("What war broke out in 1914?", "Since the outbreak of the Great War in 1914, the harbour lay idle.",
     "the Great War"),
    # a doer asked, the possessor of the verb's noun
    ("Who founded the abbey in 1120?", "Henry's founding of the abbey in 1120 gave the town its market.", "Henry"),
])
def test_the_question_verb_said_as_a_noun_answers(question: str, sentence: str, answer: str) -> None:
    from qa.evidence import Evidence, Sentence
    from qa.nominals import stated_event

    found = stated_event(question, [Sentence("a", 0, len(sentence), sentence)], Evidence({}, HashEmbedder()))
    assert found is not None and found[0] == 0 and found[1].text == answer
    assert sentence[found[1].start:found[1].end] == answer


@pytest.mark.parametrize(("question", "sentence"), [
    ("What crisis broke out in 2009?", CHOLERA),  # another event broke out: no crisis is named
    ("What crisis broke out in 2009?", EURO.replace("2009", "2011")),  # another year
    ("What crisis broke out in 2009?", "Since the outbreak of the crisis in 2009, France has chafed at Germany."),
    ("Who founded the abbey in 1120?", "The founding of the abbey in 1120 gave the town its market."),  # no doer
    ("What crisis ended in 2009?", EURO),  # the sentence says another verb's noun
])
def test_a_noun_of_the_question_verb_that_does_not_answer(question: str, sentence: str) -> None:
    from qa.evidence import Evidence, Sentence
    from qa.nominals import stated_event

    assert stated_event(question, [Sentence("a", 0, len(sentence), sentence)], Evidence({}, HashEmbedder())) is None


def _noun_qa(tmp_path: Path, articles: dict[str, str]) -> QA:
    from corpus.types import Article, ArticleMeta, text_hash

    embedder = HashEmbedder()
    # a threshold no sentence reaches: only a rule that answers below it can answer
    settings = get_settings({"index": {"dir": str(tmp_path / "index")}, "answer": {"refusal_threshold": 0.99}})
    arts = [Article(k, k, v, ArticleMeta(), text_hash(v)) for k, v in articles.items()]
    build_index(arts, index_dir=settings.index_dir(), embedder=embedder, chunking=settings.chunking,
                index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


@pytest.mark.parametrize(("sentence", "answer"), [(EURO, "the euro crisis"), (CHOLERA, None)])
def test_the_generator_answers_a_verb_said_as_a_noun_below_the_threshold(
        tmp_path: Path, sentence: str, answer: str | None) -> None:
    qa = _noun_qa(tmp_path, {"europe": sentence + " Paris and Berlin argue about budgets every spring."})
    got = qa.answer("What crisis broke out in 2009?")
    if answer is None:
        assert got.short_answer is None and got.text.startswith("The articles don't say")
    else:
        assert got.short_answer is not None and got.short_answer.text == answer
        assert got.citations[0].quote.startswith(sentence[:40])


def test_the_second_hop_searches_the_question_verb_as_a_noun(tmp_path: Path) -> None:
    # the second hop's question ('What crisis broke out in 2009?') finds the chunk that says the crisis broke out
    # ahead of the one that says its outbreak: the nouns of 'broke out' ('outbreak') are searched too
    qa = _noun_qa(tmp_path, {
        "nato": "France had recently returned to NATO’s command structure in 2009, after forty years in exile.",
        "europe": EURO + " Paris and Berlin argue about budgets every spring.",
        "balkans": "A crisis broke out in the Balkans, and another crisis broke out in Asia when the markets fell.",
    })
    qa.settings.retrieval.top_k = 1
    got = qa.answer("What crisis broke out in the same year France returned to NATO’s command structure?")
    assert got.query == "What crisis broke out in 2009?"
    assert got.short_answer is not None and got.short_answer.text == "the euro crisis"


@pytest.mark.parametrize(("sentence", "kept"), [(EURO, True), (CHOLERA, False)])
def test_the_refusal_guard_keeps_a_hop_that_states_the_verb_as_a_noun(
        tmp_path: Path, sentence: str, kept: bool) -> None:
    from qa.multihop import _best_cosine

    question = "What crisis broke out in the same year France returned to NATO’s command structure?"
    qa = _noun_qa(tmp_path, {
        "nato": "France had recently returned to NATO’s command structure in 2009, after forty years in exile.",
        "europe": sentence + " Paris and Berlin argue about budgets every spring.",
        "quiz": "Readers asked what crisis broke out in the same year France returned to NATO’s command structure.",
    })
    hits = qa.index.search(question, qa.settings.retrieval)
    hop = second_hop(question, hits, qa.index, qa.evidence, qa.settings.retrieval, refusal_threshold=-1)
    assert hop is not None and hop.query == "What crisis broke out in 2009?"
    first, second = _best_cosine(question, hits, qa.evidence), _best_cosine(hop.query, hop.hits, qa.evidence)
    assert second < first  # a threshold between them: the second hop alone would be refused
    guarded = second_hop(question, hits, qa.index, qa.evidence, qa.settings.retrieval,
                         refusal_threshold=(first + second) / 2)
    assert (guarded is not None) is kept
