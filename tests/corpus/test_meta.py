"""extract_metadata: stated title/author/outlet/date from the seeds and synthetic texts; None when not stated."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.clean import clean_text
from corpus.meta import TITLE_MAX_CHARS, extract_metadata
from corpus.types import ArticleMeta


@pytest.mark.parametrize(
    ("prefix", "title", "meta"),
    [
        (
            "000",
            "The French leader’s visit to Moscow is important",  # derived: the first sentence's main clause
            ArticleMeta(author=None, outlet="Russia Direct", date=None),
        ),
        (
            "001",
            "Emmanuel Macron hosted his Russian counterpart Vladimir Putin at the Palace of Versailles",  # derived
            ArticleMeta(author="Tatiana Stanovaya", outlet=None, date=None),
        ),
        (
            "002",
            "Obama Must Send Hollande to Moscow With This Clear Message",
            ArticleMeta(author="Julianne Smith", outlet=None, date="2015-11-23"),
        ),
        ("003", "Contours of Russo-France relations", ArticleMeta(author="Abdul Ruff", outlet=None, date=None)),
        (
            "004",
            "Hitting the reset button? French defense minister & top diplomat visit Moscow for talks",
            ArticleMeta(author=None, outlet="rt.com", date="2019-09-09"),
        ),
    ],
)
def test_seeds(seeds_dir: Path, prefix: str, title: str, meta: ArticleMeta) -> None:
    (path,) = seeds_dir.glob(f"{prefix}_*.txt")
    raw = path.read_text(encoding="utf-8")
    assert extract_metadata(raw, doc_id=path.name) == (title, meta)
    assert len(title) <= TITLE_MAX_CHARS


def test_outlet_evidence_removed_by_cleaning_needs_raw_text(seeds_dir: Path) -> None:
    (path,) = seeds_dir.glob("004_*.txt")
    raw = path.read_text(encoding="utf-8")
    assert extract_metadata(clean_text(raw), doc_id=path.name)[1].outlet is None
    assert extract_metadata(raw, doc_id=path.name)[1].outlet == "rt.com"


def test_nothing_stated_gives_none() -> None:
    text = "The ministers met on May 29, 2017 in Paris, said Mr. Smith.\n\nBy the end of the day they agreed."
    title, meta = extract_metadata(text, doc_id="x.txt")
    assert title == "The ministers met on May 29, 2017 in Paris"  # derived from the first sentence
    assert meta == ArticleMeta()


def test_long_first_sentence_is_shortened_on_a_word_boundary() -> None:
    sentence = "Word " * 60 + "end."
    title, _ = extract_metadata(sentence, doc_id="x.txt")
    assert len(title) <= TITLE_MAX_CHARS and title.endswith("Word…")
    assert sentence.startswith(title[:-1])


def test_empty_text_falls_back_to_doc_id() -> None:
    assert extract_metadata("", doc_id="sub/report-7.txt") == ("report-7", ArticleMeta())


@pytest.mark.parametrize(
    ("byline", "author"),
    [
        ("By Julianne Smith", "Julianne Smith"),
        ("BY JOHN SMITH", "John Smith"),
        ("by Jane Doe and John Roe", "Jane Doe and John Roe"),
        ("By Michael Kofman & Rob Lee", "Michael Kofman & Rob Lee"),
        ("Written by Ana de la Cruz", "Ana de la Cruz"),
        ("By J. R. Smith, Reuters", "J. R. Smith"),
    ],
)
def test_bylines(byline: str, author: str) -> None:
    text = f"A Headline\n\n{byline}\n\nThe body of the article starts here. It has sentences."
    title, meta = extract_metadata(text, doc_id="x.txt")
    assert (title, meta.author) == ("A Headline", author)


def test_byline_inside_prose_is_not_an_author() -> None:
    text = "By inviting Putin to Versailles, the French president threw his hat in the ring."
    assert extract_metadata(text, doc_id="x.txt")[1].author is None


def test_signature_only_as_last_line() -> None:
    body = "The body of the article. It has sentences."
    assert extract_metadata(f"{body}\n\n  • Tatiana Stanovaya", doc_id="x")[1].author == "Tatiana Stanovaya"
    assert extract_metadata(f"  • Tatiana Stanovaya\n\n{body}", doc_id="x")[1].author is None
    assert extract_metadata(f"{body}\n\n• Conclusions", doc_id="x")[1].author is None


@pytest.mark.parametrize(
    ("dateline", "iso"),
    [
        ("November 23, 2015", "2015-11-23"),
        ("9 Sep, 2019 09:12", "2019-09-09"),
        ("Published: 3 March 2020", "2020-03-03"),
        ("Updated on Tuesday, Nov. 24, 2015 at 10:30 a.m. EST", "2015-11-24"),
        ("2021-02-28", "2021-02-28"),
        ("February 30, 2020", None),
        ("2021-13-01", None),
    ],
)
def test_datelines(dateline: str, iso: str | None) -> None:
    text = f"{dateline}\n\nA Headline\n\nThe body of the article starts here. It has sentences."
    title, meta = extract_metadata(text, doc_id="x.txt")
    assert meta.date == iso
    assert title == "A Headline"


def test_date_on_byline_line() -> None:
    text = "A Headline\n\nBy Jo Smith | November 23, 2015\n\nBody text. More body."
    assert extract_metadata(text, doc_id="x")[1] == ArticleMeta(author="Jo Smith", date="2015-11-23")


def test_date_in_headline_or_body_is_not_a_publication_date() -> None:
    text = "Talks Set for May 5, 2020\n\nThe talks were set for November 23, 2015 at noon. Nobody came."
    assert extract_metadata(text, doc_id="x")[1].date is None


@pytest.mark.parametrize(
    ("line", "outlet"),
    [
        ("The views expressed are not necessarily the views of Foreign Policy or its editors.", "Foreign Policy"),
        ("© 2021 The Guardian", "The Guardian"),
        ("This article was originally published in Foreign Affairs.", "Foreign Affairs"),
        ("Also on bbc.co.uk Another story", "bbc.co.uk"),
    ],
)
def test_outlets(line: str, outlet: str) -> None:
    text = f"The body of the article. It has sentences.\n\n{line}"
    assert extract_metadata(text, doc_id="x")[1].outlet == outlet


def test_markdown_title() -> None:
    text = "# The Real Title\n\nSome body text here. And more."
    assert extract_metadata(text, doc_id="x.md")[0] == "The Real Title"


def test_section_heading_after_prose_is_not_the_title() -> None:
    text = "The lede is a sentence of prose.\n\nMutual misunderstandings\n\nMore prose."
    assert extract_metadata(text, doc_id="x")[0] == "The lede is a sentence of prose"  # derived from the lede
