"""derive_title: a headline-like title from the first sentence of an article that states none."""

from __future__ import annotations

import pytest

from corpus.meta import DERIVED_TITLE_MAX_CHARS, derive_title, extract_metadata


@pytest.mark.parametrize(
    ("sentence", "title"),
    [
        # the two seed articles without a headline
        (
            "The French leader’s visit to Moscow is important because it embodies the kind of diplomacy that is "
            "required to restore harmony to the West’s relationship with Russia: a pragmatic exchange between "
            "equals based on interests not ideology.",
            "The French leader’s visit to Moscow is important",
        ),
        (
            "France’s new president, Emmanuel Macron, hosted his Russian counterpart Vladimir Putin at the Palace "
            "of Versailles on May 29, 2017.",
            "Emmanuel Macron hosted his Russian counterpart Vladimir Putin at the Palace of Versailles",
        ),
        # an attribution, a second clause, a dash, a trailing date or weekday are not the title
        ("The ministers agreed on a ceasefire, said a spokesman in Geneva.", "The ministers agreed on a ceasefire"),
        ("Putin met Macron at Brégançon; they disagreed about Ukraine.", "Putin met Macron at Brégançon"),
        ("Sanctions stay in place — for now, officials say.", "Sanctions stay in place"),
        ("Hollande flew to Moscow on Thursday, November 26, 2015.", "Hollande flew to Moscow"),
        ("Lavrov received Le Drian in Moscow in 2019.", "Lavrov received Le Drian in Moscow"),
        ("It rained.", "It rained"),
        # a break that would leave a stub is not taken
        ("Critics, who were many, objected.", "Critics, who were many, objected"),
    ],
)
def test_main_clause_of_the_first_sentence(sentence: str, title: str) -> None:
    assert derive_title(sentence) == title


def test_long_clause_is_cut_before_a_phrase_on_a_word_boundary() -> None:
    sentence = (
        "The foreign ministers of France and Russia discussed the Minsk agreements with their German and "
        "Ukrainian counterparts in Paris."
    )
    title = derive_title(sentence)
    assert title == "The foreign ministers of France and Russia discussed the Minsk agreements"
    assert len(title) <= DERIVED_TITLE_MAX_CHARS and sentence.startswith(title)


def test_no_phrase_to_cut_before_ends_with_an_ellipsis_on_a_word_boundary() -> None:
    title = derive_title("Supercalifragilistic " * 10)
    assert len(title) <= DERIVED_TITLE_MAX_CHARS and title.endswith("Supercalifragilistic…")


def test_deterministic_and_used_only_without_a_stated_headline() -> None:
    body = "France’s new president, Emmanuel Macron, hosted Vladimir Putin at Versailles on May 29, 2017. More."
    assert extract_metadata(body, doc_id="a.txt")[0] == "Emmanuel Macron hosted Vladimir Putin at Versailles"
    assert extract_metadata(body, doc_id="a.txt") == extract_metadata(body, doc_id="a.txt")
    stated = "A Stated Headline\n\n" + body
    assert extract_metadata(stated, doc_id="a.txt")[0] == "A Stated Headline"
