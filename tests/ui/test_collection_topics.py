"""The collection line's topic: adjectival and demonym forms count as the name they derive from (French as
France), two leading places read as "A–B". Checked on small corpora unlike the seed articles."""

from __future__ import annotations

import pytest

from qa.library import ArticleInfo
from ui.collection import adjectival_base, describe_collection, topic_names, topic_phrase

PLACES = ["France", "China", "Spain", "Paris", "Europe", "Israel", "Germany", "Russia", "Japan", "Turkey", "Kenya"]


@pytest.mark.parametrize(
    ("word", "base"),
    [
        ("French", "France"),
        ("Chinese", "China"),
        ("Spanish", "Spain"),
        ("Parisian", "Paris"),
        ("European", "Europe"),
        ("Israeli", "Israel"),
        ("German", "Germany"),
        ("Japanese", "Japan"),
        ("Turkish", "Turkey"),
        ("Parsons", None),  # shares Paris's consonants but is no adjectival form
        ("Putin", None),
        ("France", None),  # never its own base
        ("Kenyan", "Kenya"),  # too short a stem for the rule ("Kenya" has two consonants): WordNet's pertainym
    ],
)
def test_adjectival_base_is_a_rule_on_the_shared_stem(word: str, base: str | None) -> None:
    assert adjectival_base(word, PLACES) == base


def test_demonyms_fold_into_their_place_in_another_corpus() -> None:
    texts = [
        "Chinese officials met Japanese diplomats in Beijing. Tanaka spoke first.",
        "China and Japan signed the accord. Tanaka was pleased.",
        "The Japanese press praised the Chinese offer; Tanaka declined to comment.",
        "Japan said China would host the next round in Beijing.",
    ]
    assert topic_names(texts) == ["China", "Japan", "Tanaka"]  # not China, Chinese and Japan
    assert topic_phrase(texts) == "China\u2013Japan and Tanaka"


def test_a_demonym_counts_the_articles_that_use_only_it() -> None:
    texts = [
        "The French government met Merkel.",
        "French voters and Merkel.",
        "France replied to Merkel.",
        "Merkel spoke.",
    ]
    # France alone is in one text; with French it is in three, and ranks after Merkel (four)
    assert topic_names(texts) == ["Merkel", "France"]
    assert topic_phrase(texts) == "Merkel and France"  # one place: no dash


def test_people_are_never_joined_with_a_dash() -> None:
    texts = ["Merkel met Macron.", "Macron called Merkel.", "Merkel and Macron spoke again."]
    assert topic_phrase(texts) == "Macron and Merkel"  # a tie: alphabetical
    assert topic_phrase(["alpha beta", "gamma"]) is None


def test_names_that_only_look_alike_stay_apart() -> None:
    texts = ["Parsons met Paris officials.", "In Paris, Parsons spoke.", "Parsons left Paris."]
    assert sorted(topic_names(texts)) == ["Paris", "Parsons"]


def test_describe_collection_names_two_places_as_a_pair() -> None:
    infos = [
        ArticleInfo("a", "Spanish fishing boats in Moroccan waters", None, None, "2021-04-02", 1),
        ArticleInfo("b", "Spain and Morocco renew the fishing deal", None, None, "2022-06-01", 1),
        ArticleInfo("c", "Morocco asks Spain for more", None, None, None, 1),
    ]
    line = describe_collection(infos, lambda d: "")
    assert line == "Loaded: **3 articles** \u00b7 mostly about Morocco\u2013Spain \u00b7 dated 2021\u20132022"
