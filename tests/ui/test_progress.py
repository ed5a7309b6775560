"""ui.progress: a long index change as status lines, yielded while it runs, then its result."""

from __future__ import annotations

import threading

import pytest

from ui.progress import progress_line, steps


def test_each_progress_message_is_a_line_before_the_result() -> None:
    seen_in_worker: list[str] = []

    def work(progress: object) -> str:
        assert callable(progress)
        seen_in_worker.append(threading.current_thread().name)
        progress("Reading 2 file(s)\u2026")
        progress("indexing 2 article(s)")
        return "**Added 2 article(s):** `uploads/a.txt`, `uploads/b.txt`"

    out = list(steps(work, first="Checking 2 file(s)"))
    assert out == [
        ("\u23f3 Checking 2 file(s)", False),
        ("\u23f3 Reading 2 file(s)\u2026", False),
        ("\u23f3 Indexing 2 article(s)", False),
        ("**Added 2 article(s):** `uploads/a.txt`, `uploads/b.txt`", True),
    ]
    assert seen_in_worker == ["citeqa-index-update"]  # the work ran beside the caller, which kept yielding


def test_the_first_line_comes_before_the_work_ends() -> None:
    release = threading.Event()

    def work(progress: object) -> str:
        release.wait(timeout=30)
        return "done"

    it = steps(work, first="Checking 1 file(s)")
    assert next(it) == ("\u23f3 Checking 1 file(s)", False)  # shown while the work is still blocked
    release.set()
    assert list(it) == [("done", True)]


def test_an_error_in_the_work_reaches_the_caller_after_its_lines() -> None:
    def work(progress: object) -> str:
        assert callable(progress)
        progress("Reading 1 file(s)")
        raise RuntimeError("disk on fire")

    it = steps(work, first="Checking")
    assert [next(it), next(it)] == [("\u23f3 Checking", False), ("\u23f3 Reading 1 file(s)", False)]
    with pytest.raises(RuntimeError, match="disk on fire"):
        next(it)


def test_progress_line_capitalises_and_marks_running() -> None:
    assert progress_line("indexing 3 article(s)") == "\u23f3 Indexing 3 article(s)"
    assert progress_line("  ") == "\u23f3 Working"
