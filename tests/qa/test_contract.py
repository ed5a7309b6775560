"""Pins the public Python contract of DESIGN.md: names, fields, signatures."""

from __future__ import annotations

import dataclasses
import inspect

import qa


def test_exported_members() -> None:
    assert set(qa.__all__) == {
        "QA", "Answer", "ArticleNotFoundError", "AuthError", "CiteqaError", "Citation", "CitedClaim", "ClaimCheck",
        "ConfigError",
        "EndpointError", "GeneratorError",
        "IndexCorruptError", "IndexMismatchError", "IndexNotFoundError", "InvalidQuestionError",
        "ModelNotFoundError", "QAError", "RetrievalError", "Retrieved", "Settings", "ShortAnswer", "answer",
        "get_settings",
    }  # fmt: skip
    for name in qa.__all__:
        assert hasattr(qa, name), name


def test_answer_and_citation_fields() -> None:
    answer_fields = [f.name for f in dataclasses.fields(qa.Answer)]
    assert answer_fields[:6] == ["text", "citations", "chunks", "refused", "query", "backend"]
    assert "short_answer" in answer_fields  # the answer in a few words with exact offsets, or None
    assert {"claims", "disagreement"} <= set(answer_fields)  # per-claim support verdicts; a model refusal overruled
    assert [f.name for f in dataclasses.fields(qa.ClaimCheck)] == [
        "text", "start", "end", "citations", "supported", "corrected"]
    assert [f.name for f in dataclasses.fields(qa.CitedClaim)] == ["index", "claim", "citations", "supported"]
    from qa.types import ShortAnswer

    assert [f.name for f in dataclasses.fields(ShortAnswer)] == ["text", "doc_id", "start", "end"]
    citation_fields = [f.name for f in dataclasses.fields(qa.Citation)]
    assert citation_fields == ["n", "doc_id", "title", "start", "end", "quote", "supported"]
    from embeddings.types import Hit

    hit_fields = {f.name for f in dataclasses.fields(Hit)}
    assert {"doc_id", "start", "end", "text", "score"} <= hit_fields


def test_signatures() -> None:
    sig = inspect.signature(qa.answer)
    assert list(sig.parameters)[:1] == ["question"]
    assert sig.parameters["history"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["settings"].kind is inspect.Parameter.KEYWORD_ONLY
    assert callable(qa.QA.from_settings)
    assert list(inspect.signature(qa.QA.answer).parameters) == ["self", "question", "history"]
    assert list(inspect.signature(qa.QA.stream).parameters) == ["self", "question", "history"]


def test_every_error_is_a_citeqa_error_and_qa_errors_are_qaerrors() -> None:
    qa_errors = ("ArticleNotFoundError", "AuthError", "ConfigError", "EndpointError", "GeneratorError",
                 "InvalidQuestionError", "ModelNotFoundError")  # fmt: skip
    retrieval_errors = ("IndexCorruptError", "IndexMismatchError", "IndexNotFoundError", "RetrievalError")
    for name in (*qa_errors, *retrieval_errors):
        assert issubclass(getattr(qa, name), qa.CiteqaError), name
    for name in qa_errors:
        assert issubclass(getattr(qa, name), qa.QAError), name
    assert qa.QAError is not qa.CiteqaError  # one class, one name
    assert not issubclass(qa.RetrievalError, qa.QAError)  # the retrieval layer has its own branch
    # old `except KeyError` around a lookup still catches a missing article
    assert issubclass(qa.ArticleNotFoundError, KeyError)
