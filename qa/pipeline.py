"""The answer path: history + question → standalone query → hybrid retrieval → generator → cite → Answer.

``QA`` holds the loaded index and models; build it once with ``QA.from_settings`` and call ``answer`` or
``stream`` as often as you like: the query path does no disk I/O and loads no model. The generator is the one
``settings.generator`` names in the registry of ``qa.generators`` (its interface: ``qa.generate``). Copies
made with ``with_settings`` / ``with_generator`` share the loaded index through one ``qa.library.SharedIndex``,
so an update through the ``library`` of any of them (``add_files``, ``remove_article``) is seen by all.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Index
from embeddings.embedder import Embedder, load_embedder
from embeddings.types import Hit
from qa import authors, refusal_text, sources
from qa.align import align_and_cite, claim_checks, complete_claims
from qa.cite import CiteResult, cite, short_answer, strip_markers
from qa.comparison import compare
from qa.config import GeneratorSettings, Settings, get_settings
from qa.errors import ConfigError, InvalidQuestionError
from qa.evidence import CachedEmbedder, Evidence
from qa.extractive import REFUSAL_TEXT, ExtractiveGenerator, Plan
from qa.generate import GenerationRequest, Generator
from qa.generators import make_generator
from qa.library import Library, SharedIndex, load_or_build
from qa.multihop import bridge_line, second_hop
from qa.prompts import CANNOT_ANSWER_PHRASE, opens_with_refusal, says_articles_lack
from qa.rewrite import rewrite_followup
from qa.types import Answer, CitedClaim, Retrieved
from qa.warmup import preload_nlp as preload_nlp_in_background

logger = logging.getLogger(__name__)

def validate_question(question: Any, *, max_chars: int) -> str:
    """The question stripped, or InvalidQuestionError with a message a person can act on."""
    if not isinstance(question, str):
        raise InvalidQuestionError(f"the question must be text, not {type(question).__name__}")
    q = question.strip()
    if not q:
        raise InvalidQuestionError("the question is empty")
    if len(q) > max_chars:
        raise InvalidQuestionError(f"the question is {len(q)} characters long; the limit is {max_chars}")
    at = _unencodable_at(q)
    if at is not None:
        raise InvalidQuestionError(f"the question {_NOT_UNICODE} at character {at + 1}")
    bad = [ch for ch in q if unicodedata.category(ch) == "Cc" and ch not in "\n\t\r"]
    if bad:
        raise InvalidQuestionError(f"the question contains control characters ({', '.join(repr(c) for c in bad[:3])})")
    return q


def _validate_history(history: Sequence[dict] | None) -> list[dict]:
    if history is None:
        return []
    out = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant", "system"):
            raise InvalidQuestionError(f"history turn {i} must be a dict with role user/assistant and content")
        if not isinstance(turn.get("content"), str):
            raise InvalidQuestionError(f"history turn {i} has no text content")
        at = _unencodable_at(turn["content"])
        if at is not None:
            raise InvalidQuestionError(f"history turn {i} {_NOT_UNICODE} at character {at + 1}")
        out.append({"role": turn["role"], "content": turn["content"]})
    return out


# What a lone surrogate is to a person: text decoded from bytes that were not UTF-8 (Python's surrogateescape
# turns such bytes into U+DC80..U+DCFF) or a half of a UTF-16 pair. No model, tokenizer, JSON encoder or
# terminal can take it, so it is refused here, by position: echoing the character would break the message too.
_NOT_UNICODE = "contains a character that is not valid Unicode text (a lone surrogate, e.g. from undecodable bytes)"


def _unencodable_at(text: str) -> int | None:
    """The index of the first character UTF-8 cannot encode (a lone surrogate), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _number(value: Any) -> float | None:
    """A generator's reported score as a finite float, or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 4) if number == number and abs(number) != float("inf") else None


# The model's refusal is overruled (or, with generator.trust_model_refusal, flagged) when the extractive plan found
# a short answer, or a best sentence this far above answer.refusal_threshold. 0: the evidence decides whenever the
# plan answers. Measured on the 1.5B model's saved seed_dev answers (replayed through this path): margin 0 / 0.05 /
# 0.10 give false refusals 0.097 / 0.111 / 0.139 at the same refusal recall 0.714 (the three questions a margin
# leaves refused are answerable and answered right), so a margin only turns right answers into refusals.
CLEAR_ANSWER_MARGIN = 0.0


def _clearly_answers(plan: Plan, refusal_threshold: float) -> bool:
    """True when a retrieved sentence clearly answers: a short answer of the asked kind, or high confidence."""
    return bool(plan.chosen) and (plan.short is not None or plan.confidence >= refusal_threshold + CLEAR_ANSWER_MARGIN)


def _preload(settings: Settings, preload_nlp: bool | None) -> None:
    """Start the spaCy load beside the index and embedder loads when the answers will need the parse."""
    if settings.answer.answerability if preload_nlp is None else preload_nlp:
        preload_nlp_in_background()


def is_refusal(text: str) -> bool:
    """True when the generator said the articles don't contain the answer."""
    return says_articles_lack(text)


