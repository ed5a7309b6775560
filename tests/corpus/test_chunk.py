"""chunk_article: offsets, token bounds, overlap, paragraph preference, long sentences, and a property test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.chunk import chunk_article
from corpus.clean import clean_text
from corpus.sentences import split_sentences
from corpus.types import Article, Chunk


def words(text: str) -> int:
    return len(text.split())


def words_plus_specials(text: str) -> int:
    """Like a real tokenizer: [CLS] and [SEP] around every input, so count("") == 2."""
    return len(text.split()) + 2


def article(text: str, doc_id: str = "a.txt") -> Article:
    return Article(doc_id=doc_id, title="t", text=text)


def check(art: Article, chunks: list[Chunk], count: Callable[[str], int], max_tokens: int) -> None:
    """The invariants every caller relies on."""
    text = art.text
    previous_start = -1
    for c in chunks:
        assert c.doc_id == art.doc_id
        assert text[c.start : c.end] == c.text
        assert c.text and c.text == c.text.strip()
        assert count(c.text) <= max_tokens
        assert c.start > previous_start, "chunks are in order and each starts later than the one before"
        previous_start = c.start
    covered = [False] * len(text)
    for c in chunks:
        covered[c.start : c.end] = [True] * (c.end - c.start)
    for start, end in split_sentences(text):
        missed = [i for i in range(start, end) if not covered[i] and not text[i].isspace()]
        assert not missed, f"sentence not covered: {text[start:end]!r}"


def test_packs_whole_sentences_with_overlap() -> None:
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve. Thirteen fourteen."
    chunks = chunk_article(article(text), count_tokens=words, size=6, overlap=3, max_tokens=10)
    assert [c.text for c in chunks] == [
        "One two three. Four five six.",
        "Four five six. Seven eight nine.",
        "Seven eight nine. Ten eleven twelve.",
        "Ten eleven twelve. Thirteen fourteen.",
    ]
    check(article(text), chunks, words, 10)


def test_no_overlap() -> None:
    text = "One two three. Four five six. Seven eight nine."
    chunks = chunk_article(article(text), count_tokens=words, size=6, overlap=0, max_tokens=10)
    assert [c.text for c in chunks] == ["One two three. Four five six.", "Seven eight nine."]


def test_overlap_is_whole_sentences_within_budget() -> None:
    text = "A b c d e. F g. H i. J k l m n o p q."
    chunks = chunk_article(article(text), count_tokens=words, size=13, overlap=4, max_tokens=20)
    # the 2-word sentences "F g." and "H i." are carried over (4 tokens); "A b c d e." (5) would exceed overlap
    assert [c.text for c in chunks] == ["A b c d e. F g. H i.", "F g. H i. J k l m n o p q."]


def test_special_tokens_are_counted_once_per_chunk() -> None:
    text = "One two three. Four five six. Seven eight nine."
    chunks = chunk_article(article(text), count_tokens=words_plus_specials, size=8, overlap=0, max_tokens=10)
    # 2 specials + 3 + 3 = 8 fits; a third sentence would make 11
    assert [c.text for c in chunks] == ["One two three. Four five six.", "Seven eight nine."]
    check(article(text), chunks, words_plus_specials, 10)


def test_prefers_paragraph_boundary_when_half_full() -> None:
    text = "One two three four. Five six.\n\nSeven eight. Nine ten. Eleven."
    chunks = chunk_article(article(text), count_tokens=words, size=10, overlap=0, max_tokens=20)
    assert [c.text for c in chunks] == ["One two three four. Five six.", "Seven eight. Nine ten. Eleven."]
    # the rest of the article fits: no tiny last chunk
    text = "One two three four. Five six.\n\n• Signature"
    chunks = chunk_article(article(text), count_tokens=words, size=10, overlap=0, max_tokens=20)
    assert [c.text for c in chunks] == [text]
    # less than half full: the paragraph break is crossed
    text = "One two.\n\nThree four. Five six."
    chunks = chunk_article(article(text), count_tokens=words, size=10, overlap=0, max_tokens=20)
    assert [c.text for c in chunks] == [text]


def test_sentence_longer_than_max_tokens_is_split_at_words() -> None:
    long_sentence = "Long " + " ".join(f"w{i}" for i in range(25)) + "."
    text = f"Short one. {long_sentence} Short two."
    art = article(text)
    chunks = chunk_article(art, count_tokens=words, size=8, overlap=0, max_tokens=10)
    check(art, chunks, words, 10)
    assert all(words(c.text) <= 8 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == text.split()
    assert chunks[0].text == "Short one."


def test_sentence_between_size_and_max_tokens_stays_whole() -> None:
    sentence = "Word " + " ".join(["word"] * 11) + "."
    chunks = chunk_article(article(f"Hi. {sentence} Bye."), count_tokens=words, size=8, overlap=0, max_tokens=20)
    assert sentence in [c.text for c in chunks]


def test_giant_word_is_split_between_characters() -> None:
    def chars(text: str) -> int:
        return len(text)

    text = "Short. " + "x" * 50 + " end."
    art = article(text)
    chunks = chunk_article(art, count_tokens=chars, size=20, overlap=0, max_tokens=20)
    check(art, chunks, chars, 20)


def test_non_additive_tokenizer_still_respects_max_tokens() -> None:
    # Newlines cost a token of their own here, so per-sentence sums underestimate multi-line chunks.
    def count(text: str) -> int:
        return len(text.split()) + text.count("\n")

    text = "\n".join(f"Line {i} has words." for i in range(6))
    art = article(text)
    chunks = chunk_article(art, count_tokens=count, size=12, overlap=0, max_tokens=12)
    check(art, chunks, count, 12)
    # three sentences (12 estimated, 14 real tokens) do not fit; the chunks are regrouped by whole sentences
    assert all(c.text.startswith("Line") and c.text.endswith("words.") for c in chunks)
    assert max(len(c.text.split("\n")) for c in chunks) == 2


def test_count_tokens_is_called_about_once_per_sentence() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return len(text.split())

    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_article(article(text), count_tokens=counting, size=20, overlap=5, max_tokens=40)
    assert len(calls) <= 1 + 40 + len(chunks)
    assert len(set(calls)) == len(calls), "results are cached"


def test_empty_article() -> None:
    assert chunk_article(article(""), count_tokens=words, size=10, overlap=2, max_tokens=20) == []
    assert chunk_article(article(" \n\n "), count_tokens=words, size=10, overlap=2, max_tokens=20) == []


@pytest.mark.parametrize(
    ("size", "overlap", "max_tokens"),
    [(0, 0, 10), (10, -1, 10), (10, 2, 2)],
)
def test_invalid_settings(size: int, overlap: int, max_tokens: int) -> None:
    with pytest.raises(ValueError):
        chunk_article(
            article("Hi."), count_tokens=words_plus_specials, size=size, overlap=overlap, max_tokens=max_tokens
        )


def test_overlap_larger_than_size_still_progresses() -> None:
    text = " ".join(f"S{i} a b." for i in range(20))
    art = article(text)
    chunks = chunk_article(art, count_tokens=words, size=9, overlap=50, max_tokens=9)
    check(art, chunks, words, 9)
    assert len(chunks) <= 20


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_seeds(seeds_dir: Path, prefix: str) -> None:
    (path,) = seeds_dir.glob(f"{prefix}_*.txt")
    art = article(clean_text(path.read_text(encoding="utf-8")), doc_id=path.name)
    chunks = chunk_article(art, count_tokens=words_plus_specials, size=128, overlap=32, max_tokens=256)
    check(art, chunks, words_plus_specials, 256)
    assert all(words_plus_specials(c.text) <= 128 for c in chunks), "no seed sentence is longer than the size"
    assert len(chunks) >= 2


# Random texts: words, punctuation, abbreviations, newlines and unicode; a word-count tokenizer.
_TOKENS = st.sampled_from(
    ["the", "Paris", "U.S.", "Dr.", "Nov.", "26", "3.5", "e.g.", "J.", "end.", "why?", "wow!", "…", "“quote.”",
     "café", "日本語", "Ærø", "•", "-", "[16]", "x" * 40, "a", "b", "c", "St."]
)  # fmt: skip
_SEPS = st.sampled_from([" ", " ", " ", " ", "\n", "\n\n", "  \n \n", "\t", "\xa0"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_TOKENS, _SEPS), min_size=0, max_size=150),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=1, max_value=60),
    st.booleans(),
)
def test_property_offsets_bounds_and_coverage(
    pairs: list[tuple[str, str]], size: int, overlap: int, max_tokens: int, specials: bool
) -> None:
    count = words_plus_specials if specials else words
    if max_tokens <= count(""):
        max_tokens = count("") + 1
    text = "".join(token + sep for token, sep in pairs)
    art = article(text)
    chunks = chunk_article(art, count_tokens=count, size=size, overlap=overlap, max_tokens=max_tokens)
    check(art, chunks, count, max_tokens)


def test_a_chunk_whose_estimate_fell_short_is_resplit_into_maximal_groups() -> None:
    """The sum of sentence counts can undercount a chunk (a tokenizer may merge across a join): such a chunk
    is regrouped, each group as many sentences as fit the limit, none over it, every sentence kept."""
    sentences = [f"Sentence {i} has five words." for i in range(12)]
    text = " ".join(sentences)

    def joined_costs_more(s: str) -> int:  # every sentence join inside a string costs 3 extra tokens
        return len(s.split()) + 2 + 3 * s.count(". ")

    chunks = chunk_article(article(text), count_tokens=joined_costs_more, size=30, overlap=0, max_tokens=30)
    # Packed by estimate: 5 sentences (2 + 5 * 5 = 27 tokens) per chunk, whose exact count is 2 + 25 + 12 = 39.
    # Regrouped: k sentences count 2 + 5k + 3(k - 1) <= 30 for k <= 3, so 3 + 2 of each; the last 2 fit as packed.
    groups = [[0, 1, 2], [3, 4], [5, 6, 7], [8, 9], [10, 11]]
    assert [c.text for c in chunks] == [" ".join(sentences[i] for i in g) for g in groups]
    assert all(joined_costs_more(c.text) <= 30 for c in chunks)
