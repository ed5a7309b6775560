"""Cold start: load the spaCy pipeline off the answer path.

Question analysis (``answer.answerability``), the follow-up rewrite and two-hop questions parse with spaCy, whose
import and model load cost about a second; paid on the first question, that second is added to its answer. When a
``QA`` is built for work that will need the parse, :func:`preload_nlp` starts the load in a daemon thread, beside
the index and embedder loads, so the first question finds it done (or waits only for the rest of it: the load is
``qa.analysis.load_pipeline``, which loads once under a lock however many threads ask).

:func:`thinc_without_torch` takes the other half of the cost away: spaCy's numerical library, thinc, imports torch
(when installed) just to see whether it is there, which more than doubles the import of spaCy; the English pipeline
never runs on torch.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType, ModuleType

logger = logging.getLogger(__name__)

THREAD_NAME = "citeqa-nlp-preload"
_PROBING_MODULE = "thinc.compat"  # the module whose ``try: import torch`` only probes for torch


class _NoTorchForThinc(importlib.abc.MetaPathFinder):
    """Answers "not installed" to an import of torch made by thinc's probe, and only to that one."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] == "torch" and _imported_from(_PROBING_MODULE):
            raise ModuleNotFoundError(f"{fullname} is not needed by spaCy's pipeline here", name=fullname)
        return None  # anyone else (another thread loading a torch embedder) imports torch as usual


def _imported_from(module: str) -> bool:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == module:
            return True
        frame = frame.f_back
    return False


@contextmanager
def thinc_without_torch() -> Iterator[None]:
    """Import spaCy inside this block and thinc will not import torch (it then reports ``has_torch = False``).

    Nothing changes when torch is already imported (thinc finds it at no cost) or thinc already is (its probe ran).
    Other imports of torch, in this thread or another, are untouched.
    """
    if "torch" in sys.modules or _PROBING_MODULE in sys.modules:
        yield
        return
    finder = _NoTorchForThinc()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def preload_nlp() -> threading.Thread:
    """Start loading the spaCy pipeline in a daemon thread; returns the thread (already started).

    A failed load (the pipeline is not installed) is only logged here: the first question that needs the parse
    raises the error, with its install hint.
    """
    thread = threading.Thread(target=_load, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread


def _load() -> None:
    from qa.analysis import load_pipeline  # spaCy loads here, not when qa is imported

    try:
        load_pipeline()
    except Exception as exc:  # noqa: BLE001 - reported again, with its hint, by the question that needs it
        logger.debug("preloading the spaCy pipeline failed: %s", exc)