class QA:
    """Question answering over one index. Build with ``QA.from_settings``.

    Example::

        qa = QA.from_settings({"retrieval": {"top_k": 5}})
        a = qa.answer("Where did Macron receive Putin in 2017?")
        print(a.text, a.citations[0].quote)

    Args:
        settings: resolved settings.
        index: a loaded ``Index``, or the ``SharedIndex`` of another QA to share its index and its updates.
        embedder: the index's embedder (for a ``SharedIndex``, the one it holds).
        generator: a generator to answer with instead of the one ``settings.generator`` names.

    Attributes:
        library: the articles of the shared index: list, add and remove them (``qa.library.Library``).
    """

    def __init__(
        self,
        settings: Settings,
        index: Index | SharedIndex,
        embedder: Embedder,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        if isinstance(index, SharedIndex):
            if getattr(embedder, "inner", embedder) is not index.embedder.inner:
                raise ValueError("a QA sharing an index must use that index's embedder")
            self.shared = index
        else:
            self.shared = SharedIndex(index, embedder, chunking=settings.chunking)
        self.embedder = self.shared.embedder  # cached: the query embedded for retrieval is reused
        self.library = Library(settings, self.shared)
        self.generator: Generator = generator if generator is not None else make_generator(settings)

    @property
    def index(self) -> Index:
        """The index as loaded now (an update swaps in another one)."""
        return self.shared.current.index

    @property
    def evidence(self) -> Evidence:
        """Sentences and vectors of the current index's articles."""
        return self.shared.current.evidence

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def from_settings(
        cls, settings: Settings | dict[str, Any] | str | Path | None = None, *, preload_nlp: bool | None = None
    ) -> QA:
        """Load the index and models once. Raises IndexNotFoundError when there is no index yet.

        ``preload_nlp``: start loading the spaCy pipeline in a background thread now (``qa.warmup``), so the first
        question that needs the parse does not wait for all of it. None (default): when ``answer.answerability``
        is on (every question is analysed); pass True for a conversation (follow-ups are rewritten on the parse).
        """
        s = get_settings(settings)
        _preload(s, preload_nlp)
        embedder = CachedEmbedder(load_embedder(s.embedding))
        index = Index.load(s.index_dir(), embedder=embedder, chunking=s.chunking, store=s.index)
        return cls(s, index, embedder)

    @classmethod
    def ensure(
        cls, settings: Settings | dict[str, Any] | None = None, *, progress: bool = True,
        preload_nlp: bool | None = None,
    ) -> QA:
        """Load the index, building it from the bundled corpus first when the index folder is absent.

        A query path never builds over anything: an existing folder (index or not), a build running in another
        process (IndexBusyError naming its pid) or the checkpoint of an interrupted one (IndexNotFoundError) are
        left alone. While a build updates an existing index, the current index is loaded and answers
        (``qa.library.load_or_build``). ``preload_nlp`` as in ``from_settings``.
        """
        s = get_settings(settings)
        _preload(s, preload_nlp)
        embedder = CachedEmbedder(load_embedder(s.embedding))
        return cls(s, load_or_build(s, embedder, progress=progress), embedder)

    def with_generator(self, generator_settings: GeneratorSettings | dict[str, Any]) -> QA:
        """The same loaded index and models with another generator (e.g. from the UI's settings tab).

        The copy shares this QA's index: files added or removed through either are seen by both.
        """
        merged = self.settings.generator.model_dump()
        update = (
            generator_settings.model_dump() if isinstance(generator_settings, GeneratorSettings) else generator_settings
        )
        merged.update(update)
        settings = self.settings.model_copy(update={"generator": GeneratorSettings.model_validate(merged)})
        return QA(settings, self.shared, self.embedder)

    def with_settings(self, **sections: Any) -> QA:
        """The same index with other retrieval/answer settings, e.g. ``qa.with_settings(retrieval={"top_k": 8})``.

        The copy shares this QA's index: files added or removed through either are seen by both.
        """
        data = self.settings.model_dump()
        for name, values in sections.items():
            if name not in ("retrieval", "answer", "generator"):
                raise ConfigError(f"{name} settings need a rebuilt index; only retrieval/answer/generator can change")
            data[name].update(values)
        return QA(get_settings(data), self.shared, self.embedder)

    # -- the answer path ------------------------------------------------------------------------------
    def standalone_query(self, question: str, history: Sequence[dict]) -> str:
        """The query to search: the generator's rewrite of a follow-up (an LLM's), else the deterministic one."""
        if not history:
            return question
        rewritten = str(self.generator.rewrite_query(question, history)).strip()
        if rewritten and rewritten != question:
            return rewritten
        # no rewrite of its own, or nothing usable (an LLM falls back to the bare question): carry the subject over
        return rewrite_followup(question, history)

    def stream(self, question: str, history: Sequence[dict] | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text deltas as they are generated, then the final ``Answer``."""
        for item in self.events(question, history):
            if isinstance(item, (str, Answer)):
                yield item

    def events(
        self, question: str, history: Sequence[dict] | None = None
    ) -> Iterator[Retrieved | str | CitedClaim | Answer]:
        """``stream`` with the steps between: a ``Retrieved`` as soon as retrieval ends (the sources can be shown
        while the answer is written), then the text deltas, then the final ``Answer``.

        For a generator that writes free text (an LLM), a ``CitedClaim`` follows the delta that completes each
        sentence of the answer (the last one comes just before the ``Answer``): its exact quotes, attached while
        the rest streams. Consumers ignore event types they do not know."""
        t0 = time.perf_counter()
        q = validate_question(question, max_chars=self.settings.answer.max_question_chars)
        turns = _validate_history(history)
        timings: dict[str, float] = {}
        query = self.standalone_query(q, turns)
        timings["rewrite"] = (time.perf_counter() - t0) * 1000
        loaded = self.shared.current  # this answer reads one index throughout, even if an update lands meanwhile
        query, hits, search_ms = sources.search(query, loaded.index, self.settings.retrieval)  # 'according to X'
        timings.update({f"retrieve.{k}": v for k, v in search_ms.items()})
        timings["retrieve"] = sum(search_ms.values())
        hop = second_hop(query, hits, loaded.index, loaded.evidence, self.settings.retrieval,
                         refusal_threshold=self.settings.answer.refusal_threshold) \
            if self.settings.retrieval.two_hop and hits else None
        if hop is not None:  # a nested question: answered from a search with its description resolved (qa/multihop)
            query, hits = hop.query, hop.hits
            timings["retrieve.two_hop"] = hop.ms
            timings["retrieve"] += hop.ms
        threshold = self.settings.answer.refusal_threshold
        sides = compare(query, loaded.index, loaded.evidence, refusal_threshold=threshold,
                        settings=self.settings.retrieval) \
            if self.settings.retrieval.compare_sources and hits and hop is None else None
        if sides is not None:  # named sources compared (qa/comparison): each one's best chunk is among the hits
            hits = sides.merge(hits)
        hits = authors.with_byline(query, hits, loaded.index)  # 'Who wrote the article …?': its byline's chunk
        yield Retrieved(query=query, hits=list(hits))
        t1 = time.perf_counter()
        parts: list[str] = []
        generator = self.generator
        report: dict[str, Any] = {}
        evidence = loaded.evidence
        request = GenerationRequest(question=q, query=query, hits=hits, history=turns, evidence=evidence,
                                    report=report)
        # A generator that writes free text (an LLM) gets its claims aligned with the retrieved sentences and its
        # refusals checked against the evidence; the extractive one quotes verbatim and decides by itself.
        free_text = not isinstance(generator, ExtractiveGenerator)
        plan: Plan | None = None
        streamed = 0  # claims of the streamed text whose CitedClaim event went out
        if hits and free_text and self.settings.generator.refuse_by_evidence:
            plan = self._extractive.plan(q, hits, evidence, query=query, history=turns)
            if np.isfinite(plan.confidence):
                report["confidence"] = float(plan.confidence)
        if not hits:  # an empty index or a query nothing matches: nothing to answer from
            parts.append(REFUSAL_TEXT)
            yield REFUSAL_TEXT
        elif sides is not None and not (plan or self._extractive.plan(q, hits, evidence, query=query,
                                                                      history=turns)).chosen:
            parts.append(sides.text(hits))  # no sentence answers for all the sources: each one's own, cited
            report["confidence"] = sides.confidence
            yield parts[-1]
        elif plan is not None and not plan.chosen:
            # nothing in the retrieved sentences answers: refuse without asking the model, citing the closest one
            refusal = self._evidence_refusal(request, plan)
            parts.append(refusal)
            yield refusal
            timings["model_skipped"] = 1.0
        else:
            for delta in generator.generate(request):
                parts.append(delta)
                yield delta
                if free_text:
                    complete = complete_claims("".join(parts))
                    if complete > streamed:  # a sentence is complete: attach its citations while the rest streams
                        yield from self._cited_claims("".join(parts), hits, evidence, streamed, complete)
                        streamed = complete
        line = bridge_line(hop, "".join(parts)) if hop is not None else ""
        if line:  # the answer came from the second hop: cite the sentence that resolved the description too
            parts.append(line)
            yield line
        line = sides.missing("".join(parts), hits) if sides is not None else ""
        if line:  # a compared source the answer does not cite: its own sentence too
            parts.append(line)
            yield line
        raw = "".join(parts)
        timings["generate"] = (time.perf_counter() - t1) * 1000
        t2 = time.perf_counter()
        result, corrected, refused = self._cited(raw, hits, evidence, aligned=free_text and bool(hits))
        disagreement: str | None = None
        clear = plan is not None and _clearly_answers(plan, self.settings.answer.refusal_threshold)
        if refused and free_text and clear and plan is not None:
            # the model refused although a retrieved sentence clearly answers: show that evidence, flag it
            disagreement = strip_markers(raw)
            evidence_text = "".join(self._extractive.generate(replace(request, report={})))
            raw = f"{raw.rstrip()} {evidence_text}" if self.settings.generator.trust_model_refusal else evidence_text
            result, corrected, refused = self._cited(raw, hits, evidence, aligned=True)
        if refused and not result.citations:
            text, citations, unsupported = strip_markers(raw), [], 0
        else:
            text, citations, unsupported = result.text, result.citations, result.unsupported
        short = None if refused else short_answer(text, citations)
        text = re.sub(r"\s+\n", "\n", text)
        claims = [] if refused else claim_checks(text, citations, corrected, result.claim_ok)
        if not refused:
            unsupported = sum(not c.supported for c in claims)
        timings["cite"] = (time.perf_counter() - t2) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        if free_text and disagreement is None and not refused:
            for i, c in enumerate(claims[streamed:], start=streamed):  # the last sentence, and any not yet sent
                yield CitedClaim(i, c.text, [citations[n - 1] for n in c.citations], c.supported)
        yield Answer(
            text=text,
            citations=citations,
            chunks=list(hits),
            refused=refused,
            query=query,
            backend=generator.name,
            question=q,
            unsupported=unsupported,
            timings_ms={k: round(v, 2) for k, v in timings.items()},
            short_answer=short,
            confidence=_number(report.get("confidence")),
            claims=claims,
            disagreement=disagreement,
        )

    def _cited(self, raw: str, hits: Sequence[Hit], evidence: Evidence, *, aligned: bool
               ) -> tuple[CiteResult, list[bool], bool]:
        """The cited answer (claims aligned first when ``aligned``), which claims' markers were corrected, and
        whether it is a refusal.

        A refusal that still cites something ("The articles don't say X, but [1] says Y") keeps its citations;
        it counts as a refusal only when it cites nothing or opens with the phrase.
        """
        threshold = self.settings.answer.support_threshold
        corrected: list[bool] = []
        if aligned:
            result, corrected = align_and_cite(raw, hits, evidence, support_threshold=threshold)
        else:
            result = cite(raw, hits, evidence, support_threshold=threshold)
        return result, corrected, is_refusal(raw) and (not result.citations or opens_with_refusal(raw))

    @property
    def _extractive(self) -> ExtractiveGenerator:
        """The extractive answerer whose plan decides, on the LLM path, whether the evidence answers at all."""
        return ExtractiveGenerator(self.settings.answer)

    def _evidence_refusal(self, request: GenerationRequest, plan: Plan) -> str:
        """What the answer says when the evidence check refuses: what is missing, and the closest sentence cited."""
        closest = plan.closest
        if closest is None:
            scored = self._extractive.score(request.question, request.hits, request.evidence, query=request.query,
                                            history=request.history)
            closest = scored[0] if scored else None
        missing = plan.missing or "what this question asks: none of the retrieved sentences answers it"
        if closest is None:
            return f"{CANNOT_ANSWER_PHRASE} {missing}."
        return refusal_text.refusal(missing, closest.sentence.text, closest.hit_no,
                                    unmet=plan.unmet if plan.closest is not None else (),
                                    about=plan.about and plan.closest is not None)

    def _cited_claims(self, raw: str, hits: Sequence[Hit], evidence: Evidence, first: int, upto: int
                      ) -> Iterator[CitedClaim]:
        """``CitedClaim`` events for claims ``first..upto-1`` of a streaming answer: the complete claims so far are
        aligned and cited as the final answer will be (citation numbers follow first appearance, so they hold)."""
        if is_refusal(raw):
            return
        threshold = self.settings.answer.support_threshold
        result, corrected = align_and_cite(raw, hits, evidence, support_threshold=threshold)
        claims = claim_checks(result.text, result.citations, corrected, result.claim_ok)
        for i in range(first, min(upto, len(claims))):
            c = claims[i]
            yield CitedClaim(i, c.text, [result.citations[n - 1] for n in c.citations], c.supported)

    def answer(self, question: str, history: Sequence[dict] | None = None) -> Answer:
        """Answer a question (with optional conversation history); see ``stream`` for the streaming form."""
        final: Answer | None = None
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final
