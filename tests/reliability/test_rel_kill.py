"""Kill points: a real ``citeqa index`` (the shipped model, a few hundred generated articles) killed at each stage.

After each SIGKILL: the previous index, if there was one, is unchanged and answers as before; the next
``citeqa index`` finishes, embeds only what no committed checkpoint batch held (its printed summary says how
many chunks it embedded) and ends with exactly the articles and chunks of a clean build. And a query run while
a build of the user's folder is in progress never replaces it with the bundled articles (issue 10, item 3).

How the moment is picked, without timing: the child is stopped at a stage by the file system, not by a clock.
Reading is seen in the spill file of the staging folder; a FIFO planted in the build's staging folder
(``.index.building-PID``) under the name of a file the build will write blocks it at that write (FAISS, BM25) or
at the fsync of the swap; ``/proc/PID/wchan`` says when the child waits on the FIFO. Checkpoint commits are
seen in ``.index.resume/``; mid-encoding is two threads of the child running while no batch is committed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from rel_index_util import CITEQA, answers_of, index_files, probe_queries, subprocess_env

from embeddings import ChunkSettings, EmbeddingSettings, Index, load_embedder
from embeddings.embedder import Embedder

pytestmark = pytest.mark.heavy

N_ARTICLES = 400  # two checkpoint batches (256 + 144 articles): ~20 s of encoding on 2 busy cores
N_PREVIOUS = 30  # the index that exists before the killed build (the first 30 articles)
GUARD_S = 900  # a hang guard for polling loops and children, never a timing assertion
SUMMARY = re.compile(r"indexed (\d+) articles, (\d+) chunks .*?; (\d+) chunks embedded")

TOWNS = ["Arles", "Brest", "Calais", "Dieppe", "Evian", "Figeac", "Gap", "Hyeres", "Istres", "Jarnac", "Laval",
         "Menton", "Nantes", "Orange", "Pau", "Quimper", "Rodez", "Sete", "Tulle", "Uzes", "Vannes", "Wissant"]
THINGS = ["lighthouse", "library", "bridge", "market hall", "railway station", "museum", "harbour wall", "school",
          "observatory", "bakery", "tram line", "concert hall", "hospital wing", "botanical garden"]
PEOPLE = ["Anne Martin", "Bruno Petit", "Chloe Durand", "David Leroy", "Emma Moreau", "Felix Simon", "Gaelle Roux",
          "Hugo Laurent", "Ines Michel", "Jules Garcia", "Lea Bernard", "Marc Thomas"]


def article_text(i: int) -> str:
    """A small article with facts of its own (town, thing, year, person, cost), 1-2 chunks of the real model."""
    rng = np.random.default_rng(i)
    town, town2 = rng.choice(TOWNS, 2, replace=False)
    thing = THINGS[i % len(THINGS)]
    person = PEOPLE[int(rng.integers(len(PEOPLE)))]
    year = 1850 + i
    lines = [
        f"The {thing} of {town} in report {i}",
        "",
        f"The town of {town} opened its new {thing} in {year}, report number {i} says.",
        f"The mayor, {person}, said the {thing} cost {100 + i} thousand euros and took {2 + i % 5} years to build.",
        f"Visitors came from {town2} by train to see it on the first day.",
        f"Local newspapers praised the {thing} for its design, although some residents of {town} complained "
        f"about the noise during the works.",
    ]
    if i % 3 == 0:  # some articles get a second paragraph, so some have two chunks
        lines += ["", " ".join(f"In {year + k} the {thing} of {town} welcomed {1000 * (k + 1) + i} visitors "
                                f"and hosted {k + 2} exhibitions about {town2}." for k in range(6))]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Built:
    """A clean build, kept as a template."""

    index_dir: Path
    articles: int
    chunks: int
    spans: list[tuple[str, int, int]]
    vectors: np.ndarray


@dataclass
class World:
    """Module state: the corpus, its clean build, the previous (small) index, the shipped embedder."""

    root: Path
    corpus: Path
    previous_corpus: Path
    env: dict[str, str]
    clean: Built
    previous: Built
    embedder: Embedder


def _env(root: Path, model_cache: Path) -> dict[str, str]:
    env = subprocess_env(root / "home", CITEQA_EMBEDDING__CACHE_DIR=str(model_cache),
                         HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for var in ("CITEQA_INDEX_DIR", "CITEQA_CONFIG", "CITEQA_EMBEDDING__MODEL", "CITEQA_CHUNKING__SIZE",
                "CITEQA_CHUNKING__OVERLAP", "CITEQA_INDEX__FAISS"):
        env.pop(var, None)
    return env


def citeqa(args: list[str], env: dict[str, str], index_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``.venv/bin/citeqa ARGS`` to the end."""
    if index_dir is not None:
        env = {**env, "CITEQA_INDEX_DIR": str(index_dir)}
    return subprocess.run([str(CITEQA), *args], env=env, capture_output=True, text=True, timeout=GUARD_S)


