"""library.build and Library.add_files stream their files into the index: skip reasons, uploads and the empty case."""

from __future__ import annotations

from pathlib import Path

import pytest
from files import write

import corpus.load as load_module
from corpus.errors import ArticleError
from qa import QA, ArticleNotFoundError, Settings, get_settings, library
from qa.library import uploads_dir


def hash_settings(tmp_path: Path) -> Settings:
    return get_settings({"index": {"dir": str(tmp_path / "index")}, "embedding": {"model": "hash"}})


def test_build_streams_files_and_uploads_with_their_skip_reasons(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings = hash_settings(tmp_path)
    for i in range(3):
        write(tmp_path / "docs" / f"a{i}.txt", f"Article {i} is about lighthouse number {i}.")
    write(tmp_path / "docs" / "b.txt", b"")
    write(uploads_dir(settings) / "up.md", "# Upload\n\nAn uploaded note about tea.")
    write(uploads_dir(settings) / "zz.txt", b"\x00binary")

    # Built from the bundled corpus (+ uploads) by default; from PATHS without uploads otherwise.
    calls: list[str] = []
    real = load_module.load_article

    def counting(path: Path, *, doc_id: str | None = None, **options):  # type: ignore[no-untyped-def]
        calls.append(Path(path).name)
        return real(path, doc_id=doc_id, **options)

    monkeypatch.setattr(load_module, "load_article", counting)
    report, skipped = library.build(settings, [tmp_path / "docs"], progress=False)
    assert report.articles == 3 and calls == ["a0.txt", "a1.txt", "a2.txt", "b.txt"]
    assert [(Path(e.path).name, e.reason) for e in skipped] == [("b.txt", "empty file")]

    report, skipped = library.build(settings, progress=False)
    assert report.articles == 6 and report.removed == 3  # the five seed articles and the upload
    assert [Path(e.path).name for e in skipped] == ["zz.txt"]
    assert "uploads/up.md" in QA.from_settings(settings).index.articles


def test_build_without_a_readable_article_fails_before_touching_the_index(tmp_path: Path) -> None:
    settings = hash_settings(tmp_path)
    write(tmp_path / "docs" / "empty.txt", b"")
    with pytest.raises(ArticleError, match="no readable articles to index"):
        library.build(settings, [tmp_path / "docs"], progress=False)
    assert not (tmp_path / "index").exists()


def test_add_files_reports_added_and_skipped_in_order(tmp_path: Path) -> None:
    settings = hash_settings(tmp_path)
    library.build(settings, progress=False)
    qa = QA.from_settings(settings)
    files = [write(tmp_path / "in" / "bad.docx", b"PK"), write(tmp_path / "in" / "one.txt", "The first upload."),
             write(tmp_path / "in" / "empty.txt", b""), write(tmp_path / "in" / "two.md", "The second upload.")]
    messages: list[str] = []
    result = qa.library.add_files(files, progress=messages.append)
    assert result.added_doc_ids == ["uploads/one.txt", "uploads/two.md"]
    assert [e.path for e in result.skipped] == ["bad.docx", "empty.txt"]
    assert messages == [  # a line per file as the build takes it; the count: files of a supported type
        "reading bad.docx (1 of 4)",
        "reading one.txt (2 of 4)",
        "indexing 3 article(s)",
        "reading empty.txt (3 of 4)",
        "reading two.md (4 of 4)",
    ]
    assert result.report is not None and (result.report.added, result.report.articles) == (2, 7)
    assert sorted(p.name for p in uploads_dir(settings).iterdir()) == ["one.txt", "two.md"]
    assert qa.library.add_files([files[0], files[2]]).report is None


def test_add_files_under_checked_names_copies_once_and_remove_deletes_that_copy(tmp_path: Path) -> None:
    """The UI's path: its upload policy names each file; the library keeps one copy under that name."""
    settings = hash_settings(tmp_path)
    library.build(settings, progress=False)
    qa = QA.from_settings(settings)
    src = write(tmp_path / "gradio-tmp" / "Weird Name (1).TXT", "The weird upload is about a green lighthouse.")
    result = qa.library.add_files([src], names=["Weird_Name_1.txt"])
    assert result.added_doc_ids == ["uploads/Weird_Name_1.txt"] == [library.upload_doc_id("Weird_Name_1.txt")]
    assert [p.name for p in uploads_dir(settings).iterdir()] == ["Weird_Name_1.txt"]
    assert src.is_file()  # the caller's file is copied, never moved
    assert qa.library.article("uploads/Weird_Name_1.txt").text.startswith("The weird upload")
    qa.library.remove_article("uploads/Weird_Name_1.txt")
    assert list(uploads_dir(settings).iterdir()) == []
    with pytest.raises(ArticleNotFoundError, match="no article 'uploads/Weird_Name_1.txt'"):
        qa.library.article("uploads/Weird_Name_1.txt")
    with pytest.raises(KeyError):  # still a KeyError for callers that catch that
        qa.library.remove_article("uploads/Weird_Name_1.txt")
    with pytest.raises(ValueError, match="one name per path"):
        qa.library.add_files([src], names=[])


def test_only_an_uploads_doc_id_removes_a_file_from_the_uploads_folder(tmp_path: Path) -> None:
    settings = hash_settings(tmp_path)
    write(tmp_path / "docs" / "same.txt", "An indexed article that shares a name with an upload.")
    library.build(settings, [tmp_path / "docs"], progress=False)
    keep = write(uploads_dir(settings) / "same.txt", "An uploaded file of the same name.")
    QA.from_settings(settings).library.remove_article("same.txt")
    assert keep.is_file()
