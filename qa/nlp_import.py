"""Import spaCy without thinc importing torch.

spaCy's numerical library, thinc, imports torch (when installed) only to see whether it is there, which more than
doubles the import of spaCy (about 0.6 s of 1.1 s on a quiet machine); the English pipeline never runs on torch.
``qa.analysis.load_pipeline`` imports the pipeline inside :func:`thinc_without_torch`.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType, ModuleType

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