def read_built(index_dir: Path) -> Built:
    manifest = json.loads((index_dir / "manifest.json").read_text())
    spans = []
    for line in (index_dir / "chunks.jsonl").read_text().splitlines():
        rec = json.loads(line)
        spans.append((rec["doc_id"], rec["start"], rec["end"]))
    return Built(index_dir, manifest["n_articles"], manifest["n_chunks"], spans, np.load(index_dir / "vectors.npy"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, _model_cache: Path) -> World:
    root = tmp_path_factory.mktemp("rel_kill")
    corpus, previous_corpus = root / "corpus", root / "previous_corpus"
    corpus.mkdir()
    previous_corpus.mkdir()
    for i in range(N_ARTICLES):
        text = article_text(i)
        (corpus / f"a{i:04d}.txt").write_text(text, encoding="utf-8")
        if i < N_PREVIOUS:
            (previous_corpus / f"a{i:04d}.txt").write_text(text, encoding="utf-8")
    env = _env(root, _model_cache)
    built = {}
    for name, folder in (("clean", corpus), ("previous", previous_corpus)):
        index_dir = root / name / "index"
        r = citeqa(["index", "-q", str(folder)], env, index_dir)
        assert r.returncode == 0, r.stderr[-3000:]
        built[name] = read_built(index_dir)
    assert built["clean"].articles == N_ARTICLES and built["previous"].articles == N_PREVIOUS
    assert built["clean"].chunks > N_ARTICLES  # some articles have two chunks
    embedder = load_embedder(EmbeddingSettings(cache_dir=_model_cache))
    return World(root, corpus, previous_corpus, env, built["clean"], built["previous"], embedder)


# -- the child, and the states to wait for ---------------------------------------------------------------------
class Child:
    """A ``citeqa index`` child process, killed with SIGKILL at the moment a test picks."""

    def __init__(self, args: list[str], env: dict[str, str], index_dir: Path, log: Path) -> None:
        self.index_dir = index_dir
        self.log = log
        self._log_fh = open(log, "w")
        self.proc = subprocess.Popen([str(CITEQA), *args], env={**env, "CITEQA_INDEX_DIR": str(index_dir)},
                                     stdout=self._log_fh, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def staging(self) -> Path:
        return self.index_dir.parent / f".{self.index_dir.name}.building-{self.pid}"

    @property
    def resume(self) -> Path:
        return self.index_dir.parent / f".{self.index_dir.name}.resume"

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        """Poll ``condition`` until it holds; fail if the child exits first (a guard, not a timing assertion)."""
        deadline = time.monotonic() + GUARD_S
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"citeqa index exited ({self.proc.returncode}) before {what}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"citeqa index never reached {what}:\n{self.output()[-3000:]}")
            time.sleep(0.01)

    def blocked_on_fifo(self) -> bool:
        """The child's main thread waits for the other end of a FIFO (to open it)."""
        try:
            return Path(f"/proc/{self.pid}/wchan").read_text().strip() == "wait_for_partner"
        except OSError:
            return False

    def running_threads(self) -> int:
        n = 0
        for stat in Path(f"/proc/{self.pid}/task").glob("*/stat"):
            try:
                n += stat.read_text().rsplit(")", 1)[1].split()[0] == "R"
            except (OSError, IndexError):
                pass
        return n

    def kill(self) -> None:
        assert self.proc.poll() is None, f"the build finished before it could be killed:\n{self.output()[-3000:]}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=GUARD_S)
        self._log_fh.close()

    def output(self) -> str:
        self._log_fh.flush()
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log_fh.close()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.close()


def committed_batches(resume: Path) -> list[str]:
    """Names of the checkpoint batches committed so far (a batch is committed by its JSON)."""
    return sorted(p.name for p in resume.glob("[0-9]*.json")) if resume.is_dir() else []


def committed_rows(resume: Path) -> int:
    """Chunk vectors in committed checkpoint batches: what the next build must not embed again."""
    rows = 0
    for name in committed_batches(resume):
        record = json.loads((resume / name).read_text())
        rows += int(np.load(resume / record["vectors"], mmap_mode="r").shape[0])
    return rows


def plant_fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


# -- the checks after a kill -------------------------------------------------------------------------------------
def fresh_index(world: World, tmp_path: Path, template: Built | None) -> Path:
    index_dir = tmp_path / "index"
    if template is not None:
        shutil.copytree(template.index_dir, index_dir)
    return index_dir


def assert_previous_intact(world: World, index_dir: Path, template: Built, files_before: dict[str, bytes]) -> None:
    """The index that was there before the killed build: same files, loads, answers as the template does."""
    assert index_files(index_dir) == files_before, "the killed build changed the previous index"
    index = Index.load(index_dir, embedder=world.embedder, chunking=ChunkSettings())
    reference = Index.load(template.index_dir, embedder=world.embedder, chunking=ChunkSettings())
    queries = probe_queries(reference)[:12]
    assert answers_of(index, queries) == answers_of(reference, queries)


def finish_and_compare(world: World, index_dir: Path, *, args: list[str], not_yet_embedded: int) -> None:
    """The next ``citeqa index`` finishes, embeds exactly the chunks no committed batch held, equals a clean build."""
    r = citeqa(["index", "-q", *args], world.env, index_dir)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    m = SUMMARY.search(r.stdout)
    assert m, r.stdout
    articles, chunks, embedded = map(int, m.groups())
    assert (articles, chunks) == (world.clean.articles, world.clean.chunks), r.stdout
    assert embedded == not_yet_embedded, f"embedded {embedded} chunks, expected {not_yet_embedded}: {r.stdout}"
    built = read_built(index_dir)
    assert built.spans == world.clean.spans, "the resumed build's chunks differ from a clean build's"
    assert len(set(built.spans)) == len(built.spans), "a chunk is indexed twice"
    np.testing.assert_allclose(built.vectors, world.clean.vectors, atol=2e-5)
    left = sorted(p.name for p in index_dir.parent.iterdir() if p.name.startswith(f".{index_dir.name}."))
    assert left in ([], [f".{index_dir.name}.lock"]), f"left beside the index: {left}"


def new_chunks(world: World, previous: Built | None) -> int:
    """Chunks a build of the full corpus embeds over ``previous`` (whose chunks it keeps)."""
    return world.clean.chunks - (previous.chunks if previous else 0)


# -- the kill points -------------------------------------------------------------------------------------------------
def test_kill_while_reading(world: World, tmp_path: Path, children: list[Child]) -> None:
    """Killed while it reads the files of its first batch: nothing embedded yet, nothing committed.

    Reading is seen in the spill file the build appends each new article's record to (``incoming.jsonl`` in its
    staging folder): while it holds less than half the bytes of the first batch's files, the build is still
    reading them. The child is stopped (SIGSTOP), the condition checked again, then killed.
    """
    index_dir = fresh_index(world, tmp_path, world.previous)
    before = index_files(index_dir)
    new_files = sorted(world.corpus.glob("*.txt"))[N_PREVIOUS : N_PREVIOUS + 256]  # the first checkpoint batch
    limit = sum(p.stat().st_size for p in new_files) // 2 - 8192  # records are longer than texts; 8 KB buffered
    child = Child(["index", "-q", str(world.corpus)], world.env, index_dir, tmp_path / "log")
    children.append(child)
    spill = child.staging / "incoming.jsonl"

    def reading() -> bool:
        try:
            return (child.resume / "key.json").exists() and spill.stat().st_size < limit
        except FileNotFoundError:
            return False

    child.wait_for("reading its first batch", reading)
    child.proc.send_signal(signal.SIGSTOP)
    assert reading(), "the build got past reading before it could be stopped"
    child.kill()
    assert committed_batches(child.resume) == []
    assert_previous_intact(world, index_dir, world.previous, before)
    finish_and_compare(world, index_dir, args=[str(world.corpus)], not_yet_embedded=new_chunks(world, world.previous))


def test_kill_mid_encoding_of_a_first_build(world: World, tmp_path: Path, children: list[Child]) -> None:
    """Killed while the first batch is encoded, with no index yet; `ask` then must not index the bundled articles."""
    index_dir = fresh_index(world, tmp_path, None)
    child = Child(["index", "-q", str(world.corpus)], world.env, index_dir, tmp_path / "log")
    children.append(child)
    child.wait_for("encoding the first batch",
                   lambda: (child.resume / "key.json").exists() and child.running_threads() >= 2)
    child.kill()
    assert committed_batches(child.resume) == [], "a batch was committed before the kill: not mid-encoding"
    assert not index_dir.exists()

    # Item 3: a query path finds no index but an interrupted build's checkpoint: it must not build the bundled
    # articles into the folder the user is indexing.
    r = citeqa(["ask", "When did Arles open its lighthouse?"], world.env, index_dir)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out and "unexpected error" not in out, out[-3000:]
    assert len([line for line in out.splitlines() if line.strip()]) == 1 and "citeqa index" in out, out[-3000:]
    assert not index_dir.exists(), "`citeqa ask` built an index over the user's interrupted build"
    finish_and_compare(world, index_dir, args=[str(world.corpus)], not_yet_embedded=world.clean.chunks)


def test_kill_after_a_checkpoint_commit(world: World, tmp_path: Path, children: list[Child]) -> None:
    """Killed just after the first checkpoint batch is committed (the second is being encoded)."""
    index_dir = fresh_index(world, tmp_path, world.previous)
    before = index_files(index_dir)
    child = Child(["index", "-q", str(world.corpus)], world.env, index_dir, tmp_path / "log")
    children.append(child)
    child.wait_for("the first checkpoint commit", lambda: bool(committed_batches(child.resume)))
    child.kill()
    committed = committed_rows(child.resume)
    assert committed > 0
    assert_previous_intact(world, index_dir, world.previous, before)
    finish_and_compare(world, index_dir, args=[str(world.corpus)],
                       not_yet_embedded=new_chunks(world, world.previous) - committed)


@pytest.mark.parametrize(
    ("stage", "planted"),
    [("faiss", "faiss.index"), ("bm25", "bm25/citeqa_bm25.json"), ("swap", "zz-swap-fsync-blocks-here")],
    ids=["during-faiss-write", "during-bm25-write", "during-swap-fsync"],
)
def test_kill_after_encoding(world: World, tmp_path: Path, children: list[Child], stage: str, planted: str) -> None:
    """Killed with every vector committed: writing FAISS, writing BM25, or fsyncing the staging folder to swap it.

    A FIFO planted in the staging folder under the name the build writes (or any name, for the swap's fsync of
    every entry) holds the build at that step.
    """
    index_dir = fresh_index(world, tmp_path, world.previous)
    before = index_files(index_dir)
    child = Child(["index", "-q", str(world.corpus)], world.env, index_dir, tmp_path / "log")
    children.append(child)
    child.wait_for("its staging folder", child.staging.is_dir)
    plant_fifo(child.staging / planted)
    child.wait_for(f"the {stage} step", child.blocked_on_fifo)
    if stage == "faiss":
        assert (child.staging / "vectors.npy").is_file() and not (child.staging / "bm25").exists()
    elif stage == "bm25":
        assert (child.staging / "faiss.index").is_file()
    else:
        assert (child.staging / "manifest.json").is_file()
    child.kill()
    assert committed_rows(child.resume) == new_chunks(world, world.previous)
    assert_previous_intact(world, index_dir, world.previous, before)
    finish_and_compare(world, index_dir, args=[str(world.corpus)], not_yet_embedded=0)


def test_kill_during_a_rebuild(world: World, tmp_path: Path, children: list[Child]) -> None:
    """Item 2: ``--rebuild`` killed mid-way: the index it was rebuilding is still there and answers."""
    index_dir = fresh_index(world, tmp_path, world.clean)
    before = index_files(index_dir)
    child = Child(["index", "-q", "--rebuild", str(world.corpus)], world.env, index_dir, tmp_path / "log")
    children.append(child)
    child.wait_for("the first checkpoint commit", lambda: bool(committed_batches(child.resume)))
    child.kill()
    committed = committed_rows(child.resume)
    assert_previous_intact(world, index_dir, world.clean, before)
    r = citeqa(["search", "lighthouse of Arles", "--json"], world.env, index_dir)
    assert r.returncode == 0 and json.loads(r.stdout), (r.stdout + r.stderr)[-3000:]
    finish_and_compare(world, index_dir, args=["--rebuild", str(world.corpus)],
                       not_yet_embedded=world.clean.chunks - committed)


def test_ask_while_a_first_build_of_the_users_folder_runs(world: World, tmp_path: Path,
                                                          children: list[Child]) -> None:
    """Item 3: `citeqa ask` during the user's first `citeqa index` waits or says a build is running (pid N).

    It must not build the bundled articles into the folder, and the user's build must end with the user's
    articles.
    """
    index_dir = fresh_index(world, tmp_path, None)
    child = Child(["index", "-q", str(world.corpus)], world.env, index_dir, tmp_path / "log")
    children.append(child)
    child.wait_for("embedding", lambda: (child.resume / "key.json").exists())
    r = citeqa(["ask", "When did Arles open its lighthouse?", "--json"], world.env, index_dir)
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "unexpected error" not in out, out[-3000:]
    if r.returncode != 0:
        assert len([line for line in out.splitlines() if line.strip()]) == 1, out[-3000:]
        assert "running" in out and f"pid {child.pid}" in out, out[-3000:]
    else:  # it waited for the build: the answer comes from the user's articles
        answer = json.loads(r.stdout)
        assert answer["chunks"] and all(c["doc_id"].startswith("a") for c in answer["chunks"]), answer
    assert child.proc.wait(timeout=GUARD_S) == 0, child.output()[-3000:]
    built = read_built(index_dir)
    assert (built.articles, built.spans) == (world.clean.articles, world.clean.spans)
