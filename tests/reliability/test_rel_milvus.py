"""The Milvus store (``index.store = "milvus"``) against a real Milvus Lite server process, talking gRPC.

What was tried, and what a user must see:
- the same index on FAISS and on Milvus: the same chunks for every query (dense, BM25, hybrid, MMR), and
  answers whose citations are the exact words of the article (``article.text[c.start:c.end] == c.quote``);
- an article changed, added or removed: its chunks are replaced in the collection, nothing duplicated;
- a sync cut short (rows lost in Milvus): loading says so, the next ``citeqa index`` repairs it;
- Milvus unreachable: a clear one-line error naming the URI, for a build and for a query; never FAISS instead;
- a collection built with another dimension or embedder, or not citeqa's: a clear error, nothing overwritten;
- a token in the settings or credentials in the URI: never written to the manifest;
- the FAISS store never imports pymilvus.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from milvus_server import MilvusServer, free_port, milvus_server, running_milvus  # noqa: F401 (fixture)
from pydantic import SecretStr

from corpus.load import bundled_corpus_dir, load_articles
from corpus.types import Article
from embeddings import (
    ChunkSettings,
    HashEmbedder,
    Index,
    IndexCorruptError,
    IndexMismatchError,
    IndexSettings,
    RetrievalSettings,
    build_index,
    check_index,
    remove_articles,
)
from embeddings.errors import RetrievalError, StoreUnavailableError
from embeddings.milvus_store import MilvusStore, collection_name

pytestmark = pytest.mark.heavy

REPO = Path(__file__).resolve().parents[2]
CHUNKING = ChunkSettings()
QUERIES = ("How many people were massacred in Paris?", "Where did Macron receive Putin in 2017?",
           "Which warships did Sarkozy sell to Russia?", "What did the 2013 BBC World Service poll find?",
           "sanctions against Russia after Crimea", "the the of and")
ANSWERED = ("How many people were massacred in Paris?", "Which warships did Sarkozy sell to Russia?",
            "What did the 2013 BBC World Service poll find?")  # answered over the hash embedder (test_pipeline)


def _seeds() -> list[Article]:
    return load_articles([bundled_corpus_dir()]).articles


def _milvus(uri: str, **kw: object) -> IndexSettings:
    return IndexSettings(**{"store": "milvus", "milvus_uri": uri, "faiss": "flat", "milvus_timeout": 5, **kw})  # type: ignore[arg-type]


def _build(articles: list[Article], index_dir: Path, settings: IndexSettings, embedder: HashEmbedder | None = None,
           **kw: object):
    return build_index(articles, index_dir=index_dir, embedder=embedder or HashEmbedder(), chunking=CHUNKING,
                       index_settings=settings, progress=False, **kw)  # type: ignore[arg-type]


def _load(index_dir: Path, settings: IndexSettings | None, embedder: HashEmbedder | None = None) -> Index:
    return Index.load(index_dir, embedder=embedder or HashEmbedder(), chunking=CHUNKING, store=settings)


@pytest.fixture(scope="module")
def pair(milvus_server: MilvusServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Index, Index]:  # noqa: F811
    """The seed articles indexed twice with the hash embedder: FAISS (flat) and Milvus (FLAT) over gRPC."""
    root = tmp_path_factory.mktemp("pair")
    _build(_seeds(), root / "faiss", IndexSettings(faiss="flat"))
    _build(_seeds(), root / "milvus", _milvus(milvus_server.uri))
    return _load(root / "faiss", IndexSettings(faiss="flat")), _load(root / "milvus", _milvus(milvus_server.uri))


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
@pytest.mark.parametrize("mmr", [False, True])
def test_milvus_ranks_exactly_like_faiss(pair: tuple[Index, Index], mode: str, mmr: bool) -> None:
    """Dense: exact inner products; BM25: Milvus's full-text search on the same terms with the same parameters;
    hybrid: fused in Milvus by its RRF ranker. The same chunks, in the same order, with the same scores."""
    faiss, milvus = pair
    assert not (milvus.index_dir / "faiss.index").exists()  # searched in Milvus, not in a local FAISS copy
    rs = RetrievalSettings(mode=mode, mmr=mmr)  # type: ignore[arg-type]
    for q in QUERIES:
        got, want = (i.search(q, rs) for i in (milvus, faiss))
        assert [(h.doc_id, h.start, h.end, h.text) for h in got] == [(h.doc_id, h.start, h.end, h.text) for h in want]
        assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-4), q


def test_unequal_weights_fuse_like_faiss(pair: tuple[Index, Index]) -> None:
    """Milvus's RRF has no weights: unequal ones fetch both rankings from Milvus and fuse them as FAISS does."""
    faiss, milvus = pair
    rs = RetrievalSettings(mode="dense", dense_weight=1.0, bm25_weight=0.0)
    for q in QUERIES[:3]:
        assert [(h.doc_id, h.start) for h in milvus.search(q, rs)] == [(h.doc_id, h.start) for h in faiss.search(q, rs)]
    rs = RetrievalSettings(dense_weight=2.0, bm25_weight=0.5)
    for q in QUERIES[:5]:
        got, want = milvus.search(q, rs), faiss.search(q, rs)
        assert [(h.doc_id, h.start, h.dense_rank, h.bm25_rank) for h in got] == [
            (h.doc_id, h.start, h.dense_rank, h.bm25_rank) for h in want], q
        dense = {(h.doc_id, h.start): h.dense_rank for h in faiss.search(q, RetrievalSettings(mode="dense", top_k=50))}
        for h in got:  # ranks from Milvus, fused here with the weights, as on FAISS
            assert h.dense_rank == dense.get((h.doc_id, h.start))
            want_score = sum(w / (60 + r) for w, r in ((2.0, h.dense_rank), (0.5, h.bm25_rank)) if r is not None)
            assert h.score == pytest.approx(want_score)


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_answers_and_citations_equal_faiss(pair: tuple[Index, Index], mode: str) -> None:
    from qa import QA, get_settings

    faiss, milvus = pair
    qas = [QA(get_settings({"index": {"dir": str(i.index_dir)}, "retrieval": {"mode": mode},
                            "answer": {"refusal_threshold": 0.3}}), i, HashEmbedder()) for i in (faiss, milvus)]
    for q in ANSWERED:
        a, b = (qa.answer(q) for qa in qas)
        assert b.citations and not b.refused and not a.refused, q
        assert (b.text, b.citations, [h.start for h in b.chunks]) == (a.text, a.citations, [h.start for h in a.chunks])
        for c in b.citations:
            assert milvus.articles[c.doc_id].text[c.start:c.end] == c.quote


