"""The index's manifest and its sibling names, against what a user (or a tool) may leave there.

Guards the fixes of commits 4b5368a and 220633f, each case on a copy of the catalog's undamaged index
(``test_rel_index_damage.py``'s ``pristine``, built once per module with the CLI and the hash embedder):

1b. a data file left out of the manifest's ``files`` map: loading and ``citeqa index --check`` call it damaged,
    and ``citeqa index`` repairs it (before the fix a build checked only the files the map records, called the
    index up to date and left it damaged);
2f. ``.index.lock`` a symlink to a user's file (the build truncated it to write its pid) or a FIFO (the build
    failed with "unexpected error": not seekable); ``.index.resume`` / ``.index.old`` symlinks to a user's
    folder (the build failed, or a query made the link the index): the links go, what they point to is untouched;
3b. a ``.index.old`` that cannot be removed (a subfolder owned by another user): moved aside to
    ``.index.old.trash-*`` with a warning, and the swap goes ahead (before, every later build failed);
4.  ``.index.old`` a file while the index folder is missing: ``recover`` does not rename it into place (before, it
    became the index "file" that every command then refused to touch). ``embeddings/atomic.py`` declares the
    ``.<name>.*`` names citeqa's: what is found there is removed with a warning naming it, not kept.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import test_rel_index_damage as damage
from rel_index_util import CITEQA, REPO, assert_clear_error, index_files, load_hash_index, subprocess_env
from test_rel_index_damage import SEARCH_QUESTION, Pristine, _as_non_root, assert_answers_like_pristine, cli

from embeddings import IndexCorruptError, RetrievalSettings

# Every data file a build of the bundled articles writes (all but the manifest); checked against the manifest
# by every case, so that a new file is not silently left out of them.
DATA_FILES = (
    "articles.jsonl",
    "chunks.jsonl",
    "vectors.npy",
    "faiss.index",
    "bm25/citeqa_bm25.json",
    "bm25/data.csc.index.npy",
    "bm25/indices.csc.index.npy",
    "bm25/indptr.csc.index.npy",
    "bm25/params.index.json",
    "bm25/vocab.index.json",
    "entities.jsonl",
    "sentence_vectors.bin",
)
EXTRA_ARTICLE = "Extra\n\nA short note about tea and scones in Bristol.\n"
GUARD_S = 300  # a guard against a hang, not a timing assertion

# The catalog's fixtures: its undamaged index (built once per module) and a folder per test on tmpfs.
module_dir, work, pristine = damage.module_dir, damage.work, damage.pristine


def _copy(p: Pristine, work: Path) -> Path:
    index_dir = work / "index"
    shutil.copytree(p.index_dir, index_dir)
    return index_dir


def _corpus_with_extra(work: Path) -> Path:
    """The bundled articles plus one: an update that embeds (a checkpoint) and swaps."""
    corpus = work / "corpus"
    shutil.copytree(REPO / "corpus" / "articles", corpus)
    (corpus / "zz_extra.txt").write_text(EXTRA_ARTICLE)
    return corpus


def _assert_has_extra(index_dir: Path) -> None:
    hits = load_hash_index(index_dir).search("tea scones Bristol", RetrievalSettings(mode="bm25"), k=1)
    assert hits and hits[0].doc_id == "zz_extra.txt", hits


def _siblings(index_dir: Path) -> list[str]:
    return sorted(q.name for q in index_dir.parent.iterdir() if q.name.startswith(f".{index_dir.name}."))


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _user_folder(root: Path) -> tuple[Path, dict[str, bytes]]:
    """A folder of a user's files, and its content."""
    folder = root / "my-documents"
    (folder / "data").mkdir(parents=True)
    (folder / "thesis.txt").write_text("Three years of work.")
    (folder / "data" / "results.csv").write_text("a,b\n1,2\n")
    return folder, _tree(folder)


