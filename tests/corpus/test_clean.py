"""clean_text: boilerplate out, every body sentence kept verbatim, normal text untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.clean import clean_text, is_furniture


def seed(seeds_dir: Path, prefix: str) -> str:
    (path,) = seeds_dir.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def assert_lines_kept_verbatim(raw: str, cleaned: str) -> None:
    """Cleaning only drops lines: every kept line is a line of the input (minus trailing spaces), in order."""
    source = [line.rstrip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    position = 0
    for line in cleaned.split("\n"):
        if not line:
            continue
        position = source.index(line, position) + 1


def test_seed_000_cross_links_removed(seeds_dir: Path) -> None:
    raw = seed(seeds_dir, "000")
    cleaned = clean_text(raw)
    assert "Also read:" not in cleaned and "Recommended:" not in cleaned
    assert "On Nov. 26 in Moscow, however, French President François Hollande appeared to agree:" in cleaned
    assert cleaned.endswith(
        "The opinion of the author may not necessarily reflect the position of Russia Direct or its staff."
    )
    assert "Photo: AP" in cleaned  # a caption is content, not furniture
    assert_lines_kept_verbatim(raw, cleaned)


def test_seed_001_passes_through(seeds_dir: Path) -> None:
    raw = seed(seeds_dir, "001")
    cleaned = clean_text(raw)
    assert cleaned == "\n".join(line.rstrip() for line in raw.split("\n")).strip()
    assert cleaned.endswith("• Tatiana Stanovaya")


def test_seed_002_link_list_removed(seeds_dir: Path) -> None:
    raw = seed(seeds_dir, "002")
    cleaned = clean_text(raw)
    for gone in ("Podcast", "Congressional Testimony", "Commentary", "May 25, 2023", "Michael Kofman", "View All"):
        assert gone not in cleaned
    assert cleaned.startswith(
        "November 23, 2015\n\nObama Must Send Hollande to Moscow With This Clear Message\n\nBy Julianne Smith"
    )
    assert cleaned.endswith("state sovereignty throughout Russia’s immediate\xa0neighborhood.")
    assert_lines_kept_verbatim(raw, cleaned)


def test_seed_003_footer_removed(seeds_dir: Path) -> None:
    raw = seed(seeds_dir, "003")
    cleaned = clean_text(raw)
    for gone in (
        "Show More",
        "Related Articles",
        "Back to top button",
        "Adblock Detected",
        "Please consider supporting",
    ):
        assert gone not in cleaned
    assert cleaned.endswith(
        "\n\nRusso-France ties, meanwhile, have to adapt themselves to the existing reality and US directives from "
        "time to time!\n\nAbdul Ruff\n\nDr. Abdul Ruff is an independent analyst; columnist"
        + cleaned.rsplit("; columnist", 1)[1]
    )
    assert "Dr. Abdul Ruff is an independent analyst" in cleaned  # the author's bio is about the author: kept
    assert "\n\n\n" not in cleaned
    assert_lines_kept_verbatim(raw, cleaned)


def test_seed_004_icons_crosslinks_podcast_and_repeated_title_removed(seeds_dir: Path) -> None:
    raw = seed(seeds_dir, "004")
    cleaned = clean_text(raw)
    title = "Hitting the reset button? French defense minister & top diplomat visit Moscow for talks"
    assert cleaned.startswith(f"9 Sep, 2019 09:12\n\n{title}\n\nThe French foreign and defense ministers")
    assert cleaned.count(title) == 1
    for gone in ("icon bookmark", "cameraicon", "Also on rt.com", "Like this story?", "Podcasts", "0:00", "27:48"):
        assert gone not in cleaned
    assert cleaned.endswith(
        "as Russia and Western countries surely are not lacking in international challenges to deal with."
    )
    assert (
        "Sarkozy’s successor, Francois Hollande, settled the dispute by agreeing to refund Moscow almost €900 million "
        "in August 2015." in cleaned
    )
    assert_lines_kept_verbatim(raw, cleaned)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_idempotent_on_seeds(seeds_dir: Path, prefix: str) -> None:
    cleaned = clean_text(seed(seeds_dir, prefix))
    assert clean_text(cleaned) == cleaned


def test_normal_article_only_whitespace_normalised() -> None:
    raw = "\ufeffA Title  \r\n\r\n\r\nPara one.\r\n  Still para one, indented.\t\n\n\n\nPara two.   \n\n"
    assert clean_text(raw) == "A Title\n\nPara one.\n  Still para one, indented.\n\nPara two."


@pytest.mark.parametrize(
    "line",
    [
        'Also read: "Obstacles for cooperation after Paris attacks"',
        "Recommended: Terror attack in Paris",
        "Read more: https://example.com/story",
        "Also on rt.com France pays Russia compensation",
        "Also on bbc.co.uk Another story here",
        "Show More",
        "Related Articles",
        "Back to top button",
        "Adblock Detected",
        "Please consider supporting us by disabling your ad blocker",
        "Like this story? Share it with a friend!",
        "View All Reports View All Articles & Multimedia",
        "icon bookmark-bicon bookmarkicon cameraicon checkicon chevron downicon",
    ],
)
def test_furniture_lines(line: str) -> None:
    assert is_furniture(line)
    assert (
        clean_text(f"Body sentence one.\n\n{line}\n\nBody sentence two.") == "Body sentence one.\n\nBody sentence two."
    )


@pytest.mark.parametrize(
    "line",
    [
        "Related articles in the press showed that the talks were tense.",
        "Also read the report carefully before the vote.",
        "Show more courage, the minister said.",
        "Please share it with a friend if you agree, he wrote, because the policy matters.",
        "View all of the documents before deciding.",
        "Recommended reading lists were published in 2015.",
        "The icon of the revolution was a lexicon of icons: an iconic icon, an icon.",
        "12:30",
        "Video",
        " ".join(["Also read: this is a very long line"] * 8),
    ],
)
def test_prose_lines_are_kept(line: str) -> None:
    assert not is_furniture(line)
    text = f"Body sentence one.\n\n{line}\n\nBody sentence two."
    assert clean_text(text) == text


def test_media_block_of_timestamps() -> None:
    text = "Body one.\n\nVideo\n1:02\n3:04:05\n\nBody two.\n\nThe meeting began at\n12:30\nsharp."
    assert clean_text(text) == "Body one.\n\nBody two.\n\nThe meeting began at\n12:30\nsharp."


def test_repeated_headline_dropped_but_not_repeated_single_words() -> None:
    assert clean_text("Big News Today\n\nBig News Today\n\nBody.") == "Big News Today\n\nBody."
    assert clean_text("Yes\nYes\n\nBody.") == "Yes\nYes\n\nBody."
    assert clean_text("Big News Today\n\nBody.\n\nBig News Today") == "Big News Today\n\nBody.\n\nBig News Today"


LINK_LIST = """

  • Commentary
    • May 10, 2023
    Beyond the Offensive

    A teaser that is cut off...

    By Some Author

  • Video
    • 7 May 2023
    Another Headline

    By Other Author
