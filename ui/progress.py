"""Long index changes (adding articles) as a stream of status lines the page can show while they run.

Gradio's own progress display covers every output of an event with a spinner ("0 steps | 6.3s") and shows none
of the messages; instead the work runs in a thread and each status line it reports is yielded as it comes, so the
page shows real progress text in one line while the table, the upload box and the delete list stay usable.

Example::

    for line, done in steps(lambda progress: ui.add_uploads(paths, progress=progress), first="Checking 2 files"):
        print(line)  # "Checking 2 files…", "Reading 2 file(s)…", "indexing 2 article(s)", then the final status
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

_DONE = object()


def progress_line(message: str) -> str:
    """A status line for work in progress (Markdown): the message, capitalised, marked as running."""
    text = message.strip() or "Working"
    return f"\u23f3 {text[0].upper()}{text[1:]}"


def steps(work: Callable[[Callable[[str], None]], str], *, first: str) -> Iterator[tuple[str, bool]]:
    """Run ``work(progress)`` in a thread; yield ``(line, False)`` for ``first`` and each progress message, then
    ``(result, True)`` with what ``work`` returned.

    An exception in ``work`` is raised here, after the lines reported before it.
    """
    messages: queue.Queue[object] = queue.Queue()
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = work(messages.put)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            messages.put(_DONE)

    yield progress_line(first), False
    worker = threading.Thread(target=run, name="citeqa-index-update", daemon=True)
    worker.start()
    while (message := messages.get()) is not _DONE:
        yield progress_line(str(message)), False
    worker.join()
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error
    yield str(outcome.get("result", "")), True
