"""Cold start: load the spaCy pipeline off the answer path.

Question analysis (``answer.answerability``), the follow-up rewrite and two-hop questions parse with spaCy, whose
import and model load cost about a second; paid on the first question, that second is added to its answer. When a
``QA`` is built for work that will need the parse, :func:`preload_nlp` starts the load in a daemon thread, beside
the index and embedder loads, so the first question finds it done (or waits only for the rest of it: the load is
``qa.analysis.load_pipeline``, which loads once under a lock however many threads ask).

``qa.nlp_import.thinc_without_torch`` takes the other half of the cost away (thinc's probe for torch).
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)

THREAD_NAME = "citeqa-nlp-preload"


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
