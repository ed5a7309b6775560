"""The follow-up rewrite (qa/rewrite.py): which questions are follow-ups, the choice of a pronoun's referent on
hand-made mentions and the small text helpers (fast); references resolved on the real spaCy parse over a varied
list of follow-ups, none of them from the eval sets (slow)."""

from __future__ import annotations

import pytest

from qa.rewrite import (
    DATE,
    GROUP,
    PERSON,
    PLACE,
    THING,
    Mention,
    first_sentence,
    is_followup,
    pick_referent,
    rewrite_followup,
)
from qa.rewrite import _gerund as gerund

HISTORY = [
    {"role": "user", "content": "Which French ministers visited Moscow in September 2019?"},
    {"role": "assistant", "content": "Florence Parly and Jean-Yves Le Drian visited Moscow. [1]"},
]


def test_followups_are_told_from_standalone_questions() -> None:
    assert is_followup("And who did they meet on the Russian side?", HISTORY)
    assert is_followup("And in 2020?", HISTORY)
    assert is_followup("What did the ministers discuss?", HISTORY)  # a description of an earlier turn's noun
    assert not is_followup("How many people were killed in the Paris attacks?", HISTORY)
    assert not is_followup("And who did they meet?", None)
    assert rewrite_followup("And who did they meet?", None) == "And who did they meet?"
    q = "How many people were killed in the Paris attacks?"
    assert rewrite_followup(q, HISTORY) == q  # searched as asked, without loading a parser


def test_first_sentence_of_the_previous_answer_without_markers() -> None:
    assert first_sentence("Macron hosted Putin at Versailles. [1] They talked about Syria. [2]") == (
        "Macron hosted Putin at Versailles.")
    assert first_sentence("He called for “a broad coalition.” Western leaders scoffed. [1]") == (
        "He called for “a broad coalition.”")
    assert first_sentence("The articles don't say who won.") == ""


MACRON = Mention("Macron", PERSON)
PUTIN = Mention("Putin", PERSON)
SMITH = Mention("Julianne Smith", PERSON, answers=True)
FRANCE_RUSSIA = Mention("France and Russia", GROUP, plural=True)
RUSSIA = Mention("Russia", PLACE)
MINISTERS = Mention("Florence Parly and Jean-Yves Le Drian", GROUP, plural=True, answers=True)
PUPPY = Mention("the Alsatian puppy", THING, head="puppy", answers=True)
ATTACKS = Mention("the Paris attacks", THING, head="attack", plural=True)
MAY = Mention("May 2017", DATE, prep="in")


def test_pronouns_pick_the_most_salient_mention_that_agrees() -> None:
    assert pick_referent("he", [MAY, MACRON, PUTIN]) == MACRON
    assert pick_referent("his", [RUSSIA, MACRON], possessive=True) == MACRON
    assert pick_referent("it", [MACRON, ATTACKS, PUPPY, RUSSIA]) == PUPPY
    assert pick_referent("it", [MACRON, RUSSIA]) == RUSSIA  # no thing named: a country will do
    assert pick_referent("they", [RUSSIA, ATTACKS, FRANCE_RUSSIA]) == FRANCE_RUSSIA  # coordinated names first
    assert pick_referent("they", [RUSSIA, ATTACKS], subject=True) == RUSSIA  # a doer: the country
    assert pick_referent("them", [RUSSIA, ATTACKS]) == ATTACKS  # an object: the plural noun
    assert pick_referent("it", [Mention("Leopard", THING), RUSSIA], subject=True) == RUSSIA
    assert pick_referent("they", [Mention("French ministers", THING, head="minister", plural=True), MINISTERS]) == (
        MINISTERS)  # the people the previous answer named, before the question's "French ministers"
    assert pick_referent("she", [MAY, RUSSIA]) is None  # no person: left as it is
    assert pick_referent("there", [RUSSIA]) is None  # not a pronoun this picks


def test_ambiguous_references_are_left_alone() -> None:
    # "What message did she want him to carry?" after a question naming Obama and Hollande: "him" is either
    mentions = [SMITH, Mention("Obama", PERSON), Mention("Hollande", PERSON)]
    assert pick_referent("she", mentions) == SMITH
    assert pick_referent("him", mentions, used={"Julianne Smith"}) is None
    assert pick_referent("him", [SMITH, PUTIN], used={"Julianne Smith"}) == PUTIN
    # "When did the ships reach their new owner?": their = the ships
    assert pick_referent("their", [FRANCE_RUSSIA], possessive=True, own_subject=True) is None


@pytest.mark.parametrize("lemma, form", [("call", "calling"), ("invade", "invading"), ("stop", "stopping"),
                                         ("die", "dying"), ("see", "seeing"), ("visit", "visiting"),
                                         ("turn", "turning"), ("meet", "meeting")])
def test_gerund(lemma: str, form: str) -> None:
    assert gerund(lemma) == form