def test_changed_article_replaces_its_chunks(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    settings = _milvus(milvus_server.uri)
    arts = _seeds()
    _build(arts, tmp_path / "idx", settings)
    changed = Article(arts[0].doc_id, arts[0].title, arts[0].text + "\n\nA late correction: the zebra escaped.",
                      arts[0].meta, "")
    report = _build([changed, *arts[1:]], tmp_path / "idx", settings)
    assert (report.updated, report.added, report.embedded_chunks > 0) == (1, 0, True)
    index = _load(tmp_path / "idx", settings)
    store = MilvusStore.open(settings, index_dir=tmp_path / "idx", dim=64, fingerprint=_fp(), create=False)
    try:
        per_doc = store.doc_chunks()
        counts = {d: sum(c.doc_id == d for c in index.chunks) for d in index.articles}
        assert per_doc == {d: (a.content_hash, counts[d]) for d, a in index.articles.items()}  # one version, no dupes
        assert store.count() == len(index.chunks)
    finally:
        store.close()
    hit = index.search("zebra escaped correction", RetrievalSettings(mode="bm25"))[0]
    assert hit.doc_id == changed.doc_id and "zebra" in hit.text
    assert index.articles[hit.doc_id].text[hit.start:hit.end] == hit.text
    # removed: its rows go too
    remove_articles([changed.doc_id], index_dir=tmp_path / "idx", embedder=HashEmbedder(), chunking=CHUNKING,
                    index_settings=settings)
    index = _load(tmp_path / "idx", settings)
    assert changed.doc_id not in index.articles
    assert all(h.doc_id != changed.doc_id for q in QUERIES for h in index.search(q, RetrievalSettings()))


def _fp() -> str:
    from embeddings import model_fingerprint

    return model_fingerprint(HashEmbedder())


def test_lost_rows_are_reported_then_repaired(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    settings = _milvus(milvus_server.uri)
    _build(_seeds(), tmp_path / "idx", settings)
    store = MilvusStore.open(settings, index_dir=tmp_path / "idx", dim=64, fingerprint=_fp(), create=False)
    doc = sorted(store.doc_chunks())[0]
    store.delete_docs([doc])  # what a sync cut short, or someone else, leaves
    store.close()
    with pytest.raises(IndexCorruptError, match=r"holds \d+ chunks, the index .* run `citeqa index`"):
        _load(tmp_path / "idx", settings)
    check = check_index(tmp_path / "idx", embedder=HashEmbedder(), chunking=CHUNKING)  # `citeqa index --check`
    assert not check.ok and "run `citeqa index`" in check.problems[0]
    report = _build(_seeds(), tmp_path / "idx", settings)  # up to date locally; the sync repairs the collection
    assert report.embedded_chunks == 0
    check = check_index(tmp_path / "idx", embedder=HashEmbedder(), chunking=CHUNKING)
    assert check.ok and any("every article's chunks in the collection" in c for c in check.checks)
    index = _load(tmp_path / "idx", settings)
    assert doc in {h.doc_id for q in QUERIES for h in index.search(q, RetrievalSettings(mode="dense", top_k=20))}


def test_unreachable_milvus_is_a_clear_error_never_faiss(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(StoreUnavailableError, match=f"cannot reach Milvus at {uri}") as err:
        _build(_seeds(), tmp_path / "idx", _milvus(uri, milvus_timeout=2))
    assert "\n" not in str(err.value) and "fall back" in str(err.value)
    assert not (tmp_path / "idx").exists()  # nothing built, no FAISS index instead


def test_milvus_gone_at_query_time(tmp_path: Path) -> None:
    with running_milvus(tmp_path / "data") as server:
        settings = _milvus(server.uri, milvus_timeout=2)
        _build(_seeds(), tmp_path / "idx", settings)
        index = _load(tmp_path / "idx", settings)
        assert index.search(QUERIES[0], RetrievalSettings())
    with pytest.raises(StoreUnavailableError, match=f"Milvus at {server.uri} failed to run a hybrid search"):
        index.search(QUERIES[0], RetrievalSettings())
    with pytest.raises(StoreUnavailableError, match=f"Milvus at {server.uri}") as err:
        _load(tmp_path / "idx", settings)
    assert "\n" not in str(err.value)
    with pytest.raises(StoreUnavailableError, match=f"Milvus at {server.uri}"):
        _load(tmp_path / "idx", None)  # the manifest's URI: still Milvus, never the FAISS files (there are none)
    with pytest.raises(IndexMismatchError, match="built for the 'milvus' store, index.store is 'faiss'"):
        _load(tmp_path / "idx", IndexSettings())


def test_other_dimension_or_embedder_is_refused(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    shared = _milvus(milvus_server.uri, milvus_collection="shared_by_two")
    _build(_seeds(), tmp_path / "a", shared)
    with pytest.raises(IndexMismatchError, match=r"shared_by_two.*dimension 64 vs 32.*--rebuild"):
        _build(_seeds(), tmp_path / "b", shared, embedder=HashEmbedder(dim=32))
    assert not (tmp_path / "b").exists()
    _load(tmp_path / "a", shared)  # untouched
    with pytest.raises(IndexMismatchError, match="embedder fingerprint"):
        MilvusStore.open(shared, index_dir=tmp_path / "a", dim=64, fingerprint="f" * 64)
    # a rebuild replaces a citeqa collection built with another embedder
    report = _build(_seeds(), tmp_path / "b", shared, embedder=HashEmbedder(dim=32), rebuild=True)
    assert report.chunks > 0 and _load(tmp_path / "b", shared, HashEmbedder(dim=32)).search(QUERIES[0],
                                                                                            RetrievalSettings())
    with pytest.raises(IndexMismatchError, match="dimension 32 vs 64"):
        _load(tmp_path / "a", shared)  # the other index now finds a collection that is not its own


def test_foreign_collection_is_never_touched(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    from pymilvus import MilvusClient

    client = MilvusClient(uri=milvus_server.uri)
    client.create_collection("someone_elses", dimension=64)
    client.insert("someone_elses", [{"id": 1, "vector": [0.1] * 64}])
    settings = _milvus(milvus_server.uri, milvus_collection="someone_elses")
    for rebuild in (False, True):
        with pytest.raises(IndexMismatchError, match="'someone_elses' .* is not a citeqa collection"):
            _build(_seeds(), tmp_path / "idx", settings, rebuild=rebuild)
    assert client.query("someone_elses", filter="", output_fields=["count(*)"])[0]["count(*)"] == 1
    client.close()


def test_token_and_uri_credentials_never_written(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    uri = milvus_server.uri.replace("http://", "http://root:pw-in-uri@")
    settings = _milvus(uri, milvus_token=SecretStr("root:Sup3rSecret"))
    _build(_seeds(), tmp_path / "idx", settings)
    text = (tmp_path / "idx" / "manifest.json").read_text()
    assert "Sup3rSecret" not in text and "pw-in-uri" not in text
    store = json.loads(text)["store"]
    assert store == {"kind": "milvus", "uri": milvus_server.uri, "model_fingerprint": _fp(), "dim": 64,
                     "collection": collection_name(settings, tmp_path / "idx"), "index_type": "FLAT"}
    assert "Sup3rSecret" not in repr(settings) and "Sup3rSecret" not in settings.model_dump_json()


def test_faiss_store_never_imports_pymilvus(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from corpus.load import bundled_corpus_dir, load_articles\n"
        "from embeddings import *\n"
        "d = Path(sys.argv[1]); arts = load_articles([bundled_corpus_dir()]).articles\n"
        "build_index(arts, index_dir=d, embedder=HashEmbedder(), chunking=ChunkSettings(), "
        "index_settings=IndexSettings(), progress=False)\n"
        "i = Index.load(d, embedder=HashEmbedder(), chunking=ChunkSettings(), store=IndexSettings())\n"
        "assert i.search('Macron Putin', RetrievalSettings())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pymilvus', 'milvus_lite', 'grpc')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "idx")], cwd=REPO, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_seed_dev_answers_equal_faiss_with_the_real_model(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    """all-MiniLM-L6-v2 over the seed articles: every seed_dev question gets the same chunks, answer and
    citations from Milvus as from FAISS, and every quote is the article's exact text."""
    from embeddings import EmbeddingSettings, load_embedder
    from qa import QA, get_settings

    emb = load_embedder(EmbeddingSettings())
    qas = []
    for name, settings in (("faiss", IndexSettings()), ("milvus", _milvus(milvus_server.uri, faiss="auto"))):
        build_index(_seeds(), index_dir=tmp_path / name, embedder=emb, chunking=CHUNKING, index_settings=settings,
                    progress=False)
        index = Index.load(tmp_path / name, embedder=emb, chunking=CHUNKING, store=settings)
        qas.append(QA(get_settings({"index": settings.model_dump() | {"dir": str(tmp_path / name)}}), index, emb))
    rows = [json.loads(line) for line in (REPO / "evals" / "sets" / "seed_dev.jsonl").read_text().splitlines()]
    for row in rows:
        a, b = (qa.answer(row["question"], history=row.get("history") or []) for qa in qas)
        assert [(h.doc_id, h.start, h.end) for h in b.chunks] == [(h.doc_id, h.start, h.end) for h in a.chunks]
        assert (b.text, b.refused, b.citations) == (a.text, a.refused, a.citations), row["id"]
        for c in b.citations:
            assert qas[1].library.article(c.doc_id).text[c.start:c.end] == c.quote


def test_library_add_and_remove_on_milvus(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    """The QA's collection: an uploaded article is searchable in Milvus at once, a removed one is gone."""
    from qa import QA

    settings = {"embedding": {"model": "hash"}, "index": {"dir": str(tmp_path / "idx"), "store": "milvus",
                                                         "milvus_uri": milvus_server.uri},
                "answer": {"refusal_threshold": 0.3}}
    qa = QA.ensure(settings, progress=False)  # builds the bundled articles into Milvus
    upload = tmp_path / "zebra.txt"
    upload.write_text("Zebras at the city zoo\n\nThe zoo's three zebras escaped on Tuesday and were found grazing "
                      "in the botanical garden two kilometres away.", encoding="utf-8")
    added = qa.library.add_files([upload]).added_doc_ids
    a = qa.answer("Where were the escaped zebras found?")
    assert any(c.doc_id == added[0] for c in a.citations)
    assert all(qa.library.article(c.doc_id).text[c.start:c.end] == c.quote for c in a.citations)
    qa.library.remove_article(added[0])
    assert all(h.doc_id != added[0] for h in qa.answer("Where were the escaped zebras found?").chunks)
    store = MilvusStore.open(qa.settings.index, index_dir=tmp_path / "idx", dim=64, fingerprint=_fp(), create=False)
    try:
        assert added[0] not in store.doc_chunks() and store.count() == len(qa.index.chunks)
    finally:
        store.close()


def test_odd_doc_ids_update_exactly(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    """doc_ids with quotes, backslashes and non-ASCII letters (uploads keep their file names): replaced and deleted
    exactly (the delete filter quotes them), nothing else touched; a name too long for the store is a clear error."""
    settings = _milvus(milvus_server.uri)
    odd = ['uploads/Müller "quoted".txt', "uploads/back\\slash's.txt", "uploads/日本語.txt"]
    arts = [Article(d, d, f"{d} reports that the harbour froze in {1990 + i}.", content_hash="")
            for i, d in enumerate(odd)] + _seeds()
    _build(arts, tmp_path / "idx", settings)
    changed = [Article(a.doc_id, a.title, a.text + " It thawed in May.", content_hash="") for a in arts[:3]]
    _build(changed + arts[3:], tmp_path / "idx", settings)
    remove_articles(odd[:2], index_dir=tmp_path / "idx", embedder=HashEmbedder(), chunking=CHUNKING,
                    index_settings=settings)
    index = _load(tmp_path / "idx", settings)
    store = MilvusStore.open(settings, index_dir=tmp_path / "idx", dim=64, fingerprint=_fp(), create=False)
    try:
        stored = store.doc_chunks()
    finally:
        store.close()
    assert set(stored) == set(index.articles) and odd[2] in stored and not set(odd[:2]) & set(stored)
    assert stored[odd[2]][0] == index.articles[odd[2]].content_hash
    with pytest.raises(RetrievalError, match="longer than the Milvus store's 2048 bytes"):
        _build([Article("x" * 3000 + ".txt", "x", "A long name.", content_hash="")], tmp_path / "long", settings)


def test_index_type_changes_only_with_rebuild(milvus_server: MilvusServer, tmp_path: Path) -> None:  # noqa: F811
    """The collection keeps the dense index it was created with (the manifest says which); --rebuild replaces it."""
    def index_type() -> str:
        return str(json.loads((tmp_path / "idx" / "manifest.json").read_text())["store"]["index_type"])

    _build(_seeds(), tmp_path / "idx", _milvus(milvus_server.uri, faiss="flat"))
    assert index_type() == "FLAT"
    hnsw = _milvus(milvus_server.uri, faiss="hnsw")
    _build(_seeds(), tmp_path / "idx", hnsw)
    assert index_type() == "FLAT"  # what the collection has, not what was asked
    _build(_seeds(), tmp_path / "idx", hnsw, rebuild=True)
    assert index_type() == "HNSW"
    assert _load(tmp_path / "idx", hnsw).search(QUERIES[0], RetrievalSettings())
