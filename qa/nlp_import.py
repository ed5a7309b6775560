"""Import spaCy with only what the answer path uses: no torch probe, no command-line modules, indexed plugins.

Three costs of a plain ``import spacy`` and model load serve nothing here (measured on a quiet 2-core machine):

- thinc, spaCy's numerical library, imports torch (when installed) only to see whether it is there: about 0.6 s
  of a 1.1 s import. The English pipeline never runs on torch.
- ``spacy/__init__.py`` imports ``spacy.cli.info`` for ``spacy.info``, which pulls in the whole command line
  (typer, weasel, requests, httpx, jinja2, rich): about 0.2 s. Inside :func:`lean_spacy_import` that import gets a
  small module whose ``info`` imports the real one when called, so ``spacy.info()`` still works and
  ``import spacy.cli`` afterwards imports the real package (nothing of the stand-in stays in ``sys.modules``).
- catalogue, the registry library under spaCy and thinc, looks plugins up with ``entry_points().select(group=...)``,
  which walks every entry point of every installed distribution on each of the ~250 look-ups of a model load:
  about 0.1 s. :func:`lean_spacy_import` gives catalogue the same entry points grouped once (catalogue's own
  code path for a dict); what each look-up returns is unchanged.
- srsly, spaCy's serialisation library, imports its vendored YAML library (``srsly.ruamel_yaml``) on import for
  ``srsly.read_yaml`` and friends, which loading a pipeline never calls: about 25 ms of CPU. Inside
  :func:`lean_spacy_import` srsly's ``from ._yaml_api import ...`` gets functions that import the real module when
  first called (the stand-in leaves ``sys.modules`` at once, as the CLI's does).

``qa.analysis.load_pipeline`` imports the pipeline package inside :func:`lean_spacy_import` and loads it with
:func:`load_package`, which builds the tokenizer once instead of twice (see there).

Both run with Python's cyclic garbage collector paused, and each ends by freezing what the process holds then
(``gc.freeze``): see :func:`collector_paused` and :func:`freeze_loaded`. The import and load allocate several
hundred thousand long-lived objects (classes, strings, vocab entries, model arrays) and next to no garbage, and
every full collection after them walked all of them again. In a cold ``citeqa ask`` (busy 2 cores) the collector
took 0.25-0.27 s with answerability on against 0.05-0.07 s off, plus 0.08-0.14 s against 0.05-0.08 s in the
collection at interpreter exit; paused and frozen, 0.14-0.16 s on against 0.13-0.16 s off, and 0.02-0.03 s at exit.
"""

from __future__ import annotations

import ast
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

_PROBING_MODULE = "thinc.compat"  # the module whose ``try: import torch`` only probes for torch
_CLI, _CLI_INFO = "spacy.cli", "spacy.cli.info"  # what spacy/__init__.py imports only for ``spacy.info``
_YAML_API = "srsly._yaml_api"  # what srsly/__init__.py imports only for its YAML functions
_YAML_NAMES = ("read_yaml", "write_yaml", "yaml_dumps", "yaml_loads", "is_yaml_serializable")


