"""What a refusal says (issue 12 item 2): the missing answer first, in a plain clause made from the question, then the
closest sentence, quoted and cited, and which of the question's names or dates it leaves out, truly: a demonym
("French") mentions its place ("France"). Real spaCy parses; the HashEmbedder only ranks sentences."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import answerability
from qa.cite import cite
from qa.config import AnswerSettings
from qa.evidence import Evidence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.lexical import adjectival_base, same_place
from qa.pipeline import is_refusal
from qa.refusal_text import closest_quoted, embedded, refusal

PLACES = ["France", "England", "Scotland", "Britain", "Spain", "Afghanistan", "Kazakhstan", "Netherlands",
          "Switzerland", "Poland", "Paris"]


@pytest.mark.parametrize(("word", "base"), [
    ("French", "France"),
    ("Spanish", "Spain"),
    ("Parisian", "Paris"),
    # stems that differ, by rule: the name drops an ending its adjective does not have
    ("English", "England"),
    ("Scottish", "Scotland"),
    ("British", "Britain"),
    ("Afghan", "Afghanistan"),
    ("Kazakh", "Kazakhstan"),
    # what no rule on the stem reaches, WordNet's pertainyms give (qa/wordnet.py; tests/qa/test_wordnet.py)
    ("Dutch", "Netherlands"),
    ("Swiss", "Switzerland"),
    ("Polish", "Poland"),  # 'Po-' is too short a stem for the rule
    ("Persons", None),
])
def test_a_demonym_is_read_by_rule_from_the_stem(word: str, base: str | None) -> None:
    assert adjectival_base(word, PLACES) == base


def test_same_place_works_both_ways_and_on_folded_words() -> None:
    assert same_place("french", "france") and same_place("france", "french")
    assert same_place("english", "england") and not same_place("france", "franchise")
    assert not same_place("france", "france")  # the same word is not its own demonym (same_word covers it)


def test_a_demonym_mentions_its_place_as_a_constraint() -> None:
    analysis = answerability.analyze("What was the name of the Alsatian puppy Russia sent to France?")
    sentence = ("Russia was quick to seize the opportunity the Paris attacks created: it sent an Alsatian puppy to "
                "replace the police dog killed when French commandos crushed the terrorist nest.")
    assert answerability.unmet(analysis, sentence) == ()
    assert answerability.unmet(analysis, "Russia sent an Alsatian puppy to Germany.") == ("France",)


@pytest.mark.parametrize(("question", "clause"), [
    ("Who won the 2018 FIFA World Cup?", "who won the 2018 FIFA World Cup"),  # the wh-word is the subject
    ("How many people were injured in the attacks?", "how many people were injured in the attacks"),
    ("Which company built the Mistral ships?", "which company built the Mistral ships"),
    ("Who was the Russian ambassador to France in 2017?", "who the Russian ambassador to France in 2017 was"),
    ("What is the population of Moscow?", "what the population of Moscow is"),
    ("Where did Macron receive Putin in 2019?", "where Macron received Putin in 2019"),  # 'did' into the verb
    ("When did Gorbachev make his second visit to France?", "when Gorbachev made his second visit to France"),
    ("When did France go to war?", "when France went to war"),  # the past, not the participle 'gone'
    ("When did the talks begin?", "when the talks began"),
    ("What did Putin say at the news conference?", "what Putin said at the news conference"),
    ("In which city did the ministers meet Lavrov in 2019?", "in which city the ministers met Lavrov in 2019"),
    ("What percentage of the vote did Macron win in 2017?", "what percentage of the vote Macron won in 2017"),
    ("How many people does Moscow have?", "how many people Moscow has"),
    ("When was the Alsatian puppy born?", "when the Alsatian puppy was born"),
    ("When was the Franco-Russian civic forum launched?", "when the Franco-Russian civic forum was launched"),
    ("Where has Putin been buried?", "where Putin has been buried"),
    ("When will Macron visit Moscow?", "when Macron will visit Moscow"),
    ("Did Macron visit Moscow in 2018?", "whether Macron visited Moscow in 2018"),
    ("Were the Mistral ships sold to Egypt?", "whether the Mistral ships were sold to Egypt"),
    ("Is Putin popular in France?", "whether Putin is popular in France"),
    ("When did the archduke die?", "when the archduke died"),  # 'dying' is a spelling change, not a past
    ("When did France put sanctions on Russia?", "when France put sanctions on Russia"),  # 'putting': 'put'
    ("Who did Alexander I marry?", "who Alexander I married"),  # a regnal 'I' is a name, not the asker
    # the passive's verb, after the subject and its adverbs; asked 'what', only a participle that ends the question
    ("When was the scale to measure the Rhine introduced?", "when the scale to measure the Rhine was introduced"),
    ("What year was the error first corrected?", "what year the error was first corrected"),
    ("What is the largest port in Europe called?", "what the largest port in Europe is called"),
    ("What was the price paid for the ships?", "what the price paid for the ships was"),
    # a name as subject ends with its own words, whatever the parser hangs on it
    ("When was Hollande at the White House in November 2015?", "when Hollande was at the White House in November 2015"),
    ("What continent are the Canary Islands off?", "what continent the Canary Islands are off"),
    # a participle inside the wh-phrase is not its verb: never 'how many veto-wielding members does Smith mention'
    ("How many veto-wielding members did Smith describe?", "how many veto-wielding members Smith described"),
    # what cannot be said plainly is not said: a verb whose past may be itself, a question about 'I'
    ("How much did the Mistral ships cost Egypt?", None),
    ("How do I make a sourdough starter?", None),
])
def test_a_question_becomes_the_clause_of_a_statement(question: str, clause: str | None) -> None:
    assert embedded(question) == clause


TEXT = (
    "Summit at Versailles\n\n"
    "France's new president, Emmanuel Macron, hosted his Russian counterpart Vladimir Putin at the Palace of "
    "Versailles on May 29, 2017. Russia was quick to seize the opportunity the Paris attacks created: it sent an "
    "Alsatian puppy to replace the police dog killed when French commandos crushed the terrorist nest. "
    "The exhibition on Peter the Great ran in the Great Trianon until the end of September."
)


@pytest.fixture(scope="module")
def setup() -> tuple[Evidence, list[Hit]]:
    art = Article("v.txt", "Summit at Versailles", TEXT)
    start = TEXT.index("France's")
    return Evidence({"v.txt": art}, HashEmbedder()), [Hit("v.txt", start, len(TEXT), TEXT[start:], 1.0,
                                                          title=art.title)]


def _refusal(setup: tuple[Evidence, list[Hit]], question: str, threshold: float = -1.0) -> str:
    ev, hits = setup
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=threshold, answerability=True, answer_margin=1.0))
    raw = "".join(gen.generate(GenerationRequest(question, question, hits, [], ev)))
    assert is_refusal(raw), raw
    return raw


def test_the_puppy_refusal_names_the_missing_name_first_and_not_a_place_the_sentence_mentions(
        setup: tuple[Evidence, list[Hit]]) -> None:
    raw = _refusal(setup, "What was the name of the Alsatian puppy Russia sent to France?")
    head, _, quote = raw.partition(": ")
    # what the articles do say about the puppy, quoted whole (it says 'French': it mentions France)
    assert head == "The articles don't say the name of the Alsatian puppy; they say"
    assert quote.startswith("Russia was quick") and "Alsatian puppy" in quote and quote.endswith("[1]")
    ev, hits = setup
    result = cite(raw, hits, ev, support_threshold=0.3)
    assert len(result.citations) == 1 and "Alsatian puppy" in result.citations[0].quote
    assert result.claim_ok == (True,)  # the sentence it quotes is the cited one


def test_a_refusal_says_what_is_missing_then_what_the_closest_sentence_leaves_out(
        setup: tuple[Evidence, list[Hit]]) -> None:
    raw = _refusal(setup, "Where did Macron receive Putin in 2019?")
    assert raw.startswith("The articles don't say where Macron received Putin in 2019; "
                          "the closest they come does not mention 2019: ")
    # the counted noun is said as the question says it
    raw = _refusal(setup, "How many visitors attended the Peter the Great exhibition at the Great Trianon?")
    assert "the closest they come does not mention visitors: " in raw


def test_a_refusal_by_the_threshold_says_what_is_missing_when_it_can(setup: tuple[Evidence, list[Hit]]) -> None:
    raw = _refusal(setup, "Who won the 2018 FIFA World Cup?", threshold=0.99)
    assert raw.startswith("The articles don't say who won the 2018 FIFA World Cup: none of the retrieved passages")
    # a question it cannot turn into a clause keeps the plain refusal
    raw = _refusal(setup, "How do I make a sourdough starter?", threshold=0.99)
    assert raw.startswith("The articles don't say: none of the retrieved passages answers this question.")


def test_what_they_say_about_the_thing_asked_or_the_closest_they_come(setup: tuple[Evidence, list[Hit]]) -> None:
    # the closest sentence is not about an ambassador: it is only the closest they come
    raw = _refusal(setup, "Who was the Russian ambassador to France?")
    assert raw.startswith("The articles don't say who the Russian ambassador to France was; the closest they come is: ")
    assert refusal("what the puppy was called", "Russia sent a puppy.", 1, about=True) == (
        "The articles don't say what the puppy was called; they say: Russia sent a puppy. [1]")


def test_refusal_lists_every_constraint_left_out() -> None:
    text = refusal("who the ambassador was", "Putin spoke.", 2, unmet=("France", "2017"))
    assert text == ("The articles don't say who the ambassador was; the closest they come does not mention France "
                    "or 2017: Putin spoke. [2]")
    assert refusal("who won", None, None).startswith("The articles don't say who won: none of the retrieved")


def test_the_closest_sentence_of_a_refusal_is_checked_verbatim_not_its_framing(
        setup: tuple[Evidence, list[Hit]]) -> None:
    ev, hits = setup
    # '2019' and 'Putin' are in the refusal's own words, not in the quote: the quoted sentence is what is checked
    raw = _refusal(setup, "Where did Macron receive Putin in 2019?")
    result = cite(raw, hits, ev, support_threshold=0.3)
    assert result.claim_ok == (True,) and result.unsupported == 0 and result.citations[0].supported
    # a refusal that quotes words the cited chunk does not hold is not supported
    forged = ("The articles don't say where Macron received Putin in 2019; the closest they come is: Macron "
              "received Putin in Sochi. [1]")
    assert cite(forged, hits, ev, support_threshold=0.3).claim_ok == (False,)


@pytest.mark.parametrize("question", ["", "?", "   ", "What", "??? who", "who?" * 300, "Qui a gagné la coupe ?",
                                      "when\x00did it", "Did?", "How many"])
def test_odd_questions_are_said_plainly_or_not_at_all(question: str) -> None:
    clause = embedded(question)
    assert clause is None or (clause and "?" not in clause)


def test_a_question_that_cannot_be_turned_is_quoted_not_guessed_at(setup: tuple[Evidence, list[Hit]]) -> None:
    raw = _refusal(setup, "How much did the Peter the Great exhibition cost?")  # 'cost': its past may be itself
    assert raw.startswith("The articles don't say the answer to \u201cHow much did the Peter the Great exhibition "
                          "cost\u201d; ")
    ev, hits = setup
    result = cite(raw, hits, ev, support_threshold=0.3)
    assert result.claim_ok == (True,)  # one claim: no '?' inside it to end a sentence


def test_a_refusal_for_a_swapped_word_says_what_differs_and_its_quote_is_checked(
        setup: tuple[Evidence, list[Hit]]) -> None:
    raw = _refusal(setup, "Who hosted his Danish counterpart at the Palace of Versailles?")
    assert raw.startswith("The articles don't say who hosted his Danish counterpart at the Palace of Versailles; the "
                          "closest they come differs (the question's modifier of 'counterpart' is Danish, the "
                          "sentence's Russian): France's new president")
    ev, hits = setup
    result = cite(raw, hits, ev, support_threshold=0.3)
    assert result.claim_ok == (True,) and result.unsupported == 0  # the quote is checked, not the framing


def test_what_differs_is_said_without_marks_that_would_cut_the_quote() -> None:
    text = refusal("what the width of the Elbe is", "The width of the Weser (a river): 300 m.", 3,
                   unmet=("Elbe",), differs="the question's 'of' phrase of 'width' is the Elbe (river): the sentence's")
    assert text == ("The articles don't say what the width of the Elbe is; the closest they come differs (the "
                    "question's 'of' phrase of 'width' is the Elbe river the sentence's): The width of the Weser "
                    "(a river): 300 m. [3]")
    assert closest_quoted(text) == "The width of the Weser (a river): 300 m."