"""


def test_trailing_link_list_removed() -> None:
    body = "Body of the article.\n\nLast paragraph."
    assert clean_text(body + LINK_LIST + "\nView All Reports") == body
    assert clean_text(body + LINK_LIST) == body


def test_single_dated_bullet_or_signature_is_kept() -> None:
    one_card = "Body.\n\n  • Commentary\n    • May 10, 2023\n    A headline"
    assert clean_text(one_card) == one_card
    signature = "Body.\n\n  • Tatiana Stanovaya"
    assert clean_text(signature) == signature


def test_link_list_in_the_middle_is_kept() -> None:
    text = "Body." + LINK_LIST + "\nMore flush-left body text follows here."
    assert "Beyond the Offensive" in clean_text(text)


_LINES = st.one_of(
    st.sampled_from(
        ["Show More", "Also read: x", "0:00", "Podcasts", "  • May 1, 2020", "  • Video", "Title Here", "", " "]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_clean_is_idempotent_and_only_drops_lines(lines: list[str], newline: str) -> None:
    raw = newline.join(lines)
    cleaned = clean_text(raw)
    assert clean_text(cleaned) == cleaned
    assert "\r" not in cleaned and "\n\n\n" not in cleaned
    assert cleaned == cleaned.strip()
    source = [line.rstrip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    for n, line in enumerate(cleaned.split("\n")):
        assert line == line.rstrip()
        if n == 0:  # the text as a whole is stripped, so the first line may have lost its indentation
            assert not line or any(s.endswith(line) for s in source)
        elif line:
            assert line in source
