"""Load articles from files: .txt, .md, .html/.htm (main text via trafilatura) and .pdf (text via pypdf).

A folder is read recursively; each file becomes one :class:`~corpus.types.Article` whose ``doc_id`` is its
path relative to the folder. Files that cannot be used are reported, one :class:`ArticleError` each, and
never stop the rest from loading. ``iter_articles`` reads them one at a time (for collections larger than
memory); ``load_articles`` collects them all.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus.clean import clean_text
from corpus.errors import ArticleError
from corpus.meta import extract_metadata
from corpus.types import Article, ArticleMeta

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
_HTML_SUFFIXES = (".html", ".htm")
_BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class LoadResult:
    """What :func:`load_articles` found.

    Attributes:
        articles: the loaded articles, folder by folder, files sorted by ``doc_id``.
        skipped: one error per file that could not be used; ``str(error)`` names the file and the reason.
    """

    articles: list[Article]
    skipped: list[ArticleError]


def bundled_corpus_dir() -> Path:
    """The folder of seed articles shipped inside the package (``corpus/articles``)."""
    return Path(__file__).resolve().parent / "articles"


def load_articles(paths: Sequence[str | Path] | str | Path | None = None) -> LoadResult:
    """Load every article under the given files and folders (all held in memory; see :func:`iter_articles`).

    Args:
        paths: files and/or folders; None loads the bundled corpus. A folder contributes every file under it
            (recursively, sorted, hidden files and folders ignored) with ``doc_id`` = its path relative to
            the folder in posix form; a file contributes itself with ``doc_id`` = its name.

    Returns:
        A :class:`LoadResult`. Unreadable, empty, binary, non-UTF-8 and unsupported files, missing paths and
        repeated ``doc_id`` values (the later file) end up in ``skipped``, each with a reason.

    Example:
        >>> result = load_articles()
        >>> [a.doc_id for a in result.articles][:1]
        ['000_1fa62a2886708ef6.txt']
    """
    stream = iter_articles(paths)
    articles = list(stream)
    return LoadResult(articles=articles, skipped=stream.skipped)


def iter_articles(paths: Sequence[str | Path] | str | Path | None = None) -> ArticleStream:
    """The articles of :func:`load_articles`, in the same order, read one file at a time as they are iterated.

    The folders are listed when this is called (paths only, for the order and the count); each file is read,
    cleaned and dropped by the stream as soon as it has been handed out, so a caller that does not keep the
    articles holds one at a time, whatever the size of the collection.

    Args:
        paths: as for :func:`load_articles`.

    Returns:
        An :class:`ArticleStream`: iterate it once; its ``skipped`` fills up as the files are met.

    Example:
        >>> stream = iter_articles(["~/articles"])
        >>> for article in stream:
        ...     index(article)
        >>> stream.skipped   # complete once the stream is exhausted
    """
    if paths is None:
        roots = [bundled_corpus_dir()]
    elif isinstance(paths, str | os.PathLike):
        roots = [Path(paths)]  # a lone path, not a sequence of characters
    else:
        roots = [Path(p) for p in paths]
    return ArticleStream(roots)


class ArticleStream(Iterator[Article]):
    """Articles loaded lazily from files and folders, in ``doc_id`` order per folder (see :func:`iter_articles`).

    Attributes:
        skipped: one :class:`ArticleError` per file that could not be used so far, in the order met;
            complete once the stream is exhausted.
        n_files: files listed (and missing paths): an upper bound of the articles the stream yields.
    """

    def __init__(self, roots: Sequence[Path]) -> None:
        # (file, doc_id) per file to read, or (root, None) for a path that does not exist: listing every
        # folder now fixes the order and gives callers a count (for progress bars) without reading a file.
        self._plan: list[tuple[Path, str | None]] = []
        for root in roots:
            if root.is_dir():
                self._plan.extend(_folder_entries(root))
            elif root.exists():
                self._plan.append((root, root.name))
            else:
                self._plan.append((root, None))
        self.n_files = len(self._plan)
        self.skipped: list[ArticleError] = []
        self._next = 0
        self._loaded_from: dict[str, Path] = {}

    def __next__(self) -> Article:
        while self._next < len(self._plan):
            path, doc_id = self._plan[self._next]
            self._next += 1
            try:
                if doc_id is None:
                    raise ArticleError(str(path), "no such file or folder")
                if doc_id in self._loaded_from:
                    raise ArticleError(
                        str(path), f"duplicate doc_id {doc_id!r} (already loaded from {self._loaded_from[doc_id]})"
                    )
                article = load_article(path, doc_id=doc_id)
            except ArticleError as failure:
                logger.warning("skipped %s", failure)
                self.skipped.append(failure)
                continue
            self._loaded_from[doc_id] = path
            return article
        if self._plan:  # log once, then forget the listing
            logger.info("loaded %d articles, skipped %d files", len(self._loaded_from), len(self.skipped))
            self._plan = []
            self._next = 0
        raise StopIteration

    def __length_hint__(self) -> int:
        """Files not read yet (``operator.length_hint`` uses it): at most the articles still to come."""
        return len(self._plan) - self._next


def _folder_entries(root: Path) -> list[tuple[Path, str]]:
    entries = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        entries.append((path, relative.as_posix()))
    return sorted(entries, key=lambda entry: entry[1])


def load_article(path: Path, *, doc_id: str | None = None) -> Article:
    """Read one file as an article: extract its text, clean it, and read its stated metadata.

    Args:
        path: a .txt, .md, .html, .htm or .pdf file (suffix case is ignored).
        doc_id: the id to give the article; defaults to the file's name.

    Returns:
        The :class:`Article`, with ``text = clean_text(raw)`` and ``content_hash`` = sha256 of ``text``.

    Raises:
        ArticleError: the file is missing, unreadable, empty, binary, not UTF-8, of an unsupported type, or
            has no article text left after cleaning. The message names the file and the reason.
    """
    path = Path(path)
    doc_id = doc_id or path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"'{suffix}'" if suffix else "(no suffix)"
        raise ArticleError(str(path), f"unsupported file type {kind}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    data = _read_bytes(path)
    html_meta = ArticleMeta()
    html_title: str | None = None
    if suffix == ".pdf":
        raw = _pdf_text(data, path)
    else:
        raw = _decode(data, path)
        if suffix in _HTML_SUFFIXES:
            raw, html_title, html_meta = _html_text(raw, path)
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = clean_text(raw)
    if not text:
        raise ArticleError(str(path), "no article text left after removing boilerplate")
    title, meta = extract_metadata(raw, doc_id=doc_id)
    if suffix in _HTML_SUFFIXES:
        title = html_title or title
        meta = ArticleMeta(
            author=meta.author or html_meta.author,
            outlet=meta.outlet or html_meta.outlet,
            date=meta.date or html_meta.date,
        )
    return Article(
        doc_id=doc_id,
        title=title,
        text=text,
        meta=meta,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArticleError(str(path), "no such file") from None
    except IsADirectoryError:
        raise ArticleError(str(path), "is a folder, not a file") from None
    except OSError as error:
        raise ArticleError(str(path), f"cannot read the file: {error.strerror or error}") from None
    if not data:
        raise ArticleError(str(path), "empty file")
    return data


def _decode(data: bytes, path: Path) -> str:
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise ArticleError(str(path), "binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex()
        raise ArticleError(
            str(path), f"not UTF-8 text (byte 0x{bad} at offset {error.start}); re-save it as UTF-8"
        ) from None
    if not text.strip():
        raise ArticleError(str(path), "contains only whitespace")
    return text


def _html_text(html: str, path: Path) -> tuple[str, str | None, ArticleMeta]:
    """Main text of a web page (one paragraph per block element) plus the title, author, site and date it declares."""
    try:
        import trafilatura
    except ImportError as error:  # a core dependency, but say what is missing rather than crash
        raise ArticleError(str(path), "reading HTML needs trafilatura: pip install trafilatura") from error
    if "<" not in html:  # no markup at all: a text file with an .html name
        return html, None, ArticleMeta()
    extracted = trafilatura.extract(
        html,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
    )
    if not extracted:
        # trafilatura refuses pages with very little text; fall back to all of the page's text.
        extracted = trafilatura.html2txt(html)
    if not extracted or not extracted.strip():
        raise ArticleError(str(path), "no readable text in the HTML page")
    # trafilatura puts one block per line; blank lines between them mark paragraphs as in the .txt articles.
    text = "\n\n".join(line.strip() for line in extracted.splitlines() if line.strip())
    title, meta = _html_metadata(html)
    return text, title, meta


def _html_metadata(html: str) -> tuple[str | None, ArticleMeta]:
    import trafilatura

    try:
        document = trafilatura.extract_metadata(html, extensive=False)
    except Exception:  # noqa: BLE001 — metadata is optional; a quirky page must still load
        logger.debug("trafilatura could not read the page metadata", exc_info=True)
        return None, ArticleMeta()
    if document is None:
        return None, ArticleMeta()

    def field(name: str) -> str | None:
        value = getattr(document, name, None)
        return (str(value).strip() or None) if value else None

    return field("title"), ArticleMeta(author=field("author"), outlet=field("sitename"), date=field("date"))


def _pdf_text(data: bytes, path: Path) -> str:
    """Text of every page, pages separated by a blank line."""
    if b"%PDF-" not in data[:1024]:
        raise ArticleError(str(path), "not a PDF file (no %PDF- header)")
    import pypdf
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArticleError(str(path), "the PDF is password-protected")
        pages = [(page.extract_text() or "").strip("\n") for page in reader.pages]
    except ArticleError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise ArticleError(str(path), f"unreadable PDF ({type(error).__name__}: {error})") from None
    text = "\n\n".join(page for page in pages if page.strip())
    if not text.strip():
        raise ArticleError(str(path), "the PDF has no extractable text (scanned images need OCR first)")
    return text
