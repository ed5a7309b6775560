"""split_sentences: abbreviations, initials, numbers, quotes, ellipses, headings, bullets, real seed sentences."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.clean import clean_text
from corpus.sentences import split_sentences


def sents(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def check_invariants(text: str) -> None:
    spans = split_sentences(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        assert not text[previous_end:start].strip(), "gap between sentences must be whitespace only"
        previous_end = end
    assert not text[previous_end:].strip()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith met Gen. Jones at St. Paul's. They talked.",
            ["Dr. Smith met Gen. Jones at St. Paul's.", "They talked."],
        ),
        ("Mr. and Mrs. Smith arrived. Prof. Lee left.", ["Mr. and Mrs. Smith arrived.", "Prof. Lee left."]),
        ("Take e.g. France or i.e. Paris. Then stop.", ["Take e.g. France or i.e. Paris.", "Then stop."]),
        ("J. Smith wrote it. R. R. Martin agreed.", ["J. Smith wrote it.", "R. R. Martin agreed."]),
        ("Growth was 3.5 percent. Inflation was 2.1.", ["Growth was 3.5 percent.", "Inflation was 2.1."]),
        ("They met on Nov. 26 in Moscow. It rained.", ["They met on Nov. 26 in Moscow.", "It rained."]),
        ("They met in Nov. The talks failed.", ["They met in Nov.", "The talks failed."]),
        ("See No. 5 and pp. 12-14. Done.", ["See No. 5 and pp. 12-14.", "Done."]),
        ("U.S. President Barack Obama spoke.", ["U.S. President Barack Obama spoke."]),
        ("He moved to the U.S. The move was hard.", ["He moved to the U.S.", "The move was hard."]),
        ("The U.N. Security Council met at 9 a.m. on Monday.", ["The U.N. Security Council met at 9 a.m. on Monday."]),
        ("He said, “Go home.” Then he left.", ["He said, “Go home.”", "Then he left."]),
        ('He said "Go." She left.', ['He said "Go."', "She left."]),
        ("(It was late.) We went home.", ["(It was late.)", "We went home."]),
        ("Wait... Then it happened. And so… It ended.", ["Wait...", "Then it happened.", "And so…", "It ended."]),
        ("The list goes on... and on.", ["The list goes on... and on."]),
        ("Really? Yes! Fine.", ["Really?", "Yes!", "Fine."]),
        ("Why? because I said so.", ["Why? because I said so."]),
        ("Apples, pears, etc. and more.", ["Apples, pears, etc. and more."]),
        ("a “large coalition.”[16] The French agreed.", ["a “large coalition.”[16]", "The French agreed."]),
        ("It cost $5.5bn. That is a lot.", ["It cost $5.5bn.", "That is a lot."]),
        (
            "Apple Inc. said no. It was sold to Apple Inc. The deal closed.",
            ["Apple Inc. said no.", "It was sold to Apple Inc.", "The deal closed."],
        ),
        ("He quoted Martin Luther King Jr. Then he sat.", ["He quoted Martin Luther King Jr.", "Then he sat."]),
        (
            "It ended World War I. It was 1918. George W. Bush was not born.",
            ["It ended World War I.", "It was 1918.", "George W. Bush was not born."],
        ),
    ],
)
def test_inline_rules(text: str, expected: list[str]) -> None:
    assert sents(text) == expected
    check_invariants(text)


def test_blank_line_always_ends_a_sentence() -> None:
    text = "A heading\n\nBody text without a period\n\n\nNext one"
    assert sents(text) == ["A heading", "Body text without a period", "Next one"]


def test_heading_line_ends_at_single_newline() -> None:
    text = "Mutual misunderstandings\nRussia was quick to seize the opportunity that the attacks in Paris created."
    assert sents(text) == ["Mutual misunderstandings", text.split("\n")[1]]


def test_hard_wrapped_prose_is_not_split_at_line_ends() -> None:
    text = (
        "The French president met his Russian counterpart Vladimir Putin at the Palace of\n"
        "Versailles on May 29, 2017, and the meeting was both tense and productive.\n"
        "It went on\nfor hours."
    )
    assert sents(text) == [text[: text.index("productive.") + len("productive.")], "It went on\nfor hours."]


def test_abbreviation_at_line_end_does_not_split() -> None:
    assert sents("He spoke with Dr.\nSmith yesterday.") == ["He spoke with Dr.\nSmith yesterday."]


def test_bullets_start_new_sentences() -> None:
    text = "Three points matter:\n• First point\n• Second point\n- third point"
    assert sents(text) == ["Three points matter:", "• First point", "• Second point", "- third point"]


def test_numbered_list_items_keep_their_numbers() -> None:
    text = "1. First item here\n2. Second item here. It has two sentences."
    assert sents(text) == ["1. First item here", "2. Second item here.", "It has two sentences."]


def test_markdown_heading() -> None:
    assert sents("# Title here\nThe body starts here.") == ["# Title here", "The body starts here."]


def test_empty_and_whitespace() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t ") == []


def test_spans_are_trimmed_offsets() -> None:
    text = "  First one.   Second one.  \n\n  Third  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one.", "Third"]
    assert spans[0] == (2, 12)


def test_seed_000_quote_is_one_sentence(seeds_dir: Path) -> None:
    text = clean_text((seeds_dir / "000_1fa62a2886708ef6.txt").read_text(encoding="utf-8"))
    expected = (
        "On Nov. 26 in Moscow, however, French President François Hollande appeared to agree: “Our enemy is Daesh, "
        "Islamic State, it has territory, an army and resources, so we must create this large coalition to hit these "
        "terrorists.”"
    )
    found = sents(text)
    assert expected in found
    obama = [s for s in found if "U.S. President Barack Obama" in s]
    assert obama == [
        "In meetings with Hollande in Washington several days earlier, U.S. President Barack Obama, nominally leader "
        "of the Western alliance, tried to be as polite as he could."
    ]
    assert "Mutual misunderstandings" in found
    assert "What’s in it for France?" in found
    assert any(s.startswith("Russia was quick to seize") and "St Denis." in s for s in found)


def test_seed_sentences(seeds_dir: Path) -> None:
    text = clean_text((seeds_dir / "002_c143785ade127b25.txt").read_text(encoding="utf-8"))
    found = sents(text)
    assert found[:3] == [
        "November 23, 2015",
        "Obama Must Send Hollande to Moscow With This Clear Message",
        "By Julianne Smith",
    ]
    assert (
        "He will portray Hollande’s Washington-Moscow itinerary as equivalence between the\xa0U.S.\xa0and Russia."
        in found
    )
    assert any("article 42.7 in the" in s for s in found)
    text = clean_text((seeds_dir / "001_4531c746a2d8eea5.txt").read_text(encoding="utf-8"))
    assert sents(text)[-1] == "• Tatiana Stanovaya"


@pytest.mark.parametrize("name", sorted(p.name for p in (Path(__file__).parents[2] / "corpus" / "articles").iterdir()))
def test_invariants_on_seeds(seeds_dir: Path, name: str) -> None:
    raw = (seeds_dir / name).read_text(encoding="utf-8")
    check_invariants(raw)
    check_invariants(clean_text(raw))


_WORDS = st.sampled_from(
    ["the", "Paris", "U.S.", "Dr.", "Nov.", "26", "3.5", "e.g.", "J.", "Smith", "“quoted.”", "end.", "why?", "wow!",
     "…", "...", "•", "-", "café", "Ærø", "日本", "[16]", "(aside)", "Mr.", "x", "\xa0", "St."]
)  # fmt: skip
_SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", "\n \n", "  ", "\t", "\r\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_WORDS, _SEPARATORS), max_size=60), st.text(max_size=40))
def test_invariants_on_random_text(pairs: list[tuple[str, str]], noise: str) -> None:
    text = "".join(word + sep for word, sep in pairs) + noise
    check_invariants(text)