class _NoTorchForThinc(importlib.abc.MetaPathFinder):
    """Answers "not installed" to an import of torch made by thinc's probe, and only to that one."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] == "torch" and _imported_from(_PROBING_MODULE):
            raise ModuleNotFoundError(f"{fullname} is not needed by spaCy's pipeline here", name=fullname)
        return None  # anyone else (another thread loading a torch embedder) imports torch as usual


class _DeferredCli(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Gives spaCy's own ``from .cli.info import info`` a small ``spacy.cli.info`` (and an empty ``spacy.cli``
    package around it); any other import of those names, in this thread or another, finds the real modules."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in (_CLI, _CLI_INFO) and _imported_from("spacy"):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname == _CLI)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        if module.__name__ == _CLI_INFO:
            module.info = spacy_info  # type: ignore[attr-defined]

    def forget(self) -> None:
        """Take the stand-in modules out of ``sys.modules`` and off the ``spacy`` package."""
        for name in (_CLI_INFO, _CLI):
            module = sys.modules.get(name)
            if module is not None and getattr(module.__spec__, "loader", None) is self:
                del sys.modules[name]
        spacy = sys.modules.get("spacy")
        cli = getattr(spacy, "cli", None)
        if cli is not None and getattr(cli.__spec__, "loader", None) is self:
            delattr(spacy, "cli")


class _DeferredYaml(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Gives srsly's own ``from ._yaml_api import ...`` a small module whose functions import the real
    ``srsly._yaml_api`` when called; any other import of it, in this thread or another, finds the real module."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == _YAML_API and _imported_from("srsly"):
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        for name in _YAML_NAMES:
            setattr(module, name, _deferred_yaml(name))

    def forget(self) -> None:
        """Take the stand-in module out of ``sys.modules`` and off the ``srsly`` package."""
        module = sys.modules.get(_YAML_API)
        if module is not None and getattr(module.__spec__, "loader", None) is self:
            del sys.modules[_YAML_API]
        srsly = sys.modules.get("srsly")
        api = getattr(srsly, "_yaml_api", None)
        if api is not None and getattr(api.__spec__, "loader", None) is self:
            delattr(srsly, "_yaml_api")


def _deferred_yaml(name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(_YAML_API), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"srsly.{name}, its YAML library imported on the first call."
    return call


def spacy_info(*args: Any, **kwargs: Any) -> Any:
    """``spacy.info`` when spaCy was imported by :func:`lean_spacy_import`: spaCy's own, imported when called."""
    from spacy.cli.info import info

    return info(*args, **kwargs)


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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's automatic cyclic garbage collection inside this block (``gc.disable``), and turn it back on
    after only when it was on before (nested blocks and a caller's own ``gc.disable`` are respected).

    The pause is process-wide: another thread allocating meanwhile is not collected either, which for the second
    or so of a spaCy load costs at most the memory of that second's reference cycles. Reference counting frees
    everything else as usual; nothing any code computes changes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def freeze_loaded() -> None:
    """Move every object the process holds now out of the collector's reach (``gc.freeze``), after spaCy's load:
    later collections (including the one at interpreter exit) then skip the pipeline's objects instead of walking
    them each time. They are never freed by the collector; reference counting still frees whatever is no longer
    referenced, so what a frozen object holds is lost only if it ends up in a reference cycle (a bounded, one-time
    cost: the objects that existed at the load)."""
    gc.freeze()


@contextmanager
def lean_spacy_import() -> Iterator[None]:
    """Import spaCy (or a pipeline package) inside this block: without torch (:func:`thinc_without_torch`), without
    its command-line modules, and with catalogue's plugin look-ups indexed by group (see the module docstring).

    An already imported spaCy (or srsly) is left as it is. The collector is paused meanwhile
    (:func:`collector_paused`) and what was imported is frozen after (:func:`freeze_loaded`).
    """
    stand_ins: list[_DeferredCli | _DeferredYaml] = []
    if "spacy" not in sys.modules:
        stand_ins.append(_DeferredCli())
    if "srsly" not in sys.modules:
        stand_ins.append(_DeferredYaml())
    sys.meta_path[:0] = stand_ins
    try:
        with collector_paused(), thinc_without_torch():
            yield
    finally:
        for finder in stand_ins:
            sys.meta_path.remove(finder)
            finder.forget()
        index_entry_points()
    freeze_loaded()


def index_entry_points() -> None:
    """Give catalogue its entry points grouped once (a dict, which it reads with ``.get(group)``) instead of the
    ``SelectableGroups`` whose ``select(group=...)`` walks all of them on every look-up. No-op before catalogue
    is imported, or when it already has a dict."""
    catalogue = sys.modules.get("catalogue")
    found = getattr(catalogue, "AVAILABLE_ENTRY_POINTS", None)
    if catalogue is None or found is None or isinstance(found, dict) and not hasattr(found, "select"):
        return
    if isinstance(found, dict):  # importlib.metadata.SelectableGroups: a dict of group → EntryPoints
        grouped = {group: list(points) for group, points in dict.items(found)}
    else:  # importlib.metadata.EntryPoints (Python ≥ 3.12): one flat sequence
        grouped = {}
        for point in found:
            grouped.setdefault(point.group, []).append(point)
    setattr(catalogue, "AVAILABLE_ENTRY_POINTS", grouped)  # noqa: B010 - a module attribute mypy cannot see


def installed_versions(package: str) -> tuple[str, str] | None:
    """The versions a pipeline package and spaCy report once imported (``package.__version__``, ``spacy.__version__``),
    read without importing either: the package's ``meta.json`` (what its ``__init__`` reads the version from) and
    ``spacy/about.py``. None when either is not installed or its file does not say.

    ``citeqa index`` names the pipeline its stored entities are of with this, so an index with nothing to add does
    not load spaCy (about a second) for the name alone.
    """
    try:
        pipeline_spec = importlib.util.find_spec(package)
        spacy_spec = importlib.util.find_spec("spacy")
    except (ImportError, ValueError):
        return None
    if pipeline_spec is None or spacy_spec is None or not pipeline_spec.origin or not spacy_spec.origin:
        return None
    try:
        meta = json.loads((Path(pipeline_spec.origin).parent / "meta.json").read_text(encoding="utf-8"))
        about = ast.parse((Path(spacy_spec.origin).parent / "about.py").read_text(encoding="utf-8"))
    except (OSError, ValueError, SyntaxError):
        return None
    spacy_version = next((node.value.value for node in about.body if isinstance(node, ast.Assign)
                          and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
                          and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)), None)
    version = meta.get("version") if isinstance(meta, dict) else None
    if not isinstance(version, str) or spacy_version is None:
        return None
    return version, spacy_version