# (previous question, previous answer, follow-up, the standalone question): none from the eval sets
FOLLOWUPS = [
    # a refused previous answer names nobody: "they" are those the previous question asked about
    ("Which Dutch engineers designed the Oosterschelde barrier?", "The articles don't say: none of the retrieved "
     "passages answers this question.", "And when did they finish it?",
     "When did the Dutch engineers finish the Oosterschelde barrier?"),
    # pronouns by agreement
    ("Where did Macron receive Putin in 2017?", "At the Palace of Versailles, on May 29, 2017.",
     "And what did he say about RT and Sputnik?", "What did Macron say about RT and Sputnik?"),
    ("Who is the chancellor of Germany?", "Angela Merkel is the chancellor of Germany.",
     "When was she first elected?", "When was Angela Merkel first elected?"),
    ("Who founded the company Tesla?", "Martin Eberhard and Marc Tarpenning founded Tesla in 2003.",
     "Why did they leave it?", "Why did Martin Eberhard and Marc Tarpenning leave the company?"),
    ("When did Japan and South Korea sign the fisheries agreement?", "They signed it in 1998.",
     "And when did they renew the agreement?", "When did Japan and South Korea renew the agreement?"),
    ("What did Germany send Ukraine in 2022?", "Germany sent Leopard tanks.",
     "How many did it send?", "How many did Germany send?"),
    ("Who did Hollande meet at the White House in November 2015?", "He met Barack Obama.",
     "What did they agree on?", "What did Barack Obama and Hollande agree on?"),
    ("When did Napoleon invade Russia?", "In 1812.", "How many soldiers did he lose?",
     "How many soldiers did Napoleon lose?"),
    ("Who was the US ambassador to France in 2015?", "Jane Hartley.",
     "What did she say about the attacks?", "What did Jane Hartley say about the attacks?"),
    ("What sanctions did the EU impose on Russia in 2014?", "Economic sanctions over Ukraine.",
     "Did Italy support them?", "Did Italy support economic sanctions over Ukraine?"),
    ("What exhibition opened at the Louvre in 2019?", "An exhibition dedicated to Leonardo da Vinci.",
     "How many visitors did it attract?",
     "How many visitors did the exhibition dedicated to Leonardo da Vinci attract?"),
    # there, then, at the time, on that occasion
    ("Where did the G20 summit take place in 2016?", "In Hangzhou, China.",
     "Who attended the summit there?", "Who attended the G20 summit in Hangzhou?"),
    ("When did Obama visit Havana?", "In March 2016.", "Who did he meet then?", "Who did Obama meet in March 2016?"),
    ("Who won the 2017 French presidential election?", "Emmanuel Macron won it.",
     "How old was he at the time?", "How old was Emmanuel Macron in 2017?"),
    ("Where did Putin and Macron meet in August 2019?", "At Bregancon.",
     "What did they discuss on that occasion?", "What did Putin and Macron discuss in August 2019?"),
    ("Where was the 2019 G7 summit held?", "In Biarritz.", "What did Trump propose there?",
     "What did Trump propose in Biarritz?"),
    # definite descriptions
    ("Who was the French foreign minister in 2019?", "Jean-Yves Le Drian.",
     "Who was the minister's German counterpart?", "Who was Jean-Yves Le Drian's German counterpart?"),
    ("When was the treaty of Rome signed?", "The treaty was signed on March 25, 1957.",
     "Which countries signed the treaty?", "Which countries signed the treaty of Rome?"),
    ("What did the 2020 Pew survey say about trust in the EU?", "Trust had fallen to 40%.",
     "What did the same survey say about NATO?", "What did the 2020 Pew survey say about NATO?"),
    ("When did Germany announce the gas pipeline project?", "In 2005.",
     "Who opposed that project?", "Who opposed the gas pipeline project?"),
    ("Which company built the Mistral ships?", "DCNS built them in Saint-Nazaire.",
     "When were the ships delivered?", "When were the Mistral ships delivered?"),
    ("Where did the Normandy format talks take place in 2019?", "In Paris, at the Elysee Palace.",
     "Who hosted the talks?", "Who hosted the Normandy format talks?"),
    # an event referred to by "that"
    ("What did Putin call for at the UN in 2015?", "He called for a broad coalition against terrorism.",
     "How did Obama react to that?", "How did Obama react to Putin calling for a broad coalition against terrorism?"),
    ("When did the Soviet Union invade Afghanistan?", "In December 1979.", "What did that lead to?",
     "What did the Soviet Union invading Afghanistan in December 1979 lead to?"),
    # ellipsis
    ("Where did Merkel meet Erdogan in 2018?", "In Berlin.", "And in 2019?", "Where did Merkel meet Erdogan in 2019?"),
    ("What did Spain export to Morocco in 2015?", "Mostly machinery.", "What about Portugal?",
     "What did Portugal export to Morocco in 2015?"),
    ("What did Macron say about NATO?", "He called NATO brain-dead.", "And Merkel?", "What did Merkel say about NATO?"),
    ("When did Chirac visit Moscow?", "In 2003.", "And Sarkozy?", "When did Sarkozy visit Moscow?"),
    ("Where did Macron host Putin in May 2017?", "At Versailles.", "Why?", "Why did Macron host Putin in May 2017?"),
    # a bare "go"/"come" stands for the previous question's verb phrase (it said what was done, and where)
    ("When did Obama visit Havana?", "In March 2016.", "Why did he go?", "Why did Obama visit Havana?"),
    ("When did Merkel meet Erdogan in Ankara?", "In October 2015.", "Why did she go?",
     "Why did Merkel meet Erdogan in Ankara?"),
    ("When did the Dutch king visit Jakarta?", "In March 2020.", "And why did he come?",
     "Why did the Dutch king visit Jakarta?"),
    ("When did Obama visit Havana?", "In March 2016.", "Why did he go there?", "Why did Obama visit Havana?"),
    # a possessive whose question has a subject of its own that is no person: "his" is still the earlier person
    ("When did Obama visit Havana?", "In March 2016.", "What was the purpose of his visit?",
     "What was the purpose of Obama’s visit?"),
    ("When did the Dutch king visit Jakarta?", "In March 2020.", "What was the aim of his trip?",
     "What was the aim of the Dutch king’s trip?"),
    # another wh-word for a "how much/many" question: the whole wh-phrase goes, the counted noun stays
    ("How much did Germany pay Greece?", "About 2 billion euros.", "When?", "When did Germany pay Greece?"),
    ("How many soldiers did Napoleon lose in Russia?", "About 400,000.", "Why?",
     "Why did Napoleon lose soldiers in Russia?"),
    ("How many people were killed in the floods?", "About 200.", "Where?", "Where were people killed in the floods?"),
    # after a question whose wh-word was the object, the previous answer takes its place (after a first object)
    ("What did Macron criticise at the press conference?", "RT and Sputnik.", "Why?",
     "Why did Macron criticise RT and Sputnik at the press conference?"),
    ("What did the EU impose on Russia in 2014?", "Economic sanctions.", "Why?",
     "Why did the EU impose economic sanctions on Russia in 2014?"),
    ("What did Germany send Ukraine in 2022?", "Two hundred tanks.", "Why?",
     "Why did Germany send Ukraine two hundred tanks in 2022?"),
    # the name of an ellipsis replaces the earlier name of its kind even when the parse did not tag that one
    ("When did Hollande visit Berlin?", "In 2012.", "And Sarkozy?", "When did Sarkozy visit Berlin?"),
    # not a bare one, or no verb phrase of a do-question to stand for: the pronoun alone is resolved
    ("When did Obama visit Havana?", "In March 2016.", "Who did he go with?", "Who did Obama go with?"),
    ("Who won the 2017 French presidential election?", "Emmanuel Macron won it.", "Where did he go?",
     "Where did Emmanuel Macron go?"),
    # left as asked: nothing to resolve, or ambiguous
    ("Who wrote that Obama should send Hollande to Moscow?", "Julianne Smith.",
     "What message did she want him to carry?", "What message did Julianne Smith want him to carry?"),
    ("How much did France refund Russia?", "Almost €900 million.", "And when did the ships reach their new owner?",
     "When did the ships reach their new owner?"),
]


