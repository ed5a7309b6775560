"""Authors signed at the end of an article (corpus.meta): a byline as the last line, a dashed or bulleted name, or a
name alone above a closing bio that opens with it. Our own short texts."""

from __future__ import annotations

import pytest

from corpus.meta import extract_metadata

BODY = "Trams return\n\nThe new tram line opened in March. It runs every ten minutes between the port and the fair.\n\n"


@pytest.mark.parametrize("ending", [
    "By Anna Holm",
    "— Anna Holm",
    "• Anna Holm",
    "Anna Holm\n\nDr. Anna Holm is a transport historian at the city museum and the author of two books.",
    "Anna Holm\n\nAnna Holm writes about cities for several newspapers.",
])
def test_an_author_signed_at_the_end_is_read(ending: str) -> None:
    assert extract_metadata(BODY + ending, doc_id="t.txt")[1].author == "Anna Holm"


@pytest.mark.parametrize("ending", [
    "Old Town Station\n\nThe station is the oldest in the city.",  # a heading above prose that does not open with it
    "Anna Holm\n\nThe museum opens on Sunday.",  # a name, but the last paragraph is no bio of it
    "The opinion of the author may not necessarily reflect the position of the Herald or its staff.",
])
def test_an_ending_that_names_no_author_gives_none(ending: str) -> None:
    assert extract_metadata(BODY + ending, doc_id="t.txt")[1].author is None


def test_a_byline_at_the_top_wins_over_an_ending() -> None:
    text = "Trams return\n\nBy Jonas Ek\n\nThe new tram line opened in March.\n\nAnna Holm\n\nAnna Holm is a historian."
    assert extract_metadata(text, doc_id="t.txt")[1].author == "Jonas Ek"
