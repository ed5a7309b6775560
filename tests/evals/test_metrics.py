"""Metrics on hand-made cases: each case pins a behaviour that a plausible wrong implementation breaks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embeddings.types import Hit
from evals.metrics import (
    ClaimSupport,
    LatencySummary,
    citation_metrics,
    citation_precision,
    citation_recall,
    contains,
    doc_recall,
    evidence_recall,
    exact_match,
    f1,
    latency_summary,
    mean_defined,
    mrr,
    ndcg,
    normalize_answer,
    percentile,
    recall_at_ks,
    refusal_metrics,
    retrieval_scores,
)

# --------------------------------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Palace of Versailles!", "palace of versailles"),
        ("François  Hollande", "francois hollande"),  # accents stripped, whitespace collapsed
        ("Élysée", "elysee"),
        ("Putin’s “smart” act", "putins smart act"),  # curly quotes treated like straight ones
        ("Putin's \"smart\" act", "putins smart act"),
        ("an Alsatian puppy", "alsatian puppy"),
        ("A theme, the end", "theme end"),  # articles are whole words only
        ("1995–2007", "19952007"),  # Unicode dashes are punctuation
        ("U.S.", "us"),
        ("almost €900 million", "almost €900 million"),  # symbols kept
        ("  \n\t ", ""),
    ],
)
def test_normalize_answer(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_exact_match() -> None:
    assert exact_match("the Palace of Versailles.", ["Palace of Versailles", "Versailles"]) == 1.0
    assert exact_match("Versailles", ["Palace of Versailles", "Versailles"]) == 1.0  # best over golds
    assert exact_match("Versailles Palace", ["Palace of Versailles"]) == 0.0  # order matters
    assert exact_match("129 people", ["129"]) == 0.0
    assert exact_match("", []) == 1.0 and exact_match("Paris", []) == 0.0  # SQuAD 2.0 convention


def test_f1_counts_token_overlap_best_over_golds() -> None:
    # pred: {palace, versailles, near, paris}; gold "palace of versailles": {palace, of, versailles}
    # overlap 2 → P = 2/4, R = 2/3 → F1 = 2·(1/2)(2/3)/(1/2 + 2/3) = 4/7
    assert f1("the Palace Versailles near Paris", ["Palace of Versailles"]) == pytest.approx(4 / 7)
    assert f1("the Palace Versailles near Paris", ["Palace of Versailles", "Versailles"]) == pytest.approx(4 / 7)
    # best gold is the second: overlap 1, P = 1/2, R = 1 → 2/3
    assert f1("Versailles palace", ["Bregancon", "Versailles"]) == pytest.approx(2 / 3)
    assert f1("Moscow", ["Paris"]) == 0.0


def test_f1_counts_repeated_tokens_only_as_often_as_they_match() -> None:
    # pred tokens: paris paris paris; gold: paris → overlap 1 (not 3): P = 1/3, R = 1 → 0.5
    assert f1("Paris Paris Paris", ["Paris"]) == pytest.approx(0.5)
    # multiset overlap 2 (not set overlap 1): P = 2/2, R = 2/3 → 0.8
    assert f1("Paris Paris", ["Paris Paris London"]) == pytest.approx(0.8)


def test_f1_empty_sides() -> None:
    assert f1("", []) == 1.0
    assert f1("something", []) == 0.0
    assert f1("", ["Paris"]) == 0.0
    assert f1("the", ["a"]) == 1.0  # both normalise to nothing


def test_contains() -> None:
    long = "Macron hosted Putin at the Palace of Versailles [1] on May 29, 2017."
    assert contains(long, ["Palace of Versailles"]) == 1.0
    assert contains(long, ["Bregancon", "May 29, 2017"]) == 1.0  # best over golds
    assert contains(long, ["Bregancon"]) == 0.0
    assert contains("Versailles", ["Palace of Versailles"]) == 0.0  # the gold must be in the prediction
    assert contains("They killed 129 people.", ["129"]) == 1.0
    assert contains("They killed 129 people.", ["12"]) == 0.0  # whole words, not digits inside numbers
    assert contains("anything", ["the"]) == 0.0  # a gold that normalises to nothing matches nothing
    assert contains("", []) == 1.0 and contains("Paris", []) == 0.0


@given(st.text(max_size=40), st.lists(st.text(max_size=20), max_size=3))
def test_answer_metric_properties(pred: str, golds: list[str]) -> None:
    assert normalize_answer(normalize_answer(pred)) == normalize_answer(pred)
    em, score, hit = exact_match(pred, golds), f1(pred, golds), contains(pred, golds)
    assert 0.0 <= score <= 1.0
    if em:
        assert score == 1.0 and hit == 1.0


# ------------------------------------------------------------------------------------------- retrieval

A, B, C = "a.txt", "b.txt", "c.txt"
RANKED = [
    (C, "noise about Syria"),
    (A, "Macron hosted Putin at the Palace of Versailles on May 29, 2017."),
    (B, "Putin visited Macron in late August at\u00a0Bregancon."),
    (A, "more from a"),
]


def test_doc_recall_counts_distinct_gold_docs_within_k() -> None:
    assert doc_recall(RANKED, [A, B], k=1) == 0.0
    assert doc_recall(RANKED, [A, B], k=2) == 0.5
    assert doc_recall(RANKED, [A, B], k=3) == 1.0
    assert doc_recall(RANKED, [A, A], k=4) == 1.0  # duplicates in gold don't inflate the denominator
    assert doc_recall(RANKED, [], k=3) is None


def test_evidence_recall_matches_quotes_inside_chunks_whitespace_normalised() -> None:
    quotes = ["at the Palace of Versailles", "late August at Bregancon"]  # the chunk has a no-break space
    assert evidence_recall(RANKED, quotes, k=1) == 0.0
    assert evidence_recall(RANKED, quotes, k=2) == 0.5
    assert evidence_recall(RANKED, quotes, k=3) == 1.0
    # a quote spanning two chunks is not contained in either
    assert evidence_recall(RANKED, ["May 29, 2017. Putin visited"], k=4) == 0.0
    assert evidence_recall(RANKED, [], k=3) is None


def test_mrr_is_reciprocal_rank_of_first_gold_chunk() -> None:
    assert mrr(RANKED, [A], k=4) == 0.5
    assert mrr(RANKED, [B, A], k=4) == 0.5  # the first gold chunk, whichever doc
    assert mrr(RANKED, [B], k=4) == pytest.approx(1 / 3)
    assert mrr(RANKED, [B], k=2) == 0.0  # beyond the cut-off
    assert mrr(RANKED, [C], k=1) == 1.0
    assert mrr(RANKED, [], k=4) is None


def test_ndcg_binary_relevance_from_evidence() -> None:
    # one quote, in the chunk at rank 2: DCG = 1/log2(3); ideal: one relevant chunk at rank 1 → 1
    assert ndcg(RANKED, [A], ["Palace of Versailles"], k=4) == pytest.approx(1 / math.log2(3))
    # evidence decides relevance, not the doc: the other chunk from A (rank 4) is not relevant
    assert ndcg(RANKED[1:], [A], ["Palace of Versailles"], k=4) == 1.0
    # two quotes in different chunks (ranks 2 and 3): DCG = 1/log2 3 + 1/log2 4; IDCG = 1 + 1/log2 3
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg(RANKED, [A, B], ["Palace of Versailles", "Bregancon"], k=4) == pytest.approx(expected)
    # k = 2 keeps only rank 2 relevant; the ideal still needs min(k, 2) = 2 relevant chunks
    assert ndcg(RANKED, [A, B], ["Palace of Versailles", "Bregancon"], k=2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_ndcg_ideal_is_cut_at_k() -> None:
    # three quotes, the two top chunks hold two of them: perfect at k = 2 (ideal over min(k, 3) = 2)
    ranked = [(A, "one"), (A, "two"), (A, "three")]
    assert ndcg(ranked, [A], ["one", "two", "three"], k=2) == 1.0
    assert ndcg(ranked[1:], [A], ["one", "two", "three"], k=2) == pytest.approx(1.0)  # order within k is free
    assert ndcg(ranked[:1] + [(B, "x")], [A], ["one", "two"], k=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_counts_quotes_sharing_a_chunk_once() -> None:
    # both quotes sit in the top chunk: a perfect list, even though only one chunk is relevant
    assert ndcg(RANKED[1:], [A], ["Macron hosted Putin", "May 29, 2017"], k=3) == 1.0


def test_ndcg_falls_back_to_gold_docs_and_stays_at_most_one() -> None:
    # no evidence: chunks from A are relevant (ranks 2 and 4): DCG = 1/log2 3 + 1/log2 5.
    # R = max(1 gold doc, 2 relevant retrieved) = 2 → IDCG = 1 + 1/log2 3
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg(RANKED, [A], [], k=4) == pytest.approx(expected)
    assert ndcg([(A, "x"), (A, "y"), (A, "z")], [A], [], k=3) == 1.0  # not > 1
    assert ndcg(RANKED, [], [], k=4) is None
    assert ndcg([], [A], ["q"], k=3) == 0.0


def test_retrieval_accepts_hits_and_rejects_bad_k() -> None:
    hits = [Hit(doc_id=d, start=0, end=len(t), text=t, score=1.0) for d, t in RANKED]
    assert retrieval_scores(hits, [A], ["Versailles"], k=2) == retrieval_scores(RANKED, [A], ["Versailles"], k=2)
    with pytest.raises(ValueError, match="k must be at least 1"):
        doc_recall(RANKED, [A], k=0)


def test_recall_at_ks_curve() -> None:
    curve = recall_at_ks(iter(RANKED), [A, B], ["Versailles", "Bregancon"])  # iterators are fine too
    assert list(curve) == list(range(1, 11))
    assert [curve[k].doc_recall for k in (1, 2, 3, 10)] == [0.0, 0.5, 1.0, 1.0]
    assert [curve[k].evidence_recall for k in (1, 2, 3)] == [0.0, 0.5, 1.0]
    assert curve[3].mrr == 0.5 and curve[3].k == 3
    assert set(recall_at_ks(RANKED, [A], [], ks=[5])) == {5}
    assert recall_at_ks(RANKED, [], [], ks=[5])[5].doc_recall is None


@given(
    st.lists(st.tuples(st.sampled_from([A, B, C]), st.sampled_from(["x", "y", "x y", "z"])), max_size=8),
    st.lists(st.sampled_from([A, B, C]), max_size=3),
    st.lists(st.sampled_from(["x", "y", "z"]), max_size=3),
    st.integers(min_value=1, max_value=10),
)
def test_retrieval_metric_properties(ranked: list[tuple[str, str]], gold: list[str], quotes: list[str],
                                     k: int) -> None:
    s, s_next = retrieval_scores(ranked, gold, quotes, k=k), retrieval_scores(ranked, gold, quotes, k=k + 1)
    for v in (s.doc_recall, s.evidence_recall, s.mrr, s.ndcg):
        assert v is None or 0.0 <= v <= 1.0 + 1e-12
    if gold:
        assert s_next.doc_recall is not None and s.doc_recall is not None
        assert s_next.doc_recall >= s.doc_recall  # recall never drops as k grows
        assert s_next.mrr is not None and s.mrr is not None and s_next.mrr >= s.mrr


# -------------------------------------------------------------------------------------------- refusals


def test_refusal_metrics() -> None:
    outcomes = [(True, True), (True, True), (True, False), (False, True), (False, False), (False, False),
                (False, False)]
    r = refusal_metrics(outcomes)
    assert (r.tp, r.fp, r.fn, r.tn, r.n) == (2, 1, 1, 3, 7)
    assert r.recall == pytest.approx(2 / 3)  # caught 2 of 3 unanswerable
    assert r.precision == pytest.approx(2 / 3)  # 2 of 3 refusals were right
    assert r.false_refusal_rate == pytest.approx(1 / 4)  # refused 1 of 4 answerable


def test_refusal_metrics_zero_denominators_are_none() -> None:
    empty = refusal_metrics([])
    assert (empty.recall, empty.precision, empty.false_refusal_rate, empty.n) == (None, None, None, 0)
    never = refusal_metrics([(False, False), (True, False)])
    assert never.precision is None and never.recall == 0.0 and never.false_refusal_rate == 0.0
    only_unanswerable = refusal_metrics([(True, True)])
    assert only_unanswerable.false_refusal_rate is None and only_unanswerable.recall == 1.0


# ------------------------------------------------------------------------------------------- citations


def test_citation_recall_and_precision() -> None:
    claims = [
        [(1, True)],  # supported, precise
        [(2, False), (3, True)],  # supported (by 3); citation 2 imprecise
        [(4, False)],  # unsupported
        [],  # a claim citing nothing is unsupported and adds no citation
    ]
    scores = citation_metrics(claims)
    assert (scores.n_claims, scores.n_citations) == (4, 4)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.precision == pytest.approx(2 / 4)
    assert citation_recall(claims) == scores.recall and citation_precision(claims) == scores.precision


def test_citation_joint_support_overrides_single_citations() -> None:
    # neither quote alone supports the claim, but together they do (a fact split over two sentences)
    joint = ClaimSupport(citations=((1, False), (2, False)), jointly_supported=True)
    # each citation is fine alone, but the checker found the combination does not back the whole claim
    partial = ClaimSupport(citations=((3, True),), jointly_supported=False)
    scores = citation_metrics([joint, partial])
    assert scores.recall == 0.5
    # joint: both citations are needed → precise; partial: a citation of an unsupported claim earns nothing
    assert scores.precision == pytest.approx(2 / 3)
    # supported jointly, but citation 2 alone already supports it: citation 1 is redundant (ALCE)
    redundant = ClaimSupport(citations=((1, False), (2, True)), jointly_supported=True)
    assert citation_metrics([redundant]).precision == 0.5
    assert ClaimSupport(citations=(), jointly_supported=True).supported is False


def test_citation_unchecked_support_earns_no_credit_and_empty_is_none() -> None:
    scores = citation_metrics([[(1, None)]])  # type: ignore[list-item]
    assert scores.recall == 0.0 and scores.precision == 0.0
    empty = citation_metrics([])
    assert empty.recall is None and empty.precision is None
    assert citation_metrics([[]]).precision is None and citation_metrics([[]]).recall == 0.0


# --------------------------------------------------------------------------------------------- latency


def test_percentiles_interpolate_like_numpy() -> None:
    xs = list(range(1, 101))  # 1..100: numpy.percentile gives 50.5 and 95.05
    assert percentile(xs, 50) == pytest.approx(50.5)
    assert percentile(xs, 95) == pytest.approx(95.05)
    assert percentile([30.0, 10.0, 20.0], 50) == 20.0  # sorts first
    assert percentile([7.0], 95) == 7.0
    assert percentile([0.0, 10.0], 0) == 0.0 and percentile([0.0, 10.0], 100) == 10.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0, float("nan")], 50)


def test_latency_summary() -> None:
    s = latency_summary([100.0, 200.0, 300.0, 400.0, 1000.0])
    assert (s.n, s.p50, s.mean, s.max) == (5, 300.0, 400.0, 1000.0)
    assert s.p95 == pytest.approx(880.0)  # 400 + 0.8 · (1000 − 400)
    assert latency_summary([]) == LatencySummary(n=0, p50=None, p95=None, mean=None, max=None)


def test_mean_defined_skips_none() -> None:
    assert mean_defined([1.0, None, 0.0]) == 0.5
    assert mean_defined([None]) is None and mean_defined([]) is None
