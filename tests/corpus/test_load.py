"""load_article / load_articles: every supported type, doc_ids, and a clear reason for every skipped file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from files import write

from corpus.clean import clean_text
from corpus.errors import ArticleError, CiteqaError
from corpus.load import SUPPORTED_SUFFIXES, LoadResult, bundled_corpus_dir, load_article, load_articles
from corpus.types import ArticleMeta

DATA = Path(__file__).parent / "data"
SEED_IDS = [
    "000_1fa62a2886708ef6.txt",
    "001_4531c746a2d8eea5.txt",
    "002_c143785ade127b25.txt",
    "003_34adbb450f54faca.txt",
    "004_6c5723df540ffc3e.txt",
]


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF with one Helvetica text line per string, one page per list."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    pages_id = len(objects) + 1 + 2 * len(pages)  # the /Pages object comes after each page's two objects
    page_ids = []
    for lines in pages:
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page = b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> "
        page_ids.append(add(page % (pages_id, font) + b"/Contents %d 0 R >>" % content))
    kids = " ".join(f"{p} 0 R" for p in page_ids).encode()
    assert add(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(page_ids)) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    return bytes(out)


def reasons(result: LoadResult) -> dict[str, str]:
    return {Path(error.path).name: error.reason for error in result.skipped}


# --- the bundled corpus -------------------------------------------------------------------------------------


def test_bundled_corpus_dir_holds_the_seeds() -> None:
    assert sorted(p.name for p in bundled_corpus_dir().iterdir()) == SEED_IDS


def test_load_bundled_corpus() -> None:
    result = load_articles()
    assert result.skipped == []
    assert [a.doc_id for a in result.articles] == SEED_IDS
    for article in result.articles:
        raw = (bundled_corpus_dir() / article.doc_id).read_text(encoding="utf-8")
        assert article.text == clean_text(raw)
        assert article.content_hash == hashlib.sha256(article.text.encode("utf-8")).hexdigest()
        assert article.title and len(article.title) <= 120
    by_id = {a.doc_id: a for a in result.articles}
    assert by_id["002_c143785ade127b25.txt"].title == "Obama Must Send Hollande to Moscow With This Clear Message"
    assert by_id["002_c143785ade127b25.txt"].meta == ArticleMeta(author="Julianne Smith", date="2015-11-23")
    assert by_id["004_6c5723df540ffc3e.txt"].meta == ArticleMeta(outlet="rt.com", date="2019-09-09")
    assert by_id["000_1fa62a2886708ef6.txt"].meta == ArticleMeta(outlet="Russia Direct")
    assert by_id["001_4531c746a2d8eea5.txt"].meta.author == "Tatiana Stanovaya"


def test_folder_path_equals_default(seeds_dir: Path) -> None:
    assert load_articles([seeds_dir]) == load_articles()
    assert load_articles(str(seeds_dir)) == load_articles()  # a lone path is not a sequence of characters


# --- doc_ids ------------------------------------------------------------------------------------------------


def test_folder_is_recursive_sorted_with_posix_doc_ids(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "Second article. It has text.")
    write(tmp_path / "a.md", "# First\n\nMarkdown article body.")
    write(tmp_path / "sub" / "deeper" / "c.TXT", "Nested article body.")
    write(tmp_path / ".hidden" / "x.txt", "Hidden folders are ignored.")
    write(tmp_path / ".DS_Store", b"\x00\x01")
    result = load_articles([tmp_path])
    assert [a.doc_id for a in result.articles] == ["a.md", "b.txt", "sub/deeper/c.TXT"]
    assert result.skipped == []
    assert result.articles[0].title == "First"


def test_file_path_doc_id_is_its_name(tmp_path: Path) -> None:
    path = write(tmp_path / "sub" / "one.txt", "Only article.")
    result = load_articles([path])
    assert [a.doc_id for a in result.articles] == ["one.txt"]
    assert load_article(path).doc_id == "one.txt"
    assert load_article(path, doc_id="custom/id.txt").doc_id == "custom/id.txt"


def test_duplicate_doc_id_later_one_skipped(tmp_path: Path) -> None:
    first = write(tmp_path / "one" / "same.txt", "From the first folder.")
    write(tmp_path / "two" / "same.txt", "From the second folder.")
    result = load_articles([tmp_path / "one", tmp_path / "two"])
    assert [a.text for a in result.articles] == ["From the first folder."]
    (error,) = result.skipped
    assert error.path == str(tmp_path / "two" / "same.txt")
    assert "duplicate doc_id 'same.txt'" in error.reason and str(first) in error.reason


def test_duplicate_after_failed_first_is_loaded(tmp_path: Path) -> None:
    write(tmp_path / "one" / "same.txt", "")
    write(tmp_path / "two" / "same.txt", "The good copy.")
    result = load_articles([tmp_path / "one", tmp_path / "two"])
    assert [a.text for a in result.articles] == ["The good copy."]
    assert reasons(result) == {"same.txt": "empty file"}


# --- file types ---------------------------------------------------------------------------------------------


def test_line_endings_normalised(tmp_path: Path) -> None:
    article = load_article(write(tmp_path / "crlf.txt", "Title Line\r\n\r\nBody one.\r\nBody two.\rEnd."))
    assert article.text == "Title Line\n\nBody one.\nBody two.\nEnd."
    assert article.title == "Title Line"


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    article = load_article(write(tmp_path / "bom.txt", "\ufeffBody with a BOM."))
    assert article.text == "Body with a BOM."


def test_markdown_kept_as_text(tmp_path: Path) -> None:
    text = "# A Title\n\nSome *emphasis* and a [link](http://x.org).\n\n- item one\n- item two"
    article = load_article(write(tmp_path / "a.md", text))
    assert article.text == text
    assert article.title == "A Title"


def test_html_main_text_and_metadata() -> None:
    article = load_article(DATA / "article.html")
    assert article.doc_id == "article.html"
    assert article.title == "Paris and Moscow Resume Talks"
    assert article.meta == ArticleMeta(author="Marie Dupont", outlet="The Example Times", date="2019-09-09")
    assert "Dr. Jean Martin, a historian at the Sorbonne, said the visit signalled a thaw." in article.text
    assert "\n\nA cautious thaw\n\n" in article.text
    for furniture in ("Sign in", "Privacy policy", "Related Articles", "G7 summit ends", "All rights reserved"):
        assert furniture not in article.text
    assert article.content_hash == hashlib.sha256(article.text.encode()).hexdigest()


def test_short_html_and_markup_free_html(tmp_path: Path) -> None:
    short = load_article(write(tmp_path / "s.htm", "<html><body><p>Short text here.</p></body></html>"))
    assert short.text == "Short text here."
    plain = load_article(write(tmp_path / "p.html", "No markup at all. Just text."))
    assert plain.text == "No markup at all. Just text."


def test_html_without_text_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "empty.html", "<html><head><title>T</title><script>var x = 1;</script></head><body></body></html>")
    assert reasons(load_articles([tmp_path])) == {"empty.html": "no readable text in the HTML page"}


def test_pdf_pages_joined_with_blank_lines(tmp_path: Path) -> None:
    data = make_pdf(
        [
            ["A Report Title", "The first page says hello. It wraps onto", "a second line (with parentheses)."],
            ["Second page text."],
        ]
    )
    article = load_article(write(tmp_path / "report.pdf", data))
    assert article.text == (
        "A Report Title\nThe first page says hello. It wraps onto\na second line (with parentheses)."
        "\n\nSecond page text."
    )
    assert article.title == "A Report Title"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n\t \n", "contains only whitespace"),
        ("binary.txt", b"abc\x00\x01\x02def", "binary file (contains NUL bytes), not text"),
        ("latin1.txt", "Caf\u00e9 au lait.".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 3)"),
        ("doc.docx", b"PK\x03\x04", "unsupported file type '.docx'"),
        ("README", b"text", "unsupported file type (no suffix)"),
        ("fake.pdf", b"this is not a pdf", "not a PDF file (no %PDF- header)"),
        ("broken.pdf", b"%PDF-1.4\nnot really a pdf at all", "unreadable PDF"),
        ("imageonly.pdf", None, "the PDF has no extractable text"),
        ("furniture.txt", b"Show More\n\nRelated Articles\n\nBack to top button", "no article text left"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, name: str, data: bytes | None, reason: str) -> None:
    if data is None:
        data = make_pdf([[]])
    write(tmp_path / name, data)
    write(tmp_path / "good.txt", "A good article.")
    result = load_articles([tmp_path])
    assert [a.doc_id for a in result.articles] == ["good.txt"]
    (error,) = result.skipped
    assert isinstance(error, ArticleError) and isinstance(error, CiteqaError)
    assert error.path == str(tmp_path / name)
    assert error.reason.startswith(reason)
    assert str(error).startswith(f"{tmp_path / name}: ")
    with pytest.raises(ArticleError, match="^" + str(tmp_path / name)):
        load_article(tmp_path / name)


def test_missing_paths_and_folders(tmp_path: Path) -> None:
    result = load_articles([tmp_path / "nowhere", tmp_path / "gone.txt"])
    assert result.articles == []
    assert reasons(result) == {"nowhere": "no such file or folder", "gone.txt": "no such file or folder"}
    with pytest.raises(ArticleError, match="no such file"):
        load_article(tmp_path / "gone.txt")
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(ArticleError, match="is a folder"):
        load_article(tmp_path / "dir.txt")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "locked.txt", "Secret.")

    real_open = os.open

    def denied(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(file).name == "locked.txt":  # chmod does not stop root, so refuse the open itself
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ArticleError, match="cannot read the file: Permission denied"):
        load_article(path)
    assert reasons(load_articles([tmp_path])) == {"locked.txt": "cannot read the file: Permission denied"}


def test_supported_suffixes_constant() -> None:
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".html", ".htm", ".pdf")