DISK_TOKENIZER = "citeqa.TokenizerFromDisk.v1"  # registered in spaCy's tokenizers by load_package


def _tokenizer_from_disk() -> Any:
    """spaCy's tokenizer factory for a pipeline loaded from disk: an empty tokenizer, since ``from_disk`` then
    sets every one of its rules, patterns and settings from the pipeline's ``tokenizer`` file."""
    from spacy.tokenizer import Tokenizer

    def make(nlp: Any) -> Any:
        return Tokenizer(nlp.vocab)

    return make


def load_package(package: ModuleType) -> Any:
    """Load an installed spaCy pipeline package (``package.load()``), building its tokenizer once.

    The package's config names spaCy's default tokenizer, so ``Language.__init__`` first builds one from the
    language's defaults (its 2,700 special cases and prefix/suffix/infix patterns compiled: about 0.1 s of CPU)
    that ``from_disk`` throws away: ``Tokenizer.from_bytes`` resets every rule, pattern and setting and sets each
    from the pipeline's ``tokenizer`` file. Here the first one is empty (:data:`DISK_TOKENIZER`); the tokenizer the
    pipeline ends with is the same, byte for byte (``nlp.tokenizer.to_bytes()``). A package whose folder has no
    ``tokenizer`` file is loaded as spaCy would.

    Components the package ships disabled (its ``meta.json`` ``disabled``: the English pipelines' ``senter``, whose
    sentence starts the parser gives) are not loaded at all: they never run unless enabled, and citeqa enables none.

    The load runs with the collector paused and ends with :func:`freeze_loaded` (see the module docstring).
    """
    with collector_paused():
        nlp = _load_package(package)
    freeze_loaded()
    return nlp


def _load_package(package: ModuleType) -> Any:
    from spacy.util import registry

    init = getattr(package, "__file__", None)
    folder = Path(init).parent if init else None
    if folder is None or not folder.is_dir() or not any((sub / "tokenizer").is_file()
                                                         for sub in folder.iterdir() if sub.is_dir()):
        return package.load()
    if DISK_TOKENIZER not in registry.tokenizers:
        registry.tokenizers.register(DISK_TOKENIZER, func=_tokenizer_from_disk)
    try:
        disabled = json.loads((folder / "meta.json").read_text(encoding="utf-8")).get("disabled") or []
    except (OSError, ValueError, AttributeError):
        disabled = []
    overrides: dict[str, Any] = {"config": {"nlp": {"tokenizer": {"@tokenizers": DISK_TOKENIZER}}}}
    if isinstance(disabled, list) and all(isinstance(name, str) for name in disabled) and disabled:
        overrides["exclude"] = disabled
    return package.load(**overrides)
