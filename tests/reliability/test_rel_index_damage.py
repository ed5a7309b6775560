"""Every kind of index damage tried against citeqa: a clear error naming the fix, never a silently wrong answer.

A small real index of the bundled articles is built once per module with the CLI and the hash embedder (the
fast deterministic embedder the package ships for tests); each case damages a copy of it, then checks what a
user meets:

1. loading through the public path (``QA.from_settings``) raises IndexCorruptError / IndexMismatchError /
   IndexNotFoundError, or loads an index that answers exactly as the undamaged one (same records, same
   vectors, same top hits for every probe query in dense and BM25 mode);
2. ``citeqa search`` and ``citeqa ask`` print one line naming the fix (no traceback, no "unexpected error"),
   or print exactly what they print on the undamaged index;
3. ``citeqa index`` (incremental; ``--rebuild`` only when the error asks for it because the model or chunking
   differ) repairs it: the folder then holds the same files as a clean build, it answers the same and no
   staging, backup or checkpoint folder is left beside it;
4. ``citeqa index --check`` reports every harmful damage as one line naming the fix, and passes an
   undamaged index.

Cases for items 2, 8 and 9 of issue 10 (rebuild written beside the old index; ``faiss_type`` disagreeing with
the FAISS file; no checksums) fail until that fix lands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from rel_index_util import (
    ANSWER_QUESTION,
    CITEQA,
    QUESTIONS,
    REPO,
    TYPED_ERRORS,
    Answers,
    CliRun,
    answers_of,
    ask_digest,
    assert_clear_error,
    index_files,
    load_hash_index,
    probe_queries,
    run_cli,
    subprocess_env,
)

from embeddings import HashEmbedder, IndexCorruptError, IndexMismatchError, IndexNotFoundError, RetrievalSettings

SEARCH_QUESTION = QUESTIONS[1]


# -- the undamaged index, built once ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Pristine:
    """The undamaged index and what it answers."""

    index_dir: Path
    other_dir: Path  # a valid index of 4 of the 5 articles: its files are "from another index"
    files: dict[str, bytes]
    answers: Answers
    queries: list[str]
    search_out: str
    ask: dict


def env_for(index_dir: Path, home: Path, *, model: str | None = "hash") -> dict[str, str | None]:
    """CLI environment: the hash embedder (None: the shipped model), this index folder and data dir, no LLM
    endpoint from the caller."""
    return {
        "CITEQA_EMBEDDING__MODEL": model,
        "CITEQA_ANSWER__REFUSAL_THRESHOLD": "0.3",
        "CITEQA_INDEX_DIR": str(index_dir),
        "CITEQA_HOME": str(home),
        "CITEQA_CONFIG": None,
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
        "OPENAI_MODEL": None,
    }


def cli(args: list[str], index_dir: Path, home: Path, *, model: str | None = "hash") -> CliRun:
    return run_cli(args, env_for(index_dir, home, model=model))  # type: ignore[arg-type]


def _memory_dir() -> Path | None:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder on tmpfs when there is one: every repair is a build that fsyncs each file it writes, which
    costs tens of milliseconds a file on a busy disk and nothing in memory (100+ repairs in seconds)."""
    memory = _memory_dir()
    if memory is None:
        yield tmp_path_factory.mktemp("rel_damage")
        return
    root = Path(tempfile.mkdtemp(prefix="citeqa-rel-damage-", dir=memory))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def work(module_dir: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """This test's own folder inside ``module_dir``, deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="case-", dir=module_dir))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pristine(module_dir: Path) -> Pristine:
    root = module_dir / "pristine"
    home = root / "home"
    index_dir = root / "undamaged" / "index"
    r = cli(["index", "-q"], index_dir, home)
    assert r.exit_code == 0 and "indexed 5 articles" in r.output, r.output
    four = root / "four"
    four.mkdir()
    for p in sorted((REPO / "corpus" / "articles").glob("*.txt"))[:4]:
        shutil.copy(p, four / p.name)
    other_dir = root / "other" / "index"
    r = cli(["index", "-q", str(four)], other_dir, home)
    assert r.exit_code == 0 and "indexed 4 articles" in r.output, r.output
    index = load_hash_index(index_dir)
    queries = probe_queries(index)
    search = cli(["search", SEARCH_QUESTION, "--json"], index_dir, home)
    ask = cli(["ask", ANSWER_QUESTION, "--json"], index_dir, home)
    assert search.exit_code == 0 and ask.exit_code == 0, search.output + ask.output
    digest = ask_digest(ask.stdout)
    assert "129" in digest["text"] and digest["citations"]  # the index really answers
    return Pristine(index_dir, other_dir, index_files(index_dir), answers_of(index, queries), queries,
                    search.stdout, digest)


# -- damages -----------------------------------------------------------------------------------------------------
Damager = Callable[[Path, Pristine], None]
FILES = ("manifest.json", "articles.jsonl", "chunks.jsonl", "vectors.npy", "faiss.index")


def _manifest_edit(**changes: object) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        m = json.loads((d / "manifest.json").read_text())
        for key, value in changes.items():
            if value is _DELETE:
                del m[key]
            else:
                m[key] = value(m[key]) if callable(value) else value
        (d / "manifest.json").write_text(json.dumps(m))
    return apply


_DELETE = object()


def _write_manifest_raw(text: str) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        (d / "manifest.json").write_text(text)
    return apply


def _jsonl_edit(name: str, edit: Callable[[list[str]], list[str]]) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        lines = (d / name).read_text(encoding="utf-8").splitlines()
        (d / name).write_text("".join(line + "\n" for line in edit(lines)), encoding="utf-8")
    return apply


def _record_edit(name: str, row: int, edit: Callable[[dict], object]) -> Damager:
    def lines_edit(lines: list[str]) -> list[str]:
        rec = json.loads(lines[row])
        new = edit(rec)
        lines[row] = json.dumps(rec if new is None else new, ensure_ascii=False)
        return lines
    return _jsonl_edit(name, lines_edit)


def _set(key: str, value: object) -> Callable[[dict], None]:
    def edit(rec: dict) -> None:
        rec[key] = value(rec[key]) if callable(value) else value
    return edit


def _drop_key(key: str) -> Callable[[dict], None]:
    return lambda rec: rec.pop(key) and None


def _same_length_edit(text: str) -> str:
    """Swap a word of the text for another of the same length: valid JSON, same offsets, other words."""
    i = text.index("Paris")
    return text[:i] + "Lyons" + text[i + 5 :]


def _edit_text(keep_length: bool) -> Callable[[dict], None]:
    def edit(rec: dict) -> None:
        if "Paris" in rec["text"]:
            rec["text"] = _same_length_edit(rec["text"]) if keep_length else rec["text"].replace("Paris", "Marseille")
    return edit


def _edit_all_articles(edit: Callable[[dict], None]) -> Damager:
    def lines_edit(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            rec = json.loads(line)
            edit(rec)
            out.append(json.dumps(rec, ensure_ascii=False))
        return out
    return _jsonl_edit("articles.jsonl", lines_edit)


def _edit_text_and_hash(d: Path, p: Pristine) -> None:
    import hashlib

    def edit(rec: dict) -> None:
        if "Paris" in rec["text"]:
            rec["text"] = _same_length_edit(rec["text"])
            rec["content_hash"] = hashlib.sha256(rec["text"].encode()).hexdigest()
    _edit_all_articles(edit)(d, p)


def _crlf(name: str) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        (d / name).write_bytes((d / name).read_bytes().replace(b"\n", b"\r\n"))
    return apply


def _invalid_utf8(name: str) -> Damager:
    """One byte of the first line replaced by 0xff: not UTF-8 any more."""
    def apply(d: Path, _: Pristine) -> None:
        data = bytearray((d / name).read_bytes())
        data[20] = 0xFF
        (d / name).write_bytes(bytes(data))
    return apply


def _truncate(name: str) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[: len(data) // 2])
    return apply


def _garbage(name: str) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        size = (d / name).stat().st_size
        (d / name).write_bytes(np.random.default_rng(7).bytes(max(size, 64)))
    return apply


def _empty(name: str) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        (d / name).write_bytes(b"")
    return apply


def _missing(name: str) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        p = d / name
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return apply


def _dir_instead(name: str) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        p = d / name
        shutil.rmtree(p) if p.is_dir() else p.unlink()
        (p / "inner").mkdir(parents=True)
    return apply


def _file_instead_of_bm25(d: Path, _: Pristine) -> None:
    shutil.rmtree(d / "bm25")
    (d / "bm25").write_text("not a folder")


def _symlink(name: str, target: str) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        p = d / name
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        p.symlink_to(target)
    return apply


def _symlink_loop(d: Path, _: Pristine) -> None:
    (d / "vectors.npy").unlink()
    (d / "vectors.npy").symlink_to(d / "vectors.npy")


def _vectors(transform: Callable[[np.ndarray], np.ndarray], *, fortran: bool = False) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        v = np.load(d / "vectors.npy")
        out = transform(v.copy())
        np.save(d / "vectors.npy", np.asfortranarray(out) if fortran else out)
    return apply


def _shuffle_rows(v: np.ndarray) -> np.ndarray:
    return v[np.random.default_rng(3).permutation(len(v))]


def _swap_two_rows(v: np.ndarray) -> np.ndarray:
    v[[0, 1]] = v[[1, 0]]
    return v


def _nan_row(v: np.ndarray) -> np.ndarray:
    v[5] = np.nan
    return v


def _flip_bit(d: Path, _: Pristine) -> None:
    """Flip one bit of one float in the data (not the header): the file stays a valid .npy of the right shape."""
    p = d / "vectors.npy"
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x40
    p.write_bytes(bytes(data))


def _pickled_vectors(d: Path, _: Pristine) -> None:
    np.save(d / "vectors.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)


def _from_other(name: str) -> Damager:
    def apply(d: Path, p: Pristine) -> None:
        target = d / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        src = p.other_dir / name
        shutil.copytree(src, target) if src.is_dir() else shutil.copy(src, target)
    return apply


def _faiss_rows_permuted(d: Path, _: Pristine) -> None:
    """A valid flat FAISS file of the right size and dim whose rows are in another order than chunks.jsonl."""
    from embeddings.faiss_index import DenseIndex

    v = _shuffle_rows(np.load(d / "vectors.npy"))
    DenseIndex.build(np.ascontiguousarray(v), setting="flat").save(d / "faiss.index")


def _faiss_other_kind(d: Path, _: Pristine) -> None:
    """An HNSW file of the same vectors where the manifest says flat."""
    from embeddings.faiss_index import DenseIndex

    DenseIndex.build(np.load(d / "vectors.npy"), setting="hnsw").save(d / "faiss.index")


def _bm25_rows_permuted(d: Path, _: Pristine) -> None:
    """A valid BM25 folder with the right number of documents, built over the chunks in another order."""
    from embeddings.bm25 import BM25Builder

    index = load_hash_index(d)
    builder = BM25Builder()
    for i in np.random.default_rng(5).permutation(len(index.chunks)):
        builder.add(index.chunks[int(i)].text)
    shutil.rmtree(d / "bm25")
    builder.build().save(d / "bm25")


def _bm25_state(edit: Callable[[dict], None]) -> Damager:
    def apply(d: Path, _: Pristine) -> None:
        p = d / "bm25" / "citeqa_bm25.json"
        state = json.loads(p.read_text())
        edit(state)
        p.write_text(json.dumps(state))
    return apply


def _sibling(suffix: str, make: Callable[[Path, Path], None]) -> Damager:
    return lambda d, _: make(d, d.parent / f".{d.name}.{suffix}")


def _garbage_folder(_: Path, target: Path) -> None:
    target.mkdir()
    (target / "manifest.json").write_text("{half")
    (target / "vectors.npy").write_bytes(b"\x00" * 100)


def _copy_of_index(d: Path, target: Path) -> None:
    shutil.copytree(d, target)


def _moved_aside(d: Path, target: Path) -> None:
    """The state between the two renames of a swap: the index moved to .old, the new one not yet in place."""
    d.rename(target)


def _moved_aside_damaged(d: Path, target: Path) -> None:
    d.rename(target)
    (target / "chunks.jsonl").write_text("{not json\n")


def _garbage_checkpoint(_: Path, target: Path) -> None:
    target.mkdir()
    (target / "key.json").write_text("[1, 2")
    (target / "00000.json").write_text('{"vectors": "00000.npy", "articles": 7}')
    (target / "00000.npy").write_bytes(b"junk")


def _foreign_checkpoint(_: Path, target: Path) -> None:
    """A well-formed checkpoint claiming vectors for an article under its real hash, written with other settings."""
    target.mkdir()
    (target / "key.json").write_text(json.dumps({"format_version": 1, "model_fingerprint": "other", "dim": 64,
                                                 "max_tokens": 256, "chunking": {"size": 64, "overlap": 8}}))
    np.save(target / "00000.npy", np.ones((1, 64), np.float32))


def _lying_checkpoint(d: Path, target: Path) -> None:
    """A checkpoint with this build's key that claims wrong vectors for a changed article's new hash."""
    target.mkdir()
    # Copy the key a real build of these settings writes, by taking it from the manifest fields it mirrors.
    m = json.loads((d / "manifest.json").read_text())
    key = {k: m[k] for k in ("format_version", "model_fingerprint", "dim", "max_tokens", "chunking")}
    (target / "key.json").write_text(json.dumps(key))
    rec = json.loads((d / "articles.jsonl").read_text().splitlines()[0])
    np.save(target / "00000.npy", np.zeros((1, 64), np.float32))
    (target / "00000.json").write_text(json.dumps({"vectors": "00000.npy", "articles": [
        {"doc_id": rec["doc_id"], "content_hash": "0" * 64, "spans": [[0, 5]]}]}))


def _stale_lock(_: Path, target: Path) -> None:
    target.write_text("12345")


def _extra_file(d: Path, _: Pristine) -> None:
    (d / "notes.txt").write_text("a file someone dropped into the index folder")


def _index_dir_empty(d: Path, _: Pristine) -> None:
    shutil.rmtree(d)
    d.mkdir()


def _index_dir_missing(d: Path, _: Pristine) -> None:
    shutil.rmtree(d)


def _shift_chunk(rec: dict) -> None:
    rec["start"] += 3
    rec["end"] += 3


def _swap_lines(i: int, j: int) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        lines[i], lines[j] = lines[j], lines[i]
        return lines
    return edit


def _chunks_across_articles(lines: list[str]) -> list[str]:
    """Swap the last chunk of the first article with the first chunk of the second: rows no longer consecutive."""
    docs = [json.loads(line)["doc_id"] for line in lines]
    cut = docs.index(docs[-1]) if docs[0] == docs[-1] else next(i for i, doc in enumerate(docs) if doc != docs[0])
    lines[cut - 1], lines[cut] = lines[cut], lines[cut - 1]
    return lines


@dataclass(frozen=True)
class Case:
    """A damage: how to apply it, and what ``citeqa index --check`` must say (None: either is right)."""

    apply: Damager
    harmful: bool | None = True
    mismatch: bool = False  # settings differ: IndexMismatchError, repaired by what the message names
    foreign: str | None = None  # a file that is not citeqa's: the repair may keep it


CASES: dict[str, Case] = {
    # each file missing, empty, truncated, garbage
    **{f"missing-{n}": Case(_missing(n)) for n in (*FILES, "bm25", "bm25/vocab.index.json")},
    **{f"empty-{n}": Case(_empty(n)) for n in (*FILES, "bm25/citeqa_bm25.json", "bm25/data.csc.index.npy")},
    **{f"truncated-{n}": Case(_truncate(n)) for n in (*FILES, "bm25/indices.csc.index.npy")},
    **{f"garbage-{n}": Case(_garbage(n)) for n in (*FILES, "bm25/vocab.index.json", "bm25/params.index.json")},
    # the manifest
    "manifest-not-an-object": Case(_write_manifest_raw("[1, 2, 3]")),
    "manifest-null": Case(_write_manifest_raw("null")),
    "manifest-half-json": Case(_write_manifest_raw('{"format_version": 1, "dim": ')),
    "manifest-n_chunks-string": Case(_manifest_edit(n_chunks="many")),
    "manifest-n_chunks-null": Case(_manifest_edit(n_chunks=None)),
    "manifest-n_chunks-missing": Case(_manifest_edit(n_chunks=_DELETE)),
    "manifest-n_chunks-plus-one": Case(_manifest_edit(n_chunks=lambda n: n + 1)),
    "manifest-n_chunks-negative": Case(_manifest_edit(n_chunks=-1)),
    "manifest-n_articles-minus-one": Case(_manifest_edit(n_articles=lambda n: n - 1)),
    "manifest-corpus-fingerprint-other": Case(_manifest_edit(corpus_fingerprint="0" * 64)),
    "manifest-chunking-as-list": Case(_manifest_edit(chunking=[128, 32]), mismatch=True),
    "manifest-format-version-99": Case(_manifest_edit(format_version=99), mismatch=True),
    "manifest-format-version-string": Case(_manifest_edit(format_version="1"), mismatch=True),
    "manifest-other-model-fingerprint": Case(_manifest_edit(model_fingerprint="f" * 64), mismatch=True),
    "manifest-other-model": Case(_manifest_edit(embedding_model="all-MiniLM-L6-v2", model_fingerprint="a" * 64),
                                 mismatch=True),
    "manifest-other-dim": Case(_manifest_edit(dim=32), mismatch=True),
    "manifest-other-max-tokens": Case(_manifest_edit(max_tokens=512), mismatch=True),
    "manifest-other-chunking": Case(_manifest_edit(chunking={"size": 64, "overlap": 8}), mismatch=True),
    # item 8: the manifest's faiss_type disagrees with the FAISS file
    "manifest-faiss-type-hnsw": Case(_manifest_edit(faiss_type="hnsw")),
    "manifest-faiss-type-ivfsq8": Case(_manifest_edit(faiss_type="ivfsq8")),
    "manifest-faiss-type-unknown": Case(_manifest_edit(faiss_type="quantum")),
    "manifest-faiss-type-missing": Case(_manifest_edit(faiss_type=_DELETE)),
    # item 9: the checksums themselves
    "manifest-files-missing": Case(_manifest_edit(files=_DELETE), harmful=None),  # an index from before checksums
    "manifest-files-not-an-object": Case(_manifest_edit(files=["vectors.npy"])),
    "manifest-sha-of-vectors-wrong": Case(_manifest_edit(files=lambda f: {**f, "vectors.npy": {
        **f["vectors.npy"], "sha256": "0" * 64}})),
    "manifest-size-of-faiss-wrong": Case(_manifest_edit(files=lambda f: {**f, "faiss.index": {
        **f["faiss.index"], "size": f["faiss.index"]["size"] + 1}})),
    "manifest-a-file-unrecorded": Case(_manifest_edit(files=lambda f: {k: v for k, v in f.items()
                                                                       if k != "chunks.jsonl"})),
    "faiss-hnsw-file-manifest-flat": Case(_faiss_other_kind),
    # articles.jsonl
    "articles-line-not-object": Case(_jsonl_edit("articles.jsonl", lambda ls: ["[1, 2]", *ls[1:]])),
    "articles-half-line": Case(_jsonl_edit("articles.jsonl", lambda ls: [ls[0][: len(ls[0]) // 2], *ls[1:]])),
    "articles-text-is-number": Case(_record_edit("articles.jsonl", 0, _set("text", 12345))),
    "articles-title-missing": Case(_record_edit("articles.jsonl", 0, _drop_key("title"))),
    "articles-meta-unknown-key": Case(_record_edit("articles.jsonl", 0, _set("meta", {"colour": "red"}))),
    "articles-meta-is-string": Case(_record_edit("articles.jsonl", 0, _set("meta", "by someone"))),
    "articles-doc-id-renamed": Case(_record_edit("articles.jsonl", 0, _set("doc_id", "renamed.txt"))),
    "articles-line-deleted": Case(_jsonl_edit("articles.jsonl", lambda ls: ls[1:])),
    "articles-line-duplicated": Case(_jsonl_edit("articles.jsonl", lambda ls: [ls[0], *ls]), harmful=None),
    "articles-crlf-line-ends": Case(_crlf("articles.jsonl"), harmful=None),
    "articles-invalid-utf8": Case(_invalid_utf8("articles.jsonl")),
    "chunks-invalid-utf8": Case(_invalid_utf8("chunks.jsonl")),
    "articles-blank-lines-added": Case(_jsonl_edit("articles.jsonl", lambda ls: ["", *ls, "", ""]), harmful=None),
    # item 9: text edited, JSON still valid
    "articles-text-edited-same-length": Case(_edit_all_articles(_edit_text(keep_length=True))),
    "articles-text-edited-longer": Case(_edit_all_articles(_edit_text(keep_length=False))),
    "articles-text-and-hash-edited": Case(_edit_text_and_hash),
    "articles-title-edited": Case(_record_edit("articles.jsonl", 1, _set("title", "A title nobody wrote"))),
    # chunks.jsonl
    "chunks-start-after-end": Case(_record_edit("chunks.jsonl", 0, lambda r: r.update(start=r["end"] + 1))),
    "chunks-end-past-article": Case(_record_edit("chunks.jsonl", 0, _set("end", 10**9))),
    "chunks-negative-start": Case(_record_edit("chunks.jsonl", 0, _set("start", -5))),
    "chunks-start-is-word": Case(_record_edit("chunks.jsonl", 0, _set("start", "zero"))),
    "chunks-start-is-float": Case(_record_edit("chunks.jsonl", 1, _set("start", lambda s: s + 0.5)), harmful=None),
    "chunks-start-is-null": Case(_record_edit("chunks.jsonl", 0, _set("start", None))),
    "chunks-unknown-doc": Case(_record_edit("chunks.jsonl", 0, _set("doc_id", "nowhere.txt"))),
    "chunks-line-deleted": Case(_jsonl_edit("chunks.jsonl", lambda ls: ls[:-1])),
    "chunks-line-duplicated": Case(_jsonl_edit("chunks.jsonl", lambda ls: [*ls, ls[-1]])),
    "chunks-not-object": Case(_jsonl_edit("chunks.jsonl", lambda ls: ['"a string"', *ls[1:]])),
    # item 9: valid chunk records pointing at other words of their article, or in another order than the vectors
    "chunks-shifted-inside-article": Case(_record_edit("chunks.jsonl", 2, _shift_chunk)),
    "chunks-two-swapped": Case(_jsonl_edit("chunks.jsonl", _swap_lines(0, 1))),
    "chunks-swapped-across-articles": Case(_jsonl_edit("chunks.jsonl", _chunks_across_articles)),
    # vectors.npy
    "vectors-rows-shuffled": Case(_vectors(_shuffle_rows)),
    "vectors-two-rows-swapped": Case(_vectors(_swap_two_rows)),
    "vectors-bit-flipped": Case(_flip_bit),
    "vectors-nan-row": Case(_vectors(_nan_row)),
    "vectors-one-row-short": Case(_vectors(lambda v: v[:-1])),
    "vectors-float64": Case(_vectors(lambda v: v.astype(np.float64))),
    "vectors-float16": Case(_vectors(lambda v: v.astype(np.float16))),
    "vectors-other-dim": Case(_vectors(lambda v: v[:, :32])),
    "vectors-fortran-order": Case(_vectors(lambda v: v, fortran=True), harmful=None),
    "vectors-pickled-object": Case(_pickled_vectors),
    # faiss.index, bm25/
    "faiss-from-other-index": Case(_from_other("faiss.index")),
    "faiss-rows-permuted": Case(_faiss_rows_permuted),
    "bm25-from-other-index": Case(_from_other("bm25")),
    "bm25-rows-permuted": Case(_bm25_rows_permuted),
    "bm25-tokenizer-version-other": Case(_bm25_state(lambda s: s.update(tokenizer_version=-1))),
    "bm25-n-docs-other": Case(_bm25_state(lambda s: s.update(n_docs=s["n_docs"] + 1))),
    "bm25-n-docs-zero": Case(_bm25_state(lambda s: s.update(n_docs=0))),
    # a folder, symlink or device where a file should be
    **{f"dir-instead-of-{n}": Case(_dir_instead(n)) for n in FILES},
    "file-instead-of-bm25": Case(_file_instead_of_bm25),
    **{f"devnull-{n}": Case(_symlink(n, "/dev/null")) for n in (*FILES, "bm25")},
    **{f"devzero-{n}": Case(_symlink(n, "/dev/zero")) for n in ("vectors.npy", "faiss.index")},
    "dangling-symlink-faiss.index": Case(_symlink("faiss.index", "/nonexistent/faiss.index")),
    "symlink-loop-vectors.npy": Case(_symlink_loop),
    # the whole folder
    "index-dir-empty": Case(_index_dir_empty),
    "index-dir-missing": Case(_index_dir_missing),
    "extra-file-in-index": Case(_extra_file, harmful=False, foreign="notes.txt"),
    # left over beside the index by a killed build
    "leftover-staging-folder": Case(_sibling("building-99999", _garbage_folder), harmful=False),
    "leftover-backup-beside-index": Case(_sibling("old", _copy_of_index), harmful=False),
    "leftover-garbage-backup-beside-index": Case(_sibling("old", _garbage_folder), harmful=False),
    "swap-interrupted-index-moved-aside": Case(_sibling("old", _moved_aside), harmful=False),
    "swap-interrupted-backup-damaged": Case(_sibling("old", _moved_aside_damaged)),
    "leftover-garbage-checkpoint": Case(_sibling("resume", _garbage_checkpoint), harmful=False),
    "leftover-checkpoint-other-settings": Case(_sibling("resume", _foreign_checkpoint), harmful=False),
    "leftover-checkpoint-wrong-claims": Case(_sibling("resume", _lying_checkpoint), harmful=False),
    "leftover-stale-lock-file": Case(_sibling("lock", _stale_lock), harmful=False),
}


def damaged_copy(p: Pristine, tmp_path: Path, name: str) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(p.index_dir, index_dir)
    CASES[name].apply(index_dir, p)
    return index_dir


def check_loads_or_fails_clearly(p: Pristine, index_dir: Path, home: Path) -> BaseException | None:
    """The public load path: a typed error, or an index that answers exactly as the undamaged one."""
    from qa import QA

    try:
        qa = QA.from_settings({"embedding": {"model": "hash"}, "index": {"dir": str(index_dir)}})
    except (IndexCorruptError, IndexMismatchError, IndexNotFoundError) as exc:
        assert "\n" not in str(exc) and "citeqa index" in str(exc), str(exc)
        return exc
    except Exception as exc:  # noqa: BLE001 - any other exception is the failure this suite guards against
        pytest.fail(f"QA.from_settings raised {type(exc).__name__} (not one of {TYPED_ERRORS}): {exc}")
    got = answers_of(qa.index, p.queries)
    assert got.articles == p.answers.articles, "loaded, with other article records: a silently wrong answer"
    assert got.chunks == p.answers.chunks, "loaded, with other chunks: a silently wrong answer"
    assert got.vectors == p.answers.vectors, "loaded, with other vectors: a silently wrong answer"
    assert got.hits == p.answers.hits, "loaded, with other search results: a silently wrong answer"
    return None


def assert_answers_like_pristine(p: Pristine, index_dir: Path, home: Path) -> None:
    search = cli(["search", SEARCH_QUESTION, "--json"], index_dir, home)
    assert search.exit_code == 0 and search.stdout == p.search_out, search.output[:2000]
    ask = cli(["ask", ANSWER_QUESTION, "--json"], index_dir, home)
    assert ask.exit_code == 0 and ask_digest(ask.stdout) == p.ask, ask.output[:2000]


@pytest.mark.parametrize("name", sorted(CASES))
def test_damage_is_a_clear_error_or_harmless_and_index_repairs(pristine: Pristine, work: Path, name: str) -> None:
    """Load, search, ask, then repair with what the error names; the result equals a clean build."""
    home = work / "home"
    index_dir = damaged_copy(pristine, work, name)
    error = check_loads_or_fails_clearly(pristine, index_dir, home)

    search = cli(["search", SEARCH_QUESTION, "--json"], index_dir, home)
    if search.exit_code != 0:
        assert_clear_error(search)
    else:
        assert search.stdout == pristine.search_out, f"search answered differently:\n{search.output[:2000]}"
    ask = cli(["ask", ANSWER_QUESTION, "--json"], index_dir, home)
    if ask.exit_code != 0:
        assert_clear_error(ask)
    else:  # `ask` builds the bundled articles when there is no index: the answer is the undamaged one either way
        assert ask_digest(ask.stdout) == pristine.ask, f"ask answered differently:\n{ask.output[:2000]}"

    if CASES[name].mismatch:
        assert isinstance(error, IndexMismatchError), f"expected IndexMismatchError, got {error!r}"
    rebuild = isinstance(error, IndexMismatchError) and "--rebuild" in str(error)
    repair = cli(["index", "-q", *(["--rebuild"] if rebuild else [])], index_dir, home)
    assert repair.exit_code == 0, f"`citeqa index{' --rebuild' if rebuild else ''}` did not repair it: {repair.output}"
    assert "indexed 5 articles" in repair.output, repair.output

    files = index_files(index_dir)
    files.pop(CASES[name].foreign or "", None)
    if CASES[name].harmful is not None:  # a harmless change (blank lines) may stay: it answers the same
        assert files == pristine.files, "the repaired folder differs from a clean build"
    assert answers_of(load_hash_index(index_dir), pristine.queries) == pristine.answers
    assert_answers_like_pristine(pristine, index_dir, home)
    left = sorted(q.name for q in index_dir.parent.iterdir() if q.name.startswith(".index."))
    assert left in ([], [".index.lock"]), f"left beside the index after the repair: {left}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_index_check_reports_damage(pristine: Pristine, work: Path, name: str) -> None:
    """``citeqa index --check`` checks everything (checksums included): one line naming the fix, or exit 0."""
    home = work / "home"
    index_dir = damaged_copy(pristine, work, name)
    run = cli(["index", "--check"], index_dir, home)
    harmful = CASES[name].harmful
    if harmful:
        assert_clear_error(run)
    elif harmful is False:
        assert run.exit_code == 0, run.output
    else:
        assert run.exit_code == 0 or len(run.lines) == 1, run.output


def test_index_check_passes_an_undamaged_index(pristine: Pristine, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(pristine.index_dir, index_dir)
    run = cli(["index", "--check"], index_dir, tmp_path / "home")
    assert run.exit_code == 0 and "Traceback" not in run.output, run.output
    assert index_files(index_dir) == pristine.files


def test_vectors_damage_never_reaches_the_next_update(pristine: Pristine, tmp_path: Path) -> None:
    """Item 9: shuffled vectors.npy, then an update that rewrites FAISS from it, must not serve wrong hits."""
    home = tmp_path / "home"
    index_dir = damaged_copy(pristine, tmp_path, "vectors-rows-shuffled")
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus" / "articles", corpus)
    (corpus / "zz_extra.txt").write_text("Extra\n\nA short note about tea and scones in Bristol.\n")
    update = cli(["index", "-q", str(corpus)], index_dir, home)
    if update.exit_code != 0:
        assert_clear_error(update)
        return
    clean_dir = tmp_path / "clean"
    assert cli(["index", "-q", str(corpus)], clean_dir, home).exit_code == 0
    queries = pristine.queries
    assert answers_of(load_hash_index(index_dir), queries) == answers_of(load_hash_index(clean_dir), queries)


# -- the shipped model ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_shipped_model_index_damaged_then_repaired(tmp_path: Path) -> None:
    """The model users run: shuffled vectors and edited text are caught and repaired; an index of another model
    is a mismatch that names ``--rebuild``, after which the answers are those of a clean build."""
    home = tmp_path / "home"
    index_dir = tmp_path / "index"

    def real(args: list[str]) -> CliRun:
        return cli(args, index_dir, home, model=None)

    assert real(["index", "-q"]).exit_code == 0
    clean_files = index_files(index_dir)
    clean_search = real(["search", SEARCH_QUESTION, "--json"]).stdout
    clean_ask = ask_digest(real(["ask", ANSWER_QUESTION, "--json"]).stdout)
    assert "129" in clean_ask["text"]

    for damage in ("vectors-rows-shuffled", "articles-text-edited-same-length"):
        CASES[damage].apply(index_dir, None)  # type: ignore[arg-type]  # these damages need no other index
        search = real(["search", SEARCH_QUESTION, "--json"])
        if search.exit_code != 0:
            assert_clear_error(search)
        else:
            assert search.stdout == clean_search, f"{damage}: a silently wrong answer"
        assert real(["index", "-q"]).exit_code == 0
        assert index_files(index_dir) == clean_files, f"{damage}: not repaired"

    shutil.rmtree(index_dir)
    assert cli(["index", "-q"], index_dir, home).exit_code == 0  # the hash embedder's index
    mismatch = real(["ask", ANSWER_QUESTION])
    assert_clear_error(mismatch, fix="citeqa index --rebuild")
    assert real(["index", "-q", "--rebuild"]).exit_code == 0
    assert index_files(index_dir) == clean_files
    assert real(["search", SEARCH_QUESTION, "--json"]).stdout == clean_search
    assert ask_digest(real(["ask", ANSWER_QUESTION, "--json"]).stdout) == clean_ask


# -- siblings of the wrong kind ----------------------------------------------------------------------------------
WRONG_KIND_SIBLINGS = {
    "resume-is-a-file": ("resume", "file"),
    "old-is-a-file": ("old", "file"),
    "building-is-a-file": ("building-99999", "file"),
    "lock-is-a-folder": ("lock", "folder"),
    "resume-is-a-dangling-symlink": ("resume", "dangling"),
}


@pytest.mark.parametrize("name", sorted(WRONG_KIND_SIBLINGS))
def test_sibling_of_the_wrong_kind_does_not_break_updates(pristine: Pristine, work: Path, name: str) -> None:
    """A file where citeqa keeps a folder beside the index (or the reverse), e.g. left by a copy or a sync tool.

    Queries answer as before; an update that writes (one article added) succeeds, or says in one line what is
    in the way. Never "unexpected error".
    """
    suffix, kind = WRONG_KIND_SIBLINGS[name]
    home = work / "home"
    index_dir = work / "index"
    shutil.copytree(pristine.index_dir, index_dir)
    sibling = work / f".index.{suffix}"
    if kind == "file":
        sibling.write_text("left here by something else")
    elif kind == "folder":
        (sibling / "inner").mkdir(parents=True)
    else:
        sibling.symlink_to(work / "nowhere")
    assert_answers_like_pristine(pristine, index_dir, home)
    corpus = work / "corpus"
    shutil.copytree(REPO / "corpus" / "articles", corpus)
    (corpus / "zz_extra.txt").write_text("Extra\n\nA short note about tea and scones in Bristol.\n")
    for _ in range(2):  # the second update meets whatever the first one left
        update = cli(["index", "-q", str(corpus)], index_dir, home)
        if update.exit_code != 0:
            assert_clear_error(update, fix=str(sibling))
            return
        assert "indexed 6 articles" in update.output, update.output
        (corpus / "zz_extra.txt").write_text("Extra\n\nA longer note about tea, scones and jam in Bristol.\n")
    hits = load_hash_index(index_dir).search("tea scones jam Bristol", RetrievalSettings(mode="bm25"), k=1)
    assert hits[0].doc_id == "zz_extra.txt"


# -- not a citeqa index (item 2) ----------------------------------------------------------------------------------
@pytest.mark.parametrize("rebuild", [False, True], ids=["index", "index-rebuild"])
def test_a_folder_that_is_not_an_index_is_refused(tmp_path: Path, rebuild: bool) -> None:
    home = tmp_path / "home"
    index_dir = tmp_path / "my-documents"
    index_dir.mkdir()
    (index_dir / "thesis.txt").write_text("Three years of work.")
    (index_dir / "data").mkdir()
    (index_dir / "data" / "results.csv").write_text("a,b\n1,2\n")
    before = {p.relative_to(index_dir): p.read_bytes() for p in index_dir.rglob("*") if p.is_file()}
    run = cli(["index", "-q", *(["--rebuild"] if rebuild else [])], index_dir, home)
    assert run.exit_code != 0, run.output
    assert "not a citeqa index" in run.output and len(run.lines) == 1 and "Traceback" not in run.output, run.output
    after = {p.relative_to(index_dir): p.read_bytes() for p in index_dir.rglob("*") if p.is_file()}
    assert after == before, "the user's files were changed"
    for cmd in (["ask", ANSWER_QUESTION], ["search", SEARCH_QUESTION]):
        r = cli(cmd, index_dir, home)
        assert r.exit_code != 0 and len(r.lines) == 1 and "Traceback" not in r.output, r.output
    after = {p.relative_to(index_dir): p.read_bytes() for p in index_dir.rglob("*") if p.is_file()}
    assert after == before, "the user's files were changed"


def test_index_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    index_dir = tmp_path / "index"
    index_dir.write_text("my shopping list")
    for cmd in (["index", "-q"], ["index", "-q", "--rebuild"], ["ask", ANSWER_QUESTION], ["search", SEARCH_QUESTION]):
        r = cli(cmd, index_dir, home)
        assert r.exit_code != 0 and len(r.lines) == 1, r.output
        assert "Traceback" not in r.output and "unexpected error" not in r.output, r.output
    assert index_dir.read_text() == "my shopping list"


class _GatedHashEmbedder(HashEmbedder):
    """The hash embedder (same vectors, same fingerprint) that, on its first batch of chunks, says so and waits.

    Holds a build at a point fixed by the data (its first embedding batch), not by time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()
        self.go = threading.Event()

    def embed(self, texts, *, progress: bool = False):  # type: ignore[no-untyped-def]
        """Embed like HashEmbedder; the first call waits for ``go``."""
        if not self.reached.is_set():
            self.reached.set()
            assert self.go.wait(GUARD_S), "the test never let the build go on"
        return super().embed(texts, progress=progress)


GUARD_S = 120  # a guard against a hang, not a timing assertion


def test_rebuild_keeps_the_old_index_answering_until_the_swap(pristine: Pristine, work: Path) -> None:
    """Item 2: ``--rebuild`` writes beside the old index; mid-build (embedding) the old one is intact and answers."""
    from qa import library

    index_dir = work / "index"
    shutil.copytree(pristine.index_dir, index_dir)
    settings = {"embedding": {"model": "hash"}, "index": {"dir": str(index_dir)}}
    embedder = _GatedHashEmbedder()
    outcome: dict[str, object] = {}

    def rebuild() -> None:
        try:
            outcome["report"] = library.build(settings, [REPO / "corpus" / "articles"], rebuild=True,
                                              progress=False, embedder=embedder)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            outcome["error"] = exc

    builder = threading.Thread(target=rebuild, daemon=True)
    builder.start()
    try:
        assert embedder.reached.wait(GUARD_S) and builder.is_alive(), f"the rebuild never embedded: {outcome}"
        assert index_files(index_dir) == pristine.files, "the rebuild changed the old index before its swap"
        assert answers_of(load_hash_index(index_dir), pristine.queries) == pristine.answers
    finally:
        embedder.go.set()
        builder.join(GUARD_S)
    assert not builder.is_alive() and "error" not in outcome, outcome
    report = outcome["report"]
    assert report[0].embedded_chunks == len(pristine.answers.chunks)  # type: ignore[index]  # really rebuilt
    assert answers_of(load_hash_index(index_dir), pristine.queries) == pristine.answers


# -- cases that need a child process ------------------------------------------------------------------------------
def _run_child(args: list[str], index_dir: Path, home: Path, *, limit_memory: bool = False
               ) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(home, CITEQA_EMBEDDING__MODEL="hash", CITEQA_INDEX_DIR=str(index_dir),
                         CITEQA_ANSWER__REFUSAL_THRESHOLD="0.3")
    cmd = [str(CITEQA), *args]
    if limit_memory:
        # /dev/zero read as text never ends: the child must stop reading, not eat the machine. The limit is set by
        # a wrapper that then execs citeqa, not by a preexec_fn: that makes subprocess fork() this whole process,
        # and gRPC's fork handlers (pymilvus, Ray tests earlier in the run) can abort such a child.
        cmd = [sys.executable, "-c", _LIMIT_MEMORY, *cmd]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


_LIMIT_MEMORY = (
    "import os, resource, sys\n"
    "limit = 2 << 30\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


@pytest.mark.heavy
@pytest.mark.parametrize("name", ["manifest.json", "articles.jsonl", "chunks.jsonl", "bm25/citeqa_bm25.json"])
def test_text_file_symlinked_to_dev_zero(pristine: Pristine, tmp_path: Path, name: str) -> None:
    """A text file that never ends: a clear error (it is not what citeqa wrote), not a hang or a MemoryError."""
    home = tmp_path / "home"
    index_dir = tmp_path / "index"
    shutil.copytree(pristine.index_dir, index_dir)
    _symlink(name, "/dev/zero")(index_dir, pristine)
    r = _run_child(["search", SEARCH_QUESTION], index_dir, home, limit_memory=True)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out and "unexpected error" not in out, out[-2000:]
    assert "citeqa index" in out, out[-2000:]
    r = _run_child(["index", "-q"], index_dir, home, limit_memory=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    assert index_files(index_dir) == pristine.files


def _as_non_root() -> list[str]:
    """A command prefix that runs a child without root's right to read anything, or skips the test.

    Root reads a chmod 000 file. In a user namespace where the child is uid 1000 (mapped to root outside), it
    has no capabilities over these files, so their owner bits (root's) apply: 000 means unreadable.
    """
    if os.geteuid() != 0:
        return []
    prefix = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"running as root and cannot drop the right to read: {probe.stderr.decode().strip()}")
    return prefix


@pytest.mark.heavy
@pytest.mark.parametrize("name", ["manifest.json", "articles.jsonl", "vectors.npy", "faiss.index", "bm25"])
def test_unreadable_file(pristine: Pristine, work: Path, name: str) -> None:
    """A file or folder citeqa may not read (chmod 000): a clear error; `citeqa index` then replaces the index."""
    prefix = _as_non_root()
    home = work / "home"
    index_dir = work / "index"
    shutil.copytree(pristine.index_dir, index_dir)
    target = index_dir / name
    target.chmod(0)
    env = subprocess_env(home, CITEQA_EMBEDDING__MODEL="hash", CITEQA_INDEX_DIR=str(index_dir))
    corpus = work / "corpus"
    shutil.copytree(REPO / "corpus" / "articles", corpus)
    (corpus / "zz_extra.txt").write_text("Extra\n\nA short note about tea and scones in Bristol.\n")
    try:
        r = subprocess.run([*prefix, str(CITEQA), "search", SEARCH_QUESTION], env=env, capture_output=True,
                           text=True, timeout=300)
        out = r.stdout + r.stderr
        assert r.returncode != 0 and "Traceback" not in out and "unexpected error" not in out, out[-2000:]
        assert len([line for line in out.splitlines() if line.strip()]) == 1 and "citeqa index" in out, out[-2000:]
        r = subprocess.run([*prefix, str(CITEQA), "index", "-q"], env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
        assert index_files(index_dir) == pristine.files
        # The next update, by the same user, while the unreadable folder is wherever the repair put it.
        r = subprocess.run([*prefix, str(CITEQA), "index", "-q", str(corpus)], env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
        left = sorted(q.name for q in index_dir.parent.iterdir() if q.name.startswith(".index."))
        assert left in ([], [".index.lock"]), f"left beside the index after the repair: {left}"
    finally:
        for p in (target, *index_dir.parent.glob(f".{index_dir.name}.*/{name}")):
            if p.exists():
                p.chmod(0o755 if p.is_dir() else 0o644)
