"""Load articles from files: .txt, .md, .html/.htm (main text via trafilatura) and .pdf (text via pypdf).

A folder is read recursively; each file becomes one :class:`~corpus.types.Article` whose ``doc_id`` is its
path relative to the folder. Files that cannot be used are reported, one :class:`ArticleError` each, and
never stop the rest from loading: files over the size limit (checked before reading), FIFOs, devices and
sockets (never opened), symbolic links out of the folder (unless followed), links to a folder already
indexed and link loops. ``iter_articles`` reads them one at a time (for collections larger than
memory); ``load_articles`` collects them all.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus.clean import clean_text
from corpus.errors import ArticleError
from corpus.meta import extract_metadata
from corpus.types import Article, ArticleMeta, text_hash

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
_HTML_SUFFIXES = (".html", ".htm")
_BINARY_SNIFF_BYTES = 8192
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
"""Largest article file read by default (see ``corpus.config.CorpusSettings.max_file_bytes``)."""


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


def load_articles(
    paths: Sequence[str | Path] | str | Path | None = None,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    follow_symlinks: bool = False,
) -> LoadResult:
    """Load every article under the given files and folders (all held in memory; see :func:`iter_articles`).

    Args:
        paths: files and/or folders; None loads the bundled corpus. A folder contributes every file under it
            (recursively, sorted, hidden files and folders ignored) with ``doc_id`` = its path relative to
            the folder in posix form; a file contributes itself with ``doc_id`` = its name.
        max_file_bytes: larger files are skipped (by their size on disk, before reading them).
        follow_symlinks: follow symbolic links that lead out of a folder (by default they are skipped).

    Returns:
        A :class:`LoadResult`. Unreadable, empty, binary, non-UTF-8, unsupported and too large files, FIFOs,
        devices and sockets, links out of the folder (unless followed) and link loops, missing paths and
        repeated ``doc_id`` values (the later file) end up in ``skipped``, each once with a reason.

    Example:
        >>> result = load_articles()
        >>> [a.doc_id for a in result.articles][:1]
        ['000_1fa62a2886708ef6.txt']
    """
    stream = iter_articles(paths, max_file_bytes=max_file_bytes, follow_symlinks=follow_symlinks)
    articles = list(stream)
    return LoadResult(articles=articles, skipped=stream.skipped)


def iter_articles(
    paths: Sequence[str | Path] | str | Path | None = None,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    follow_symlinks: bool = False,
) -> ArticleStream:
    """The articles of :func:`load_articles`, in the same order, read one file at a time as they are iterated.

    The folders are listed when this is called (paths only, for the order and the count); each file is read,
    cleaned and dropped by the stream as soon as it has been handed out, so a caller that does not keep the
    articles holds one at a time, whatever the size of the collection.

    Args:
        paths, max_file_bytes, follow_symlinks: as for :func:`load_articles`.

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
    return ArticleStream(roots, max_file_bytes=max_file_bytes, follow_symlinks=follow_symlinks)


class ArticleStream(Iterator[Article]):
    """Articles loaded lazily from files and folders, in ``doc_id`` order per folder (see :func:`iter_articles`).

    Attributes:
        skipped: one :class:`ArticleError` per file that could not be used so far, in the order met;
            complete once the stream is exhausted.
        n_files: files listed (and missing paths): an upper bound of the articles the stream yields.
    """

    def __init__(
        self, roots: Sequence[Path], *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, follow_symlinks: bool = False
    ) -> None:
        # (file, doc_id, None) per file to read, or (path, doc_id, reason) for one to skip (a missing path, a
        # FIFO, a link out of the folder): listing every folder now fixes the order and gives callers a count
        # (for progress bars) without reading a file; the skips are reported as the stream reaches them.
        self._plan: list[tuple[Path, str, str | None]] = []
        self._max_file_bytes = max_file_bytes
        for root in roots:
            if root.is_dir():
                self._plan.extend(_folder_entries(root, follow_symlinks=follow_symlinks))
            elif root.exists():
                self._plan.append((root, root.name, None))
            else:
                self._plan.append((root, root.name, "no such file or folder"))
        self.n_files = len(self._plan)
        self.skipped: list[ArticleError] = []
        self._next = 0
        self._loaded_from: dict[str, Path] = {}

    def __next__(self) -> Article:
        while self._next < len(self._plan):
            path, doc_id, reason = self._plan[self._next]
            self._next += 1
            try:
                if reason is not None:
                    raise ArticleError(str(path), reason)
                if doc_id in self._loaded_from:
                    raise ArticleError(
                        str(path), f"duplicate doc_id {doc_id!r} (already loaded from {self._loaded_from[doc_id]})"
                    )
                article = load_article(path, doc_id=doc_id, max_bytes=self._max_file_bytes)
            except ArticleError as failure:
                # Reported once, by the caller that reads ``skipped`` (the CLI prints it); a warning here too
                # would show every skip twice.
                logger.info("skipped %s", failure)
                self.skipped.append(failure)
                continue
            self._loaded_from[doc_id] = path
            return article
        if self._plan:  # log once, then forget the listing
            logger.info("loaded %d articles, skipped %d files", len(self._loaded_from), len(self.skipped))
            self._plan = []
            self._next = 0
        raise StopIteration

    @property
    def files(self) -> list[tuple[Path, str]]:
        """The files still to read, as ``(path, doc_id)`` in stream order (listed paths that will be skipped for a
        known reason, such as a FIFO or a missing path, are left out). For a reader elsewhere, e.g. on Ray."""
        return [(path, doc_id) for path, doc_id, reason in self._plan[self._next :] if reason is None]

    def __length_hint__(self) -> int:
        """Files not read yet (``operator.length_hint`` uses it): at most the articles still to come."""
        return len(self._plan) - self._next


