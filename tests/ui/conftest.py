"""A fast stand-in for ``qa.QA`` (no models, no index) so the UI's handlers can be tested without a browser."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from corpus.errors import ArticleError
from corpus.types import Article, ArticleMeta
from embeddings import BuildReport
from embeddings.types import Hit
from qa import Answer, Citation, EndpointError, InvalidQuestionError, Retrieved, Settings, get_settings
from qa.library import AddReport, ArticleInfo

VERSAILLES = (
    "France's new president, Emmanuel Macron, hosted his Russian counterpart Vladimir Putin at the Palace of "
    "Versailles on May 29, 2017. The interaction was both supremely tense and incredibly productive. "
    "While standing next to Putin at a press conference, Macron slammed the Russian state-funded media outlets "
    "RT and Sputnik for conducting a coordinated information campaign against him."
)
QUOTE = "hosted his Russian counterpart Vladimir Putin at the Palace of Versailles on May 29, 2017."
CRITIC = "Macron slammed the Russian state-funded media outlets RT and Sputnik"


def _report(n: int) -> BuildReport:
    return BuildReport(articles=n, chunks=n, added=0, updated=0, removed=0, unchanged=n, embedded_chunks=0, seconds=0.0)


class FakeQA:
    """Answers from canned rules, over an in-memory article set shaped like the real one.

    - a question containing "fail" raises EndpointError; "boom" raises RuntimeError; "bad" InvalidQuestionError
    - "capital of Australia" is refused with the closest passages
    - a follow-up (history given) is rewritten, so "Searched for" shows
    - anything else cites the first article whose text contains a word of the question
    """

    def __init__(self, settings: Settings | None = None, articles: dict[str, Article] | None = None) -> None:
        self.settings = settings or get_settings()
        self.articles_by_id = (
            articles
            if articles is not None
            else {
                "001_versailles.txt": Article(
                    "001_versailles.txt",
                    "Macron hosts Putin at Versailles",
                    VERSAILLES,
                    ArticleMeta(author="Tatiana Stanovaya", outlet="Carnegie", date="2017-05-30"),
                )
            }
        )
        self.streamed: list[tuple[str, list[dict[str, str]]]] = []
        self.added_paths: list[Path] = []
        self.added_names: list[str] = []
        self.library = self  # a real QA's articles are its ``library`` (qa.library.Library); the fake plays both

    # -- answer path ---------------------------------------------------------------------------------
    def stream(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Iterator[str | Answer]:
        history = list(history or [])
        self.streamed.append((question, history))
        if "bad" in question:
            raise InvalidQuestionError("the question contains control characters")
        query = "What did Macron criticise at Versailles?" if history else question
        if "fail" in question:
            yield "Partial "
            raise EndpointError("the endpoint at http://127.0.0.1:9/v1 is unreachable")
        if "boom" in question:
            raise RuntimeError("internal detail that must not reach the page")
        hits = [self._hit(a) for a in self.articles_by_id.values()]
        if "capital of Australia" in question:
            text = "The articles don't say: none of the retrieved passages answers this question."
            yield text
            yield Answer(text, [], hits, True, query, "fake", question)
            return
        art = self._find(question if not history else "Macron")
        if history:
            start = art.text.index(CRITIC)
            end = start + len(CRITIC)
        elif art.doc_id == "001_versailles.txt":
            start = art.text.index(QUOTE)
            end = start + len(QUOTE)
        else:
            start, end = 0, min(len(art.text), 80)
        quote = art.text[start:end]
        sentence_one, sentence_two = "Macron received Putin at Versailles. [1]", " Unchecked claim. [2]"
        yield sentence_one
        yield sentence_two
        cites = [
            Citation(1, art.doc_id, art.title, start, end, quote, True),
            Citation(2, art.doc_id, art.title, start, end, quote, False),
        ]
        yield Answer(sentence_one + sentence_two, cites, hits, False, query, "fake", question, unsupported=1)

    def events(
        self, question: str, history: Sequence[dict[str, str]] | None = None
    ) -> Iterator[Retrieved | str | Answer]:
        """``QA.events``: the retrieved passages first (questions with "no-retrieval" skip them), then ``stream``."""
        if "no-retrieval" not in question and "bad" not in question:
            yield Retrieved(question, [self._hit(a) for a in self.articles_by_id.values()])
        yield from self.stream(question, history)

    def answer(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Answer:
        *_, final = self.stream(question, history)
        assert isinstance(final, Answer)
        return final

    def _find(self, question: str) -> Article:
        words = [w.strip("?.,").lower() for w in question.split() if len(w) > 3]
        for a in self.articles_by_id.values():
            if any(w in a.text.lower() for w in words):
                return a
        return next(iter(self.articles_by_id.values()))

    @staticmethod
    def _hit(a: Article) -> Hit:
        return Hit(a.doc_id, 0, min(len(a.text), 120), a.text[:120], 0.5, a.title)

    # -- articles ------------------------------------------------------------------------------------
    def articles(self) -> list[ArticleInfo]:
        return [
            ArticleInfo(a.doc_id, a.title, a.meta.author, a.meta.outlet, a.meta.date, 3)
            for a in sorted(self.articles_by_id.values(), key=lambda a: a.doc_id)
        ]

    def article(self, doc_id: str) -> Article:
        return self.articles_by_id[doc_id]

    def add_files(
        self, paths: Sequence[Path], progress: Any = None, *, names: Sequence[str] | None = None
    ) -> AddReport:
        added, skipped = [], []
        for p, name in zip(paths, names if names is not None else [Path(p).name for p in paths], strict=True):
            self.added_paths.append(Path(p))
            self.added_names.append(name)
            text = Path(p).read_text(encoding="utf-8", errors="replace").strip()
            if not text or "UNREADABLE" in text:
                skipped.append(ArticleError(name, "no article text found"))
                continue
            doc_id = f"uploads/{name}"
            self.articles_by_id[doc_id] = Article(doc_id, text.splitlines()[0][:80], text)
            added.append(doc_id)
        if progress:
            progress(f"indexing {len(added)} article(s)")
        return AddReport(_report(len(self.articles_by_id)) if added else None, skipped, added)

    def remove_article(self, doc_id: str) -> BuildReport:
        if doc_id not in self.articles_by_id:
            raise KeyError(doc_id)
        del self.articles_by_id[doc_id]
        return _report(len(self.articles_by_id))

    def with_settings(self, **sections: Any) -> FakeQA:
        data = self.settings.model_dump()
        for name, values in sections.items():
            data[name].update(values)
        clone = FakeQA(get_settings(data), self.articles_by_id)
        clone.streamed = self.streamed
        return clone


@pytest.fixture
def fake_qa() -> FakeQA:
    return FakeQA()