# -- 1b. a data file the manifest does not record ---------------------------------------------------------------
@pytest.mark.parametrize("name", DATA_FILES)
def test_unrecorded_file_is_damage_that_index_repairs(pristine: Pristine, work: Path, name: str) -> None:
    """A manifest whose ``files`` map lost one entry: load and --check say damaged; ``citeqa index`` repairs it."""
    from qa import QA

    home = work / "home"
    index_dir = _copy(pristine, work)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(DATA_FILES), "a build writes other data files than DATA_FILES"
    del manifest["files"][name]
    (index_dir / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(IndexCorruptError, match="citeqa index") as caught:
        QA.from_settings({"embedding": {"model": "hash"}, "index": {"dir": str(index_dir)}})
    assert name in str(caught.value), str(caught.value)
    assert_clear_error(cli(["index", "--check"], index_dir, home))

    repair = cli(["index", "-q"], index_dir, home)
    assert repair.exit_code == 0 and "indexed 5 articles" in repair.output, repair.output
    assert index_files(index_dir) == pristine.files, "the repaired folder differs from a clean build"
    check = cli(["index", "--check"], index_dir, home)
    assert check.exit_code == 0, check.output
    assert_answers_like_pristine(pristine, index_dir, home)


# -- 2f. symlinks and a FIFO at citeqa's sibling names ----------------------------------------------------------
def test_lock_symlink_to_a_users_file_is_replaced_not_followed(pristine: Pristine, work: Path) -> None:
    home = work / "home"
    index_dir = _copy(pristine, work)
    victim = work / "victim.txt"
    victim.write_text("precious: the build must not write here\n")
    lock = work / ".index.lock"
    lock.symlink_to(victim)

    run = cli(["index", "-q"], index_dir, home)
    assert run.exit_code == 0 and "indexed 5 articles" in run.output, run.output
    assert victim.read_text() == "precious: the build must not write here\n", "the build wrote through the link"
    assert stat.S_ISREG(os.lstat(lock).st_mode), "the link was not replaced by a lock file"
    assert index_files(index_dir) == pristine.files


@pytest.mark.heavy
def test_lock_fifo_is_replaced_and_the_build_does_not_hang(pristine: Pristine, work: Path) -> None:
    """A FIFO is no lock file: the build replaces it and succeeds (before the fix: "unexpected error", a FIFO is not
    seekable). Opening one write-only would block until a reader comes, so the build runs in a child process
    whose hang the guard kills and reports instead of stopping the suite."""
    home = work / "home"
    index_dir = _copy(pristine, work)
    lock = work / ".index.lock"
    os.mkfifo(lock)
    env = subprocess_env(home, CITEQA_EMBEDDING__MODEL="hash", CITEQA_INDEX_DIR=str(index_dir))
    try:
        r = subprocess.run([str(CITEQA), "index", "-q"], env=env, capture_output=True, text=True, timeout=GUARD_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`citeqa index` still running after {GUARD_S} s with a FIFO at {lock}: it hangs opening it")
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    assert stat.S_ISREG(os.lstat(lock).st_mode), "the FIFO was not replaced by a lock file"
    assert index_files(index_dir) == pristine.files


@pytest.mark.parametrize("suffix", ["resume", "old"])
def test_symlink_to_a_users_folder_is_removed_by_an_update(pristine: Pristine, work: Path,
                                                          suffix: str) -> None:
    """``.index.resume`` / ``.index.old`` pointing at a user's folder: an update (one article added, so it
    checkpoints and swaps) removes the link, never what it points to, and succeeds."""
    home = work / "home"
    index_dir = _copy(pristine, work)
    folder, content = _user_folder(work)
    link = work / f".index.{suffix}"
    link.symlink_to(folder, target_is_directory=True)

    run = cli(["index", "-q", str(_corpus_with_extra(work))], index_dir, home)
    assert run.exit_code == 0 and "indexed 6 articles" in run.output, run.output
    assert _tree(folder) == content, "the user's folder was changed"
    assert not os.path.lexists(link), f"{link} is still there"
    assert _siblings(index_dir) == [".index.lock"], _siblings(index_dir)
    _assert_has_extra(index_dir)


@pytest.mark.parametrize("target", ["user-folder", "another-index"])
def test_old_symlink_is_not_restored_as_the_missing_index(pristine: Pristine, work: Path,
                                                          target: str) -> None:
    """The index folder missing and ``.index.old`` a symlink: ``recover`` (on a query) does not make the link the
    index (later builds would swap and delete through it); it removes the link, and ``citeqa index`` builds."""
    home = work / "home"
    index_dir = work / "index"
    if target == "user-folder":
        folder, content = _user_folder(work)
    else:  # a real index elsewhere, which recover would accept if it followed the link
        folder = _copy(pristine, work / "elsewhere")
        content = _tree(folder)
    link = work / ".index.old"
    link.symlink_to(folder, target_is_directory=True)

    search = cli(["search", SEARCH_QUESTION], index_dir, home)
    assert not os.path.lexists(index_dir), "the link was put in place of the index"
    assert_clear_error(search)
    assert "no index" in search.output, search.output
    assert not os.path.lexists(link), f"{link} is still there"
    assert _tree(folder) == content, "the folder the link pointed to was changed"

    build = cli(["index", "-q"], index_dir, home)
    assert build.exit_code == 0 and "indexed 5 articles" in build.output, build.output
    assert not index_dir.is_symlink() and index_files(index_dir) == pristine.files
    assert _tree(folder) == content, "the folder the link pointed to was changed"


# -- 3b. a .index.old that cannot be removed --------------------------------------------------------------------
def _other_users_folder_prefix() -> list[str]:
    """The command prefix of a user who cannot remove a folder root gives to uid 12345; skip without one."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to make a folder owned by another user")
    prefix = _as_non_root()  # skips when unshare cannot drop root's rights
    assert prefix, "running as root, _as_non_root must give a prefix"
    return prefix


@pytest.mark.heavy
def test_unremovable_old_is_moved_aside_and_the_swap_goes_ahead(pristine: Pristine, work: Path) -> None:
    """A ``.index.old`` left with a subfolder owned by someone else (mode 000): the builder can neither empty
    nor chmod it. The build moves it aside to ``.index.old.trash-*`` with a warning, swaps, and the index answers;
    the next build retries removing it, warns again and succeeds."""
    prefix = _other_users_folder_prefix()
    home = work / "home"
    index_dir = _copy(pristine, work)
    stuck = work / ".index.old" / "stuck"
    stuck.mkdir(parents=True)
    (stuck / "f").write_text("not ours")
    os.chown(stuck / "f", 12345, 12345)
    os.chown(stuck, 12345, 12345)
    stuck.chmod(0)
    corpus = _corpus_with_extra(work)
    env = subprocess_env(home, CITEQA_EMBEDDING__MODEL="hash", CITEQA_INDEX_DIR=str(index_dir))

    def build() -> str:
        r = subprocess.run([*prefix, str(CITEQA), "index", "-q", str(corpus)], env=env, capture_output=True,
                           text=True, timeout=GUARD_S)
        out = r.stdout + r.stderr
        assert r.returncode == 0 and "indexed 6 articles" in out, out[-2000:]
        return out

    try:
        out = build()
        trash = [n for n in _siblings(index_dir) if n.startswith(".index.old.trash-")]
        assert len(trash) == 1 and not os.path.lexists(work / ".index.old"), _siblings(index_dir)
        assert "cannot remove" in out and trash[0] in out, f"no warning naming where it went:\n{out[-2000:]}"
        assert out.count(trash[0]) == 1, f"the build retried (and warned about) its own trash:\n{out[-2000:]}"
        assert (work / trash[0] / "stuck").is_dir(), "the other user's folder is not in the trash"
        _assert_has_extra(index_dir)
        search = subprocess.run([*prefix, str(CITEQA), "search", "tea scones Bristol"], env=env,
                                capture_output=True, text=True, timeout=GUARD_S)
        assert search.returncode == 0 and "zz_extra.txt" in search.stdout, (search.stdout + search.stderr)[-2000:]

        (corpus / "zz_extra.txt").write_text("Extra\n\nA longer note about tea, scones and jam in Bristol.\n")
        again = build()
        assert trash[0] in again, f"the next build did not say the trash is still there:\n{again[-2000:]}"
        _assert_has_extra(index_dir)
    finally:
        for p in work.glob(".index.old*/stuck"):
            p.chmod(0o755)


# -- 4. .index.old is a file and the index folder is missing -----------------------------------------------------
USERS_FILE = "my shopping list: eggs, flour\n"


def _warned(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    """Whether a warning (the CLI prints it to stderr; in this process pytest captures it) contains ``text``."""
    return any(r.levelno >= logging.WARNING and text in r.getMessage() for r in caplog.records)


def test_old_file_is_not_restored_as_the_missing_index(work: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A query: the file at ``.index.old`` is not renamed into place; it is removed with a warning naming it
    (atomic.py: the ``.<name>.*`` names are citeqa's), and the error says to build."""
    home = work / "home"
    index_dir = work / "index"
    old = work / ".index.old"
    old.write_text(USERS_FILE)

    search = cli(["search", SEARCH_QUESTION], index_dir, home)
    assert search.exit_code != 0, search.output
    assert not os.path.lexists(index_dir), "the file was renamed into place of the index"
    assert not os.path.lexists(old), f"{old} was kept"
    assert _warned(caplog, f"removing {old}"), f"no warning naming the removed file: {caplog.messages}"
    assert_clear_error(search)
    assert "no index" in search.output, search.output


def test_old_file_beside_a_missing_index_does_not_stop_a_build(pristine: Pristine, work: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    home = work / "home"
    index_dir = work / "index"
    old = work / ".index.old"
    old.write_text(USERS_FILE)

    build = cli(["index", "-q"], index_dir, home)
    assert build.exit_code == 0 and "indexed 5 articles" in build.output, build.output
    assert not os.path.lexists(old), f"{old} was kept"
    assert _warned(caplog, f"removing {old}"), f"no warning naming the removed file: {caplog.messages}"
    assert index_dir.is_dir() and index_files(index_dir) == pristine.files
    assert _siblings(index_dir) == [".index.lock"], _siblings(index_dir)
    check = cli(["index", "--check"], index_dir, home)
    assert check.exit_code == 0, check.output


def test_a_long_running_process_retries_what_it_moved_aside_itself(tmp_path: Path) -> None:
    """The UI builds many times in one process: trash it moved aside earlier (its own pid in the name) is
    removed by its next build once that is possible, not skipped until a restart."""
    import os

    from embeddings.atomic import remove_stale_temps

    index_dir = tmp_path / "index"
    index_dir.mkdir()
    trash = tmp_path / f".index.old.trash-{os.getpid()}-1"
    (trash / "bm25").mkdir(parents=True)
    (trash / "bm25" / "data.npy").write_bytes(b"x")
    remove_stale_temps(index_dir)
    assert not trash.exists()