def _folder_entries(root: Path, *, follow_symlinks: bool) -> list[tuple[Path, str, str | None]]:
    """Every non-hidden entry under ``root`` as ``(path, doc_id, skip reason or None)``, sorted by doc_id.

    Regular files (and links to them) are read later; FIFOs, devices and sockets get a reason and are never
    opened. A symbolic link that resolves outside ``root`` is skipped unless ``follow_symlinks``; a link to a
    folder already listed (inside ``root``, or an ancestor: a loop) and a broken link are skipped.
    """
    real_root = root.resolve()
    entries: list[tuple[Path, str, str | None]] = []
    seen_dirs = {real_root}

    def walk(folder: Path, prefix: str) -> None:
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            entries.append((folder, prefix.rstrip("/") or ".", f"cannot list the folder: {error.strerror or error}"))
            return
        for child in children:
            if child.name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store) are not articles
            path, doc_id = Path(child.path), prefix + child.name
            if child.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError) as error:  # missing target, or a loop of links
                    loop = isinstance(error, RuntimeError) or getattr(error, "errno", None) == errno.ELOOP
                    entries.append((path, doc_id, "symbolic link loop" if loop else "broken symbolic link"))
                    continue
                inside = target == real_root or real_root in target.parents
                if not inside and not follow_symlinks:
                    entries.append((path, doc_id, f"symbolic link to {target}, outside {root}; "
                                                  "not followed (use --follow-symlinks)"))
                    continue
                if target.is_dir():
                    if _is_within(target, seen_dirs):
                        entries.append((path, doc_id, f"symbolic link to a folder already indexed ({target})"))
                        continue
                    if any(target in folder.parents for folder in seen_dirs):
                        entries.append((path, doc_id, f"symbolic link loop (to {target}, which holds {root})"))
                        continue
                    seen_dirs.add(target)
                    walk(path, doc_id + "/")
                    continue
            if child.is_dir():  # follows a link (checked above)
                walk(path, doc_id + "/")
                continue
            try:
                mode = child.stat().st_mode  # follows a link to its target, never opens it
            except OSError as error:
                entries.append((path, doc_id, f"cannot read the file: {error.strerror or error}"))
                continue
            special = _special_file_kind(mode)
            entries.append((path, doc_id, f"{special}, not a regular file; not opened" if special else None))

    walk(root, "")
    return sorted(entries, key=lambda entry: entry[1])


def _is_within(target: Path, folders: set[Path]) -> bool:
    """Whether ``target`` lies inside (or is) one of ``folders``, all resolved paths."""
    return any(target == f or f in target.parents for f in folders)


def _special_file_kind(mode: int) -> str | None:
    """What a non-regular, non-folder file is ("a FIFO (named pipe)", …), or None for a regular file."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return "not a regular file"
    return None


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB ({n:,} bytes)" if n >= 2**20 else f"{n:,} bytes"


def load_article(path: Path, *, doc_id: str | None = None, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Article:
    """Read one file as an article: extract its text, clean it, and read its stated metadata.

    Args:
        path: a .txt, .md, .html, .htm or .pdf file (suffix case is ignored).
        doc_id: the id to give the article; defaults to the file's name.
        max_bytes: a larger file is refused by its size on disk, before it is read.

    Returns:
        The :class:`Article`, with ``text = clean_text(raw)`` and ``content_hash`` = sha256 of ``text``.

    Raises:
        ArticleError: the file is missing, unreadable, empty, binary, not UTF-8, of an unsupported type,
            larger than ``max_bytes``, not a regular file (a FIFO, device or socket: never opened), or has no
            article text left after cleaning. The message names the file and the reason.
    """
    path = Path(path)
    doc_id = doc_id or path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"'{suffix}'" if suffix else "(no suffix)"
        raise ArticleError(str(path), f"unsupported file type {kind}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    data = _read_bytes(path, max_bytes)
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
        content_hash=text_hash(text),
    )


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, after checking (by ``stat``, without opening it) that it is a regular file within
    ``max_bytes``; opened non-blocking and checked again, so a file swapped for a FIFO cannot hang the read."""
    try:
        _check_file(path, os.stat(path), max_bytes)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as file:
            _check_file(path, os.fstat(file.fileno()), max_bytes)
            data = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise ArticleError(str(path), "no such file") from None
    except IsADirectoryError:
        raise ArticleError(str(path), "is a folder, not a file") from None
    except OSError as error:
        raise ArticleError(str(path), f"cannot read the file: {error.strerror or error}") from None
    if len(data) > max_bytes:  # it grew after the check
        raise ArticleError(str(path), f"file too large (over {_size(max_bytes)}, the corpus.max_file_bytes limit)")
    if not data:
        raise ArticleError(str(path), "empty file")
    return data


def _check_file(path: Path, status: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISDIR(status.st_mode):
        raise ArticleError(str(path), "is a folder, not a file")
    special = _special_file_kind(status.st_mode)
    if special:
        raise ArticleError(str(path), f"{special}, not a regular file; not opened")
    if status.st_size > max_bytes:
        raise ArticleError(
            str(path),
            f"file too large: {_size(status.st_size)}, over the {_size(max_bytes)} limit "
            "(setting corpus.max_file_bytes)",
        )


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