@pytest.mark.slow
@pytest.mark.parametrize("prev_q, prev_a, question, standalone", FOLLOWUPS, ids=[f[2] for f in FOLLOWUPS])
def test_followups_resolve_into_a_standalone_question(prev_q: str, prev_a: str, question: str, standalone: str) -> None:
    history = [{"role": "user", "content": prev_q}, {"role": "assistant", "content": prev_a + " [1]"}]
    assert rewrite_followup(question, history) == standalone


@pytest.mark.slow
def test_a_chain_of_followups_resolves_the_previous_one_first() -> None:
    history = [
        {"role": "user", "content": "Where did Macron receive Putin in 2017?"},
        {"role": "assistant", "content": "At the Palace of Versailles. [1]"},
        {"role": "user", "content": "And in 2019?"},
        {"role": "assistant", "content": "At Bregancon. [1]"},
    ]
    # "then" is 2019, which only the resolved previous question ("Where did Macron receive Putin in 2019?") gives
    assert rewrite_followup("What did he call for then?", history) == "What did Macron call for in 2019?"


@pytest.mark.slow
def test_a_bare_go_stands_only_for_what_someone_did() -> None:
    from qa.analysis import load_pipeline
    from qa.followup_verbs import predicate

    nlp = load_pipeline()
    assert predicate(nlp("When did Obama visit Havana?")) == "visit Havana"
    assert predicate(nlp("When did the Dutch king visit Jakarta in 2020?")) == "visit Jakarta in 2020"
    assert predicate(nlp("Where did the G20 summit take place in 2016?")) == ""  # a summit goes nowhere
    assert predicate(nlp("Who visited Havana in 2016?")) == ""  # no do-question: nobody to go
