"""Articles that give different values for the same thing (issue 12 item 6): the answer says so in words, "The
articles differ: one says A [1]; another says B [2].", and the support check accepts that sentence only when each
value stands verbatim in the quote of its own marker, from different articles, and the values differ. The CLI and
the chat show it unflagged. Real spaCy parses; the HashEmbedder only ranks sentences."""

from __future__ import annotations

import re

import pytest

from corpus.load import load_articles
from corpus.types import Article
from embeddings import HashEmbedder, Index, build_index
from embeddings.types import Hit
from qa import QA, get_settings
from qa.cite import cite, short_answer
from qa.config import AnswerSettings
from qa.conflict_text import sentence, values
from qa.evidence import Evidence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest

VERSAILLES = "Macron hosted Putin at the Palace of Versailles on May 29, 2017, to open an exhibition."
PARIS = "Macron and Putin met in Paris on May 29, 2017, for talks on Syria."
QUESTION = "Where did Macron meet Putin on May 29, 2017?"


def _two_articles(first: str = VERSAILLES, second: str = PARIS) -> tuple[Evidence, list[Hit]]:
    arts = {"a.txt": Article("a.txt", "A", first), "b.txt": Article("b.txt", "B", second)}
    return Evidence(arts, HashEmbedder()), [Hit("a.txt", 0, len(first), first, 1.0, title="A"),
                                            Hit("b.txt", 0, len(second), second, 0.9, title="B")]


def test_the_sentence_and_its_values_read_back() -> None:
    said = sentence([("the Palace of Versailles", 1), ("Paris", 2)])
    assert said == "The articles differ: one says the Palace of Versailles [1]; another says Paris [2]."
    assert values(said) == {1: "the Palace of Versailles", 2: "Paris"}
    assert values("The articles differ: one says Paris [1]; another says paris [2].") is None  # the same value
    assert values("The articles differ: one says Paris [1]; another says Versailles [1].") is None  # one marker
    assert values("The articles differ: one says Paris [1].") is None  # nothing to differ from
    assert values("Macron met Putin in Paris [1].") is None
    with pytest.raises(ValueError):
        sentence([("Paris", 1)])


def test_the_answer_says_the_articles_differ_each_value_cited_and_supported() -> None:
    ev, hits = _two_articles()
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answer_margin=1.0))
    raw = "".join(gen.generate(GenerationRequest(QUESTION, QUESTION, hits, [], ev)))
    result = cite(raw, hits, ev, support_threshold=0.3)
    opening = result.text.split(". ")[0] + "."
    found = values(opening)
    assert found is not None and sorted(found.values()) == ["Paris", "the Palace of Versailles"]
    assert result.claim_ok[0]  # the framing words do not fail the claim
    for n, value in found.items():  # each value is in the quote its own marker cites
        assert value in result.citations[n - 1].quote
    assert {c.doc_id for c in result.citations} == {"a.txt", "b.txt"} and all(c.supported for c in result.citations)
    # the sentences the values come from follow, cited with the same numbers
    assert result.text.count("[1]") == 2 and result.text.count("[2]") == 2
    short = short_answer(result.text, result.citations)
    assert short is not None and short.text == next(iter(found.values()))  # the first value stated
    article = ev.articles[short.doc_id].text
    assert article[short.start:short.end] == short.text


@pytest.mark.parametrize("raw", [
    # a value put against the other article's quote
    f"The articles differ: one says Paris [1]; another says the Palace of Versailles [2]. {VERSAILLES} [1]",
    # a value neither article gives
    f"The articles differ: one says the Palace of Versailles [1]; another says Lyon [2]. {VERSAILLES} [1]",
    # the same value twice is no disagreement
    "The articles differ: one says Putin [1]; another says Putin [2].",
])
def test_the_check_is_on_the_quoted_values_not_waived(raw: str) -> None:
    ev, hits = _two_articles()
    result = cite(raw, hits, ev, support_threshold=0.3)
    assert not result.claim_ok[0] and result.unsupported >= 1


def test_both_values_from_one_article_are_no_disagreement_between_articles() -> None:
    text = "Macron hosted Putin at the Palace of Versailles. Later they met in Paris."
    arts = {"a.txt": Article("a.txt", "A", text)}
    ev = Evidence(arts, HashEmbedder())
    hits = [Hit("a.txt", 0, 48, text[:48], 1.0, title="A"), Hit("a.txt", 49, len(text), text[49:], 0.9, title="A")]
    raw = "The articles differ: one says the Palace of Versailles [1]; another says Paris [2]."
    assert not cite(raw, hits, ev, support_threshold=0.3).claim_ok[0]


@pytest.fixture(scope="module")
def two_article_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    root = tmp_path_factory.mktemp("differ")
    (root / "articles").mkdir()
    (root / "articles" / "versailles.txt").write_text(f"Putin at Versailles\n\n{VERSAILLES}\n", encoding="utf-8")
    (root / "articles" / "paris.txt").write_text(f"Putin in Paris\n\n{PARIS}\n", encoding="utf-8")
    settings = get_settings({"index": {"dir": str(root / "index")},
                             "answer": {"refusal_threshold": -1.0, "answer_margin": 1.0}})
    embedder = HashEmbedder()
    build_index(load_articles([root / "articles"]).articles, index_dir=settings.index_dir(), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


def test_the_cli_and_the_chat_show_it_unflagged(two_article_qa: QA, capsys: pytest.CaptureFixture[str]) -> None:
    from ui.cli import _print_answer
    from ui.render import render_answer

    a = two_article_qa.answer(QUESTION)
    assert not a.refused and a.text.startswith("The articles differ: one says ")
    assert a.claims[0].supported and a.unsupported == 0 and a.short_answer is not None
    _print_answer(a)
    out = capsys.readouterr().out
    assert re.search(r"The articles differ: one says .+ \[\d\]; another says .+ \[\d\]\.", out)
    assert "unsupported" not in out
    html = render_answer(a.text, a.citations, claims=a.claims)
    assert "The articles differ: one says" in html and "cq-claim-unsupported" not in html
